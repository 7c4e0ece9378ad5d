"""Phone login (MISSION.md 10-14): 9-digit mobile number → check it →
"Kérem az SMS-t" → code → "Belépek". The principal is the *phone line*: only
the functions its company's main admin left on for that number.

A number that is not registered walks exactly the same steps, but no SMS is
sent and no code can ever succeed: nobody learns which numbers exist, and
strangers' phones are never messaged.
"""

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.code_step import CodeStep
from idp.flows.code_step import Recipient
from idp.flows.messages import login_code_sms
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import LoginResult
from idp.models.company import PhoneLine
from idp.models.principal import find_principal
from idp.phones import PhoneNumberError
from idp.phones import display
from idp.phones import mask
from idp.phones import parse_mobile

CHECK, CODE, DONE = "check", "code", "done"


class PhoneNumberFormatError(IdpError):
    message = _l("Adja meg a mobilszámát körzetszámmal, 9 számjegyű formában, például 301234567 "
                 "(magyar mobilszám: 20, 30, 31, 50 vagy 70 kezdetű).")


def find_phone_line(e164):
    return PhoneLine.query.filter_by(number=e164, disabled=False, deleted_at=None).one_or_none()


class PhoneLogin(Flow):
    KIND = "phone"
    TRANSITIONS = {CHECK: {CODE}, CODE: {DONE}}

    @classmethod
    def start(cls, ctx, raw_number, *, return_to=None):
        try:
            number = parse_mobile(raw_number)
        except PhoneNumberError:
            raise PhoneNumberFormatError() from None
        line = find_phone_line(number)
        flow = cls.create(ctx, first_step=CHECK, return_to=return_to, identifier=number,
                          principal_kind=line.kind if line else None, subject=line.sub if line else None)
        db.session.commit()
        return flow

    @property
    def number_for_display(self):
        return display(self.state.identifier)

    @property
    def phone_hint(self):
        return mask(self.state.identifier)

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject) if self.state.subject else None

    @property
    def code_step(self):
        return CodeStep(self, "phone_login")

    def request_code(self):
        """ "Kérem az SMS-t": the first code."""
        self.expect(CHECK)
        self._send(resend=False)
        self.goto(CODE)
        db.session.commit()

    def resend_code(self):
        """ "Nem kaptam meg az SMS-t": a fresh code; the old one dies."""
        self.expect(CODE)
        self._send(resend=True)

    def _send(self, resend):
        line, number = self.principal, self.state.identifier
        issuer = self.ctx.config["ISSUER"]
        recipient = Recipient(principal=line, throttle_key=line.sub if line else f"unregistered:{number}",
                              channel="sms", destination=number if line else None,
                              message=lambda code, minutes: login_code_sms(issuer, code, minutes))
        self.code_step.send(recipient, resend=resend)

    def submit_code(self, code):
        self.expect(CODE)
        line = self.principal
        # An unregistered number (no sub) is its own subject: the row is for operators only.
        self.code_step.verify(code, on_dead=lambda: self.ctx.services.audit.record(
            "login.failed", actor=self.state.subject, subject=self.state.subject or self.state.identifier,
            company_id=line.company_id if line else None, ip=self.ctx.ip, reason="code_dead", kind="phone"))
        if line is None:  # no code was ever sent for an unregistered number
            raise FlowError()
        self.state.amr = ["sms"]
        self.goto(DONE)
        db.session.commit()

    def result(self) -> LoginResult:
        self.expect(DONE)
        line = self.principal
        if line is None:
            raise FlowError()
        self.consume()
        return LoginResult(principal=line, amr=("sms",), acr=ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())
