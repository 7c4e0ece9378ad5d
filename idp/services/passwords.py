"""Password hashing (argon2id) and the password policy (NIST SP 800-63B §3.1.1.2).

Parameters default to OWASP's minimum for argon2id (m=19456 KiB, t=2, p=1),
about 18 ms a verify on one core here; argon2-cffi's own defaults cost about
8 times more and would cap logins at a few per second per core. A hash made
with other parameters is upgraded at the next successful login.
"""

import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128


class PasswordService:
    def __init__(self, time_cost=2, memory_cost=19456, parallelism=1):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost,
                                     parallelism=parallelism, type=Type.ID)
        # Verified against when the identifier does not exist, so that case
        # costs the same time as a wrong password (no user enumeration).
        self._dummy_hash = self.hasher.hash("dummy password for timing equality")

    @classmethod
    def from_config(cls, config):
        return cls(int(config["PASSWORD_HASH_TIME_COST"]), int(config["PASSWORD_HASH_MEMORY_COST"]),
                   int(config["PASSWORD_HASH_PARALLELISM"]))

    def hash(self, password: str) -> str:
        return self.hasher.hash(normalize(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if it matches; a missing hash still costs one full verify."""
        try:
            return self.hasher.verify(password_hash or self._dummy_hash, normalize(password)) and bool(
                password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)


def normalize(password: str) -> str:
    """SP 800-63B §5.1.1.2: Unicode passwords are NFKC-normalised before hashing."""
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset:
    text = resources.files("idp").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def policy_errors(password: str, identifier: str = "", other_words=()) -> list:
    """What is wrong with ``password`` as a new password (empty when acceptable)."""
    password = normalize(password or "")
    errors = []
    if len(password) < MIN_LENGTH:
        errors.append(_l("A jelszó legalább %(n)s karakter legyen.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        errors.append(_l("A jelszó legfeljebb %(n)s karakter lehet.", n=MAX_LENGTH))
    folded = password.casefold()
    words = {w.casefold() for w in (identifier, identifier.split("@")[0], *other_words) if w and len(w) >= 3}
    if any(folded == w or (w in folded and len(w) >= len(folded) - 4) for w in words):
        errors.append(_l("A jelszó nem lehet a felhasználónév vagy annak változata."))
    if folded in common_passwords():
        errors.append(_l("Ez a jelszó túl gyakori, könnyen kitalálható. Válasszon másikat."))
    return errors
