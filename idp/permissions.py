"""The permission catalog (DESIGN.md §2): codes with Hungarian and English labels.

Configurable with ``IDP_PERMISSION_CATALOG``: a list of
``{"code", "hu", "en", "phone": bool}``. A phone line may only hold codes
marked ``phone``.
"""

from dataclasses import dataclass

from flask import current_app

DEFAULT_CATALOG = [
    {"code": "invoices.view", "hu": "Számlák megtekintése", "en": "View invoices", "phone": True},
    {"code": "invoices.pay", "hu": "Számlák befizetése", "en": "Pay invoices", "phone": True},
    {"code": "subscriptions.view", "hu": "Előfizetések megtekintése", "en": "View subscriptions", "phone": True},
    {"code": "subscriptions.manage", "hu": "Előfizetések kezelése", "en": "Manage subscriptions", "phone": False},
    {"code": "orders.create", "hu": "Rendelés leadása", "en": "Place orders", "phone": False},
    {"code": "usage.view", "hu": "Forgalom megtekintése", "en": "View usage", "phone": True},
    {"code": "users.manage", "hu": "Felhasználók kezelése", "en": "Manage users", "phone": False},
]


@dataclass(frozen=True)
class Permission:
    code: str
    hu: str
    en: str
    phone: bool

    def label(self, locale):
        return self.en if str(locale).startswith("en") else self.hu


class Catalog:
    def __init__(self, entries):
        self.entries = [Permission(e["code"], e["hu"], e["en"], bool(e.get("phone"))) for e in entries]

    def codes(self) -> set[str]:
        return {p.code for p in self.entries}

    def phone_codes(self) -> set[str]:
        return {p.code for p in self.entries if p.phone}

    def unknown(self, codes) -> list[str]:
        return sorted(set(codes) - self.codes())


def catalog() -> Catalog:
    entries = current_app.config.get("PERMISSION_CATALOG") or DEFAULT_CATALOG
    return Catalog(entries)
