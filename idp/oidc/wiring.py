"""The OpenID Connect provider: endpoint views and the authorization-server wiring."""

from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app

from idp.oidc.server import authorization
from idp.oidc.server import require_oauth
from idp.grants.authorization_code import AuthorizationCodeGrant
from idp.grants.business_password import BusinessPasswordGrant
from idp.grants.challenge import AuthorizationChallengeEndpoint
from idp.grants.client_auth import PrivateKeyJwt
from idp.grants.client_credentials import ClientCredentialsGrant
from idp.grants.id_token import IdToken
from idp.grants.otp_resend import OtpResendEndpoint
from idp.grants.phone import PhoneGrant
from idp.grants.pkce import StrictCodeChallenge
from idp.grants.refresh_token import RefreshTokenGrant
from idp.grants.sms_otp import SmsOtpGrant
from idp.oidc.endpoints import IntrospectionEndpoint
from idp.oidc.endpoints import RevocationEndpoint
from idp.oidc.server import JwtAccessTokenValidator
from idp.grants.tokens import TokenGenerator
from idp.grants.tokens import save_token


class Issuer(IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response."""

    def get_issuer(self):
        return current_app.config["ISSUER"]


_configured = False


def config_oauth(app):
    """Bind the (module-level) authorization server to ``app``.

    Grants, endpoints and extensions are registered once per process: they
    read everything app-specific through ``current_app`` at request time.
    """
    global _configured
    authorization.init_app(app, save_token=save_token)
    authorization.register_token_generator("default", TokenGenerator())
    authorization.scopes_supported = list(app.config["SCOPES"])
    if _configured:
        return
    authorization.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt())
    authorization.register_grant(AuthorizationCodeGrant, [StrictCodeChallenge(), IdToken()])
    authorization.register_grant(RefreshTokenGrant, [IdToken()])
    authorization.register_grant(ClientCredentialsGrant)
    for grant in (BusinessPasswordGrant, PhoneGrant, SmsOtpGrant):
        authorization.register_grant(grant, [IdToken()])
    authorization.register_endpoint(OtpResendEndpoint)
    authorization.register_endpoint(AuthorizationChallengeEndpoint)
    authorization.register_endpoint(RevocationEndpoint)
    authorization.register_endpoint(IntrospectionEndpoint)
    authorization.register_extension(Issuer())
    require_oauth.register_token_validator(JwtAccessTokenValidator())
    _configured = True
