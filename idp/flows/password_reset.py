""""Nem tudom a jelszavam" (MISSION.md 6): choose email or phone → one-time
code → new password (twice). Success ends every session and refresh token of
the user. An unknown identifier sees the same pages (with stable made-up
masked addresses), gets no message, and its code can never succeed.
"""

import hashlib
import hmac


from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.business import find_business_user
from idp.flows.business import normalize_identifier
from idp.flows.code_step import CodeStep
from idp.flows.code_step import Recipient
from idp.flows.first_login import check_new_password
from idp.flows.first_login import set_password
from idp.flows.messages import reset_code_email
from idp.flows.messages import reset_code_sms
from idp.models.principal import find_principal
from idp.phones import mask
from idp.phones import mask_email

CHOOSE, CODE, NEW_PASSWORD, DONE = "choose", "code", "new_password", "done"
CHANNELS = ("email", "sms")


class PasswordReset(Flow):
    KIND = "password_reset"
    TRANSITIONS = {CHOOSE: {CODE}, CODE: {NEW_PASSWORD}, NEW_PASSWORD: {DONE}}

    @classmethod
    def start(cls, ctx, raw_identifier, *, return_to=None):
        identifier = normalize_identifier(raw_identifier)
        user = find_business_user(identifier)
        flow = cls.create(ctx, first_step=CHOOSE, return_to=return_to,
                          identifier=identifier, principal_kind=user.kind if user else None,
                          subject=user.sub if user else None)
        db.session.commit()
        return flow

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject) if self.state.subject else None

    def options(self):
        """``{"email": "a***@a***.hu", "sms": "+36 30 *** **67"}`` - made up (but
        stable) for an unknown identifier, so the page looks the same."""
        user = self.principal
        if user is not None:
            return {"email": mask_email(user.email_address), "sms": mask(user.phone)}
        seed = hmac.new(str(self.ctx.config["SECRET_KEY"]).encode(), self.state.identifier.encode(),
                        hashlib.sha256).hexdigest()
        letter = "abcdefghijklmnopqrstuvwxyz"[int(seed[:2], 16) % 26]
        digits = f"{int(seed[2:6], 16) % 100:02d}"
        prefix = ("20", "30", "70")[int(seed[6:8], 16) % 3]
        return {"email": f"{letter}***@{'gmtc'[int(seed[8], 16) % 4]}***.hu",
                "sms": f"+36 {prefix} *** **{digits}"}

    def choose(self, channel):
        self.expect(CHOOSE)
        if channel not in CHANNELS:
            raise FlowError()
        user = self.principal
        destination = (user.phone if channel == "sms" else user.email_address) if user else None
        issuer = self.ctx.config["ISSUER"]
        message = ((lambda code, minutes: reset_code_sms(issuer, code, minutes)) if channel == "sms"
                   else reset_code_email)
        recipient = Recipient(principal=user, throttle_key=self.state.subject or f"unknown:{self.state.identifier}",
                              channel=channel, destination=destination, message=message)
        CodeStep(self, "password_reset").send(recipient)
        self.state.data = {"channel": channel}
        self.goto(CODE)
        db.session.commit()

    @property
    def channel(self):
        """``"email"`` or ``"sms"``: where the code went (once chosen)."""
        return self.state.data.get("channel")

    @property
    def destination_hint(self):
        return self.options().get(self.channel, "")

    def submit_code(self, code):
        self.expect(CODE)
        CodeStep(self, "password_reset").verify(code)
        if self.principal is None:  # unreachable: no code was ever sent
            raise FlowError()
        self.goto(NEW_PASSWORD)
        db.session.commit()

    def submit_new_password(self, password, repeat):
        self.expect(NEW_PASSWORD)
        user = self.principal
        if user is None:
            raise FlowError()
        check_new_password(user, password, repeat)
        self.consume()  # the code proved one reset: of two parallel posts, one sets the password
        set_password(self.ctx, user, password, event="password.reset")
        self.ctx.services.sessions.end_all(user)
        self.ctx.services.throttles.password_succeeded(self.state.identifier)
        self.ctx.services.throttles.unlock(self.state.identifier)
        self.goto(DONE)
        db.session.commit()
