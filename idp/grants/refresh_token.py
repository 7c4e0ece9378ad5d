"""Refresh token grant with rotation and reuse detection (RFC 9700 §4.14.2).

Every refresh returns a new refresh token and retires the old one. A retired
refresh token presented again means it leaked: the whole family (everything
descended from the same authorization) is revoked.
"""

from authlib.oauth2.rfc6749 import grants

from idp.extensions import db
from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants.scopes import granted_scope
from idp.grants.tokens import revoke_family
from idp.models.client import hash_secret
from idp.models.token import Token
from idp.services import get_services


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        row = Token.query.filter_by(refresh_token_hash=hash_secret(refresh_token)).one_or_none()
        client = self.request.client
        if row is None or not row.check_client(client):
            return None
        services = get_services()
        if row.refresh_used_at is not None:
            self._reuse_detected(row)
            return None
        if not row.refresh_is_usable(services.clock.timestamp()):
            return None
        if row.subject is not None and row.get_user() is None:
            # The principal was disabled or deleted: the grant is gone (invalid_grant,
            # not Authlib's invalid_request "There is no 'user' for this token").
            return None
        claimed = (Token.query
                   .filter(Token.id == row.id, Token.refresh_used_at.is_(None),
                           Token.refresh_revoked_at.is_(None))
                   .update({Token.refresh_used_at: services.clock.now()}, synchronize_session=False))
        if not claimed:
            self._reuse_detected(row)
            return None
        return row

    def _validate_token_scope(self, token):
        """RFC 6749 §6: at most the original scope, and only what the client
        is still registered for (:mod:`idp.grants.scopes`)."""
        request = self.request
        request.scope = granted_scope(request.client, request.payload.scope, self.GRANT_TYPE,
                                      original=token.get_scope())

    def issue_token(self, user, refresh_token):
        return self.generate_token(user=user, scope=self.request.scope,
                                   include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)

    def _reuse_detected(self, row):
        services = get_services()
        db.session.rollback()
        revoke_family(row.family, services.clock)
        services.audit.record("oauth.refresh_token_reused", actor=row.client_id, subject=row.subject,
                              family=row.family)
        db.session.commit()

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        # Rotation already marked it used; its access token stays valid until it expires.
        pass
