"""The one-time-code step, one class for every journey (business login,
phone login, password reset, first-party grants): send, resend with the
cooldown, verify with the try limit, dead after the 5th wrong code.

The rules, in one place:
- every send is throttled first (DESIGN.md §4a: the flow's resend cooldown,
  per principal, per client IP, the daily budget; an email code the same way,
  without the SMS budget) - also when nothing will really be sent (an
  unregistered number, an unknown identifier), so both look and count the
  same from outside; only a real SMS spends the budget;
- a resend gives a fresh code and the old one dies; wrong tries are not
  forgiven by it, and a challenge that is used up or dead cannot be resent;
- a code that expired, was used, or was guessed wrong five times kills the
  journey (``CodeExpiredError``), and that is audited.
"""

from dataclasses import dataclass
from typing import Callable

from idp.extensions import db
from idp.models.otp import OtpChallenge
from idp.services.otp import CodeExpiredError


@dataclass
class Recipient:
    """Who gets the code and how. ``destination`` None: nothing is sent (the
    journey still walks the same steps); ``message(code, minutes)`` returns
    the SMS text, or ``(subject, body)`` of an email."""

    principal: object
    throttle_key: str
    channel: str  # "sms" | "email"
    destination: str | None
    message: Callable


class CodeStep:
    def __init__(self, flow, purpose):
        self.flow = flow
        self.ctx = flow.ctx
        self.purpose = purpose

    @property
    def challenge(self):
        challenge_id = self.flow.state.otp_challenge_id
        return db.session.get(OtpChallenge, challenge_id) if challenge_id else None

    @property
    def expires_in(self):
        """Seconds the current code still lives (0 when there is none)."""
        challenge = self.challenge
        if challenge is None:
            return 0
        return max(0, int((challenge.expires_at - self.ctx.clock.now()).total_seconds()))

    def send(self, recipient: Recipient, *, resend=False):
        """The first code, or (``resend``) a fresh one for the same challenge.
        Raises ``ThrottledError`` (nothing sent) or ``CodeExpiredError``."""
        services = self.ctx.services
        challenge = self.challenge if resend else None
        if resend and (challenge is None or challenge.used_at is not None
                       or challenge.attempts >= services.otp.max_attempts):
            raise CodeExpiredError("nothing to resend")
        real = recipient.destination is not None
        if recipient.channel == "sms":
            services.throttles.reserve_sms(recipient.throttle_key, self.ctx.ip, flow_key=self.flow.state.id,
                                           spend_budget=real)
        else:
            services.throttles.reserve_email(recipient.throttle_key, self.ctx.ip, flow_key=self.flow.state.id)
        issued = (services.otp.reissue(challenge) if challenge is not None else
                  services.otp.issue(self.purpose, channel=recipient.channel, destination=recipient.destination,
                                     principal=recipient.principal))
        self.flow.state.otp_challenge_id = issued.challenge.id
        if real:
            text = recipient.message(issued.code, services.otp.ttl // 60)
            if recipient.channel == "sms":
                services.sms.send(recipient.destination, text)
            else:
                services.mailer.send(recipient.destination, *text)
            principal = recipient.principal  # None while an account is being created
            sub = getattr(principal, "sub", None)
            services.audit.record("otp.sent", actor=sub, subject=sub, company_id=getattr(principal, "company_id", None),
                                  ip=self.ctx.ip, channel=recipient.channel, purpose=self.purpose, resend=resend)
        db.session.commit()
        return issued.challenge

    def verify(self, code, *, on_dead=None):
        """Consume the code if it is right (``CodeInvalidError`` says how many
        tries are left). A dead code finishes the journey, calls ``on_dead``
        (the journey's audit record) and raises ``CodeExpiredError``."""
        try:
            return self.ctx.services.otp.verify(self.flow.state.otp_challenge_id, code)
        except CodeExpiredError as error:
            if error.used:  # a parallel request took the right code; that one goes on
                raise
            self.flow.finish()
            if on_dead is not None:
                on_dead()
            db.session.commit()
            raise
