"""The Authorization Challenge Endpoint of draft-ietf-oauth-first-party-apps
(-04), ``POST /oauth/authorize-challenge``: the same journeys as the login
pages and the first-party grants, answered the draft's way.

- First request: ``response_type=code``, ``scope``, PKCE (``S256``; required
  for public clients, as at the authorization endpoint) and either
  ``username`` + ``password`` or ``phone_number``.
- While the SMS code is missing: 403 ``insufficient_authorization`` with an
  ``auth_session`` (and ``otp_required``, ``otp_length``, ``phone_hint``,
  ``expires_in``); the client posts ``auth_session`` + ``otp``.
- Done: 200 ``{"authorization_code": …}``, exchanged at the token endpoint
  (``grant_type=authorization_code``, no ``redirect_uri``, the PKCE verifier).
- A temporary password must be changed in a browser: 403 ``redirect_to_web``.
- An unknown, expired, used, dead or other client's ``auth_session``:
  400 ``invalid_session``.
"""

from authlib.common.security import generate_token
from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749 import TokenEndpoint
from authlib.oauth2.rfc6749 import UnauthorizedClientError
from authlib.oauth2.rfc6749 import UnsupportedResponseTypeError

from idp.extensions import db
from idp.flows import business
from idp.flows import phone
from idp.flows.base import FlowError
from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants.authorization_code import store_authorization_code
from idp.grants.first_party import CHALLENGE
from idp.grants.first_party import PasswordChangeRequiredError
from idp.grants.first_party import check_first_party
from idp.grants.first_party import journey_context
from idp.grants.first_party import load_auth_session
from idp.grants.first_party import login_result
from idp.grants.first_party import sms_sent_body
from idp.grants.first_party import start_business_login
from idp.grants.first_party import start_phone_login
from idp.grants.scopes import granted_scope
from idp.models.flow import FlowState
from idp.models.token import AuthorizationCode
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError

PKCE_CHALLENGE_LENGTH = (43, 128)


class InvalidSessionError(OAuth2Error):
    error = "invalid_session"
    status_code = 400

    def __init__(self, description="The auth_session is unknown, expired, used or of another client"):
        super().__init__(description=description)


class InsufficientAuthorizationError(OAuth2Error):
    """The SMS code is still missing (or was wrong): post it with the auth_session."""

    error = "insufficient_authorization"
    status_code = 403

    def __init__(self, flow, description="Enter the code sent by SMS"):
        super().__init__(description=description)
        self.flow = flow

    def get_body(self):
        return [*super().get_body(), ("otp_required", True), *sms_sent_body(self.flow).items()]


class RedirectToWebError(OAuth2Error):
    error = "redirect_to_web"
    status_code = 403


class AuthorizationChallengeEndpoint(TokenEndpoint):
    ENDPOINT_NAME = "authorization_challenge"
    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

    def create_endpoint_response(self, request):
        client = self.client_of(request)
        check_first_party(client)
        if not client.check_grant_type("authorization_code"):
            raise UnauthorizedClientError("The client is not registered for the authorization_code grant")
        form = request.form
        if form.get("client_id") and form["client_id"] != client.get_client_id():
            raise InvalidRequestError("The client_id is not the authenticated client")
        ctx = journey_context(client)
        try:
            if form.get("auth_session"):
                flow = self._continue(ctx, form)
            else:
                flow = self._start(ctx, client, form)
        except PasswordChangeRequiredError:
            raise RedirectToWebError(description="The temporary password must be changed in the browser "
                                                 "login") from None
        return self._code(flow, client)

    def client_of(self, request):
        """The authenticated client - or, for a request that only continues an
        ``auth_session``, the public client that started it (draft §5.1:
        ``client_id`` is required unless the auth_session tells the client; a
        confidential client always authenticates, §4.1)."""
        form = request.form
        presented = (request.headers.get("Authorization") or form.get("client_id")
                     or form.get("client_assertion"))
        if not presented and form.get("auth_session"):
            client = self.server.query_client(session_client_id(form["auth_session"]))
            if client is not None and client.is_public:
                request.client, request.auth_method = client, "none"
                return client
        return self.authenticate_endpoint_client(request)

    def _start(self, ctx, client, form):
        if form.get("response_type") != "code":
            raise UnsupportedResponseTypeError("The response_type must be code", "unsupported")
        pkce = check_pkce(client, form.get("code_challenge"), form.get("code_challenge_method"))
        nonce = check_nonce(client, form.get("nonce"))
        scope = granted_scope(client, form.get("scope"), "authorization_code")
        if form.get("username") or form.get("password"):
            flow = start_business_login(ctx, form.get("username"), form.get("password"), form.get("acr_values"))
        elif form.get("phone_number"):
            flow = start_phone_login(ctx, form.get("phone_number"))
        else:
            raise InvalidRequestError("Send username and password, or phone_number")
        flow.keep_channel_data(scope=scope, nonce=nonce, channel=CHALLENGE, **pkce)
        if flow.step in (business.SMS, phone.CODE):
            db.session.commit()
            raise InsufficientAuthorizationError(flow)
        return flow

    def _continue(self, ctx, form):
        flow = load_auth_session(ctx, form.get("auth_session"), (CHALLENGE,), InvalidSessionError)
        if not form.get("otp"):
            raise InsufficientAuthorizationError(flow, "Missing otp")
        try:
            flow.submit_code(form["otp"])
        except CodeInvalidError as error:
            raise InsufficientAuthorizationError(flow, f"Wrong code; {error.attempts_left} more tries") from None
        except (CodeExpiredError, FlowError):
            raise InvalidSessionError("The code expired or was used up; start the login again") from None
        if flow.step == business.NEW_PASSWORD:
            raise PasswordChangeRequiredError()
        return flow

    def _code(self, flow, client):
        data = flow.channel_data
        result = login_result(flow, client)
        code = generate_token(48)
        store_authorization_code(code, client, result.principal, data.get("scope", ""), result,
                                 nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
                                 code_challenge_method=data.get("code_challenge_method"))
        db.session.commit()
        return 200, {"authorization_code": code}, default_json_headers


def session_client_id(auth_session):
    """The client an auth_session is bound to ("client:<id>"), if any."""
    state = db.session.get(FlowState, auth_session) if 0 < len(auth_session) <= 64 else None
    binding = state.binding if state is not None else ""
    return binding[len("client:"):] if binding.startswith("client:") else None


def check_nonce(client, nonce):
    """OIDC Core §3.1.2.1, as at the authorization endpoint: kept for the ID
    token, at most 512 characters, never reused by the client."""
    if not nonce:
        return None
    if len(nonce) > 512:
        raise InvalidRequestError("nonce is too long")
    if AuthorizationCode.query.filter_by(client_id=client.get_client_id(), nonce=nonce).first():
        raise InvalidRequestError("nonce was used before")
    return nonce


def check_pkce(client, challenge, method):
    """RFC 7636 as at the authorization endpoint: S256 only, required for public clients."""
    if not challenge:
        if client.is_public:
            raise InvalidRequestError("Public clients must use PKCE (code_challenge with S256)")
        return {}
    if method != "S256":
        raise InvalidRequestError("code_challenge_method must be S256")
    low, high = PKCE_CHALLENGE_LENGTH
    if not low <= len(challenge) <= high:
        raise InvalidRequestError("Invalid code_challenge")
    return {"code_challenge": challenge, "code_challenge_method": method}
