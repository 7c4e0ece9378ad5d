"""The login pages (DESIGN.md §3 ``/login``, ``/login/phone``, "Nem tudom a
jelszavam") and the front page: thin Flask views over the journeys of
``idp.flows``. One blueprint, ``login``; a module per journey."""

from flask import Blueprint
from flask import current_app

from idp.extensions import limiter

bp = Blueprint("login", __name__, url_prefix="/login")


def _posts_per_ip():
    return f"{current_app.config['LOGIN_POSTS_PER_IP_PER_MINUTE']} per minute"


# A coarse outer guard against floods of form posts from one address (each
# starts or advances a journey row). The real throttles - per identifier, per
# principal, per IP, per flow, the SMS budget - are rules of the journeys.
limiter.limit(_posts_per_ip, methods=["POST"], scope="login-posts")(bp)

from idp.pages import business  # noqa: E402,F401
from idp.pages import password_reset  # noqa: E402,F401
from idp.pages import phone  # noqa: E402,F401
