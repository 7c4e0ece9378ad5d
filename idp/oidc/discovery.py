"""OpenID Provider Metadata (OIDC Discovery 1.0 §3) and RFC 8414 metadata:
one truthful document served at both well-known paths."""

from flask import current_app

from idp.grants import FIRST_PARTY_GRANTS
from idp.grants.claims import claims_supported
from idp.services import get_services

GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    *FIRST_PARTY_GRANTS,
]
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def provider_metadata() -> dict:
    config = current_app.config
    iss = config["ISSUER"]
    algs = get_services().keys.algorithms()
    return {
        "issuer": iss,
        "authorization_endpoint": iss + "/oauth/authorize",
        "token_endpoint": iss + "/oauth/token",
        "userinfo_endpoint": iss + "/oauth/userinfo",
        "jwks_uri": iss + "/jwks.json",
        "revocation_endpoint": iss + "/oauth/revoke",
        "introspection_endpoint": iss + "/oauth/introspect",
        "registration_endpoint": iss + "/oauth/register",
        "authorization_challenge_endpoint": iss + "/oauth/authorize-challenge",
        "end_session_endpoint": iss + "/oauth/logout",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "scopes_supported": list(config["SCOPES"]),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "acr_values_supported": list(config["ACR_VALUES"]),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims_supported(),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page"],
        "ui_locales_supported": list(config["LANGUAGES"]),
        "claims_locales_supported": list(config["LANGUAGES"]),
        "authorization_response_iss_parameter_supported": True,
    }
