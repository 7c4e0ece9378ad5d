"""The argon2id verify rate: what a full login can at most reach, since every
login verifies one password. Measured with the product's own password service
(``idp.services.passwords.PasswordService``) and the parameters of
``idp/settings.py``, in as many processes as gunicorn has workers."""

import multiprocessing
import time

PASSWORD = "bench jelszó a mérésekhez"


def _verifies_per_second(seconds):
    from idp import settings
    from idp.services.passwords import PasswordService

    service = PasswordService(settings.PASSWORD_HASH_TIME_COST, settings.PASSWORD_HASH_MEMORY_COST,
                              settings.PASSWORD_HASH_PARALLELISM)
    hashed = service.hash(PASSWORD)
    count, began = 0, time.monotonic()
    while time.monotonic() - began < seconds:
        if not service.verify(hashed, PASSWORD):
            raise RuntimeError("argon2id verify failed")
        count += 1
    return count / (time.monotonic() - began)


def verify_rate(processes, seconds=5.0):
    """Verifies per second of ``processes`` processes verifying at once."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        return sum(pool.map(_verifies_per_second, [seconds] * processes))


def parameters():
    from idp import settings

    return (f"t={settings.PASSWORD_HASH_TIME_COST}, m={settings.PASSWORD_HASH_MEMORY_COST} KiB, "
            f"p={settings.PASSWORD_HASH_PARALLELISM}")
