"""Registering relying parties: the rules shared by the CLI, dynamic client
registration and the developer portal."""

import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from idp.errors import IdpError
from idp.extensions import db
from idp.models.client import AUTH_METHODS
from idp.models.client import PUBLIC_AUTH_METHOD
from idp.models.client import OAuthClient
from idp.models.client import new_client_secret
from idp.services import get_services

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
SIGNING_ALGS = ("RS256", "ES256")


class ClientRegistrationError(IdpError):
    def __init__(self, message, field="client_metadata"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class RegisteredClient:
    client: OAuthClient
    client_secret: str | None


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri, public, field="redirect_uris"):
    """RFC 9700 §2.1 / RFC 8252 §7: absolute, no fragment, https, loopback http,
    or (native public clients) a private-use scheme with a dot in it."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ClientRegistrationError(f"Invalid URI: {uri!r}", field) from None
    if not parts.scheme or parts.fragment or len(uri) > 2000 or any(c.isspace() for c in uri):
        raise ClientRegistrationError(f"Redirect URIs must be absolute and have no fragment: {uri!r}", field)
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return uri
    if public and "." in parts.scheme and parts.scheme not in ("http", "https"):
        return uri
    raise ClientRegistrationError(f"Redirect URIs must use https (http only on loopback): {uri!r}", field)


def register_client(*, name, redirect_uris, public=False, first_party=False, scope=None,
                    grant_types=None, auth_method=None, post_logout_redirect_uris=(), jwks=None,
                    jwks_uri=None, backchannel_logout_uri=None, id_token_signed_response_alg=None,
                    client_id=None, resource_server=False):
    """Validate and store a client; returns it with its secret (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ClientRegistrationError("A client name of 1-200 characters is required.", "client_name")
    auth_method = auth_method or (PUBLIC_AUTH_METHOD if public else "client_secret_basic")
    if auth_method not in AUTH_METHODS:
        raise ClientRegistrationError(f"Unknown token endpoint auth method {auth_method!r}.",
                                      "token_endpoint_auth_method")
    public = auth_method == PUBLIC_AUTH_METHOD
    grant_types = list(dict.fromkeys(grant_types or DEFAULT_GRANT_TYPES))
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        raise ClientRegistrationError(f"Unsupported grant type(s): {', '.join(unknown)}.", "grant_types")
    if public and "client_credentials" in grant_types:
        raise ClientRegistrationError("A public client cannot use client_credentials.", "grant_types")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientRegistrationError("The authorization_code grant needs at least one redirect URI.")
    redirect_uris = [check_redirect_uri(u, public) for u in redirect_uris]
    post_logout = [check_redirect_uri(u, public, "post_logout_redirect_uris") for u in post_logout_redirect_uris]
    if backchannel_logout_uri:
        check_redirect_uri(backchannel_logout_uri, False, "backchannel_logout_uri")
    if jwks_uri:
        check_redirect_uri(jwks_uri, False, "jwks_uri")
    if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ClientRegistrationError("private_key_jwt needs jwks or jwks_uri.", "jwks")
    scopes = (scope or " ".join(current_app.config["SCOPES"])).split()
    bad = [s for s in scopes if s not in current_app.config["SCOPES"]]
    if bad:
        raise ClientRegistrationError(f"Unknown scope(s): {', '.join(bad)}.", "scope")
    if id_token_signed_response_alg and id_token_signed_response_alg not in SIGNING_ALGS:
        raise ClientRegistrationError("id_token_signed_response_alg must be RS256 or ES256.",
                                      "id_token_signed_response_alg")

    secret = None if auth_method in (PUBLIC_AUTH_METHOD, "private_key_jwt") else new_client_secret()
    client = OAuthClient(
        client_id=client_id or secrets.token_urlsafe(18), client_name=name, redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout, grant_types=grant_types,
        response_types=["code"] if "authorization_code" in grant_types else [],
        scope=" ".join(dict.fromkeys(scopes)), token_endpoint_auth_method=auth_method,
        jwks=jwks, jwks_uri=jwks_uri, backchannel_logout_uri=backchannel_logout_uri,
        id_token_signed_response_alg=id_token_signed_response_alg, first_party=bool(first_party),
        resource_server=bool(resource_server), created_at=get_services().clock.now(),
    )
    client.set_secret(secret)
    db.session.add(client)
    get_services().audit.record("client.registered", subject=client.client_id, name=name,
                                first_party=bool(first_party))
    db.session.commit()
    return RegisteredClient(client, secret)
