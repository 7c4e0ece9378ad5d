"""Claims by scope (DESIGN.md §2), shared by the ID token, userinfo and the
JWT access token so the three never disagree."""

from authlib.oauth2.rfc6749.util import scope_to_list
from flask_babel import lazy_gettext

from idp.models.principal import KIND_BUSINESS

#: scope -> the user claims it releases (the ``openid`` row is protocol claims).
SCOPE_CLAIMS = {
    "openid": ["sub"],
    "profile": ["name", "preferred_username", "locale"],
    "email": ["email", "email_verified"],
    "phone": ["phone_number", "phone_number_verified"],
    "company": ["company", "company_role"],
    "permissions": ["permissions"],
    "subscriptions": ["subscriptions"],
    "offline_access": [],  # no claim: a refresh token that outlives the login (OIDC Core §11)
}
PROTOCOL_CLAIMS = ["iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash"]


def claims_supported():
    names = PROTOCOL_CLAIMS + [c for claims in SCOPE_CLAIMS.values() for c in claims]
    return list(dict.fromkeys(names))


def user_claims(principal, scope) -> dict:
    """The user claims ``principal`` releases for ``scope`` (a string or list)."""
    scopes = set(scope_to_list(scope) or [])
    claims = {"sub": principal.sub}
    if "profile" in scopes:
        claims["name"] = principal.name
        claims["preferred_username"] = principal.identifier
        if principal.locale:
            claims["locale"] = principal.locale
    if "email" in scopes and principal.email:
        claims["email"] = principal.email
        claims["email_verified"] = bool(principal.email_verified)
    if "phone" in scopes and principal.phone_number:
        claims["phone_number"] = principal.phone_number
        claims["phone_number_verified"] = bool(principal.phone_number_verified)
    if "company" in scopes and principal.kind == KIND_BUSINESS:
        claims["company"] = principal.company.claim()
        claims["company_role"] = principal.company_role
    if "permissions" in scopes:
        claims["permissions"] = principal.permission_codes
    if "subscriptions" in scopes:
        claims["subscriptions"] = [s.claim() for s in principal.visible_subscriptions()]
    return claims


def access_token_claims(principal, scope) -> dict:
    """What a resource server needs to authorize locally (RFC 9068 §2.2.3.1)."""
    if principal is None:
        return {}
    full = user_claims(principal, scope)
    return {k: full[k] for k in ("company", "permissions") if k in full}


SCOPE_LABELS = {
    "openid": lazy_gettext("Azonosítás (bejelentkezés)"),
    "profile": lazy_gettext("Név és felhasználónév"),
    "email": lazy_gettext("E-mail-cím"),
    "phone": lazy_gettext("Telefonszám"),
    "company": lazy_gettext("Cég és szerepkör"),
    "permissions": lazy_gettext("Jogosultságok"),
    "subscriptions": lazy_gettext("Előfizetések"),
    "offline_access": lazy_gettext("Hozzáférés akkor is, amikor Ön nincs bejelentkezve: az alkalmazás "
                                   "kijelentkezés után is eléri a fenti adatokat, amíg vissza nem vonja"),
}


def scope_label(scope):
    return str(SCOPE_LABELS.get(scope, scope))


#: What each scope reveals, said on the consent page (under the label).
SCOPE_REVEALS = {
    "openid": lazy_gettext("Az alkalmazás megtudja, hogy Ön lépett be, egy csak neki szóló állandó azonosítóval."),
    "profile": lazy_gettext("A neve és a felhasználóneve."),
    "email": lazy_gettext("Az e-mail-címe, és hogy megerősítette-e."),
    "phone": lazy_gettext("A telefonszáma, és hogy megerősítette-e."),
    "company": lazy_gettext("A cége neve és az Ön szerepe a cégnél."),
    "permissions": lazy_gettext("Milyen funkciókat használhat a cégnél (például számlák megtekintése)."),
    "subscriptions": lazy_gettext("Az előfizetései, amelyeket Ön lát (otthoni, mobil, üzleti)."),
    "offline_access": lazy_gettext("Az alkalmazás akkor is hozzáfér a fenti adatokhoz, amikor Ön nincs "
                                   "bejelentkezve, amíg a hozzáférést vissza nem vonja."),
}


def scope_details(principal, scope):
    """For the consent page: ``[(scope, label, what it reveals, the values it would share)]``."""
    claims = user_claims(principal, scope)
    values = {
        "profile": [claims.get("name"), claims.get("preferred_username")],
        "email": [claims.get("email")],
        "phone": [claims.get("phone_number")],
        "company": [claims["company"]["name"]] if "company" in claims else [],
        "permissions": claims.get("permissions") or [],
        "subscriptions": [s["label"] for s in claims.get("subscriptions") or []],
    }
    return [(s, scope_label(s), str(SCOPE_REVEALS.get(s, "")),
             [v for v in dict.fromkeys(values.get(s, [])) if v]) for s in (scope_to_list(scope) or [])]
