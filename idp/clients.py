"""Registering and managing relying parties: the one set of rules shared by the
CLI, dynamic client registration and the developer portal.

``register_client`` and ``update_client`` both go through ``validate_metadata``;
disabling or deleting a client ends every token and code issued to it.
"""

import ipaddress
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.errors import IdpError
from idp.extensions import db
from idp.models.client import AUTH_METHODS
from idp.models.client import PUBLIC_AUTH_METHOD
from idp.models.client import SECRET_AUTH_METHODS
from idp.models.client import OAuthClient
from idp.models.client import new_client_secret
from idp.models.session import Consent
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from idp.services import get_services

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
SIGNING_ALGS = ("RS256", "ES256")
#: JWK members that carry private or symmetric key material (RFC 7518 §6): never registered.
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_CLIENT_KEYS = 10
#: Unicode categories a client name may not use: controls, formatting (bidi overrides,
#: zero-width characters), line and paragraph separators, surrogates, private use.
NAME_REFUSED = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}


class ClientError(IdpError):
    """A refused change to a client; ``field`` names the metadata at fault (RFC 7591 §3.2.2)."""

    def __init__(self, message, field="client_metadata"):
        super().__init__(message)
        self.message = message
        self.field = field


class ClientRegistrationError(ClientError):
    """Metadata that breaks the registration rules."""


@dataclass
class RegisteredClient:
    client: OAuthClient
    client_secret: str | None  # only when a new secret was made: shown once, stored hashed


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri, public, field="redirect_uris"):
    """RFC 9700 §2.1, §4.1 / RFC 8252 §7: an absolute URI compared exactly later,
    so no fragment, no wildcard, no userinfo; https, http on loopback, or (native
    public clients) a private-use scheme in reverse-domain form with a path
    (``com.example.app:/cb``) - never ``javascript:``, ``data:`` and the like;
    and not this server itself, which would make it an open redirector."""
    if not isinstance(uri, str):
        raise ClientRegistrationError("URIs must be strings.", field)
    _check_printable_ascii(uri, field)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ClientRegistrationError(f"Invalid URI: {_shown(uri)}", field) from None
    if not parts.scheme or parts.fragment or "#" in uri or len(uri) > 2000 or any(c.isspace() for c in uri):
        raise ClientRegistrationError(f"Redirect URIs must be absolute and have no fragment: {_shown(uri)}", field)
    if "*" in uri or "@" in parts.netloc or any(ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise ClientRegistrationError(f"Redirect URIs may not have wildcards or user info: {_shown(uri)}", field)
    if parts.scheme in ("http", "https") and parts.hostname:
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ClientRegistrationError(f"Redirect URIs must use https (http only on loopback): {_shown(uri)}",
                                          field)
        if _is_this_server(parts):
            raise ClientRegistrationError(f"Redirect URIs may not point at this server: {_shown(uri)}", field)
        return uri
    if public and "." in parts.scheme and parts.scheme not in ("http", "https") and parts.path.startswith("/"):
        return uri
    raise ClientRegistrationError(
        f"Redirect URIs must use https, http on loopback, or (native apps) a private-use scheme such as "
        f"com.example.app:/cb: {_shown(uri)}", field)


def _shown(uri):
    return repr(uri[:200])


def _check_printable_ascii(uri, field):
    """RFC 3986 §2: a URI is printable ASCII - spaces, control characters and
    other letters are percent-encoded (an international host name in punycode);
    what is compared exactly must not hide a look-alike or invisible character."""
    if any(not "!" <= c <= "~" for c in uri):
        raise ClientRegistrationError(f"URIs must be printable ASCII (percent-encode the rest): {_shown(uri)}",
                                      field)


def _is_this_server(parts):
    """A URI on the issuer's own origin (the development callback aside)."""
    issuer = urlsplit(current_app.config["ISSUER"])
    same = (parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}[parts.scheme]) == (
        issuer.scheme, issuer.hostname, issuer.port or {"http": 80, "https": 443}[issuer.scheme])
    dev_callback = current_app.config["ENV"] != "production" and parts.path == "/dev/callback"
    return same and not dev_callback


def check_web_uri(uri, field):
    """A page the consent screen links to (homepage, policy, terms, logo): https
    (http only on loopback), at most 2000 characters."""
    if uri is None or uri == "":
        return None
    if not isinstance(uri, str):
        raise ClientRegistrationError("URIs must be strings.", field)
    _check_printable_ascii(uri, field)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ClientRegistrationError(f"Invalid URI: {_shown(uri)}", field) from None
    if (len(uri) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or (parts.scheme == "http" and not _is_loopback(parts.hostname))):
        raise ClientRegistrationError(f"{field} must be an https URL: {_shown(str(uri))}", field)
    return uri


def check_jwks(jwks):
    """RFC 7591 §2: the client's public keys as a JWK Set (RFC 7517 §5), each one
    a key this server can use - no private or symmetric key material."""
    if not jwks:
        return
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > MAX_CLIENT_KEYS or not all(
            isinstance(key, dict) for key in keys):
        raise ClientRegistrationError(f"jwks must be a JWK Set with 1-{MAX_CLIENT_KEYS} keys.", "jwks")
    if any(PRIVATE_KEY_MEMBERS & set(key) for key in keys):
        raise ClientRegistrationError("jwks may hold public keys only.", "jwks")
    try:
        usable = len(KeySet.import_key_set(jwks).keys) == len(keys)
    except (JoseError, ValueError, TypeError, KeyError):
        usable = False
    if not usable:
        raise ClientRegistrationError("jwks holds a key that is malformed or of an unsupported type.", "jwks")


def new_client_id():
    """24 URL-safe characters (144 random bits), never starting with ``-``,
    which ``idp client show CLIENT_ID`` would take for an option."""
    while True:
        client_id = secrets.token_urlsafe(18)
        if not client_id.startswith("-"):
            return client_id


def uses_secret(auth_method):
    return auth_method in SECRET_AUTH_METHODS


# --- the rules ---------------------------------------------------------------------
def _check_auth_and_grants(public, auth_method, grant_types, redirect_uris):
    auth_method = auth_method or (PUBLIC_AUTH_METHOD if public else "client_secret_basic")
    if auth_method not in AUTH_METHODS:
        raise ClientRegistrationError(f"Unknown token endpoint auth method {auth_method!r}.",
                                      "token_endpoint_auth_method")
    grant_types = list(dict.fromkeys(grant_types or DEFAULT_GRANT_TYPES))
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        raise ClientRegistrationError(f"Unsupported grant type(s): {', '.join(unknown)}.", "grant_types")
    if auth_method == PUBLIC_AUTH_METHOD and "client_credentials" in grant_types:
        raise ClientRegistrationError("A public client cannot use client_credentials.", "grant_types")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientRegistrationError("The authorization_code grant needs at least one redirect URI.")
    return auth_method, grant_types


def _check_scope(scope):
    known = current_app.config["SCOPES"]
    scopes = (scope or " ".join(known)).split()
    bad = [s for s in scopes if s not in known]
    if bad:
        raise ClientRegistrationError(f"Unknown scope(s): {', '.join(bad)}.", "scope")
    return " ".join(dict.fromkeys(scopes))


def validate_metadata(*, name, redirect_uris, public=False, first_party=False, scope=None,
                      grant_types=None, auth_method=None, post_logout_redirect_uris=(), jwks=None,
                      jwks_uri=None, backchannel_logout_uri=None, id_token_signed_response_alg=None,
                      resource_server=False, logo_uri=None, client_uri=None, policy_uri=None, tos_uri=None):
    """The registration rules; returns the client's column values or raises
    ``ClientRegistrationError`` naming the first broken rule."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ClientRegistrationError("A client name of 1-200 characters is required.", "client_name")
    if any(unicodedata.category(c) in NAME_REFUSED for c in name):
        # The consent page shows the name: no line breaks, no invisible or reordering characters.
        raise ClientRegistrationError("The client name may not contain control or formatting characters.",
                                      "client_name")
    auth_method, grant_types = _check_auth_and_grants(public, auth_method, grant_types, redirect_uris)
    public = auth_method == PUBLIC_AUTH_METHOD
    redirect_uris = [check_redirect_uri(u, public) for u in redirect_uris]
    post_logout = [check_redirect_uri(u, public, "post_logout_redirect_uris") for u in post_logout_redirect_uris]
    for field, uri in (("backchannel_logout_uri", backchannel_logout_uri), ("jwks_uri", jwks_uri)):
        if uri:
            check_web_uri(uri, field)
            if "#" in uri:  # OIDC Back-Channel Logout 1.0 §2.2; a key set is a document, not a part of one
                raise ClientRegistrationError(f"{field} may not have a fragment: {_shown(uri)}", field)
    if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ClientRegistrationError("private_key_jwt needs jwks or jwks_uri.", "jwks")
    check_jwks(jwks)
    if id_token_signed_response_alg and id_token_signed_response_alg not in SIGNING_ALGS:
        raise ClientRegistrationError("id_token_signed_response_alg must be RS256 or ES256.",
                                      "id_token_signed_response_alg")
    return {
        "client_name": name, "redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout,
        "grant_types": grant_types, "response_types": ["code"] if "authorization_code" in grant_types else [],
        "scope": _check_scope(scope), "token_endpoint_auth_method": auth_method, "jwks": jwks or None,
        "jwks_uri": jwks_uri or None, "backchannel_logout_uri": backchannel_logout_uri or None,
        "id_token_signed_response_alg": id_token_signed_response_alg or None,
        "first_party": bool(first_party), "resource_server": bool(resource_server),
        "logo_uri": check_web_uri(logo_uri, "logo_uri"), "client_uri": check_web_uri(client_uri, "client_uri"),
        "policy_uri": check_web_uri(policy_uri, "policy_uri"), "tos_uri": check_web_uri(tos_uri, "tos_uri"),
    }


def metadata_of(client):
    """A stored client as ``validate_metadata`` arguments (what ``update_client`` starts from)."""
    return {
        "name": client.client_name, "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types), "scope": client.scope,
        "auth_method": client.token_endpoint_auth_method, "jwks": client.jwks, "jwks_uri": client.jwks_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "first_party": client.first_party, "resource_server": client.resource_server,
        "logo_uri": client.logo_uri, "client_uri": client.client_uri, "policy_uri": client.policy_uri,
        "tos_uri": client.tos_uri,
    }


# --- registering and changing ----------------------------------------------------------
def register_client(*, client_id=None, actor=None, owner=None, registration_access_token=None, **metadata):
    """Validate and store a client; returns it with its secret (shown once).
    ``metadata``: the keyword arguments of ``validate_metadata``; ``owner``: the
    developer (a principal) who registers it in the portal;
    ``registration_access_token``: its RFC 7592 credential (dynamic registration), stored hashed."""
    fields = validate_metadata(**metadata)
    secret = new_client_secret() if uses_secret(fields["token_endpoint_auth_method"]) else None
    client = OAuthClient(client_id=client_id or new_client_id(), created_at=get_services().clock.now(),
                         owner_kind=getattr(owner, "kind", None), owner_sub=getattr(owner, "sub", None), **fields)
    client.set_secret(secret)
    client.set_registration_access_token(registration_access_token)
    db.session.add(client)
    get_services().audit.record("client.registered", actor=actor, subject=client.client_id,
                                name=fields["client_name"], first_party=fields["first_party"],
                                resource_server=fields["resource_server"])
    db.session.commit()
    return RegisteredClient(client, secret)


def update_client(client, *, actor=None, **changes):
    """Change the metadata given (``None`` keeps a value) under the registration
    rules. A client that moves to a secret-based auth method gets a new secret
    (returned, shown once); one that moves away from it loses its secret."""
    current = metadata_of(client)
    unknown = set(changes) - set(current)
    if unknown:
        raise TypeError(f"update_client() got unknown metadata {sorted(unknown)}")
    fields = validate_metadata(**{**current, **{k: v for k, v in changes.items() if v is not None}})
    changed = sorted(name for name, value in fields.items() if getattr(client, name) != value)
    secret = None
    if not uses_secret(fields["token_endpoint_auth_method"]):
        client.set_secret(None)
    elif not client.client_secret_hash:
        secret = new_client_secret()
        client.set_secret(secret)
    for name in changed:
        setattr(client, name, fields[name])
    if changed:
        get_services().audit.record("client.updated", actor=actor, subject=client.client_id, changed=changed)
    db.session.commit()
    return RegisteredClient(client, secret)


def rotate_secret(client, *, actor=None, grace=None):
    """A new secret (returned, shown once). The old one keeps working for
    ``grace`` seconds (``CLIENT_SECRET_ROTATION_GRACE`` by default; 0 ends it at
    once), so the client's servers can be switched over without an outage.
    Tokens already issued stay valid: a leak calls for ``disable`` as well."""
    if not uses_secret(client.token_endpoint_auth_method):
        how = ("is a public client" if client.is_public
               else f"authenticates with {client.token_endpoint_auth_method}")
        raise ClientError(f"Client {client.client_id} has no secret to rotate: it {how}.",
                          "token_endpoint_auth_method")
    grace = int(current_app.config["CLIENT_SECRET_ROTATION_GRACE"] if grace is None else grace)
    if grace < 0 or grace > 30 * 86400:
        raise ClientError("The grace period must be between 0 seconds and 30 days.", "grace")
    now = get_services().clock.now()
    client.previous_secret_hash = client.client_secret_hash if grace else None
    client.previous_secret_expires_at = now + timedelta(seconds=grace) if grace else None
    secret = new_client_secret()
    client.set_secret(secret)
    get_services().audit.record("client.secret_rotated", actor=actor, subject=client.client_id, grace=grace)
    db.session.commit()
    return RegisteredClient(client, secret)


# --- ending a client ---------------------------------------------------------------------
def end_client_grants(client_id):
    """Revoke every access and refresh token issued to ``client_id`` and drop its
    unused authorization codes; returns how many token issuances ended."""
    now = get_services().clock.now()
    ended = (Token.query.filter(Token.client_id == client_id, Token.access_revoked_at.is_(None))
             .update({Token.access_revoked_at: now}, synchronize_session=False))
    ended_refresh = (Token.query.filter(Token.client_id == client_id, Token.refresh_token_hash.isnot(None),
                                        Token.refresh_revoked_at.is_(None))
                     .update({Token.refresh_revoked_at: now}, synchronize_session=False))
    AuthorizationCode.query.filter_by(client_id=client_id).delete(synchronize_session=False)
    return max(ended, ended_refresh)


def set_client_disabled(client, disabled, *, actor=None):
    """A disabled client cannot authorize, get, refresh, introspect or revoke
    tokens (``query_client`` ignores it); its tokens and codes end at once and
    stay dead when it is enabled again."""
    revoked = end_client_grants(client.client_id) if disabled else 0
    if client.disabled != bool(disabled):
        client.disabled = bool(disabled)
        details = {"tokens_revoked": revoked} if disabled else {}
        get_services().audit.record("client.disabled" if disabled else "client.enabled", actor=actor,
                                    subject=client.client_id, **details)
    db.session.commit()
    return revoked


def delete_client(client, *, actor=None):
    """Remove the client, its remembered consents, and every token and code issued to it."""
    client_id = client.client_id
    revoked = end_client_grants(client_id)
    Consent.query.filter_by(client_id=client_id).delete(synchronize_session=False)
    db.session.delete(client)
    get_services().audit.record("client.deleted", actor=actor, subject=client_id, name=client.client_name,
                                tokens_revoked=revoked)
    db.session.commit()
    return revoked
