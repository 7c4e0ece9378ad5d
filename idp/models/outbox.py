"""Development outbox: every SMS and email "sent" in development."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id = db.Column(db.Integer, primary_key=True)
    channel = db.Column(db.String(8), nullable=False)  # "sms" | "email"
    to = db.Column(db.String(320), nullable=False)
    subject = db.Column(db.String(255), nullable=True)
    body = db.Column(db.Text, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, index=True)

    def to_dict(self):
        return {"id": self.id, "channel": self.channel, "to": self.to,
                "subject": self.subject, "body": self.body,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z")}
