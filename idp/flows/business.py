"""Business login (MISSION.md 1-8): identifier → password → SMS code →
(new password, after a temporary one) → logged in.

An unknown identifier walks the same path and fails where a wrong password
fails, after the same argon2 work, with the same message.
"""

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.messages import login_code_sms
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.principal import find_principal
from idp.oidc.interactions import LoginResult
from idp.phones import mask
from idp.services.otp import CodeExpiredError
from idp.services.passwords import policy_errors

IDENTIFIER = re.compile(r"^([a-z0-9._-]{1,64})@([a-z0-9-]{1,64})$")
ACR_ONE_FACTOR = "urn:telekom:acr:1fa"
ACR_TWO_FACTORS = "urn:telekom:acr:2fa"

PASSWORD, SMS, NEW_PASSWORD, DONE = "password", "sms", "new_password", "done"


class IdentifierFormatError(IdpError):
    message = _l("Adja meg az azonosítóját felhasznalo@ceg formában, például admin@ceg.")


class InvalidCredentialsError(IdpError):
    message = _l("Hibás azonosító vagy jelszó.")


class AccountDisabledError(IdpError):
    message = _l("A fiókját letiltották. Kérjük, forduljon a cége főadminisztrátorához.")


class TemporaryPasswordExpiredError(IdpError):
    message = _l("Az ideiglenes jelszava lejárt. Új jelszót a „Nem tudom a jelszavam” lehetőséggel kérhet.")


class PasswordPolicyError(IdpError):
    def __init__(self, errors):
        super().__init__("password policy")
        self.errors = errors


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
    def start(cls, ctx, raw_identifier, *, browser_id, interaction_id=None, two_factors=False, next_url=None):
        identifier = normalize_identifier(raw_identifier)
        flow = cls.create(ctx, browser_id=browser_id, first_step=PASSWORD, interaction_id=interaction_id,
                          identifier=identifier)
        flow.state.data = {"two_factors": bool(two_factors), "next": next_url}
        db.session.commit()
        return flow

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject)

    # --- step: password -------------------------------------------------------
    def submit_password(self, password):
        self.expect(PASSWORD)
        services, identifier = self.ctx.services, self.state.identifier
        attempt = services.throttles.reserve_password_attempt(identifier, self.ctx.ip)
        user = find_business_user(identifier)
        ok = services.passwords.verify(user.password_hash if user else None, password or "")
        if ok and user.password_temporary and user.password_expires_at is not None:
            ok = user.password_expires_at > self.ctx.clock.now() or "expired"
        if ok is not True:
            # The row is for operators, never shown to whoever typed: it names the real
            # user; an identifier that does not exist is its own subject, with no actor.
            sub, company_id = (user.sub, user.company_id) if user else (None, None)
            locked = services.throttles.password_failed(identifier, self.ctx.ip, attempt, company_id, sub)
            services.audit.record("login.failed", actor=sub, subject=sub or identifier, ip=self.ctx.ip,
                                  company_id=company_id, reason="password_expired" if ok == "expired" else "password")
            db.session.commit()
            if locked is not None:
                raise locked
            if ok == "expired":
                raise TemporaryPasswordExpiredError()
            raise InvalidCredentialsError()
        services.throttles.password_succeeded(identifier)
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
            self.send_code(user, resend=False)
        else:
            self.goto(NEW_PASSWORD if user.password_temporary else DONE)
        db.session.commit()

    # --- step: SMS code --------------------------------------------------------
    @property
    def phone_hint(self):
        user = self.principal
        return mask(user.phone) if user else ""

    def send_code(self, user=None, resend=True):
        self.expect(SMS)
        services = self.ctx.services
        user = user or self.principal
        if user is None:
            raise FlowError()
        services.throttles.reserve_sms(user.sub, self.ctx.ip, flow_key=self.state.id)
        challenge = None
        if resend and self.state.otp_challenge_id:
            from idp.models.otp import OtpChallenge

            challenge = db.session.get(OtpChallenge, self.state.otp_challenge_id)
            if not services.otp.is_alive(challenge) and challenge.attempts >= services.otp.max_attempts:
                raise CodeExpiredError()
        issued = (services.otp.reissue(challenge) if challenge is not None else
                  services.otp.issue("login", channel="sms", destination=user.phone, principal=user))
        self.state.otp_challenge_id = issued.challenge.id
        services.sms.send(user.phone, login_code_sms(self.ctx.config["ISSUER"], issued.code,
                                                     services.otp.ttl // 60))
        services.audit.record("otp.sent", actor=user.sub, subject=user.sub, company_id=user.company_id,
                              ip=self.ctx.ip, channel="sms", purpose="login", resend=resend)
        db.session.commit()

    def submit_code(self, code):
        self.expect(SMS)
        services = self.ctx.services
        try:
            services.otp.verify(self.state.otp_challenge_id, code)
        except CodeExpiredError:
            self.finish()
            user = self.principal
            services.audit.record("login.failed", actor=self.state.subject, subject=self.state.subject,
                                  company_id=user.company_id if user else None, ip=self.ctx.ip,
                                  reason="code_dead")
            db.session.commit()
            raise
        user = self.principal
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
        check_new_password(user, password, repeat)
        if self.ctx.services.passwords.verify(user.password_hash, password):
            raise PasswordPolicyError([_l("Az új jelszó nem lehet azonos az ideiglenessel.")])
        set_password(self.ctx, user, password, event="password.changed")
        self.goto(DONE)
        db.session.commit()

    # --- the end ---------------------------------------------------------------
    def result(self) -> LoginResult:
        self.expect(DONE)
        user = self.principal
        if user is None:
            raise FlowError()
        two = "sms" in self.state.amr
        self.finish()
        return LoginResult(principal=user, amr=tuple(self.state.amr),
                           acr=ACR_TWO_FACTORS if two else ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())


def check_new_password(user, password, repeat):
    """Raise ``PasswordPolicyError`` listing what is wrong with a new password."""
    errors = policy_errors(password, user.identifier, (user.email_address,))
    if password != repeat:
        errors.append(_l("A két jelszó nem egyezik."))
    if errors:
        raise PasswordPolicyError(errors)


def set_password(ctx, user, password, event):
    """Store a new permanent password for ``user`` (audited)."""
    now = ctx.clock.now()
    user.password_hash = ctx.services.passwords.hash(password)
    user.password_temporary = False
    user.password_expires_at = None
    user.password_changed_at = now
    ctx.services.audit.record(event, actor=user.sub, subject=user.sub, company_id=user.company_id, ip=ctx.ip)
