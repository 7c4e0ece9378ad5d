"""The Telekom account (MISSION.md 9): creating one, and logging in with it.

- ``AccountSignup``: email address or mobile number as the username, a
  password by the same policy as everywhere, a one-time code to that address
  or number; the account exists (and is usable) only once the code is right.
  A username that already has an account walks the same steps and gets the
  same answer; the message it receives explains instead of giving a code, and
  no code can succeed - the create form tells nobody which accounts exist.
- ``AccountLogin``: username + password under the throttles of the business
  login, then an SMS code when the account has a verified phone and the risk
  rules ask for it (:func:`sms_step_needed`).
"""

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.business import InvalidCredentialsError
from idp.flows.code_step import CodeStep
from idp.flows.code_step import Recipient
from idp.flows.first_login import PasswordPolicyError
from idp.flows.messages import account_code_email
from idp.flows.messages import account_code_sms
from idp.flows.messages import account_exists_email
from idp.flows.messages import account_exists_sms
from idp.flows.messages import login_code_sms
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import ACR_TWO_FACTORS
from idp.flows.result import LoginResult
from idp.models.account import TelekomAccount
from idp.models.principal import find_principal
from idp.phones import PhoneNumberError
from idp.phones import mask
from idp.phones import parse_mobile
from idp.services.passwords import policy_errors

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$")
VERIFY, PASSWORD, SMS, DONE = "verify", "password", "sms", "done"


class AccountDisabledError(IdpError):
    message = _l("Ezt a Telekom fiókot letiltották. Kérjük, forduljon az ügyfélszolgálathoz.")


class UsernameFormatError(IdpError):
    message = _l("Adja meg az e-mail-címét vagy a mobilszámát (például nev@pelda.hu vagy 301234567).")


def parse_username(raw):
    """``("email", address)`` or ``("phone", E.164)``; raises ``UsernameFormatError``."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if "@" in text:
        address = text.casefold()
        if len(address) > 320 or not EMAIL.match(address):
            raise UsernameFormatError()
        return "email", address
    try:
        return "phone", parse_mobile(text)
    except PhoneNumberError:
        raise UsernameFormatError() from None


def find_account(kind, value, confirmed_only=False):
    """The account whose email or phone is ``value`` (only a verified one with ``confirmed_only``)."""
    column, confirmed = ((TelekomAccount.email_address, TelekomAccount.email_confirmed) if kind == "email"
                         else (TelekomAccount.phone, TelekomAccount.phone_confirmed))
    query = TelekomAccount.query.filter(column == value, TelekomAccount.deleted_at.is_(None))
    if confirmed_only:
        query = query.filter(confirmed.is_(True))
    return query.one_or_none()


def throttle_key(value):
    """Account usernames are throttled apart from business identifiers."""
    return f"account:{value}"


# --- creating an account ------------------------------------------------------------------------
class AccountSignup(Flow):
    KIND = "account_signup"
    TRANSITIONS = {VERIFY: {DONE}}

    @classmethod
    def start(cls, ctx, raw_username, password, repeat, name=None, return_to=None):
        """Check the form and send the code (or, for a taken username, the
        explanation); the journey then waits for the code."""
        kind, value = parse_username(raw_username)
        errors = policy_errors(password, value, ((name or ""),))
        if password != repeat:
            errors.append(_l("A két jelszó nem egyezik."))
        if errors:
            raise PasswordPolicyError(errors)
        name = (name or "").strip()[:200] or None
        flow = cls.create(ctx, first_step=VERIFY, return_to=return_to, identifier=value)
        flow.state.data = {"kind": kind, "name": name, "password_hash": ctx.services.passwords.hash(password)}
        flow._send(resend=False)
        return flow

    @property
    def username_kind(self):
        return self.state.data.get("kind")

    @property
    def destination_hint(self):
        return mask(self.state.identifier) if self.username_kind == "phone" else self.state.identifier

    def _send(self, resend):
        kind, value = self.username_kind, self.state.identifier
        taken = find_account(kind, value) is not None
        issuer = self.ctx.config["ISSUER"]
        if kind == "phone":
            message = ((lambda code, minutes: account_exists_sms(issuer)) if taken
                       else (lambda code, minutes: account_code_sms(issuer, code, minutes)))
        else:
            message = ((lambda code, minutes: account_exists_email(issuer)) if taken else account_code_email)
        self.state.data = {**self.state.data, "taken": taken}
        recipient = Recipient(principal=None, throttle_key=throttle_key(value), channel="sms" if kind == "phone"
                              else "email", destination=value, message=message)
        CodeStep(self, "account_signup").send(recipient, resend=resend)

    def resend_code(self):
        self.expect(VERIFY)
        self._send(resend=True)

    def submit_code(self, code):
        """The right code creates the account (verified username); a taken
        username never gets one, whatever code is typed."""
        self.expect(VERIFY)
        CodeStep(self, "account_signup").verify(code)
        kind, value, data = self.username_kind, self.state.identifier, self.state.data
        if data.get("taken") or find_account(kind, value) is not None:
            raise FlowError()
        account = TelekomAccount(
            display_name=data.get("name"), password_hash=data["password_hash"], created_at=self.ctx.clock.now(),
            password_changed_at=self.ctx.clock.now(),
            **({"email_address": value, "email_confirmed": True} if kind == "email"
               else {"phone": value, "phone_confirmed": True}))
        db.session.add(account)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise FlowError() from None
        self.state.principal_kind, self.state.subject = account.kind, account.sub
        self.state.amr = ["pwd", "sms", "mfa"] if kind == "phone" else ["pwd"]
        self.state.data = {k: v for k, v in data.items() if k != "password_hash"}
        self.ctx.services.audit.record("account.created", actor=account.sub, subject=account.sub, ip=self.ctx.ip,
                                       username_kind=kind)
        self.goto(DONE)
        db.session.commit()

    def result(self) -> LoginResult:
        self.expect(DONE)
        account = find_principal(self.state.principal_kind, self.state.subject)
        if account is None:
            raise FlowError()
        self.consume()
        return LoginResult(principal=account, amr=tuple(self.state.amr),
                           acr=ACR_TWO_FACTORS if "sms" in self.state.amr else ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())


# --- logging in with it ----------------------------------------------------------------------------
def sms_step_needed(account, *, two_factors, known_device, recent_failures):
    """The risk rules: an account with a verified phone gets an SMS code when
    the relying party asked for two factors, when this browser has not logged
    in to it before, or when its password was mistyped within the hour."""
    if not (account.phone and account.phone_confirmed):
        return False
    return bool(two_factors or not known_device or recent_failures)


class AccountLogin(Flow):
    KIND = "account"
    TRANSITIONS = {PASSWORD: {SMS, DONE}, SMS: {DONE}}

    @classmethod
    def start(cls, ctx, raw_username, *, two_factors=False, known_device=False, return_to=None):
        _, value = parse_username(raw_username)
        flow = cls.create(ctx, first_step=PASSWORD, return_to=return_to, identifier=value)
        flow.state.data = {"two_factors": bool(two_factors), "known_device": bool(known_device)}
        db.session.commit()
        return flow

    @property
    def principal(self):
        return find_principal(self.state.principal_kind, self.state.subject)

    @property
    def phone_hint(self):
        account = self.principal
        return mask(account.phone) if account and account.phone else ""

    def submit_password(self, password):
        self.expect(PASSWORD)
        services, value = self.ctx.services, self.state.identifier
        key = throttle_key(value)
        recent_failures, _ = services.counters.get(f"pw:id:{key}")
        attempt = services.throttles.reserve_password_attempt(key, self.ctx.ip)
        kind = "email" if "@" in value else "phone"
        account = find_account(kind, value, confirmed_only=True)
        if not services.passwords.verify(account.password_hash if account else None, password or ""):
            sub = account.sub if account else None
            locked = services.throttles.password_failed(key, self.ctx.ip, attempt, None, sub)
            services.audit.record("login.failed", actor=sub, subject=sub or value, ip=self.ctx.ip, reason="password",
                                  kind="account")
            db.session.commit()
            if locked is not None:
                raise locked
            raise InvalidCredentialsError()
        services.throttles.password_succeeded(key, self.ctx.ip)
        if account.disabled:
            db.session.commit()
            raise AccountDisabledError()
        if services.passwords.needs_rehash(account.password_hash):
            account.password_hash = services.passwords.hash(password)
        self.state.principal_kind, self.state.subject, self.state.amr = account.kind, account.sub, ["pwd"]
        data = self.state.data
        self.goto(SMS if sms_step_needed(account, two_factors=data.get("two_factors"),
                                         known_device=data.get("known_device"),
                                         recent_failures=recent_failures) else DONE)
        db.session.commit()

    def send_code(self, resend=True):
        self.expect(SMS)
        account = self.principal
        if account is None:
            raise FlowError()
        issuer = self.ctx.config["ISSUER"]
        recipient = Recipient(principal=account, throttle_key=account.sub, channel="sms", destination=account.phone,
                              message=lambda code, minutes: login_code_sms(issuer, code, minutes))
        return CodeStep(self, "login").send(recipient, resend=resend)

    def resend_code(self):
        return self.send_code(resend=True)

    def submit_code(self, code):
        self.expect(SMS)
        CodeStep(self, "login").verify(code, on_dead=lambda: self.ctx.services.audit.record(
            "login.failed", actor=self.state.subject, subject=self.state.subject, ip=self.ctx.ip,
            reason="code_dead", kind="account"))
        if self.principal is None:
            raise FlowError()
        self.state.amr = ["pwd", "sms", "mfa"]
        self.goto(DONE)
        db.session.commit()

    def result(self) -> LoginResult:
        self.expect(DONE)
        account = self.principal
        if account is None:
            raise FlowError()
        self.consume()
        return LoginResult(principal=account, amr=tuple(self.state.amr),
                           acr=ACR_TWO_FACTORS if "sms" in self.state.amr else ACR_ONE_FACTOR,
                           auth_time=self.ctx.clock.timestamp())


# --- a new or unverified email address or phone number, proven with a code ------------------------
class ContactTakenError(IdpError):
    message = _l("Ez az elérhetőség már egy másik Telekom fiókhoz tartozik.")


class ContactVerification(Flow):
    """Add, change or verify the account's email or phone: the code goes to
    the new address; only the right code stores it (as verified). Whether it
    belongs to another account is told only after the code proved that the
    person controls it."""

    KIND = "account_contact"
    TRANSITIONS = {VERIFY: {DONE}}

    @classmethod
    def start(cls, ctx, account, raw_value, return_to=None):
        kind, value = parse_username(raw_value)
        flow = cls.create(ctx, first_step=VERIFY, return_to=return_to, identifier=value,
                          principal_kind=account.kind, subject=account.sub)
        flow.state.data = {"kind": kind}
        issuer = ctx.config["ISSUER"]
        message = ((lambda code, minutes: account_code_sms(issuer, code, minutes)) if kind == "phone"
                   else account_code_email)
        recipient = Recipient(principal=account, throttle_key=account.sub, channel="sms" if kind == "phone"
                              else "email", destination=value, message=message)
        CodeStep(flow, "account_contact").send(recipient)
        return flow

    @property
    def contact_kind(self):
        return self.state.data.get("kind")

    @property
    def destination_hint(self):
        return mask(self.state.identifier) if self.contact_kind == "phone" else self.state.identifier

    def submit_code(self, code):
        self.expect(VERIFY)
        CodeStep(self, "account_contact").verify(code)
        account = find_principal(self.state.principal_kind, self.state.subject)
        if account is None:
            raise FlowError()
        kind, value = self.contact_kind, self.state.identifier
        other = find_account(kind, value)
        if other is not None and other.id != account.id:
            self.finish()
            db.session.commit()
            raise ContactTakenError()
        if kind == "email":
            account.email_address, account.email_confirmed = value, True
        else:
            account.phone, account.phone_confirmed = value, True
        self.ctx.services.audit.record("account.contact_verified", actor=account.sub, subject=account.sub,
                                       ip=self.ctx.ip, channel="sms" if kind == "phone" else "email")
        self.goto(DONE)
        self.finish()
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ContactTakenError() from None


class WrongCurrentPasswordError(IdpError):
    message = _l("A jelenlegi jelszó nem megfelelő.")


def change_account_password(ctx, account, current, password, repeat):
    """A new password for the account: the current one first (an account that
    has none yet - a Facebook one - sets its first), then the policy."""
    services = ctx.services
    if account.password_hash:
        key = throttle_key(account.sub)
        attempt = services.throttles.reserve_password_attempt(key, ctx.ip)
        if not services.passwords.verify(account.password_hash, current or ""):
            locked = services.throttles.password_failed(key, ctx.ip, attempt, None, account.sub)
            db.session.commit()
            if locked is not None:
                raise locked
            raise WrongCurrentPasswordError()
        services.throttles.password_succeeded(key, ctx.ip)
    errors = policy_errors(password, account.identifier or "", (account.display_name or "",))
    if password != repeat:
        errors.append(_l("A két jelszó nem egyezik."))
    if errors:
        raise PasswordPolicyError(errors)
    account.password_hash = services.passwords.hash(password)
    account.password_changed_at = ctx.clock.now()
    services.audit.record("password.changed", actor=account.sub, subject=account.sub, ip=ctx.ip)
    db.session.commit()
