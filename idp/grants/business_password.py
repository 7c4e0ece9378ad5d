"""``urn:telekom:oauth:grant-type:business-password`` (DESIGN.md §4.1): a
first-party app sends ``username``, ``password`` and ``scope``; the business
login journey checks them under the rules of the login page. Without an SMS
step the answer is the tokens; otherwise ``sms_otp_required`` with an
``auth_session`` for the ``sms-otp`` grant."""

from idp.extensions import db
from idp.flows import business
from idp.grants import BUSINESS_PASSWORD_GRANT
from idp.grants.first_party import GRANTS
from idp.grants.first_party import SmsOtpRequiredError
from idp.grants.first_party import start_business_login
from idp.grants.first_party_grant import FirstPartyGrant


class BusinessPasswordGrant(FirstPartyGrant):
    GRANT_TYPE = BUSINESS_PASSWORD_GRANT

    def run_journey(self):
        form = self.request.form
        scope = self.validate_requested_scope()
        flow = start_business_login(self.ctx, form.get("username"), form.get("password"),
                                    form.get("acr_values"))
        if flow.step == business.SMS:
            flow.keep_channel_data(scope=scope, channel=GRANTS)
            db.session.commit()
            raise SmsOtpRequiredError(flow)
        self.request.flow = flow
