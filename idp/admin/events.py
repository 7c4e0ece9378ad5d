"""The audit log in words, for the admin area's log page: readable names of
the events (``event_label``), of who did them (``who``) and of their details
(``describe``: (label, value) pairs, the raw code kept beside a translated
one where an operator may want to search for it)."""

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from idp import phones
from idp.permissions import catalog

EVENT_LABELS = {
    "company.created": _l("Cég regisztrálva"),
    "company.sms_login_changed": _l("SMS-kód beállítás módosítva"),
    "user.created": _l("Felhasználó létrehozva"),
    "user.updated": _l("Felhasználó adatai módosítva"),
    "user.permissions_changed": _l("Felhasználó jogai módosítva"),
    "user.disabled": _l("Felhasználó letiltva"),
    "user.enabled": _l("Felhasználó engedélyezve"),
    "user.deleted": _l("Felhasználó törölve"),
    "user.temporary_password_sent": _l("Új ideiglenes jelszó elküldve"),
    "phone_line.added": _l("Telefonszám hozzáadva"),
    "phone_line.permissions_changed": _l("Telefonszám jogai módosítva"),
    "phone_line.removed": _l("Telefonszám eltávolítva"),
    "subscription.added": _l("Előfizetés hozzáadva"),
    "subscription.removed": _l("Előfizetés eltávolítva"),
    "login.succeeded": _l("Sikeres belépés"),
    "login.failed": _l("Sikertelen belépés"),
    "login.locked": _l("Azonosító zárolva"),
    "otp.sent": _l("Egyszer használatos kód elküldve"),
    "password.changed": _l("Jelszó megváltoztatva"),
    "password.reset": _l("Jelszó visszaállítva"),
    "sms.budget_exhausted": _l("Napi SMS-keret elfogyott"),
    "client.registered": _l("Alkalmazás regisztrálva"),
    "client.updated": _l("Alkalmazás adatai módosítva"),
    "client.secret_rotated": _l("Alkalmazás titkos kulcsa lecserélve"),
    "client.disabled": _l("Alkalmazás letiltva"),
    "client.enabled": _l("Alkalmazás engedélyezve"),
    "client.deleted": _l("Alkalmazás törölve"),
    "registration_token.issued": _l("Alkalmazás-regisztrációs token kiadva"),
    "registration_token.used": _l("Alkalmazás regisztrálva regisztrációs tokennel"),
    "registration_token.revoked": _l("Alkalmazás-regisztrációs token visszavonva"),
    "oauth.consent_granted": _l("Hozzáférés engedélyezve egy alkalmazásnak"),
    "oauth.token_revoked": _l("Token visszavonva"),
    "oauth.code_replayed": _l("Újrafelhasznált engedélyezési kód (tokenek visszavonva)"),
    "oauth.refresh_token_reused": _l("Újrafelhasznált frissítő token (tokenek visszavonva)"),
    "oauth.grant_revoked": _l("Alkalmazás hozzáférése visszavonva"),
    "logout": _l("Kijelentkezés (alkalmazásból)"),
    "account.created": _l("Telekom fiók létrehozva"),
    "account.contact_verified": _l("Telekom fiók elérhetősége megerősítve"),
    "account.linked": _l("Azonosító csatolva a Telekom fiókhoz"),
    "account.unlinked": _l("Azonosító leválasztva a Telekom fiókról"),
    "account.signed_out_everywhere": _l("Kijelentkezés mindenhol"),
}

#: Every detail key the product records (tests/unit/test_audit_event_labels.py checks it).
DETAIL_LABELS = {
    "grace": _l("A régi titok még ennyi másodpercig érvényes"),
    "identity": _l("Azonosító"),
    "username_kind": _l("Felhasználónév fajtája"),
    "after": _l("Új jogok"),
    "amr": _l("Belépés módja"),
    "before": _l("Korábbi jogok"),
    "budget": _l("Napi SMS-keret"),
    "changed": _l("Módosított adatok"),
    "channel": _l("Csatorna"),
    "client_id": _l("Alkalmazás"),
    "expires_at": _l("Lejárat"),
    "external_id": _l("Külső azonosító"),
    "family": _l("Tokencsalád"),
    "first_party": _l("Saját alkalmazás"),
    "kind": _l("Belépés fajtája"),
    "label": _l("Megnevezés"),
    "minutes": _l("Zárolás időtartama"),
    "name": _l("Név"),
    "number": _l("Telefonszám"),
    "permissions": _l("Jogosultságok"),
    "purpose": _l("Cél"),
    "reason": _l("Ok"),
    "resource_server": _l("Erőforrás-szerver"),
    "resend": _l("Újraküldés"),
    "scope": _l("Hatókörök"),
    "slug": _l("Cégazonosító"),
    "sms_login_required": _l("SMS-kód belépéskor"),
    "subscription_kind": _l("Előfizetés fajtája"),
    "token_id": _l("Token azonosítója"),
    "token_type": _l("Token fajtája"),
    "tokens_revoked": _l("Visszavont tokenek"),
    "username": _l("Felhasználónév"),
    "uses_left": _l("Hátralévő felhasználások"),
}

#: RFC 8176 authentication method references.
AMR = {"pwd": _l("jelszó"), "sms": _l("SMS-kód"), "mfa": _l("kétlépcsős"), "fed": _l("külső fiók"),
       "otp": _l("egyszer használatos kód")}
CHANNELS = {"sms": _l("SMS"), "email": _l("e-mail")}
PURPOSES = {"login": _l("belépés"), "phone_login": _l("belépés telefonszámmal"),
            "password_reset": _l("jelszó-visszaállítás"), "account_signup": _l("Telekom fiók létrehozása"),
            "account_contact": _l("Telekom fiók elérhetőségének megerősítése")}
REASONS = {"password": _l("hibás azonosító vagy jelszó"), "password_expired": _l("lejárt ideiglenes jelszó"),
           "disabled": _l("letiltott fiók"),
           "code_dead": _l("a kód lejárt, vagy túl sokszor adtak meg hibás kódot")}
KINDS = {"business": _l("üzleti azonosítóval"), "phone": _l("telefonszámmal"), "account": _l("Telekom fiókkal"),
         "facebook": _l("Facebookkal"), "choose": _l("a Telekom fiókhoz csatolt üzleti azonosítóval")}
USERNAME_KINDS = {"email": _l("e-mail-cím"), "phone": _l("mobilszám"), "facebook": _l("Facebook")}
SUBSCRIPTION_KINDS = {"home": _l("otthoni"), "mobile": _l("mobil"), "business": _l("üzleti")}
USER_FIELDS = {"email": _l("e-mail-cím"), "phone": _l("telefonszám"), "name": _l("név")}
TOKEN_TYPES = {"access_token": _l("hozzáférési token"), "refresh_token": _l("frissítő token")}
#: Actors that are not principals.
ACTORS = {"cli": _l("ügyfélszolgálat (parancssor)"),
          "dynamic_registration": _l("dinamikus alkalmazásregisztráció")}


@dataclass(frozen=True)
class Detail:
    key: str
    label: str
    value: str
    raw: str | None = None  # the recorded code, when the value translates it


def event_label(event):
    label = EVENT_LABELS.get(event)
    return str(label) if label is not None else event


def who(event, names):
    """Who did it: the principal's identifier (or the application's name) for a
    recorded ``sub`` (or client id); a failed login of an identifier that does
    not exist has no actor, only the identifier tried as its subject."""
    key = event.actor or event.subject
    if not key:
        return ""
    return names.get(key) or str(ACTORS.get(key, key))


def describe(event, names=None):
    """The event's details as readable :class:`Detail` rows, in recorded order.
    ``names`` maps client ids (and subs) to names known to the page."""
    names = names or {}
    rows = []
    for key, value in (event.details or {}).items():
        shown, raw = _value(key, value, names)
        label = DETAIL_LABELS.get(key)
        rows.append(Detail(key, str(label) if label is not None else key, shown, raw))
    return rows


def _value(key, value, names):
    """``(words, raw code or None)`` of one detail."""
    if key in ("permissions", "before", "after"):
        return permission_words(value), _codes(value)
    if key == "amr":
        return _words(value, AMR), _codes(value, " ")
    if key == "changed":
        return _words(value, USER_FIELDS), None
    if key == "client_id":
        name = names.get(value)
        return (name, value) if name else (str(value), None)
    if key == "number":
        return phones.display(value), None
    if key == "minutes":
        return gettext("%(minutes)s perc", minutes=value), None
    table = {"channel": CHANNELS, "purpose": PURPOSES, "reason": REASONS, "kind": KINDS,
             "username_kind": USERNAME_KINDS,
             "token_type": TOKEN_TYPES, "subscription_kind": SUBSCRIPTION_KINDS}.get(key)
    if table is not None and isinstance(value, str):
        return str(table.get(value, value)), (value if value in table and key != "channel" else None)
    return plain(value), None


def plain(value):
    """Any recorded value in words: booleans as igen/nem, lists joined."""
    if isinstance(value, bool):
        return gettext("igen") if value else gettext("nem")
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) if value else gettext("nincs")
    return str(value)


def permission_words(codes):
    """Permission codes as their catalog labels (in catalog order), unknown codes as they are."""
    if not codes:
        return gettext("nincs")
    codes, locale = set(codes), str(get_locale() or "hu")
    entries = catalog().entries
    return ", ".join([p.label(locale) for p in entries if p.code in codes]
                     + sorted(codes - {p.code for p in entries}))


def _words(values, table):
    if not isinstance(values, (list, tuple)):
        values = [values]
    return ", ".join(str(table.get(v, v)) for v in values) if values else gettext("nincs")


def _codes(values, sep=", "):
    if not isinstance(values, (list, tuple)) or not values:
        return None
    return sep.join(str(v) for v in values)
