"""Browser login sessions. The Flask session cookie (signed) holds only two
random ids: the browser's and its current login session's; everything else is
a ``LoginSession`` row, so any app node can serve the next request."""

import secrets
from datetime import timedelta

from flask import current_app
from flask import session

from idp.extensions import db
from idp.models.principal import find_principal
from idp.models.session import LoginSession
from idp.services import get_services


def browser_id() -> str:
    if "browser_id" not in session:
        session["browser_id"] = secrets.token_urlsafe(16)
    return session["browser_id"]


def current_login():
    """``(login_session, principal)`` of this browser, or ``(None, None)``."""
    login_id = session.get("login_session_id")
    if not login_id:
        return None, None
    login = db.session.get(LoginSession, login_id)
    now = get_services().clock.now()
    if (login is None or login.ended_at is not None or login.expires_at <= now
            or login.browser_id != session.get("browser_id")):
        return None, None
    principal = find_principal(login.principal_kind, login.subject)
    if principal is None:
        return None, None
    return login, principal


def preferred_locale(ui_locales, languages):
    """The first of the space-separated BCP 47 tags in ``ui_locales`` we speak."""
    for tag in (ui_locales or "").split()[:10]:
        language = tag.split("-")[0].lower()
        if language in languages:
            return language
    return None


def remember_locale(ui_locales):
    """OIDC Core §3.1.2.1 ``ui_locales``: keep it for the pages of this login."""
    chosen = preferred_locale(ui_locales, current_app.config["LANGUAGES"])
    if chosen:
        session["locale"] = chosen


def start_login(result) -> LoginSession:
    """Record a finished login and rotate the browser's ids (no session fixation)."""
    clock = get_services().clock
    previous, _ = current_login()
    if previous is not None:
        previous.ended_at = clock.now()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login = LoginSession(
        id=secrets.token_urlsafe(24),
        browser_id=browser_id(),
        principal_kind=result.principal.kind,
        subject=result.principal.sub,
        auth_time=result.auth_time,
        acr=result.acr,
        amr=list(result.amr),
        created_at=clock.now(),
        expires_at=clock.now() + timedelta(seconds=int(current_app.config["LOGIN_SESSION_TTL"])),
    )
    db.session.add(login)
    session["login_session_id"] = login.id
    return login


def end_login():
    login, _ = current_login()
    if login is not None:
        login.ended_at = get_services().clock.now()
    session.pop("login_session_id", None)
    return login


def end_all_sessions(principal, clock):
    """Sign ``principal`` out everywhere: every login session ends and every
    token issued to it is revoked (after a password reset, for instance)."""
    from idp.models.token import Token

    now = clock.now()
    (LoginSession.query.filter(LoginSession.subject == principal.sub, LoginSession.ended_at.is_(None))
     .update({LoginSession.ended_at: now}, synchronize_session=False))
    (Token.query.filter(Token.subject == principal.sub, Token.refresh_revoked_at.is_(None))
     .update({Token.refresh_revoked_at: now}, synchronize_session=False))
    (Token.query.filter(Token.subject == principal.sub, Token.access_revoked_at.is_(None))
     .update({Token.access_revoked_at: now}, synchronize_session=False))
