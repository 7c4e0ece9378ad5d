"""The consumer "Telekom account": one login for every subscription a person
manages (MISSION.md 9), the identities linked to it, and the snoozed offer to
create one after a business or phone login."""

from idp.extensions import db
from idp.models.base import UTCDateTime
from idp.models.base import new_subject
from idp.models.principal import KIND_ACCOUNT
from idp.models.principal import PrincipalMixin


class TelekomAccount(PrincipalMixin, db.Model):
    __tablename__ = "telekom_accounts"
    kind = KIND_ACCOUNT

    id = db.Column(db.Integer, primary_key=True)
    sub = db.Column(db.String(32), nullable=False, unique=True, default=new_subject)
    email_address = db.Column(db.String(320), nullable=True, unique=True)
    email_confirmed = db.Column(db.Boolean, nullable=False, default=False)
    phone = db.Column(db.String(20), nullable=True, unique=True)  # E.164
    phone_confirmed = db.Column(db.Boolean, nullable=False, default=False)
    display_name = db.Column(db.String(200), nullable=True)
    password_hash = db.Column(db.String(255), nullable=True)
    facebook_id = db.Column(db.String(64), nullable=True, unique=True)
    preferred_locale = db.Column(db.String(8), nullable=True)
    password_changed_at = db.Column(UTCDateTime, nullable=True)
    disabled = db.Column(db.Boolean, nullable=False, default=False)
    deleted_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)

    @property
    def email(self):
        return self.email_address

    @property
    def email_verified(self):
        return self.email_confirmed

    @property
    def phone_number(self):
        return self.phone

    @property
    def phone_number_verified(self):
        return self.phone_confirmed

    @property
    def locale(self):
        return self.preferred_locale

    @property
    def name(self):
        return self.display_name or self.email_address or self.phone

    @property
    def identifier(self):
        return self.email_address or self.phone

    def visible_subscriptions(self):
        """The account's own subscriptions and everything each active identity linked to it
        sees (a disabled or deleted business user or phone line adds nothing), once each."""
        from idp.models.principal import find_principal
        from idp.models.subscription import ordered
        from idp.models.subscription import subscriptions_where

        if not self.is_active:
            return []
        seen = subscriptions_where(account_id=self.id)
        links = AccountLink.query.filter_by(account_id=self.id).order_by(AccountLink.id).all()
        for link in links:
            identity = find_principal(link.principal_kind, link.subject)
            if identity is not None and identity.kind != self.kind:
                seen.extend(identity.visible_subscriptions())
        return ordered(seen)


class AccountLink(db.Model):
    """A business user or phone line linked to a Telekom account. An identity
    belongs to one account only; a link is made only when the person has just
    proven control of both sides (``idp.flows.account``)."""

    __tablename__ = "account_links"
    __table_args__ = (db.UniqueConstraint("principal_kind", "subject", name="uq_account_links_identity"),)

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("telekom_accounts.id"), nullable=False, index=True)
    principal_kind = db.Column(db.String(16), nullable=False)  # business | phone
    subject = db.Column(db.String(32), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False)


class AccountOfferSnooze(db.Model):
    """"Később": the offer to create or link a Telekom account is not shown to
    this identity again before ``until``."""

    __tablename__ = "account_offer_snoozes"
    __table_args__ = (db.UniqueConstraint("principal_kind", "subject", name="uq_account_offer_snoozes_identity"),)

    id = db.Column(db.Integer, primary_key=True)
    principal_kind = db.Column(db.String(16), nullable=False)
    subject = db.Column(db.String(32), nullable=False)
    until = db.Column(UTCDateTime, nullable=False)
