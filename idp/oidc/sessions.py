"""The browser's side of login sessions. The Flask session cookie (signed)
holds only two random ids: the browser's and its current login session's;
the sessions themselves are rows of the session service
(``idp.services.sessions``), so any app node can serve the next request."""

import secrets

from flask import current_app
from flask import session

from idp.services import get_services


def browser_id() -> str:
    if "browser_id" not in session:
        session["browser_id"] = secrets.token_urlsafe(16)
    return session["browser_id"]


def browser_binding() -> str:
    """The binding a browser's logins and journeys carry (``idp.flows.base.Binding``)."""
    return "browser:" + browser_id()


def current_login():
    """``(login_session, principal)`` of this browser, or ``(None, None)``."""
    login_id = session.get("login_session_id")
    if not login_id or "browser_id" not in session:
        return None, None
    return get_services().sessions.find(login_id, browser_binding())


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


#: How many recent logins this browser remembers as proofs (for linking identities).
PROOFS_KEPT = 4


def login_proofs():
    """The identities this browser proved recently: ``[{"kind", "sub", "at"}]``,
    newest last (the signed session cookie keeps them; a journey judges their age)."""
    return list(session.get("proofs") or [])


def remember_proof(result):
    """A finished login proves control of its principal, at ``auth_time``."""
    proof = {"kind": result.principal.kind, "sub": result.principal.sub, "at": int(result.auth_time)}
    session["proofs"] = [*login_proofs(), proof][-PROOFS_KEPT:]


def start_login(result):
    """Record a finished login in this browser and rotate the browser's ids
    (no session fixation). Returns ``(session, result with its sid)``.

    The proofs start over with this login: a previous person's logins on a
    shared browser prove nothing for the next one."""
    sessions = get_services().sessions
    previous, _ = current_login()
    sessions.end(previous)
    kept = {key: session[key] for key in ("locale", "_flashes") if key in session}
    session.clear()
    session.update(kept)
    remember_proof(result)
    login, result = sessions.start(result, browser_binding())
    session["login_session_id"] = login.id
    return login, result


def end_login():
    """This browser's login ends (logout), and with it what it proved."""
    login, _ = current_login()
    get_services().sessions.end(login)
    session.pop("login_session_id", None)
    session.pop("proofs", None)
    return login
