"""Readable names of the audit events shown on the admin area's log page."""

from flask_babel import lazy_gettext as _l

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
    "login.succeeded": _l("Sikeres belépés"),
    "login.failed": _l("Sikertelen belépés"),
    "login.locked": _l("Azonosító zárolva"),
    "otp.sent": _l("Egyszer használatos kód elküldve"),
    "password.changed": _l("Jelszó megváltoztatva"),
    "password.reset": _l("Jelszó visszaállítva"),
    "sms.budget_exhausted": _l("Napi SMS-keret elfogyott"),
    "client.registered": _l("Alkalmazás regisztrálva"),
    "oauth.consent_granted": _l("Hozzáférés engedélyezve egy alkalmazásnak"),
    "oauth.token_revoked": _l("Token visszavonva"),
    "oauth.code_replayed": _l("Újrafelhasznált engedélyezési kód (tokenek visszavonva)"),
    "oauth.refresh_token_reused": _l("Újrafelhasznált frissítő token (tokenek visszavonva)"),
}


def event_label(event):
    label = EVENT_LABELS.get(event)
    return str(label) if label is not None else event
