"""The Telekom account pages (DESIGN.md §3 ``/account``): create one, log in
with it (password or Facebook), the offer after a business or phone login,
the account chooser, and the account page itself. Thin views over
``idp.flows.account``, ``facebook``, ``linking`` and ``choose``."""

from functools import wraps

from flask import Blueprint
from flask import redirect
from flask import request
from flask import url_for

from idp.extensions import limiter
from idp.models.principal import KIND_ACCOUNT
from idp.oidc.interactions import current_login
from idp.pages import _posts_per_ip

bp = Blueprint("account", __name__, url_prefix="/account")
limiter.limit(_posts_per_ip, methods=["POST"], scope="login-posts")(bp)


def current_account():
    """The Telekom account logged in on this browser, or None."""
    session, principal = current_login()
    return (session, principal) if principal is not None and principal.kind == KIND_ACCOUNT else (None, None)


def account_required(view):
    """The account pages are for a logged-in Telekom account; anyone else logs in first."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        session, account = current_account()
        if account is None:
            back = request.full_path.rstrip("?") if request.method == "GET" else url_for("account.index")
            return redirect(url_for("account.login", next=back))
        return view(session, account, *args, **kwargs)

    return wrapper


from idp.pages.account import choose  # noqa: E402,F401
from idp.pages.account import facebook  # noqa: E402,F401
from idp.pages.account import login  # noqa: E402,F401
from idp.pages.account import offer  # noqa: E402,F401
from idp.pages.account import page  # noqa: E402,F401
from idp.pages.account import signup  # noqa: E402,F401
