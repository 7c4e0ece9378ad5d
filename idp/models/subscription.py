"""Subscriptions (home, mobile, business) and who may see them.

A subscription belongs to exactly one owner: a Telekom account (``account_id``,
e.g. a home subscription), a company (``company_id``) or one of a company's
phone lines (``phone_line_id``). Who sees it is each principal's
``visible_subscriptions()``: a business user its company's when it holds
``subscriptions.view``, a phone line its own when it holds it, a Telekom
account its own and what each active identity linked to it sees.
"""

from idp.extensions import db
from idp.models.base import UTCDateTime
from idp.models.base import random_id

SUBSCRIPTION_KINDS = ("home", "mobile", "business")
#: The permission that lets a business user or a phone line see subscriptions.
VIEW_SUBSCRIPTIONS = "subscriptions.view"

#: Exactly one of the three owner columns is set.
ONE_OWNER = ("(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END)"
             " + (CASE WHEN company_id IS NULL THEN 0 ELSE 1 END)"
             " + (CASE WHEN phone_line_id IS NULL THEN 0 ELSE 1 END) = 1")


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (db.CheckConstraint("kind IN ('home', 'mobile', 'business')", name="kind"),
                      db.CheckConstraint(ONE_OWNER, name="one_owner"))

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

    def sort_key(self):
        """Home, mobile, business; then by label (case-insensitively); then oldest first."""
        return SUBSCRIPTION_KINDS.index(self.kind), self.label.casefold(), self.label, self.id


def ordered(subscriptions):
    """``subscriptions`` without duplicates, in the one stable order every list uses."""
    unique = {s.id: s for s in subscriptions}
    return sorted(unique.values(), key=Subscription.sort_key)


def subscriptions_where(**owner):
    """The subscriptions of one owner column (``company_id=…``, ``phone_line_id=…`` or ``account_id=…``), ordered."""
    return ordered(Subscription.query.filter_by(**owner).all())
