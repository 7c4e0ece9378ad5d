"""Dynamic client registration (RFC 7591) and back-channel logout (OIDC
Back-Channel Logout 1.0): the rows behind them."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class RegistrationToken(db.Model):
    """An initial access token (RFC 7591 §3) that ``idp client registration-token``
    issued: stored as a hash, expiring, good for ``uses_left`` registrations."""

    __tablename__ = "registration_tokens"

    id = db.Column(db.Integer, primary_key=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    label = db.Column(db.String(200), nullable=True)
    uses_left = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False)


class LogoutNotification(db.Model):
    """A logout token on its way to a client's ``backchannel_logout_uri``:
    sent in the background, retried with back-off, never blocking a logout."""

    __tablename__ = "logout_notifications"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, index=True)
    uri = db.Column(db.String(2048), nullable=False)
    logout_token = db.Column(db.Text, nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, index=True)
    claimed_until = db.Column(UTCDateTime, nullable=True)
    delivered_at = db.Column(UTCDateTime, nullable=True)
    given_up_at = db.Column(UTCDateTime, nullable=True)
    last_error = db.Column(db.String(200), nullable=True)
