"""Business login (MISSION.md 1-8): identifier → password → SMS code →
(new password, after a temporary one) → logged in.

An unknown identifier walks the same path and fails where a wrong password
fails, after the same argon2 work, with the same message. The password step
only decides what comes next; the channel then sends the SMS
(:meth:`BusinessLogin.send_code`) - so a first-party app learns that a
temporary password must be changed before any SMS goes out (DESIGN.md §4.5).
"""

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.code_step import CodeStep
from idp.flows.code_step import Recipient
from idp.flows.first_login import change_temporary_password
from idp.flows.messages import login_code_sms
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import ACR_TWO_FACTORS
from idp.flows.result import LoginResult
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.principal import find_principal
from idp.phones import mask

IDENTIFIER = re.compile(r"^([a-z0-9._-]{1,64})@([a-z0-9-]{1,64})$")

PASSWORD, SMS, NEW_PASSWORD, DONE = "password", "sms", "new_password", "done"


class IdentifierFormatError(IdpError):
    message = _l("Adja meg az azonosítóját felhasznalo@ceg formában, például admin@ceg.")


class InvalidCredentialsError(IdpError):
    message = _l("Hibás azonosító vagy jelszó.")


class AccountDisabledError(IdpError):
    message = _l("A fiókját letiltották. Kérjük, forduljon a cége főadminisztrátorához.")


class TemporaryPasswordExpiredError(IdpError):
    message = _l("Az ideiglenes jelszava lejárt. Új jelszót a „Nem tudom a jelszavam” lehetőséggel kérhet.")


def normalize_identifier(raw):
    """Trimmed, NFKC-normalised, case-folded ``user@company``; raises if malformed."""
    text = unicodedata.normalize("NFKC", raw or "").strip().casefold()
    if len(text) > 130 or not IDENTIFIER.match(text):
        raise IdentifierFormatError()
    return text


def find_business_user(identifier):
    """The not-deleted user with this normalised identifier, or None."""
    username, slug = IDENTIFIER.match(identifier).groups()
    return (BusinessUser.query.join(Company, BusinessUser.company_id == Company.id)
            .filter(Company.slug == slug, BusinessUser.username == username,
                    BusinessUser.deleted_at.is_(None)).one_or_none())


class BusinessLogin(Flow):
    KIND = "business"
    TRANSITIONS = {PASSWORD: {SMS, NEW_PASSWORD, DONE}, SMS: {NEW_PASSWORD, DONE}, NEW_PASSWORD: {DONE}}

    @classmethod
    def start(cls, ctx, raw_identifier, *, two_factors=False, return_to=None):
        """``two_factors``: the relying party asked for both factors (``acr_values``),
        so the SMS step comes even where the company switched it off."""
        identifier = normalize_identifier(raw_identifier)
        flow = cls.create(ctx, first_step=PASSWORD, return_to=return_to, identifier=identifier)
        flow.state.data = {"two_factors": bool(two_factors)}
        db.session.commit()
        return flow

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject)

    @property
    def code_step(self):
        return CodeStep(self, "login")

    # --- step: password -------------------------------------------------------
    def submit_password(self, password):
        """Check the password; the step moves to SMS, NEW_PASSWORD or DONE.
        Nothing is sent here: when the step is SMS the channel calls
        :meth:`send_code` (after telling a first-party app about a temporary
        password, see :attr:`password_change_required`)."""
        self.expect(PASSWORD)
        services, identifier = self.ctx.services, self.state.identifier
        attempt = services.throttles.reserve_password_attempt(identifier, self.ctx.ip)
        user = find_business_user(identifier)
        ok = services.passwords.verify(user.password_hash if user else None, password or "")
        if ok and user.password_temporary and user.password_expires_at is not None:
            ok = user.password_expires_at > self.ctx.clock.now() or "expired"
        if ok is not True:
            self._password_failed(user, attempt, expired=ok == "expired")
        services.throttles.password_succeeded(identifier, self.ctx.ip)
        if user.disabled:
            services.audit.record("login.failed", actor=user.sub, subject=user.sub, ip=self.ctx.ip,
                                  company_id=user.company_id, reason="disabled")
            db.session.commit()
            raise AccountDisabledError()
        if services.passwords.needs_rehash(user.password_hash):
            user.password_hash = services.passwords.hash(password)
        self.state.principal_kind, self.state.subject = user.kind, user.sub
        self.state.amr = ["pwd"]
        if user.company.sms_login_required or self.state.data.get("two_factors"):
            self.goto(SMS)
        else:
            self.goto(NEW_PASSWORD if user.password_temporary else DONE)
        db.session.commit()

    def _password_failed(self, user, attempt, expired):
        services, identifier = self.ctx.services, self.state.identifier
        # The row is for operators, never shown to whoever typed: it names the real
        # user; an identifier that does not exist is its own subject, with no actor.
        sub, company_id = (user.sub, user.company_id) if user else (None, None)
        locked = services.throttles.password_failed(identifier, self.ctx.ip, attempt, company_id, sub)
        services.audit.record("login.failed", actor=sub, subject=sub or identifier, ip=self.ctx.ip,
                              company_id=company_id, reason="password_expired" if expired else "password")
        db.session.commit()
        if locked is not None:
            raise locked
        if expired:
            raise TemporaryPasswordExpiredError()
        raise InvalidCredentialsError()

    @property
    def password_change_required(self):
        """The password was right but temporary: it must be changed (in a browser)."""
        user = self.principal
        return self.step != PASSWORD and user is not None and bool(user.password_temporary)

    # --- step: SMS code --------------------------------------------------------
    @property
    def phone_hint(self):
        user = self.principal
        return mask(user.phone) if user else ""

    def send_code(self, resend=True):
        """The first SMS (``resend=False``) or "Nem kaptam meg az SMS-t"."""
        self.expect(SMS)
        user = self.principal
        if user is None:
            raise FlowError()
        issuer = self.ctx.config["ISSUER"]
        recipient = Recipient(principal=user, throttle_key=user.sub, channel="sms", destination=user.phone,
                              message=lambda code, minutes: login_code_sms(issuer, code, minutes))
        return self.code_step.send(recipient, resend=resend)

    def resend_code(self):
        """ "Nem kaptam meg az SMS-t": a fresh code; the old one dies."""
        return self.send_code(resend=True)

    def submit_code(self, code):
        self.expect(SMS)
        user = self.principal
        self.code_step.verify(code, on_dead=lambda: self.ctx.services.audit.record(
            "login.failed", actor=self.state.subject, subject=self.state.subject,
            company_id=user.company_id if user else None, ip=self.ctx.ip, reason="code_dead"))
        if user is None:
            raise FlowError()
        self.state.amr = ["pwd", "sms", "mfa"]
        self.goto(NEW_PASSWORD if user.password_temporary else DONE)
        db.session.commit()

    # --- step: new password (first login with a temporary password) -----------
    def submit_new_password(self, password, repeat):
        self.expect(NEW_PASSWORD)
        user = self.principal
        if user is None:
            raise FlowError()
        change_temporary_password(self.ctx, user, password, repeat)
        self.goto(DONE)
        db.session.commit()

    # --- the end ---------------------------------------------------------------
    def result(self) -> LoginResult:
        self.expect(DONE)
        user = self.principal
        if user is None:
            raise FlowError()
        two = "sms" in self.state.amr
        self.consume()
        return LoginResult(principal=user, amr=tuple(self.state.amr),
                           acr=ACR_TWO_FACTORS if two else ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())
