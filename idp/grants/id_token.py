"""The ID token (OIDC Core §2, §3.1.3.6, §12.2) as a grant extension, the way
Authlib's ``OpenIDCode`` adds it, but reading time from the clock service and
keys from the key store, and taking ``auth_time``/``acr``/``amr``/``sid`` from
whatever carried the login: the code, the refreshed token, or a first-party
grant's login result."""

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core.util import create_half_hash
from flask import current_app

from idp.grants.claims import user_claims
from idp.grants.tokens import issuer
from idp.grants.tokens import sign_jwt
from idp.models.token import AuthorizationCode
from idp.services import get_services


def is_openid(scope):
    return "openid" in (scope_to_list(scope) or [])


def build_id_token(client, principal, scope, context, access_token=None, nonce=None):
    alg = client.id_token_signed_response_alg or current_app.config["DEFAULT_SIGNING_ALG"]
    now = get_services().clock.timestamp()
    claims = {
        "iss": issuer(),
        "aud": client.get_client_id(),
        "azp": client.get_client_id(),
        "iat": now,
        "exp": now + int(current_app.config["ID_TOKEN_TTL"]),
        "auth_time": context.auth_time,
    }
    if context.acr:
        claims["acr"] = context.acr
    if context.amr:
        claims["amr"] = list(context.amr)
    if context.sid:
        claims["sid"] = context.sid
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = create_half_hash(access_token, alg).decode("ascii")
    claims.update(user_claims(principal, scope))
    return sign_jwt(claims, "JWT", alg)


class IdToken:
    """Extension: adds ``id_token`` to token responses whose scope has ``openid``."""

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)
        if grant.GRANT_TYPE == "authorization_code" and is_openid(grant.request.payload.scope):
            grant.register_hook("after_validate_authorization_request_payload", self.check_nonce)

    def check_nonce(self, grant, redirect_uri):
        nonce = grant.request.payload.data.get("nonce")
        if nonce and len(nonce) > 512:
            raise InvalidRequestError("nonce is too long")
        if nonce and AuthorizationCode.query.filter_by(
                client_id=grant.request.client.get_client_id(), nonce=nonce).first():
            raise InvalidRequestError("nonce was used before")

    def process_token(self, grant, response):
        _, token, _ = response
        request = grant.request
        if not is_openid(token.get("scope")) or request.user is None:
            return token
        context = (getattr(request, "login_context", None) or request.authorization_code
                   or request.refresh_token)
        nonce = getattr(context, "nonce", None) if request.refresh_token is None else None
        token["id_token"] = build_id_token(request.client, request.user, token["scope"], context,
                                           token.get("access_token"), nonce)
        return token
