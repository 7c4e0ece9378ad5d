"""A resource server that authorizes with the access token alone.

Our access tokens are RFC 9068 JWTs (``typ: at+jwt``) carrying ``company`` and
``permissions`` when those scopes were granted, so an API can check them
locally against the IdP's published keys - no call to the IdP per request.

    python examples/resource_server.py https://login.telekom.example
    curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8001/invoices

Revocation is not visible this way until the token expires (10 minutes by
default); an API that must see it at once asks ``/oauth/introspect`` instead.
"""

import sys
import threading
import time

import requests
from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry


class InvalidToken(Exception):
    pass


class AccessTokenVerifier:
    """Verifies access tokens of one issuer; the JWKS is cached and re-read
    when a token names a key it has not seen (key rotation)."""

    ALGORITHMS = ["RS256", "ES256"]

    def __init__(self, issuer, audience=None, cache_seconds=300, http=requests):
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.cache_seconds = cache_seconds
        self.http = http
        self._keys = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _jwks(self, force=False):
        with self._lock:
            if force or self._keys is None or time.time() - self._fetched > self.cache_seconds:
                metadata = self.http.get(self.issuer + "/.well-known/oauth-authorization-server", timeout=5).json()
                self._keys = KeySet.import_key_set(self.http.get(metadata["jwks_uri"], timeout=5).json())
                self._fetched = time.time()
            return self._keys

    def verify(self, token):
        """The token's claims, or ``InvalidToken``."""
        registry = JWSRegistry(algorithms=self.ALGORITHMS)
        try:
            try:
                decoded = jwt.decode(token, self._jwks(), registry=registry)
            except JoseError:
                decoded = jwt.decode(token, self._jwks(force=True), registry=registry)
        except (JoseError, ValueError) as error:
            raise InvalidToken(f"bad signature or format: {error}") from None
        if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise InvalidToken("not an access token (RFC 9068 typ)")
        options = {"iss": {"essential": True, "value": self.issuer}, "exp": {"essential": True},
                   "sub": {"essential": True}}
        if self.audience:
            options["aud"] = {"essential": True, "value": self.audience}
        try:
            jwt.JWTClaimsRegistry(leeway=30, **options).validate(decoded.claims)
        except JoseError as error:
            raise InvalidToken(str(error)) from None
        return decoded.claims


def create_app(issuer, audience=None):
    app = Flask(__name__)
    verifier = AccessTokenVerifier(issuer, audience)

    def bearer_error(status, error, description):
        response = jsonify(error=error, error_description=description)
        response.status_code = status
        response.headers["WWW-Authenticate"] = f'Bearer error="{error}"'
        return response

    def require(permission):
        def decorator(view):
            def wrapped(*args, **kwargs):
                header = request.headers.get("Authorization", "")
                if not header.startswith("Bearer "):
                    return bearer_error(401, "invalid_token", "Bearer token required")
                try:
                    g.claims = verifier.verify(header[7:].strip())
                except InvalidToken as error:
                    return bearer_error(401, "invalid_token", str(error))
                if permission not in g.claims.get("permissions", []):
                    return bearer_error(403, "insufficient_scope", f"{permission} required")
                return view(*args, **kwargs)

            wrapped.__name__ = view.__name__
            return wrapped

        return decorator

    @app.route("/invoices")
    @require("invoices.view")
    def invoices():
        company = g.claims.get("company") or {}
        return jsonify(company=company.get("slug"), subject=g.claims["sub"], invoices=[])

    @app.route("/invoices/pay", methods=["POST"])
    @require("invoices.pay")
    def pay():
        return jsonify(paid=True)

    return app


if __name__ == "__main__":
    create_app(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000").run(port=8001)
