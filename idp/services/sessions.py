"""Login sessions (DESIGN.md §1 "login sessions"): a finished login of one
principal on one binding - a browser, or a first-party app's OAuth client -
whose id is the ``sid`` claim. Starting and ending them, and signing a
principal out everywhere, happen here and nowhere else; the browser's cookie
is the protocol layer's business (``idp.oidc.sessions``)."""

import secrets
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm.attributes import set_committed_value

from idp.extensions import db
from idp.models.principal import find_principal
from idp.models.session import LoginSession
from idp.models.token import Token
from idp.services.signals import login_session_found


class LoginSessions:
    """``on_end(login)`` is told of every session that ends (back-channel logout)."""

    def __init__(self, clock, ttl, on_end=None):
        self.clock = clock
        self.ttl = int(ttl)
        self.on_end = on_end or (lambda login: None)

    @classmethod
    def from_config(cls, config, clock, on_end=None):
        return cls(clock, config["LOGIN_SESSION_TTL"], on_end)

    def start(self, result, binding):
        """Record the login ``result`` on ``binding``; returns ``(session, result
        with its sid)``. Written in the caller's transaction."""
        now = self.clock.now()
        login = LoginSession(id=secrets.token_urlsafe(24), binding=binding,
                             principal_kind=result.principal.kind, subject=result.principal.sub,
                             auth_time=result.auth_time, acr=result.acr, amr=list(result.amr),
                             created_at=now, expires_at=now + timedelta(seconds=self.ttl))
        db.session.add(login)
        return login, replace(result, sid=login.id)

    def find(self, login_id, binding):
        """``(session, principal)`` while it is alive and on ``binding``, else ``(None, None)``."""
        if not isinstance(login_id, str) or not login_id or len(login_id) > 64:
            return None, None
        login = db.session.get(LoginSession, login_id)
        if (login is None or login.ended_at is not None or login.expires_at <= self.clock.now()
                or not secrets.compare_digest(login.binding, binding or "")):
            return None, None
        principal = find_principal(login.principal_kind, login.subject)
        if principal is not None:
            login_session_found.send(self, subject=login.subject)
        return (login, principal) if principal is not None else (None, None)

    def end(self, login):
        """End ``login`` once: one conditional UPDATE, so two parallel logouts (two tabs, a
        logout and a "sign out everywhere") queue its back-channel logout tokens once.
        Returns whether this call ended it."""
        if login is None or login.ended_at is not None:
            return False
        now = self.clock.now()
        ended = (LoginSession.query.filter(LoginSession.id == login.id, LoginSession.ended_at.is_(None))
                 .update({LoginSession.ended_at: now}, synchronize_session=False))
        set_committed_value(login, "ended_at", now)
        if ended:
            self.on_end(login)
        return bool(ended)

    def active(self, principal):
        """``principal``'s login sessions that are still alive, newest first."""
        now = self.clock.now()
        return (LoginSession.query.filter(LoginSession.subject == principal.sub, LoginSession.ended_at.is_(None),
                                          LoginSession.expires_at > now)
                .order_by(LoginSession.created_at.desc()).all())

    def revoke_application(self, principal, client_id):
        """``principal`` withdraws what it granted ``client_id``: the remembered
        consent goes and every token the client holds for it is revoked."""
        from idp.models.session import Consent

        now = self.clock.now()
        Consent.query.filter_by(client_id=client_id, principal_kind=principal.kind, subject=principal.sub).delete()
        for column in (Token.access_revoked_at, Token.refresh_revoked_at):
            (Token.query.filter(Token.subject == principal.sub, Token.client_id == client_id, column.is_(None))
             .update({column: now}, synchronize_session="evaluate"))

    def end_all(self, principal):
        """Sign ``principal`` out everywhere: every login session ends and every
        token issued to it is revoked (after a password reset, for instance)."""
        now = self.clock.now()
        for login in LoginSession.query.filter(LoginSession.subject == principal.sub, LoginSession.ended_at.is_(None),
                                               LoginSession.expires_at > now).all():
            self.end(login)
        (LoginSession.query.filter(LoginSession.subject == principal.sub, LoginSession.ended_at.is_(None))
         .update({LoginSession.ended_at: now}, synchronize_session="evaluate"))
        (Token.query.filter(Token.subject == principal.sub, Token.refresh_revoked_at.is_(None))
         .update({Token.refresh_revoked_at: now}, synchronize_session="evaluate"))
        (Token.query.filter(Token.subject == principal.sub, Token.access_revoked_at.is_(None))
         .update({Token.access_revoked_at: now}, synchronize_session="evaluate"))
