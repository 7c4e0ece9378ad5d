"""``urn:telekom:oauth:grant-type:sms-otp`` (DESIGN.md §4.3): the code of an
``auth_session`` → the tokens. The session is bound to the client that
started it, consumed atomically with its code (of two parallel requests with
the right code exactly one gets tokens), and dies with the 5th wrong code or
when the code expires - after that even the right code fails."""

from authlib.oauth2.rfc6749 import InvalidGrantError

from idp.grants import SMS_OTP_GRANT
from idp.grants.first_party import GRANTS
from idp.grants.first_party import load_auth_session
from idp.grants.first_party import submit_otp
from idp.grants.first_party_grant import FirstPartyGrant
from idp.grants.scopes import granted_scope


class SmsOtpGrant(FirstPartyGrant):
    GRANT_TYPE = SMS_OTP_GRANT

    def run_journey(self):
        form = self.request.form
        flow = load_auth_session(self.ctx, form.get("auth_session"), (GRANTS,), InvalidGrantError)
        original = flow.channel_data.get("scope", "")
        # The scope was decided when the journey started; this request may narrow it.
        self.request.scope = granted_scope(self.request.client, self.request.payload.scope, self.GRANT_TYPE,
                                           original=original)
        self.request.flow = submit_otp(flow, form.get("otp"))
