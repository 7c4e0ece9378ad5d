"""Authlib's authorization server and resource protector, bound to our
storage and our issuer."""

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector as FlaskResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749 import UnsupportedResponseTypeError
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6749 import UnsupportedTokenTypeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc6750 import InsufficientScopeError
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Response
from flask import current_app
from flask import json
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError

from idp.errors import safe_description


class IssuerOAuth2Request(FlaskOAuth2Request):
    """The request URI as the public issuer sees it (the app may sit behind a
    TLS-terminating proxy), so Authlib's transport check judges the real URL."""

    def __init__(self, request):
        super().__init__(request)
        self.uri = current_app.config["ISSUER"] + request.full_path.rstrip("?")


class StoredAuthorizationRequest(OAuth2Request):
    """An authorization request rebuilt from a paused interaction's parameters."""

    def __init__(self, params: dict):
        super().__init__("GET", current_app.config["ISSUER"] + "/oauth/authorize")
        self.payload = BasicOAuth2Payload(dict(params))
        self._args = dict(params)

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return {}


GENERIC_CLIENT_AUTH_FAILURES = ("The client cannot authenticate with methods", "The client does not exist")


class AuthorizationServer(FlaskAuthorizationServer):
    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return IssuerOAuth2Request(flask_request)

    def authenticate_client(self, request, methods, endpoint="token"):
        """Authlib's generic failures list the methods it tried as a Python
        list, or say that no such client exists (which a wrong secret does not
        say); both become one plain sentence. The specific ones of a signed
        assertion (a replayed ``jti``) stay."""
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            if (error.description or "").startswith(GENERIC_CLIENT_AUTH_FAILURES):
                error.description = "Client authentication failed"
            raise

    def handle_error_response(self, request, error):
        """Every OAuth error leaves as RFC 6749 §5.2 allows: a description of
        printable ASCII (Authlib's own messages may quote what came in)."""
        status, body, headers = error(self.get_error_uri(request, error))
        if isinstance(body, dict) and body.get("error_description"):
            body["error_description"] = safe_description(body["error_description"])
        return self.handle_response(status, body, headers)

    def get_authorization_grant(self, request):
        """Authlib quotes an unsupported ``response_type`` in its error
        description, then refuses to build a description with ``"``, ``\\``
        or non-ASCII in it (a 500); such a value gets the same error unquoted."""
        response_type = request.payload.response_type
        if response_type and safe_description(response_type) != response_type:
            raise UnsupportedResponseTypeError("The response type is not supported by the server",
                                               "unsupported", redirect_uri=self._proven_redirect_uri(request))
        return super().get_authorization_grant(request)

    def _proven_redirect_uri(self, request):
        """RFC 6749 §4.1.2.1: an error goes back only to a redirect URI
        registered for an existing client (as Authlib decides it)."""
        client = self.query_client(request.payload.client_id) if request.payload.client_id else None
        if client is None:
            return None
        requested = request.payload.redirect_uri
        if requested:
            return requested if client.check_redirect_uri(requested) else None
        return client.get_default_redirect_uri()

    def query_client(self, client_id):
        """The enabled client ``client_id``, from the client cache (``idp.services.client_cache``)."""
        from idp.services import get_services

        if not isinstance(client_id, str) or len(client_id) > 64 or "\x00" in client_id:
            return None
        services = get_services()
        client = services.clients.lookup(client_id)
        if client is not None and client.previous_secret_expires_at is not None:
            client.previous_secret_open = client.previous_secret_expires_at > services.clock.now()
        return client


class ResourceProtector(FlaskResourceProtector):
    def acquire_token_or_respond(self, scopes):
        """The valid token, or the RFC 6750 §3 error response to return."""
        try:
            return self.acquire_token(scopes)
        except OAuth2Error as error:
            return self.error_response(error, scopes)

    @staticmethod
    def error_response(error, scopes=()):
        """RFC 6750 §3 (and OIDC Core §5.3.3): the error in the body and in
        ``WWW-Authenticate``, which Authlib leaves out for insufficient_scope."""
        headers = error.get_headers()
        if isinstance(error, (MissingAuthorizationError, UnsupportedTokenTypeError)):
            # RFC 6750 §3.1: a request without a bearer token gets the
            # challenge, but no error code or other error information.
            return Response("", status=401, headers=[("WWW-Authenticate", 'Bearer realm="userinfo"')])
        if isinstance(error, InsufficientScopeError):
            challenge = f'Bearer error="{error.error}", error_description="{error.get_error_description()}"'
            if scopes:
                challenge += f', scope="{" ".join(scopes)}"'
            headers.append(("WWW-Authenticate", challenge))
        return Response(json.dumps(dict(error.get_body())), status=error.status_code, headers=headers)


class JwtAccessTokenValidator(BearerTokenValidator):
    """Our access tokens are JWTs (RFC 9068) *and* rows: the signature proves
    we issued it, the row tells whether it was revoked since."""

    def authenticate_token(self, token_string):
        from idp.grants.tokens import find_token
        from idp.services import get_services

        if not token_string or len(token_string) > 8192:
            return None
        try:
            claims = jwt.decode(token_string, get_services().keys.verification_keys()).claims
        except (JoseError, ValueError):
            return None
        if claims.get("iss") != current_app.config["ISSUER"]:
            return None
        row, kind = find_token(token_string, "access_token")
        return row if kind == "access_token" else None

    def validate_token(self, token, scopes, request):
        """Authlib's checks, with time from the clock service; and a disabled
        or deleted principal's tokens die with it."""
        from idp.services import get_services

        if not token or token.is_expired(get_services().clock.timestamp()) or token.is_revoked():
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScopeError()
        if token.subject is not None and token.get_user() is None:
            raise InvalidTokenError()


#: The authorization server and resource protector of the process, bound to an
#: app by :func:`idp.oidc.wiring.config_oauth`.
authorization = AuthorizationServer()
require_oauth = ResourceProtector()
