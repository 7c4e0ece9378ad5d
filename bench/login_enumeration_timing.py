#!/usr/bin/env python3
"""Does the password step of the business login (``POST /login/password``)
take measurably longer for an identifier that exists than for one that does
not? If it did, response times would tell an attacker which ``user@company``
identifiers are real (user enumeration, OWASP ASVS 2.2 / WSTG-IDNT-04).

Standalone (not a test): builds the real app on a temporary migrated SQLite
database and key directory, creates a company and a user with a known
password, and times the password POST through the Flask test client:

  (a) existing identifier, wrong password
  (b) non-existent identifier (any password)
  (c) existing identifier, correct password (reference only; it does more work:
      it finishes the login and starts a session)

The three are interleaved in a shuffled order every round, so drift (CPU
frequency, caches, the SQLite file growing) hits them alike. The throttles
are configured out of the way (per-identifier delay/lock, per-IP limit),
otherwise the fifth wrong password would already be delayed.

Exit status: 0 if |median(a) - median(b)| <= threshold, 1 if above.

  .venv/bin/python bench/login_enumeration_timing.py            # 200 rounds, 5 ms
  .venv/bin/python bench/login_enumeration_timing.py -n 500 --threshold-ms 2
"""

import argparse
import gc
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idp import create_app  # noqa: E402
from idp.extensions import db  # noqa: E402

KNOWN_PASSWORD = "tavaszi szél vizet áraszt"
WRONG_PASSWORD = "tavaszi szel vizet araszt!"
EXISTING = "anna@acme"
MISSING = "nincs.ilyen@acme"  # same company, so only the user lookup differs
ERROR_TEXT = "Hibás azonosító vagy jelszó."
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERY_HIGH = 10**9


def build_app(workdir: Path):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'idp.db'}",
        "KEYS_DIR": str(workdir / "keys"),
        "ISSUER": "http://localhost",
        # Throttles out of the way: we fail the same identifier hundreds of times.
        "PASSWORD_DELAY_AFTER": VERY_HIGH,
        "PASSWORD_LOCK_AFTER": VERY_HIGH,
        "IP_PASSWORD_FAILURES_PER_HOUR": VERY_HIGH,
        "SMS_PER_IP_PER_HOUR": VERY_HIGH,
    })
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade

        from idp.services import get_services

        upgrade()
        get_services().keys.ensure()
    return app


def create_user():
    """Company ``acme`` (no SMS step, so a correct password ends the login) and
    ``anna@acme`` with a permanent, known password."""
    from idp.companies import create_company
    from idp.companies import create_user as register_user
    from idp.services import get_services

    create_company("acme", "Acme Kft.", "boss@acme.example", "301234567", sms_login_required=False)
    user = register_user(EXISTING, "anna@acme.example", "301234568").user
    user.password_hash = get_services().passwords.hash(KNOWN_PASSWORD)
    user.password_temporary = False
    user.password_expires_at = None
    db.session.commit()


def csrf_token(client, url="/login"):
    match = CSRF.search(client.get(url).get_data(as_text=True))
    if not match:
        raise SystemExit(f"no CSRF token on {url}")
    return match.group(1)


def start_flow(client, token, identifier):
    """POST the identifier step; returns the password-step URL."""
    response = client.post("/login", data={"csrf_token": token, "identifier": identifier})
    if response.status_code != 302 or "/login/password?flow=" not in response.headers.get("Location", ""):
        raise SystemExit(f"identifier step failed for {identifier}: {response.status_code}\n"
                         + response.get_data(as_text=True)[:2000])
    location = response.headers["Location"]
    return "/login/password?flow=" + parse_qs(urlsplit(location).query)["flow"][0]


def timed_post(client, url, data):
    gc.disable()
    try:
        start = time.perf_counter()
        response = client.post(url, data=data)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed * 1000.0, response


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(name, values):
    return (f"{name:<44} median {statistics.median(values):7.2f} ms   p90 {percentile(values, 0.9):7.2f} ms   "
            f"mean {statistics.fmean(values):7.2f} ms   min {min(values):7.2f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", nargs="?", type=int, default=None, help="rounds (default 200)")
    parser.add_argument("-n", "--rounds", dest="rounds_opt", type=int, default=200,
                        help="rounds (default 200)")
    parser.add_argument("--threshold-ms", type=float, default=5.0,
                        help="fail if the medians of (a) and (b) differ by more (default 5)")
    parser.add_argument("--warmup", type=int, default=10, help="unrecorded rounds first (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the shuffled order")
    args = parser.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else args.rounds_opt
    if rounds < 1:
        parser.error("rounds must be positive")
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            create_user()
            from idp.services import get_services

            hasher = get_services().passwords.hasher
        print(f"argon2id t={hasher.time_cost} m={hasher.memory_cost} KiB p={hasher.parallelism}; "
              f"{rounds} rounds (+{args.warmup} warm-up), threshold {args.threshold_ms} ms")
        # Requests run outside any app context of ours, as in production: each
        # gets its own app context (and ``g``), like a real server would give it.

        # (a) and (b) share one browser: same cookies, same CSRF token; each
        # keeps one flow on the password step (a wrong password does not end it).
        browser = app.test_client()
        token = csrf_token(browser)
        url_existing = start_flow(browser, token, EXISTING)
        url_missing = start_flow(browser, token, MISSING)
        wrong = {"csrf_token": token, "password": WRONG_PASSWORD}
        # (c) a second browser: a successful login rotates the session (and so
        # the CSRF token and the browser id the other flows are bound to).
        other = app.test_client()

        def existing_wrong():
            ms, response = timed_post(browser, url_existing, wrong)
            check_failure(response, EXISTING)
            return ms

        def missing():
            ms, response = timed_post(browser, url_missing, wrong)
            check_failure(response, MISSING)
            return ms

        def existing_correct():
            fresh = csrf_token(other)
            url = start_flow(other, fresh, EXISTING)
            ms, response = timed_post(other, url, {"csrf_token": fresh, "password": KNOWN_PASSWORD})
            if response.status_code != 302 or not response.headers["Location"].endswith("/login/done"):
                raise SystemExit(f"correct password refused: {response.status_code}")
            return ms

        cases = {"(a) existing identifier, wrong password": existing_wrong,
                 "(b) non-existent identifier": missing,
                 "(c) existing identifier, correct password": existing_correct}
        samples = {name: [] for name in cases}
        for number in range(args.warmup + rounds):
            order = list(cases)
            rng.shuffle(order)
            for name in order:
                ms = cases[name]()
                if number >= args.warmup:
                    samples[name].append(ms)
            gc.collect()
        with app.app_context():
            db.engine.dispose()

    names = list(cases)
    print()
    for name in names:
        print(summary(name, samples[name]))
    a, b = samples[names[0]], samples[names[1]]
    difference = statistics.median(a) - statistics.median(b)
    print()
    print(f"difference of medians (a) - (b): {difference:+.2f} ms (threshold ±{args.threshold_ms} ms)")
    print(f"p90 difference (a) - (b):        {percentile(a, 0.9) - percentile(b, 0.9):+.2f} ms")
    if abs(difference) > args.threshold_ms:
        print("FAIL: an existing identifier is distinguishable by response time")
        return 1
    print("OK: no measurable difference between an existing and a non-existent identifier")
    return 0


def check_failure(response, identifier):
    body = response.get_data(as_text=True)
    if response.status_code != 200 or ERROR_TEXT not in body:
        raise SystemExit(f"expected the wrong-password page for {identifier}, got {response.status_code}")


if __name__ == "__main__":
    sys.exit(main())
