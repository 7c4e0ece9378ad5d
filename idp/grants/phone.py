"""``urn:telekom:oauth:grant-type:phone`` (DESIGN.md §4.1): a first-party app
sends ``phone_number`` and ``scope``; the phone login journey sends the SMS
code and the answer is ``sms_otp_required`` with an ``auth_session`` - the
same answer, after the same work, for a number that is not registered (it
just never gets a code)."""

from idp.extensions import db
from idp.grants import PHONE_GRANT
from idp.grants.first_party import GRANTS
from idp.grants.first_party import SmsOtpRequiredError
from idp.grants.first_party import start_phone_login
from idp.grants.first_party_grant import FirstPartyGrant


class PhoneGrant(FirstPartyGrant):
    GRANT_TYPE = PHONE_GRANT

    def run_journey(self):
        scope = self.validate_requested_scope()
        flow = start_phone_login(self.ctx, self.request.form.get("phone_number"))
        flow.keep_channel_data(scope=scope, channel=GRANTS)
        db.session.commit()
        raise SmsOtpRequiredError(flow)
