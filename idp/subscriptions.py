"""Subscriptions and their owners: the rules of ``idp subscription …``, kept apart
from the command line so the account page can use them too.

A subscription (home, mobile or business; ``idp.models.subscription``) belongs to
exactly one owner: a Telekom account, a company or one of its phone lines. Who
*sees* it is each principal's ``visible_subscriptions()``; this module registers,
lists and removes them. Every change is audited.
"""

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.extensions import db
from idp.models.account import TelekomAccount
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.models.subscription import SUBSCRIPTION_KINDS
from idp.models.subscription import Subscription
from idp.models.subscription import subscriptions_where
from idp.phones import PhoneNumberError
from idp.phones import parse_mobile
from idp.services import get_services

LABEL_MAX = 200
EXTERNAL_ID_MAX = 64
OWNER_OPTIONS = "--account EMAIL_OR_PHONE, --company SLUG or --phone NUMBER"
#: Owner type -> the column of ``subscriptions`` that names it.
OWNER_COLUMNS = {"account": "account_id", "company": "company_id", "phone": "phone_line_id"}


class SubscriptionError(IdpError):
    """A refused lookup or change; ``field`` names the input at fault."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Owner:
    """Whose a subscription is: a Telekom account, a company or a phone line."""

    type: str  # "account" | "company" | "phone"
    row: TelekomAccount | Company | PhoneLine

    @classmethod
    def of(cls, row):
        """The owner ``row`` (a ``TelekomAccount``, ``Company`` or ``PhoneLine``) is."""
        types = {TelekomAccount: "account", Company: "company", PhoneLine: "phone"}
        return cls(types[type(row)], row)

    @property
    def identifier(self):
        """What a person types for it: the account's email (or phone), the slug, the number."""
        return self.row.slug if self.type == "company" else self.row.identifier

    @property
    def company_id(self):
        """The company whose audit log records changes to its (or its lines') subscriptions."""
        return self.row.id if self.type == "company" else getattr(self.row, "company_id", None)

    @property
    def subject(self):
        return None if self.type == "company" else self.row.sub

    def column(self):
        return {OWNER_COLUMNS[self.type]: self.row.id}

    def subscriptions(self):
        """The owner's own subscriptions (not those it sees through others), ordered."""
        return subscriptions_where(**self.column())

    def details(self):
        """What the audit log adds about the owner: a phone line's number (its ``sub`` is opaque)."""
        return {"number": self.row.number} if self.type == "phone" else {}

    def document(self):
        return {"type": self.type, "identifier": self.identifier}


# --- finding owners -------------------------------------------------------------------------------
def find_account(identifier):
    """The Telekom account with this email address, or this phone number in any form the phone
    login accepts (``301234567``, ``+36301234567``); a deleted account is not found."""
    text = (identifier or "").strip()
    if "@" in text:
        query = TelekomAccount.query.filter(func.lower(TelekomAccount.email_address) == text.lower())
    else:
        try:
            query = TelekomAccount.query.filter_by(phone=parse_mobile(text))
        except PhoneNumberError:
            raise SubscriptionError(f"Not an email address or a Hungarian mobile number: {identifier!r}.",
                                    "account") from None
    account = query.filter(TelekomAccount.deleted_at.is_(None)).first()
    if account is None:
        raise SubscriptionError(f"No Telekom account {text!r}.", "account")
    return account


def find_company(slug):
    company = Company.query.filter_by(slug=(slug or "").strip().lower()).one_or_none()
    if company is None:
        raise SubscriptionError(f"No company with the slug {slug!r}.", "company")
    return company


def find_phone_line(number):
    """The (not removed) phone line of ``number`` in any form the phone login accepts."""
    try:
        e164 = parse_mobile(number)
    except PhoneNumberError:
        raise SubscriptionError(f"Not a Hungarian mobile number: {number!r} (use 9 digits, e.g. 301234567).",
                                "phone") from None
    line = PhoneLine.query.filter_by(number=e164, deleted_at=None).one_or_none()
    if line is None:
        raise SubscriptionError(f"{e164} is not a registered phone line.", "phone")
    return line


def find_owner(account=None, company=None, phone=None):
    """The one owner named: exactly one of ``account``, ``company`` and ``phone`` must be given."""
    given = {name: value for name, value in (("account", account), ("company", company), ("phone", phone))
             if value is not None}
    if len(given) != 1:
        raise SubscriptionError(f"Give exactly one owner: {OWNER_OPTIONS}.", "owner")
    (name, value), = given.items()
    finder = {"account": find_account, "company": find_company, "phone": find_phone_line}[name]
    return Owner(name, finder(value))


def owner_of(subscription):
    if subscription.account_id is not None:
        return Owner("account", db.session.get(TelekomAccount, subscription.account_id))
    if subscription.company_id is not None:
        return Owner("company", db.session.get(Company, subscription.company_id))
    return Owner("phone", db.session.get(PhoneLine, subscription.phone_line_id))


# --- checking what is given -----------------------------------------------------------------------
def check_kind(kind):
    kind = (kind or "").strip().lower()
    if kind not in SUBSCRIPTION_KINDS:
        raise SubscriptionError(f"The kind must be one of {', '.join(SUBSCRIPTION_KINDS)}.", "kind")
    return kind


def check_label(label):
    label = (label or "").strip()
    if not 1 <= len(label) <= LABEL_MAX or any(unicodedata.category(c) == "Cc" for c in label):
        raise SubscriptionError(f"A label of 1-{LABEL_MAX} characters (one line) is required.", "label")
    return label


def check_external_id(external_id):
    external_id = (external_id or "").strip()
    if (not 1 <= len(external_id) <= EXTERNAL_ID_MAX
            or any(c.isspace() or unicodedata.category(c) == "Cc" for c in external_id)):
        raise SubscriptionError(f"The external id must be 1-{EXTERNAL_ID_MAX} characters without spaces.",
                                "external_id")
    return external_id


def _taken(external_id):
    return SubscriptionError(f"A subscription with the external id {external_id!r} already exists.",
                             "external_id")


# --- changes --------------------------------------------------------------------------------------
def add_subscription(owner, kind, label, external_id, actor="cli"):
    """Register a subscription of ``owner`` (an :class:`Owner`); ``external_id`` is the billing
    system's id, unique among all subscriptions."""
    kind, label, external_id = check_kind(kind), check_label(label), check_external_id(external_id)
    if Subscription.query.filter_by(external_id=external_id).first() is not None:
        raise _taken(external_id)
    services = get_services()
    subscription = Subscription(kind=kind, label=label, external_id=external_id, created_at=services.clock.now(),
                                **owner.column())
    db.session.add(subscription)
    services.audit.record("subscription.added", actor=actor, subject=owner.subject, company_id=owner.company_id,
                          external_id=external_id, subscription_kind=kind, label=label, **owner.details())
    try:
        db.session.commit()
    except IntegrityError:  # the same external id registered at the same moment
        db.session.rollback()
        raise _taken(external_id) from None
    return subscription


def find_subscription(external_id):
    subscription = Subscription.query.filter_by(external_id=(external_id or "").strip()).one_or_none()
    if subscription is None:
        raise SubscriptionError(f"No subscription with the external id {external_id!r}.", "external_id")
    return subscription


def remove_subscription(subscription, actor="cli"):
    """Delete ``subscription``: nobody sees it any more, and its external id is free again."""
    owner = owner_of(subscription)
    get_services().audit.record("subscription.removed", actor=actor, subject=owner.subject,
                                company_id=owner.company_id, external_id=subscription.external_id,
                                subscription_kind=subscription.kind, label=subscription.label, **owner.details())
    db.session.delete(subscription)
    db.session.commit()
    return owner

