"""Client credentials grant (RFC 6749 §4.4): confidential clients only; the
token's ``sub`` is the client id and it carries no user claims. The scope is
decided by :mod:`idp.grants.scopes`, never taken from the request as is."""

from authlib.oauth2.rfc6749 import grants

from idp.grants import CONFIDENTIAL_AUTH_METHODS
from idp.grants.scopes import ScopePolicy


class ClientCredentialsGrant(ScopePolicy, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def create_token_response(self):
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
