"""The login seam (DESIGN.md §1): the authorization endpoint pauses a request
in an ``Interaction`` and sends the browser to a login page; the page's
journey ends with a ``LoginResult`` (``idp.flows.result``) handed to
:func:`complete_login`, and the request resumes at
``/oauth/authorize/resume/<id>``.

This module is all the login pages may use of the protocol layer: the paused
request, and the browser's login session (re-exported from
``idp.oidc.sessions``).
"""

import secrets
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from flask import request
from flask import url_for
from flask_babel import lazy_gettext
from sqlalchemy.orm.attributes import set_committed_value

from idp.errors import IdpError
from idp.extensions import db
from idp.models.session import Interaction
from idp.oidc.sessions import browser_binding  # noqa: F401  (the seam's browser side)
from idp.oidc.sessions import browser_id
from idp.oidc.sessions import current_login  # noqa: F401
from idp.oidc.sessions import end_login  # noqa: F401
from idp.oidc.sessions import login_proofs  # noqa: F401
from idp.oidc.sessions import remember_proof  # noqa: F401
from idp.oidc.sessions import start_login
from idp.services import get_services

PHONE_LOGIN_PATH = "/login/phone"
BUSINESS_LOGIN_PATH = "/login"


class InteractionError(IdpError):
    message = lazy_gettext("A bejelentkezés lejárt vagy érvénytelen. Kérjük, kezdje újra az alkalmazásból.")


def create_interaction(client_id, params, prompt):
    now = get_services().clock.now()
    interaction = Interaction(
        id=secrets.token_urlsafe(24),
        browser_id=browser_id(),
        client_id=client_id,
        params=params,
        prompt=prompt,
        login_hint=(params.get("login_hint") or None),
        created_at=now,
        expires_at=now + timedelta(seconds=int(current_app.config["INTERACTION_TTL"])),
    )
    db.session.add(interaction)
    return interaction


def load_interaction(interaction_id) -> Interaction:
    """The paused request, if it exists, is alive, and belongs to this browser."""
    if not isinstance(interaction_id, str) or len(interaction_id) > 64:
        raise InteractionError()
    interaction = db.session.get(Interaction, interaction_id)
    if (interaction is None or interaction.finished_at is not None
            or interaction.expires_at <= get_services().clock.now()
            or not secrets.compare_digest(interaction.browser_id, browser_id())):
        raise InteractionError()
    return interaction


def login_page_url(interaction) -> str:
    hint = (interaction.login_hint or "").strip()
    path = PHONE_LOGIN_PATH if hint and "@" not in hint and any(c.isdigit() for c in hint) else BUSINESS_LOGIN_PATH
    return path + "?" + urlencode({"interaction": interaction.id})


def resume_url(interaction) -> str:
    return url_for("oidc.resume", interaction_id=interaction.id)


def complete_login(interaction_id, result) -> str:
    """Finish the login of a paused request with a journey's ``LoginResult``;
    returns where the browser goes next.

    The browser's session is rotated and the interaction is re-bound to the
    new browser id.
    """
    interaction = load_interaction(interaction_id)
    login, result = start_login(result)
    interaction.browser_id = browser_id()
    interaction.login_session_id = login.id
    get_services().audit.record("login.succeeded", actor=result.principal.sub, subject=result.principal.sub,
                                company_id=getattr(result.principal, "company_id", None),
                                ip=request.remote_addr, amr=list(result.amr), client_id=interaction.client_id)
    db.session.commit()
    return resume_url(interaction)


def finish_interaction(interaction) -> bool:
    """End the paused request once: one conditional UPDATE, so of two parallel resumes
    (a double click, a replayed consent form) only one goes on to issue a code."""
    return _take(interaction, Interaction.finished_at)


def record_consent(interaction) -> bool:
    """Record the consent to the paused request once (conditional UPDATE): of two parallel
    posts of the consent form, one remembers it and the other just follows."""
    return _take(interaction, Interaction.consent_granted_at)


def _take(interaction, column):
    now = get_services().clock.now()
    taken = (Interaction.query
             .filter(Interaction.id == interaction.id, Interaction.finished_at.is_(None), column.is_(None))
             .update({column: now}, synchronize_session=False))
    if taken:
        set_committed_value(interaction, column.key, now)
    return bool(taken)
