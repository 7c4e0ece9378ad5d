"""RP-Initiated Logout 1.0 (``/oauth/logout``; discovery's ``end_session_endpoint``).

- ``id_token_hint``: an ID token we signed (an expired one is fine, §2; an
  access token, an unsigned or foreign one is not) - it names the client and
  the person. With it, and the person logged in here, the logout happens at
  once; without it (or for somebody else) a confirmation page asks first.
- ``post_logout_redirect_uri``: only one registered for the client the hint or
  ``client_id`` names, compared exactly; anything else is an error page and
  never a redirect. ``state`` goes back with it; ``ui_locales`` picks the
  language of the pages.
- Ending the session ends its session-bound refresh tokens and tells the
  clients with a back-channel logout URI (``idp.services.backchannel``).
"""

from authlib.common.urls import add_params_to_uri
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import lazy_gettext
from joserfc import jwt
from joserfc.errors import JoseError
from wtforms import HiddenField
from wtforms import SubmitField

from idp.extensions import csrf
from idp.extensions import db
from idp.forms import Form
from idp.oidc.server import authorization
from idp.oidc.sessions import current_login
from idp.oidc.sessions import end_login
from idp.oidc.sessions import remember_locale
from idp.services import get_services

bp = Blueprint("logout", __name__)
ID_TOKEN_ALGS = ["RS256", "ES256"]


class LogoutRefused(Exception):
    """The request cannot be honoured; the message is shown, nothing is redirected."""


class ConfirmForm(Form):
    post_logout_redirect_uri = HiddenField()
    client_id = HiddenField()
    state = HiddenField()
    submit = SubmitField(lazy_gettext("Kijelentkezés"))


def hint_claims(hint):
    """The claims of an ID token this server signed (expired or not), or LogoutRefused."""
    try:
        token = jwt.decode(hint, get_services().keys.verification_keys(), algorithms=ID_TOKEN_ALGS)
    except (JoseError, ValueError, TypeError):
        raise LogoutRefused() from None
    claims = token.claims
    if (token.header.get("typ") not in (None, "JWT") or claims.get("iss") != current_app.config["ISSUER"]
            or not isinstance(claims.get("sub"), str) or not claims.get("aud")):
        raise LogoutRefused()
    return claims


def the_client(claims, client_id):
    """The client the request is about: the hint's audience, which ``client_id``
    (when given) must agree with."""
    audience = None
    if claims is not None:
        aud = claims["aud"]
        audience = aud if isinstance(aud, str) else (claims.get("azp") or (aud[0] if len(aud) == 1 else None))
        if audience is None or (client_id and client_id != audience):
            raise LogoutRefused()
    wanted = audience or client_id
    client = authorization.query_client(wanted) if wanted else None
    if wanted and client is None:
        raise LogoutRefused()
    return client


def checked_redirect(client, uri):
    if not uri:
        return None
    if client is None or uri not in (client.post_logout_redirect_uris or []):
        raise LogoutRefused()
    return uri


@bp.route("/oauth/logout", methods=["GET", "POST"])
@csrf.exempt  # an RP may POST its parameters; the confirmation below carries a CSRF token
def logout():
    values = request.values
    remember_locale(values.get("ui_locales"))
    try:
        claims = hint_claims(values["id_token_hint"]) if values.get("id_token_hint") else None
        client = the_client(claims, values.get("client_id"))
        target = checked_redirect(client, values.get("post_logout_redirect_uri"))
    except LogoutRefused:
        return refused()
    login, principal = current_login()
    confirmed = (claims is not None and principal is not None and claims["sub"] == principal.sub
                 and claims.get("sid") in (None, login.id))
    if principal is not None and not confirmed:
        form = ConfirmForm(formdata=None, post_logout_redirect_uri=target or "", state=values.get("state", ""),
                           client_id=client.client_id if client else "")
        return render_template("logout_confirm.html", form=form, principal=principal, client=client)
    return finish(target, values.get("state"), client)


@bp.route("/oauth/logout/confirm", methods=["POST"])
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return refused()
    client = authorization.query_client(form.client_id.data) if form.client_id.data else None
    try:
        target = checked_redirect(client, form.post_logout_redirect_uri.data)
    except LogoutRefused:
        return refused()
    return finish(target, form.state.data, client)


def finish(target, state, client):
    """End this browser's session (if any) and go back to the client or say so."""
    login = end_login()
    if login is not None:
        get_services().audit.record("logout", actor=login.subject, subject=login.subject, ip=request.remote_addr,
                                    client_id=client.client_id if client else None)
    db.session.commit()
    if target:
        return redirect(add_params_to_uri(target, [("state", state)] if state else []), 303)
    return render_template("logged_out.html", client=client), 200


def refused():
    return render_template("logout_error.html"), 400
