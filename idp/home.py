"""The front page: where "Belépés" leads, and (in development) the tour."""

from flask import Blueprint
from flask import current_app
from flask import render_template

from idp.oidc.sessions import current_login

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    _, principal = current_login()
    return render_template("home.html", principal=principal,
                           development=current_app.config["ENV"] != "production")
