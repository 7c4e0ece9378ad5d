"""``private_key_jwt`` client authentication (OIDC Core §9, RFC 7523 §2.2).

The client signs an assertion with its own key; we verify it against the
client's registered ``jwks`` (or its ``jwks_uri``), require ``aud`` to name
this issuer or its token endpoint, and refuse a ``jti`` seen before.
"""

import logging
from datetime import timedelta

import requests
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.models.client import hash_secret
from idp.models.token import UsedAssertion
from idp.services import get_services

log = logging.getLogger(__name__)


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self):
        issuer = current_app.config["ISSUER"]
        return [issuer, issuer + "/", issuer + "/oauth/token", issuer + "/oauth/revoke",
                issuer + "/oauth/introspect"]

    def resolve_client_public_key(self, client):
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        if client.jwks_uri:
            try:
                response = requests.get(client.jwks_uri, timeout=5)
                response.raise_for_status()
                return KeySet.import_key_set(response.json())
            except (requests.RequestException, ValueError) as error:
                log.warning("jwks_uri of %s unusable: %s", client.client_id, error)
                raise InvalidClientError(description="The client's jwks_uri could not be read") from None
        raise InvalidClientError(description="The client has no registered keys")

    def validate_jti(self, claims, jti):
        clock = get_services().clock
        expires = claims.get("exp")
        row = UsedAssertion(
            jti_hash=hash_secret(f"{claims['sub']}:{jti}"),
            expires_at=clock.now() + timedelta(seconds=max(0, int(expires) - clock.timestamp())
                                               if isinstance(expires, int) else 3600),
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            return False
        return True
