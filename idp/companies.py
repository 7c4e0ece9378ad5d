"""Registering companies and business users (customer service, the CLI, and
later the admin area): validation, temporary passwords and their emails."""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.messages import temporary_password_email
from idp.models.company import MAIN_ADMIN_USERNAME
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.permissions import catalog
from idp.phones import PhoneNumberError
from idp.phones import parse_mobile
from idp.services import get_services

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
USERNAME = re.compile(r"^[a-z0-9._-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
#: No 0/O, 1/l/I: the password is read from an email and typed by hand.
TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class RegistrationError(IdpError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Registered:
    user: BusinessUser
    temporary_password: str


def new_temporary_password(length=16):
    return "".join(secrets.choice(TEMP_ALPHABET) for _ in range(length))


def check_email(value):
    value = (value or "").strip()
    if len(value) > 320 or not EMAIL.match(value):
        raise RegistrationError(f"Invalid email address: {value!r}", "email")
    return value


def check_phone(value):
    try:
        return parse_mobile(value)
    except PhoneNumberError:
        raise RegistrationError(f"Not a Hungarian mobile number: {value!r} (use 9 digits, e.g. 301234567)",
                                "phone") from None


def check_permissions(codes):
    codes = list(dict.fromkeys(codes or []))
    unknown = catalog().unknown(codes)
    if unknown:
        raise RegistrationError(f"Unknown permission(s): {', '.join(unknown)}", "permissions")
    return sorted(codes)


def issue_temporary_password(user):
    """A fresh temporary password for ``user``, emailed to the registered address."""
    services = get_services()
    password = new_temporary_password()
    valid_until = services.clock.now() + timedelta(seconds=int(current_app.config["TEMP_PASSWORD_TTL"]))
    user.password_hash = services.passwords.hash(password)
    user.password_temporary = True
    user.password_expires_at = valid_until
    subject, body = temporary_password_email(user.identifier, password, valid_until,
                                             current_app.config["ISSUER"] + "/login")
    services.mailer.send(user.email_address, subject, body)
    return password


def create_company(slug, name, admin_email, admin_phone, sms_login_required=True, actor="cli"):
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    if not SLUG.match(slug):
        raise RegistrationError("The company slug must be 1-64 lower-case letters, digits or '-'.", "slug")
    if not name or len(name) > 200:
        raise RegistrationError("A company name of 1-200 characters is required.", "name")
    email, phone = check_email(admin_email), check_phone(admin_phone)
    if Company.query.filter_by(slug=slug).first():
        raise RegistrationError(f"A company with the slug {slug!r} already exists.", "slug")
    services = get_services()
    company = Company(slug=slug, name=name, sms_login_required=bool(sms_login_required),
                      created_at=services.clock.now())
    db.session.add(company)
    db.session.flush()
    admin = BusinessUser(company_id=company.id, company_obj=company, username=MAIN_ADMIN_USERNAME,
                         email_address=email, phone=phone, permissions=[], created_at=services.clock.now())
    db.session.add(admin)
    password = issue_temporary_password(admin)
    services.audit.record("company.created", actor=actor, subject=admin.sub, company_id=company.id, slug=slug)
    _commit()
    return company, Registered(admin, password)


def create_user(identifier, email, phone, permissions=(), display_name=None):
    """``user@slug`` for the CLI and the demo: the admin area's own rules, with
    the main admin's powers (``idp.admin.service.create_user``)."""
    from idp.admin import service

    username, _, slug = (identifier or "").strip().lower().partition("@")
    company = Company.query.filter_by(slug=slug).one_or_none()
    if company is None:
        raise RegistrationError(f"No company with the slug {slug!r}.", "company")
    try:
        return service.create_user(service.Actor(company=company), username, email, phone, permissions,
                                   display_name)
    except service.AdminError as error:
        db.session.rollback()
        raise RegistrationError(str(error.message), error.field) from None


def add_phone_line(number, company_slug, permissions=(), label=None, actor="cli"):
    """Register a company's mobile number for phone login with its (phone-applicable) permissions."""
    number = check_phone(number)
    company = Company.query.filter_by(slug=(company_slug or "").strip().lower()).one_or_none()
    if company is None:
        raise RegistrationError(f"No company with the slug {company_slug!r}.", "company")
    codes = check_permissions(permissions)
    not_for_phones = sorted(set(codes) - catalog().phone_codes())
    if not_for_phones:
        raise RegistrationError(f"Not available to phone lines: {', '.join(not_for_phones)}", "permissions")
    if PhoneLine.query.filter_by(number=number).first():
        raise RegistrationError(f"{number} is already registered.", "number")
    services = get_services()
    line = PhoneLine(company_id=company.id, company_obj=company, number=number, label=label,
                     permissions=codes, created_at=services.clock.now())
    db.session.add(line)
    db.session.flush()  # assigns the line's sub, which the audit event names
    services.audit.record("phone_line.added", actor=actor, subject=line.sub, company_id=company.id,
                          permissions=codes)
    _commit()
    return line


def _commit():
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RegistrationError("It already exists.") from None
