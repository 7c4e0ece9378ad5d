"""What the first-party channels share (DESIGN.md §4): the company's own apps
log people in without a browser, through the same journeys as the login
pages (``idp.flows``) - the grants at the token endpoint, ``/oauth/otp/resend``
and the authorization challenge endpoint.

Here: who may use them (first-party clients only), the journey context of an
OAuth client (bound to it, with the client's IP), the "not finished yet"
answers as ``OAuth2Error`` subclasses (as RFC 8628's
``AuthorizationPendingError``), and one translation of the journeys' domain
errors into OAuth errors, so every channel answers alike. Descriptions are
English, plain ASCII (RFC 6749 §5.2); no answer tells whether a username or a
number exists.
"""

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749 import UnauthorizedClientError
from flask import current_app
from flask import request as flask_request

from idp.extensions import db
from idp.flows import business
from idp.flows import phone
from idp.flows.base import FlowContext
from idp.flows.base import FlowError
from idp.flows.base import client_binding
from idp.flows.base import load_journey
from idp.flows.first_login import PasswordPolicyError
from idp.flows.result import ACR_TWO_FACTORS
from idp.services import get_services
from idp.services.otp import CODE_DIGITS
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import LockedError
from idp.services.throttles import ThrottledError

#: The journeys an ``auth_session`` may continue.
JOURNEYS = (business.BusinessLogin, phone.PhoneLogin)


def journey_context(client):
    """A journey run for ``client``: bound to it, with the caller's IP."""
    return FlowContext(get_services(), current_app.config, flask_request.remote_addr or "unknown",
                       client_binding(client.get_client_id()))


def check_first_party(client):
    if not client.first_party:
        raise UnauthorizedClientError("Only the company's own apps may use this grant")


def two_factors_wanted(acr_values):
    return ACR_TWO_FACTORS in (acr_values or "").split()


#: Where an auth_session was started: the grants, or the challenge endpoint. One
#: is never finished at the other (a challenge's session ends in a PKCE-bound code).
GRANTS, CHALLENGE = "grants", "challenge"


def load_auth_session(ctx, auth_session, channels, error=InvalidGrantError):
    """The journey an ``auth_session`` names: alive, at its code step, started
    by this client on one of ``channels`` - anything else is ``error``."""
    if not auth_session:
        raise InvalidRequestError("Missing auth_session")
    try:
        flow = load_journey(ctx, auth_session, JOURNEYS)
        flow.expect(business.SMS, phone.CODE)
    except FlowError:
        flow = None
    if flow is None or flow.channel_data.get("channel") not in channels:
        raise error("The auth_session is unknown, expired, used or of another client")
    return flow


# --- answers that are not tokens yet ----------------------------------------------------
class SmsOtpRequiredError(OAuth2Error):
    """DESIGN.md §4.2: the SMS went out; continue with the code and ``auth_session``."""

    error = "sms_otp_required"
    status_code = 400

    def __init__(self, flow):
        super().__init__(description="Enter the code sent by SMS")
        self.flow = flow

    def get_body(self):
        return [*super().get_body(), *sms_sent_body(self.flow).items()]


class PasswordChangeRequiredError(OAuth2Error):
    """DESIGN.md §4.5: a temporary password; the app sends the person through the browser."""

    error = "password_change_required"
    status_code = 400

    def __init__(self):
        super().__init__(description="The temporary password must be changed in the browser login")


class TooManyRequestsError(OAuth2Error):
    """A throttle of DESIGN.md §4a: try again after ``Retry-After`` seconds."""

    error = "too_many_requests"
    status_code = 429

    def __init__(self, description, retry_after):
        super().__init__(description=description)
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class LockedOutError(TooManyRequestsError):
    """The identifier is locked (the 20th wrong password): ``access_denied``."""

    error = "access_denied"
    status_code = 400


def sms_sent_body(flow):
    return {"auth_session": flow.id, "expires_in": flow.code_step.expires_in, "otp_length": CODE_DIGITS,
            "phone_hint": flow.phone_hint}


# --- the journeys' domain errors, as OAuth errors -------------------------------------------
def oauth_error(error):
    """The OAuth answer to a domain error a journey raised (one table for every channel)."""
    if isinstance(error, LockedError):
        minutes = max(1, round(error.retry_after / 60))
        return LockedOutError(f"Too many wrong passwords: the username is locked for {minutes} minutes. "
                              "A new password can be set with Nem tudom a jelszavam", error.retry_after)
    if isinstance(error, ThrottledError):
        return TooManyRequestsError("Too many attempts; try again later", error.retry_after)
    if isinstance(error, business.IdentifierFormatError):
        return InvalidRequestError("The username must look like user@company")
    if isinstance(error, phone.PhoneNumberFormatError):
        return InvalidRequestError("The phone_number must be a Hungarian mobile number, such as 301234567")
    if isinstance(error, business.InvalidCredentialsError):
        return InvalidGrantError("Wrong username or password")
    if isinstance(error, business.TemporaryPasswordExpiredError):
        return InvalidGrantError("The temporary password has expired; set a new one with Nem tudom a jelszavam")
    if isinstance(error, business.AccountDisabledError):
        return InvalidGrantError("The account is disabled")
    if isinstance(error, CodeInvalidError):
        return InvalidGrantError(f"Wrong code; {error.attempts_left} more tries")
    if isinstance(error, CodeExpiredError):
        return InvalidGrantError("The code expired or was used up; start the login again")
    if isinstance(error, PasswordPolicyError):
        return PasswordChangeRequiredError()
    if isinstance(error, FlowError):
        return InvalidGrantError("The login cannot go on; start it again")
    raise error


DOMAIN_ERRORS = (ThrottledError, business.IdentifierFormatError, phone.PhoneNumberFormatError,
                 business.InvalidCredentialsError, business.TemporaryPasswordExpiredError,
                 business.AccountDisabledError, CodeInvalidError, CodeExpiredError, PasswordPolicyError, FlowError)


def run_step(step, *args, **kwargs):
    """Run a journey step; a domain error comes out as its OAuth error."""
    try:
        return step(*args, **kwargs)
    except DOMAIN_ERRORS as error:
        raise oauth_error(error) from None


# --- the first steps, shared by the grants and the challenge endpoint ------------------------
def start_business_login(ctx, username, password, acr_values=None):
    """Username and password checked; the SMS sent when the step needs one.
    A temporary password answers ``password_change_required`` before any SMS."""
    if not username or not password:
        raise InvalidRequestError("Missing username or password")
    flow = run_step(business.BusinessLogin.start, ctx, username, two_factors=two_factors_wanted(acr_values))
    run_step(flow.submit_password, password)
    if flow.password_change_required:
        flow.finish()
        db.session.commit()
        raise PasswordChangeRequiredError()
    if flow.step == business.SMS:
        run_step(flow.send_code, resend=False)
    return flow


def start_phone_login(ctx, phone_number):
    """The number checked and (for a registered one) the SMS sent: every number
    gets the same answer, an unregistered one just never receives a code."""
    if not phone_number:
        raise InvalidRequestError("Missing phone_number")
    flow = run_step(phone.PhoneLogin.start, ctx, phone_number)
    run_step(flow.request_code)
    return flow


def submit_otp(flow, otp):
    """The code of an ``auth_session``; the journey is then done (or needs a
    new password, which only the browser can take)."""
    if not otp:
        raise InvalidRequestError("Missing otp")
    run_step(flow.submit_code, otp)
    if flow.step == business.NEW_PASSWORD:
        raise PasswordChangeRequiredError()
    return flow


def login_result(flow, client):
    """The finished journey's ``LoginResult``, with the login session (``sid``)
    started for ``client``."""
    result = run_step(flow.result)
    _, result = get_services().sessions.start(result, client_binding(client.get_client_id()))
    get_services().audit.record("login.succeeded", actor=result.principal.sub, subject=result.principal.sub,
                                company_id=getattr(result.principal, "company_id", None),
                                ip=flask_request.remote_addr, amr=list(result.amr),
                                client_id=client.get_client_id())
    return result
