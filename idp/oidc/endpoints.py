"""RFC 7009 revocation and RFC 7662 introspection, over the token rows.

A ``token_type_hint`` is only a hint: an unknown value is ignored and the
search covers every token type (RFC 7009 §2.1, §4.1.2; RFC 7662 §2.1).
"""

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants import CONFIDENTIAL_AUTH_METHODS
from idp.grants.tokens import find_token
from idp.grants.tokens import issuer
from idp.grants.tokens import revoke_family
from idp.services import get_services


def check_token_parameter(request):
    if "token" not in request.form:
        raise InvalidRequestError("Missing token")


class RevocationEndpoint(_RevocationEndpoint):
    """RFC 7009 §2.1: the client must authenticate, and may revoke only its
    own tokens - another client's token is refused (``invalid_request``, as
    node-oidc-provider answers) and stays valid; an unknown or already
    revoked token gets 200, as §2.2 says."""

    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

    def check_params(self, request, client):
        check_token_parameter(request)

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None and not token.check_client(client):
            raise InvalidRequestError("The token was not issued to this client")
        return token

    def query_token(self, token_string, token_type_hint):
        row, kind = find_token(token_string, token_type_hint)
        if row is not None:
            row.presented_as = kind
        return row

    def revoke_token(self, token, request):
        clock = get_services().clock
        if token.presented_as == "refresh_token":
            # RFC 7009 §2.1: revoking a refresh token also ends the access
            # tokens of the same grant.
            if token.family:
                revoke_family(token.family, clock)
            token.refresh_revoked_at = token.refresh_revoked_at or clock.now()
            token.access_revoked_at = token.access_revoked_at or clock.now()
        else:
            token.access_revoked_at = token.access_revoked_at or clock.now()
        get_services().audit.record("oauth.token_revoked", actor=token.client_id, subject=token.subject,
                                    token_type=token.presented_as)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    """RFC 7662 §2.1 and §4 (no token scanning): a confidential client sees
    its own tokens; a client an operator registered as a resource server
    (``idp client create --resource-server``) sees every access token; for
    any other token the answer is ``{"active": false}``, exactly as for an
    unknown one. Refresh tokens are shown only to the client that holds them."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def check_params(self, request, client):
        check_token_parameter(request)

    def query_token(self, token_string, token_type_hint):
        row, kind = find_token(token_string, token_type_hint)
        if row is not None:
            row.presented_as = kind
        return row

    def check_permission(self, token, client, request):
        if token.check_client(client):
            return True
        return token.presented_as == "access_token" and bool(client.resource_server)

    def create_introspection_payload(self, token):
        if token is None or not self._is_active(token):
            return {"active": False}
        return self.introspect_token(token)

    def _is_active(self, token):
        now = get_services().clock.timestamp()
        if token.presented_as == "refresh_token":
            active = token.refresh_is_usable(now)
        else:
            active = not token.is_revoked() and token.get_expires_at() > now
        # A disabled or deleted principal's tokens die with it.
        return active and (token.subject is None or token.get_user() is not None)

    def introspect_token(self, token):
        payload = {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer" if token.presented_as == "access_token" else "refresh_token",
            "scope": token.scope,
            "sub": token.subject or token.client_id,
            "aud": token.client_id,
            "iss": issuer(),
            "iat": token.issued_at,
            "exp": (token.get_expires_at() if token.presented_as == "access_token"
                    else token.refresh_expires_at),
        }
        if token.presented_as == "access_token":
            payload["jti"] = token.jti
        user = token.get_user()
        if user is not None:
            payload["username"] = user.identifier
        return {k: v for k, v in payload.items() if v is not None}
