"""Companies and the principals that belong to them: business users and phone lines."""

from idp.extensions import db
from idp.models.base import UTCDateTime
from idp.models.base import new_subject
from idp.models.base import random_id
from idp.models.principal import KIND_BUSINESS
from idp.models.principal import KIND_PHONE
from idp.models.principal import PrincipalMixin

MAIN_ADMIN_USERNAME = "admin"
MANAGE_USERS = "users.manage"


class Company(db.Model):
    __tablename__ = "companies"

    id = db.Column(db.Integer, primary_key=True)
    public_id = db.Column(db.String(32), nullable=False, unique=True, default=random_id)
    slug = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    sms_login_required = db.Column(db.Boolean, nullable=False, default=True)
    sms_setting_changed_by = db.Column(db.String(128), nullable=True)
    sms_setting_changed_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)

    def claim(self):
        return {"id": self.public_id, "slug": self.slug, "name": self.name}


class BusinessUser(PrincipalMixin, db.Model):
    """``<username>@<company>``; ``admin@<company>`` is the main administrator."""

    __tablename__ = "business_users"
    __table_args__ = (db.UniqueConstraint("company_id", "username", name="uq_business_users_company_username"),)
    kind = KIND_BUSINESS

    id = db.Column(db.Integer, primary_key=True)
    sub = db.Column(db.String(32), nullable=False, unique=True, default=new_subject)
    company_id = db.Column(db.Integer, db.ForeignKey("companies.id"), nullable=False, index=True)
    username = db.Column(db.String(64), nullable=False)
    display_name = db.Column(db.String(200), nullable=True)
    email_address = db.Column(db.String(320), nullable=False)
    phone = db.Column(db.String(20), nullable=False)  # E.164
    permissions = db.Column(db.JSON, nullable=False, default=list)
    password_hash = db.Column(db.String(255), nullable=True)
    password_temporary = db.Column(db.Boolean, nullable=False, default=True)
    password_expires_at = db.Column(UTCDateTime, nullable=True)
    password_changed_at = db.Column(UTCDateTime, nullable=True)
    preferred_locale = db.Column(db.String(8), nullable=True)
    disabled = db.Column(db.Boolean, nullable=False, default=False)
    deleted_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)

    company_obj = db.relationship(Company, lazy="joined")

    @property
    def is_main_admin(self):
        return self.username == MAIN_ADMIN_USERNAME

    @property
    def identifier(self):
        return f"{self.username}@{self.company_obj.slug}"

    @property
    def company(self):
        return self.company_obj

    @property
    def company_role(self):
        return "main_admin" if self.is_main_admin else "user"

    @property
    def permission_codes(self):
        from idp.permissions import catalog

        if self.is_main_admin:
            return sorted(catalog().codes())
        return sorted(set(self.permissions or []) & catalog().codes())

    @property
    def may_administer(self):
        """The company admin area is for the main admin and users holding ``users.manage``."""
        return self.is_main_admin or MANAGE_USERS in self.permission_codes

    @property
    def email(self):
        return self.email_address

    @property
    def email_verified(self):
        # Registered by customer service or the main admin, and proven by the
        # emailed temporary password once the user has changed it.
        return self.password_changed_at is not None

    @property
    def phone_number(self):
        return self.phone

    @property
    def phone_number_verified(self):
        return self.password_changed_at is not None

    @property
    def locale(self):
        return self.preferred_locale

    @property
    def name(self):
        return self.display_name or self.identifier

    def visible_subscriptions(self):
        """The company's subscriptions, for the main admin and a user holding ``subscriptions.view``."""
        from idp.models.subscription import VIEW_SUBSCRIPTIONS
        from idp.models.subscription import subscriptions_where

        if not self.is_active or not (self.is_main_admin or VIEW_SUBSCRIPTIONS in self.permission_codes):
            return []
        return subscriptions_where(company_id=self.company_id)


class PhoneLine(PrincipalMixin, db.Model):
    """A mobile number of a company: logs in with SMS only, no company-level functions."""

    __tablename__ = "phone_lines"
    kind = KIND_PHONE

    id = db.Column(db.Integer, primary_key=True)
    sub = db.Column(db.String(32), nullable=False, unique=True, default=new_subject)
    company_id = db.Column(db.Integer, db.ForeignKey("companies.id"), nullable=False, index=True)
    number = db.Column(db.String(20), nullable=False, unique=True)  # E.164
    label = db.Column(db.String(200), nullable=True)
    permissions = db.Column(db.JSON, nullable=False, default=list)
    disabled = db.Column(db.Boolean, nullable=False, default=False)
    deleted_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)

    company_obj = db.relationship(Company, lazy="joined")

    @property
    def permission_codes(self):
        from idp.permissions import catalog

        return sorted(set(self.permissions or []) & catalog().phone_codes())

    @property
    def phone_number(self):
        return self.number

    @property
    def phone_number_verified(self):
        return True

    @property
    def name(self):
        return self.label or self.number

    @property
    def identifier(self):
        return self.number

    def visible_subscriptions(self):
        """The number's own subscriptions, when the main admin left it ``subscriptions.view``."""
        from idp.models.subscription import VIEW_SUBSCRIPTIONS
        from idp.models.subscription import subscriptions_where

        if not self.is_active or VIEW_SUBSCRIPTIONS not in self.permission_codes:
            return []
        return subscriptions_where(phone_line_id=self.id)
