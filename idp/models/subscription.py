"""Subscriptions (home, mobile, business) and who may see them."""

from idp.extensions import db
from idp.models.base import UTCDateTime
from idp.models.base import random_id

SUBSCRIPTION_KINDS = ("home", "mobile", "business")


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (db.CheckConstraint("kind IN ('home', 'mobile', 'business')", name="kind"),)

    id = db.Column(db.Integer, primary_key=True)
    public_id = db.Column(db.String(32), nullable=False, unique=True, default=random_id)
    kind = db.Column(db.String(16), nullable=False)
    label = db.Column(db.String(200), nullable=False)
    external_id = db.Column(db.String(64), nullable=False, unique=True)
    account_id = db.Column(db.Integer, db.ForeignKey("telekom_accounts.id"), nullable=True, index=True)
    company_id = db.Column(db.Integer, db.ForeignKey("companies.id"), nullable=True, index=True)
    phone_line_id = db.Column(db.Integer, db.ForeignKey("phone_lines.id"), nullable=True, index=True)
    created_at = db.Column(UTCDateTime, nullable=False)

    def claim(self):
        return {"id": self.public_id, "kind": self.kind, "label": self.label}
