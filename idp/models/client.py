"""Registered OAuth clients (relying parties), with the ``ClientMixin`` Authlib needs."""

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.extensions import db
from idp.models.base import UTCDateTime

PUBLIC_AUTH_METHOD = "none"
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*SECRET_AUTH_METHODS, "private_key_jwt", PUBLIC_AUTH_METHOD)


def hash_secret(value: str) -> str:
    """Client secrets and tokens are 256-bit random values: a plain SHA-256 is
    enough to make a stolen database useless, and keeps the token endpoint fast
    (passwords, which are guessable, use argon2id instead)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def loopback_without_port(uri):
    """``uri`` with its port removed if it is an ``http`` URI on a loopback IP
    literal (``127.0.0.1``, ``[::1]``) without userinfo or fragment; else None.
    ``localhost`` is not included (RFC 8252 §8.3: it may resolve elsewhere)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "http" or not host or "@" in parts.netloc or parts.fragment or "#" in uri:
        return None
    try:
        if not ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        return None
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(("http", netloc, parts.path, parts.query, ""))


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


class OAuthClient(ClientMixin, db.Model):
    __tablename__ = "oauth_clients"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, unique=True)
    client_secret_hash = db.Column(db.String(64), nullable=True)
    client_name = db.Column(db.String(200), nullable=False)
    redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    post_logout_redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    grant_types = db.Column(db.JSON, nullable=False, default=list)
    response_types = db.Column(db.JSON, nullable=False, default=list)
    scope = db.Column(db.Text, nullable=False, default="")
    token_endpoint_auth_method = db.Column(db.String(32), nullable=False)
    jwks = db.Column(db.JSON, nullable=True)
    jwks_uri = db.Column(db.String(2048), nullable=True)
    backchannel_logout_uri = db.Column(db.String(2048), nullable=True)
    id_token_signed_response_alg = db.Column(db.String(16), nullable=True)
    first_party = db.Column(db.Boolean, nullable=False, default=False)
    # An operator's decision (``idp client create --resource-server``): this
    # client may introspect every token, not only its own (RFC 7662 §2.1, §4).
    resource_server = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    registration_access_token_hash = db.Column(db.String(64), nullable=True)
    # What the consent page shows of the client (RFC 7591 §2 metadata).
    logo_uri = db.Column(db.String(2048), nullable=True)
    client_uri = db.Column(db.String(2048), nullable=True)
    policy_uri = db.Column(db.String(2048), nullable=True)
    tos_uri = db.Column(db.String(2048), nullable=True)
    # The developer who registered it in the portal (None: the operator, or dynamic registration).
    owner_kind = db.Column(db.String(16), nullable=True)
    owner_sub = db.Column(db.String(32), nullable=True, index=True)
    # After a rotation the previous secret keeps working until then (a grace period).
    previous_secret_hash = db.Column(db.String(64), nullable=True)
    previous_secret_expires_at = db.Column(UTCDateTime, nullable=True)
    disabled = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False)

    @property
    def is_public(self):
        return self.token_endpoint_auth_method == PUBLIC_AUTH_METHOD

    def set_secret(self, secret):
        self.client_secret_hash = hash_secret(secret) if secret else None

    def set_registration_access_token(self, token):
        # RFC 7592 §3: the credential of a dynamically registered client for its own record.
        self.registration_access_token_hash = hash_secret(token) if token else None

    # --- authlib ClientMixin -------------------------------------------------
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # RFC 6749 §3.1.2.3: only unambiguous when exactly one is registered;
        # OIDC makes redirect_uri mandatory anyway (checked by the authorize view).
        if len(self.redirect_uris) == 1:
            return self.redirect_uris[0]
        return None

    def get_allowed_scope(self, scope):
        # Authlib's hook. The grants decide the granted scope in one place,
        # idp.grants.scopes.granted_scope, and overwrite what this returns.
        if not scope:
            return self.scope
        allowed = set(scope_to_list(self.scope))
        requested = scope_to_list(scope)
        return " ".join(s for s in dict.fromkeys(requested) if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        """Exact string comparison (RFC 9700 §4.1.3), no prefix or pattern
        matching - except that a native (public) client's loopback IP redirect
        URI accepts any port (RFC 8252 §7.3), everything else still exact."""
        if not isinstance(redirect_uri, str):
            return False
        if redirect_uri in self.redirect_uris:
            return True
        if not self.is_public:
            return False
        portless = loopback_without_port(redirect_uri)
        return portless is not None and any(
            loopback_without_port(registered) == portless for registered in self.redirect_uris)

    #: Set by the authorization server when it loads the client (models read no time):
    #: whether the previous secret's grace period is still open.
    previous_secret_open = False

    def check_client_secret(self, client_secret):
        if not isinstance(client_secret, str):
            return False
        digest = hash_secret(client_secret)
        if self.client_secret_hash and hmac.compare_digest(self.client_secret_hash, digest):
            return True
        return bool(self.previous_secret_open and self.previous_secret_hash
                    and hmac.compare_digest(self.previous_secret_hash, digest))

    def check_endpoint_auth_method(self, method, endpoint):
        if self.disabled:
            return False
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type in self.response_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types
