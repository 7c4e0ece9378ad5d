"""The front page: where "Belépés" leads, and (in development) the tour. When
a browser is logged in, it and ``/login/done`` say who, offer the admin area
to those who may use it, and logging out."""

from flask import Blueprint
from flask import current_app
from flask import render_template

from idp.models.principal import KIND_BUSINESS
from idp.oidc.interactions import current_login

bp = Blueprint("home", __name__)


def may_administer(principal):
    """The admin area's own rule (``BusinessUser.may_administer``, which
    ``idp.admin.views.require_admin`` applies), so the link is offered exactly
    to those it lets in."""
    return principal is not None and principal.kind == KIND_BUSINESS and principal.may_administer


def signed_in():
    """Template values for "who is logged in here" (``login/_signed_in.html``)."""
    _, principal = current_login()
    return {"principal": principal, "admin_allowed": may_administer(principal)}


@bp.route("/")
def index():
    return render_template("home.html", development=current_app.config["ENV"] != "production", **signed_in())
