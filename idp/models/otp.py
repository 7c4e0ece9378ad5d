"""One-time codes sent by SMS or email (see ``idp.services.otp``)."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class OtpChallenge(db.Model):
    __tablename__ = "otp_challenges"

    id = db.Column(db.String(64), primary_key=True)
    purpose = db.Column(db.String(32), nullable=False)
    principal_kind = db.Column(db.String(16), nullable=True)
    subject = db.Column(db.String(32), nullable=True, index=True)
    channel = db.Column(db.String(8), nullable=False)  # "sms" | "email"
    destination = db.Column(db.String(320), nullable=True)
    code_hash = db.Column(db.String(64), nullable=True)  # HMAC-SHA256, see idp.services.otp
    attempts = db.Column(db.Integer, nullable=False, default=0)
    sent_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    used_at = db.Column(UTCDateTime, nullable=True)
