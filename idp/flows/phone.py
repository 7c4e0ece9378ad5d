"""Phone login (MISSION.md 10-14): 9-digit mobile number → check it →
"Kérem az SMS-t" → code → "Belépek". The principal is the *phone line*: only
the functions its company's main admin left on for that number.

A number that is not registered walks exactly the same pages, but no SMS is
sent and no code can ever succeed: nobody learns which numbers exist, and
strangers' phones are never messaged.
"""

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.messages import login_code_sms
from idp.models.company import PhoneLine
from idp.models.otp import OtpChallenge
from idp.models.principal import find_principal
from idp.oidc.interactions import LoginResult
from idp.phones import PhoneNumberError
from idp.phones import display
from idp.phones import parse_mobile
from idp.services.otp import CodeExpiredError

CHECK, CODE, DONE = "check", "code", "done"
ACR_ONE_FACTOR = "urn:telekom:acr:1fa"


class PhoneNumberFormatError(IdpError):
    message = _l("Adja meg a mobilszámát körzetszámmal, 9 számjegyű formában, például 301234567 "
                 "(magyar mobilszám: 20, 30, 31, 50 vagy 70 kezdetű).")


def find_phone_line(e164):
    return PhoneLine.query.filter_by(number=e164, disabled=False, deleted_at=None).one_or_none()


class PhoneLogin(Flow):
    KIND = "phone"
    TRANSITIONS = {CHECK: {CODE}, CODE: {DONE}}

    @classmethod
    def start(cls, ctx, raw_number, *, browser_id, interaction_id=None):
        try:
            number = parse_mobile(raw_number)
        except PhoneNumberError:
            raise PhoneNumberFormatError() from None
        line = find_phone_line(number)
        flow = cls.create(ctx, browser_id=browser_id, first_step=CHECK, interaction_id=interaction_id,
                          identifier=number, principal_kind=line.kind if line else None,
                          subject=line.sub if line else None)
        db.session.commit()
        return flow

    @property
    def number_for_display(self):
        return display(self.state.identifier)

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject) if self.state.subject else None

    def request_code(self):
        """ "Kérem az SMS-t": the first code."""
        self.expect(CHECK)
        self._send(challenge=None)
        self.goto(CODE)
        db.session.commit()

    def resend_code(self):
        """ "Nem kaptam meg az SMS-t": a fresh code; the old one dies."""
        self.expect(CODE)
        challenge = db.session.get(OtpChallenge, self.state.otp_challenge_id)
        services = self.ctx.services
        if challenge is None or (challenge.used_at is None and challenge.attempts >= services.otp.max_attempts):
            raise CodeExpiredError()
        self._send(challenge)
        db.session.commit()

    def _send(self, challenge):
        services, line, number = self.ctx.services, self.principal, self.state.identifier
        services.throttles.reserve_sms(line.sub if line else f"unregistered:{number}", self.ctx.ip,
                                       flow_key=self.state.id, spend_budget=line is not None)
        issued = (services.otp.reissue(challenge) if challenge is not None else
                  services.otp.issue("phone_login", channel="sms", destination=number if line else None,
                                     principal=line))
        self.state.otp_challenge_id = issued.challenge.id
        if line is not None:
            services.sms.send(number, login_code_sms(self.ctx.config["ISSUER"], issued.code,
                                                     services.otp.ttl // 60))
            services.audit.record("otp.sent", actor=line.sub, subject=line.sub, company_id=line.company_id,
                                  ip=self.ctx.ip, channel="sms", purpose="phone_login")

    def submit_code(self, code):
        self.expect(CODE)
        services = self.ctx.services
        try:
            services.otp.verify(self.state.otp_challenge_id, code)
        except CodeExpiredError:
            self.finish()
            line = self.principal
            # An unregistered number (no sub) is its own subject: the row is for operators only.
            services.audit.record("login.failed", actor=self.state.subject,
                                  subject=self.state.subject or self.state.identifier,
                                  company_id=line.company_id if line else None, ip=self.ctx.ip,
                                  reason="code_dead", kind="phone")
            db.session.commit()
            raise
        if self.principal is None:  # no code was ever sent for an unregistered number
            raise FlowError()
        self.state.amr = ["sms"]
        self.goto(DONE)
        db.session.commit()

    def result(self) -> LoginResult:
        self.expect(DONE)
        line = self.principal
        if line is None:
            raise FlowError()
        self.finish()
        return LoginResult(principal=line, amr=("sms",), acr=ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())
