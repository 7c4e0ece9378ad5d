"""``POST /oauth/otp/resend`` (DESIGN.md §4.4): a fresh SMS code for an
``auth_session`` of this client (of the grants or the challenge endpoint);
the old code dies. The first SMS starts the
cooldown, so a resend within it answers 429 with ``Retry-After``."""

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import TokenEndpoint

from idp.grants import ALL_CLIENT_AUTH_METHODS
from idp.grants.first_party import CHALLENGE
from idp.grants.first_party import GRANTS
from idp.grants.first_party import check_first_party
from idp.grants.first_party import journey_context
from idp.grants.first_party import load_auth_session
from idp.grants.first_party import run_step
from idp.grants.first_party import sms_sent_body


class OtpResendEndpoint(TokenEndpoint):
    ENDPOINT_NAME = "otp_resend"
    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH_METHODS

    def create_endpoint_response(self, request):
        client = self.authenticate_endpoint_client(request)
        check_first_party(client)
        flow = load_auth_session(journey_context(client), request.form.get("auth_session"),
                                 (GRANTS, CHALLENGE), InvalidGrantError)
        run_step(flow.resend_code)
        body = sms_sent_body(flow)
        del body["auth_session"]
        return 200, body, default_json_headers
