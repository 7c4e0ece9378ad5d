"""OpenID Connect Back-Channel Logout 1.0: when a login session ends, every
client that got tokens from it and registered a ``backchannel_logout_uri``
receives a signed logout token (§2.4) by a direct POST (§2.5).

Never blocking the person's logout: the notifications are rows written in the
logout's own transaction, and sent afterwards by a background thread of the
node that ended the session; a failed delivery is retried with back-off
(``BACKCHANNEL_RETRY_DELAYS``), and ``idp logout deliver`` (cron, or any
node) sends whatever is due. A row is claimed with one atomic UPDATE, so two
nodes never send the same one at once.
"""

import logging
import secrets
import threading
from datetime import timedelta

import requests
from flask import g
from flask import has_request_context
from joserfc import jwt
from sqlalchemy import or_

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.registration import LogoutNotification
from idp.models.token import AuthorizationCode
from idp.models.token import Token

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120
CLAIM_SECONDS = 60


class BackchannelLogout:
    def __init__(self, clock, keys, config, http=requests):
        self.clock, self.keys, self.config, self.http = clock, keys, config, http

    @classmethod
    def from_config(cls, config, clock, keys):
        return cls(clock, keys, config)

    # --- when a session ends ---------------------------------------------------------------------
    def session_ended(self, login):
        """Queue a logout token for every client with a back-channel URI that
        got tokens (or a code) from ``login`` (in the caller's transaction)."""
        client_ids = {row[0] for row in db.session.query(Token.client_id).filter(Token.sid == login.id)}
        client_ids |= {row[0] for row in db.session.query(AuthorizationCode.client_id)
                       .filter(AuthorizationCode.sid == login.id)}
        if not client_ids:
            return 0
        clients = OAuthClient.query.filter(OAuthClient.client_id.in_(client_ids),
                                           OAuthClient.backchannel_logout_uri.isnot(None)).all()
        now = self.clock.now()
        for client in clients:
            db.session.add(LogoutNotification(
                client_id=client.client_id, uri=client.backchannel_logout_uri, attempts=0, created_at=now,
                next_attempt_at=now, logout_token=self.logout_token(client, login.subject, login.id)))
        if clients and has_request_context():
            g.backchannel_due = True  # idp.create_app sends them once the response is out
        return len(clients)

    def logout_token(self, client, subject, sid):
        """§2.4: iss, aud, iat, exp, jti, sub, sid and the back-channel event; never a nonce."""
        now = self.clock.timestamp()
        claims = {"iss": self.config["ISSUER"], "aud": client.client_id, "iat": now,
                  "exp": now + LOGOUT_TOKEN_TTL, "jti": secrets.token_urlsafe(16), "sub": subject, "sid": sid,
                  "events": {BACKCHANNEL_EVENT: {}}}
        alg = client.id_token_signed_response_alg or self.config["DEFAULT_SIGNING_ALG"]
        key = self.keys.signing_key(alg)
        return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key)

    # --- delivering ---------------------------------------------------------------------------------
    def deliver_due(self, limit=50):
        """Send the notifications that are due; returns ``(delivered, failed)``."""
        delivered = failed = 0
        for notification_id in self._due_ids(limit):
            notification = self._claim(notification_id)
            if notification is None:
                continue
            if self._send(notification):
                delivered += 1
            else:
                failed += 1
        return delivered, failed

    def _due_ids(self, limit):
        now = self.clock.now()
        return [row[0] for row in db.session.query(LogoutNotification.id).filter(
            LogoutNotification.delivered_at.is_(None), LogoutNotification.given_up_at.is_(None),
            LogoutNotification.next_attempt_at <= now).order_by(LogoutNotification.id).limit(limit)]

    def _claim(self, notification_id):
        now = self.clock.now()
        claimed = (LogoutNotification.query
                   .filter(LogoutNotification.id == notification_id, LogoutNotification.delivered_at.is_(None),
                           or_(LogoutNotification.claimed_until.is_(None), LogoutNotification.claimed_until < now))
                   .update({LogoutNotification.claimed_until: now + timedelta(seconds=CLAIM_SECONDS)},
                           synchronize_session=False))
        db.session.commit()
        return db.session.get(LogoutNotification, notification_id) if claimed else None

    def _send(self, notification):
        """§2.5: POST ``logout_token`` form-encoded; 200 or 204 is success (§2.8)."""
        try:
            response = self.http.post(notification.uri, data={"logout_token": notification.logout_token},
                                      timeout=float(self.config["BACKCHANNEL_LOGOUT_TIMEOUT"]),
                                      allow_redirects=False)
            ok, error = response.status_code in (200, 204), f"HTTP {response.status_code}"
        except requests.RequestException as problem:
            ok, error = False, type(problem).__name__
        now = self.clock.now()
        notification.attempts += 1
        notification.claimed_until = None
        if ok:
            notification.delivered_at = now
        else:
            notification.last_error = error[:200]
            delays = [int(d) for d in self.config["BACKCHANNEL_RETRY_DELAYS"]]
            if notification.attempts > len(delays):
                notification.given_up_at = now
                log.warning("back-channel logout to %s given up after %s attempts (%s)", notification.client_id,
                            notification.attempts, error)
            else:
                notification.next_attempt_at = now + timedelta(seconds=delays[notification.attempts - 1])
        db.session.commit()
        return ok

    def deliver_in_background(self, app):
        """Send what is due from a thread of this node, after the response (best effort)."""
        if not self.config.get("BACKCHANNEL_LOGOUT_ASYNC", True):
            self.deliver_due()
            return None

        def run():
            with app.app_context():
                try:
                    self.deliver_due()
                except Exception:  # never let a delivery problem escape a thread unseen
                    log.exception("back-channel logout delivery failed")
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run, name="backchannel-logout", daemon=True)
        thread.start()
        return thread


def pending_count():
    """Notifications neither delivered nor given up yet."""
    return LogoutNotification.query.filter(LogoutNotification.delivered_at.is_(None),
                                           LogoutNotification.given_up_at.is_(None)).count()
