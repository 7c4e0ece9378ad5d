"""The developer portal (DESIGN.md §3 ``/developers``): a logged-in person - a
Telekom account or a business user - registers and manages their own OAuth
clients. The rules are those of ``idp.clients`` (shared with the CLI and
dynamic registration); ``views`` is the HTTP glue, ``forms`` the Flask-WTF
forms, ``shown_once`` keeps a new secret for the one page that shows it."""

from flask import Blueprint

bp = Blueprint("developers", __name__, url_prefix="/developers")

from idp.developers import views  # noqa: F401  (the routes)
