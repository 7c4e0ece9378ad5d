"""The base of the first-party grants (DESIGN.md §4), in the shape of
Authlib's ``ResourceOwnerPasswordCredentialsGrant``: ``validate_token_request``
authenticates the client, checks that it is first-party and runs the journey
step; ``create_token_response`` issues the tokens of a finished journey."""

from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants import TokenEndpointMixin
from authlib.oauth2.rfc6749.hooks import hooked

from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants.first_party import check_first_party
from idp.grants.first_party import journey_context
from idp.grants.first_party import login_result
from idp.grants.scopes import ScopePolicy


class FirstPartyGrant(ScopePolicy, BaseGrant, TokenEndpointMixin):
    """First-party clients only, public (PKCE-less native apps) or confidential;
    the first-party flag is the permission, not the client's ``grant_types``."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        check_first_party(client)
        self.request.client = client
        self.ctx = journey_context(client)
        self.run_journey()

    def run_journey(self):
        """Run the grant's step; finish by setting ``self.request.flow`` to the
        done journey (or raise the OAuth answer that says what comes next)."""
        raise NotImplementedError

    @hooked
    def create_token_response(self):
        request = self.request
        result = login_result(request.flow, request.client)
        request.user = result.principal
        request.login_context = result
        token = self.generate_token(user=result.principal, scope=request.scope,
                                    include_refresh_token=request.client.check_grant_type("refresh_token"))
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
