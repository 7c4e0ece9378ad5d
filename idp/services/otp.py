"""One-time codes sent by SMS or email: one service for every journey.

Codes are 6 digits from ``secrets``, stored only as a keyed hash
(HMAC-SHA256 under a key derived from the app's secret key, so a copy of the
database does not let anyone try the million codes offline). They live
``OTP_TTL`` seconds (300); a resend replaces the code (the old one dies); a
challenge dies after ``OTP_MAX_ATTEMPTS`` (5) wrong codes. Attempt counting and
consumption are single UPDATE statements, so parallel submissions can neither
exceed the limit nor use one code twice.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from idp.errors import IdpError
from idp.extensions import db
from idp.models.otp import OtpChallenge

CODE_DIGITS = 6


class OtpError(IdpError):
    pass


class CodeInvalidError(OtpError):
    """Wrong code; ``attempts_left`` more tries."""

    def __init__(self, attempts_left):
        super().__init__("wrong code")
        self.attempts_left = attempts_left


class CodeExpiredError(OtpError):
    """Expired, used up, or killed by too many wrong codes. ``used``: a right
    code was taken already (by a parallel request of the same journey, which
    goes on), so the journey must not be ended for it."""

    def __init__(self, reason="", *, used=False):
        super().__init__(reason)
        self.used = used


@dataclass
class IssuedCode:
    challenge: OtpChallenge
    code: str


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


class OtpService:
    def __init__(self, clock, secret_key, ttl=300, max_attempts=5):
        self.clock = clock
        self._key = hashlib.sha256(b"idp-otp:" + str(secret_key).encode("utf-8")).digest()
        self.ttl = ttl
        self.max_attempts = max_attempts

    @classmethod
    def from_config(cls, config, clock):
        return cls(clock, config["SECRET_KEY"], int(config["OTP_TTL"]), int(config["OTP_MAX_ATTEMPTS"]))

    def _digest(self, challenge_id, code):
        return hmac.new(self._key, f"{challenge_id}:{code}".encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, purpose, *, channel, destination, principal=None) -> IssuedCode:
        """A new challenge and its first code (the caller sends it)."""
        now = self.clock.now()
        challenge = OtpChallenge(
            id=secrets.token_urlsafe(24), purpose=purpose, channel=channel, destination=destination,
            principal_kind=getattr(principal, "kind", None), subject=getattr(principal, "sub", None),
            attempts=0, created_at=now, sent_at=now, expires_at=now + timedelta(seconds=self.ttl))
        code = new_code()
        challenge.code_hash = self._digest(challenge.id, code)
        db.session.add(challenge)
        db.session.flush()
        return IssuedCode(challenge, code)

    def reissue(self, challenge) -> IssuedCode:
        """A fresh code for the same challenge; the previous code stops working.
        Wrong attempts are not forgiven by a resend."""
        now = self.clock.now()
        code = new_code()
        challenge.code_hash = self._digest(challenge.id, code)
        challenge.sent_at = now
        challenge.expires_at = now + timedelta(seconds=self.ttl)
        db.session.flush()
        return IssuedCode(challenge, code)

    def is_alive(self, challenge) -> bool:
        return (challenge is not None and challenge.used_at is None
                and challenge.attempts < self.max_attempts and challenge.expires_at > self.clock.now())

    def verify(self, challenge_id, code) -> OtpChallenge:
        """Consume the challenge if ``code`` is right; commits its own bookkeeping."""
        now = self.clock.now()
        counted = (OtpChallenge.query
                   .filter(OtpChallenge.id == challenge_id, OtpChallenge.used_at.is_(None),
                           OtpChallenge.attempts < self.max_attempts, OtpChallenge.expires_at > now)
                   .update({OtpChallenge.attempts: OtpChallenge.attempts + 1}, synchronize_session=False))
        db.session.commit()
        if not counted:
            used = (db.session.query(OtpChallenge.used_at).filter(OtpChallenge.id == challenge_id).scalar()
                    is not None)
            raise CodeExpiredError("code expired or used up", used=used)
        challenge = db.session.get(OtpChallenge, challenge_id)
        db.session.refresh(challenge)
        code = (code or "").strip().replace(" ", "")
        if (len(code) == CODE_DIGITS and code.isascii() and code.isdigit() and challenge.code_hash
                and hmac.compare_digest(challenge.code_hash, self._digest(challenge.id, code))):
            consumed = (OtpChallenge.query
                        .filter(OtpChallenge.id == challenge_id, OtpChallenge.used_at.is_(None))
                        .update({OtpChallenge.used_at: now}, synchronize_session=False))
            db.session.commit()
            if consumed:
                db.session.refresh(challenge)
                return challenge
            raise CodeExpiredError("code already used", used=True)
        left = self.max_attempts - challenge.attempts
        if left <= 0:
            raise CodeExpiredError("too many wrong codes")
        raise CodeInvalidError(left)
