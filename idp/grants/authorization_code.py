"""Authorization code grant (RFC 6749 §4.1) with the storage it needs.

Codes are stored as hashes, live ``AUTHORIZATION_CODE_TTL`` seconds (60 by
default), and are claimed atomically: of two concurrent exchanges exactly one
wins. A code presented again revokes every token issued from it (RFC 6749
§4.1.2, RFC 9700 §4.2.4).
"""

from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import grants
from flask import current_app

from idp.extensions import db
from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants.scopes import ScopePolicy
from idp.grants.tokens import revoke_family
from idp.models.client import hash_secret
from idp.models.principal import find_principal
from idp.models.token import AuthorizationCode
from idp.services import get_services


class AuthorizationCodeGrant(ScopePolicy, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        # Authlib then asks ``client.get_allowed_scope``; the decision is the
        # one ScopePolicy made (and stored) while validating the payload.
        self.request.scope = self.validate_requested_scope()
        return redirect_uri

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """Authlib's own check quotes the URI in the error description, and
        refuses (with a 500) to build one from a URI with control or non-ASCII
        characters; ours says the same thing without the URI."""
        if request.payload.redirect_uri:
            if not client.check_redirect_uri(request.payload.redirect_uri):
                raise InvalidRequestError("The redirect_uri is not registered for this client",
                                          state=request.payload.state)
            return request.payload.redirect_uri
        redirect_uri = client.get_default_redirect_uri()
        if not redirect_uri:
            raise InvalidRequestError("Missing redirect_uri", state=request.payload.state)
        return redirect_uri

    def save_authorization_code(self, code, request):
        data = request.payload.data
        return store_authorization_code(
            code, request.client, request.user, request.scope, request.login_session,
            redirect_uri=request.payload.redirect_uri, nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"))

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or len(code) > 256:
            return None
        item = AuthorizationCode.query.filter_by(
            code_hash=hash_secret(code), client_id=client.get_client_id()).one_or_none()
        if item is None:
            return None
        clock = get_services().clock
        claimed = (AuthorizationCode.query
                   .filter(AuthorizationCode.id == item.id, AuthorizationCode.used_at.is_(None))
                   .update({AuthorizationCode.used_at: clock.now()}, synchronize_session=False))
        if not claimed:
            # Replay: kill what the first exchange got, and keep that decision
            # even though this request fails.
            db.session.rollback()
            revoke_family(f"code-{item.id}", clock)
            get_services().audit.record("oauth.code_replayed", actor=client.get_client_id(),
                                        subject=item.subject)
            db.session.commit()
            return None
        if item.expires_at <= clock.now():
            return None
        return item

    def delete_authorization_code(self, authorization_code):
        # Already marked used in query_authorization_code; the row stays so a
        # replay can be recognised.
        pass

    def authenticate_user(self, authorization_code):
        return find_principal(authorization_code.principal_kind, authorization_code.subject)


def store_authorization_code(code, client, principal, scope, login, *, redirect_uri=None, nonce=None,
                             code_challenge=None, code_challenge_method=None):
    """Store a new code (its hash only) for ``principal``'s ``login`` (anything
    with ``auth_time``, ``acr``, ``amr`` and the session id as ``sid`` or
    ``id``): the authorization endpoint's and the challenge endpoint's."""
    now = get_services().clock.now()
    item = AuthorizationCode(
        code_hash=hash_secret(code), client_id=client.get_client_id(), redirect_uri=redirect_uri,
        scope=scope or "", principal_kind=principal.kind, subject=principal.get_user_id(), nonce=nonce,
        code_challenge=code_challenge, code_challenge_method=code_challenge_method,
        auth_time=login.auth_time, acr=login.acr, amr=list(login.amr or []),
        sid=getattr(login, "sid", None) or getattr(login, "id", None), created_at=now,
        expires_at=now + timedelta(seconds=int(current_app.config["AUTHORIZATION_CODE_TTL"])))
    db.session.add(item)
    db.session.flush()
    return item
