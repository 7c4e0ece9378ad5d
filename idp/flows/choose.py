"""The account chooser (issue 10.6): a relying party needs a business
identity (it asks for the ``company`` scope) and the person logged in with a
Telekom account. The person picks one of the business users linked to the
account; that company's SMS rule still holds - the SMS code goes to the
business user's phone when the company (or the relying party, with
``acr_values``) wants it and the login so far had no SMS to that phone - and
``amr`` tells the truth (``fed`` for Facebook, ``pwd``, ``sms``)."""

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.code_step import CodeStep
from idp.flows.code_step import Recipient
from idp.flows.linking import linked_identities
from idp.flows.messages import login_code_sms
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import ACR_TWO_FACTORS
from idp.flows.result import LoginResult
from idp.models.principal import KIND_BUSINESS
from idp.models.principal import find_principal
from idp.phones import mask

CHOOSE, SMS, DONE = "choose", "sms", "done"


class NoBusinessIdentityError(IdpError):
    message = _l("Ehhez a Telekom fiókhoz nincs üzleti azonosító csatolva. Lépjen be üzleti azonosítóval, "
                 "és csatolja a fiókjához.")


class IdentityChoice(Flow):
    KIND = "choose"
    TRANSITIONS = {CHOOSE: {SMS, DONE}, SMS: {DONE}}

    @classmethod
    def start(cls, ctx, account_result, *, two_factors=False, return_to=None):
        """``account_result``: the Telekom account's ``LoginResult``."""
        account = account_result.principal
        flow = cls.create(ctx, first_step=CHOOSE, return_to=return_to, principal_kind=account.kind,
                          subject=account.sub)
        flow.state.amr = list(account_result.amr)
        flow.state.data = {"two_factors": bool(two_factors), "auth_time": account_result.auth_time}
        if not flow.options():
            flow.finish()
            db.session.commit()
            raise NoBusinessIdentityError()
        db.session.commit()
        return flow

    @property
    def account(self):
        return find_principal(self.state.principal_kind, self.state.subject)

    def options(self):
        account = self.account
        if account is None:
            return []
        return [principal for _, principal in linked_identities(account, kinds=(KIND_BUSINESS,))]

    @property
    def chosen(self):
        sub = self.state.data.get("chosen")
        return find_principal(KIND_BUSINESS, sub) if sub else None

    @property
    def phone_hint(self):
        user = self.chosen
        return mask(user.phone) if user else ""

    def choose(self, sub):
        self.expect(CHOOSE)
        user = next((u for u in self.options() if u.sub == sub), None)
        if user is None:
            raise FlowError()
        self.state.data = {**self.state.data, "chosen": user.sub}
        account = self.account
        sms_done_to_this_phone = "sms" in self.state.amr and account.phone == user.phone
        wants_sms = user.company.sms_login_required or self.state.data.get("two_factors")
        self.goto(SMS if wants_sms and not sms_done_to_this_phone else DONE)
        db.session.commit()

    def send_code(self, resend=True):
        self.expect(SMS)
        user = self.chosen
        if user is None:
            raise FlowError()
        issuer = self.ctx.config["ISSUER"]
        recipient = Recipient(principal=user, throttle_key=user.sub, channel="sms", destination=user.phone,
                              message=lambda code, minutes: login_code_sms(issuer, code, minutes))
        return CodeStep(self, "login").send(recipient, resend=resend)

    def resend_code(self):
        return self.send_code(resend=True)

    def submit_code(self, code):
        self.expect(SMS)
        CodeStep(self, "login").verify(code, on_dead=lambda: self.ctx.services.audit.record(
            "login.failed", actor=self.state.subject, subject=self.state.subject, ip=self.ctx.ip,
            reason="code_dead", kind="choose"))
        if self.chosen is None:
            raise FlowError()
        self.state.amr = [*self.state.amr, "sms"]
        self.goto(DONE)
        db.session.commit()

    def result(self) -> LoginResult:
        self.expect(DONE)
        user = self.chosen
        if user is None or user not in self.options():
            raise FlowError()
        self.consume()
        amr = list(dict.fromkeys(self.state.amr))
        if "sms" in amr and len(amr) > 1 and "mfa" not in amr:
            amr.append("mfa")
        return LoginResult(principal=user, amr=tuple(amr), acr=ACR_TWO_FACTORS if "sms" in amr else ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())
