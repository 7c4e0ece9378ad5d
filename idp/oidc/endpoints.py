"""RFC 7009 revocation and RFC 7662 introspection, over the token rows."""

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants import CONFIDENTIAL_AUTH_METHODS
from idp.oidc.tokens import find_token
from idp.oidc.tokens import issuer
from idp.oidc.tokens import revoke_family
from idp.services import get_services


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

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
    """Any confidential client (a resource server) may introspect an access
    token; a refresh token only by the client it was issued to."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        row, kind = find_token(token_string, token_type_hint)
        if row is not None:
            row.presented_as = kind
        return row

    def check_permission(self, token, client, request):
        if token.presented_as == "refresh_token":
            return token.check_client(client)
        return True

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
