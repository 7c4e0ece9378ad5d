"""Test data factories: real rows through the same code the product uses."""

import itertools

from idp.clients import register_client
from idp.extensions import db
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.services import get_services

_counter = itertools.count(1)


def make_client(**overrides):
    """A registered client; returns ``(client, secret)``."""
    values = {"name": "Test RP", "redirect_uris": ["https://rp.example/cb"]}
    values.update(overrides)
    result = register_client(**values)
    return result.client, result.client_secret


def make_company(slug=None, name=None, sms_login_required=True):
    n = next(_counter)
    company = Company(slug=slug or f"co{n}", name=name or f"Cég {n} Kft.",
                      sms_login_required=sms_login_required, created_at=get_services().clock.now())
    db.session.add(company)
    db.session.commit()
    return company


def make_user(company=None, username=None, permissions=(), email=None, phone=None, **fields):
    company = company or make_company()
    n = next(_counter)
    user = BusinessUser(company_id=company.id, username=username or f"user{n}",
                        email_address=email or f"user{n}@example.com", phone=phone or f"+3630{n:07d}",
                        permissions=list(permissions), created_at=get_services().clock.now(), **fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_phone_line(company=None, number=None, permissions=()):
    company = company or make_company()
    n = next(_counter)
    line = PhoneLine(company_id=company.id, number=number or f"+3620{n:07d}", permissions=list(permissions),
                     created_at=get_services().clock.now())
    db.session.add(line)
    db.session.commit()
    return line


def make_login_user(company=None, password="Helyes-jelszo-2024!", **fields):
    """A business user with a permanent (not temporary) password set."""
    fields.setdefault("password_temporary", False)
    fields.setdefault("password_hash", get_services().passwords.hash(password))
    return make_user(company=company, **fields)


# --- added for the admin-area tests ------------------------------------------------------
def make_company_with_admin(slug=None, name=None, sms_login_required=True, password="Helyes-jelszo-2024!",
                            email=None, phone=None):
    """A company and its main admin (``admin@<slug>``) with a permanent password; returns both."""
    company = make_company(slug=slug, name=name, sms_login_required=sms_login_required)
    admin = make_login_user(company=company, password=password, username="admin",
                            email=email or f"admin@{company.slug}.example", phone=phone)
    return company, admin
