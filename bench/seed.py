"""The data of a run, made the way an operator makes it: the ``idp`` command.

- ``bench-cc``: a confidential client for ``client_credentials``, a resource
  server (it may introspect any token);
- ``bench-rp``: a confidential first-party client for the code flow and refresh;
- company ``bench`` (SMS step on) with users ``u1@bench`` … ``uN@bench``.

``idp company create`` and ``idp user create`` email a temporary password;
:func:`first_logins` then logs every user in once through the pages, setting a
permanent password (and answering the Telekom-account offer "Később"), as a new
user would.
"""

import json
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field

from bench.browser import Browser
from bench.browser import Party
from bench.browser import User
from bench.processes import BIN
from bench.processes import ROOT

REDIRECT_URI = "http://127.0.0.1:9/cb"
RP_SCOPE = "openid profile company permissions offline_access"
TEMPORARY_PASSWORD = "Ideiglenes jelszó: "


@dataclass
class Seed:
    cc_client: tuple  # (client_id, client_secret)
    party: Party
    users: list = field(default_factory=list)
    user_tokens: dict = field(default_factory=dict)  # a token response of the first login


def idp(env, *args, as_json=True):
    argv = [str(BIN / "idp"), *args, *(["--json"] if as_json else [])]
    completed = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"idp {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return json.loads(completed.stdout) if as_json else completed.stdout


def create(env, issuer, user_count):
    """Migrate the empty database and register the clients, the company and its users."""
    idp(env, "db", "upgrade", as_json=False)
    cc = idp(env, "client", "create", "--name", "bench-cc", "--redirect-uri", REDIRECT_URI,
             "--grant-type", "client_credentials", "--resource-server")
    rp = idp(env, "client", "create", "--name", "bench-rp", "--first-party", "--redirect-uri", REDIRECT_URI,
             "--scope", RP_SCOPE)
    idp(env, "company", "create", "bench", "--name", "Bench Kft.", "--admin-email", "admin@bench.example",
        "--admin-phone", "309990000")
    specs = [(f"u{n}@bench", f"u{n}@bench.example", f"30999{n:04d}") for n in range(1, user_count + 1)]
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda spec: idp(env, "user", "create", spec[0], "--email", spec[1],
                                                 "--phone", spec[2], "--permission", "invoices.view"), specs))
    passwords = temporary_passwords(env)
    users = [User(identifier=user["identifier"], phone=user["phone"], password=passwords[user["email"]],
                  new_password="Bench-" + secrets.token_urlsafe(12)) for user in created]
    party = Party(base=issuer, client_id=rp["client_id"], client_secret=rp["client_secret"],
                  redirect_uri=REDIRECT_URI, scope=RP_SCOPE)
    return Seed(cc_client=(cc["client_id"], cc["client_secret"]), party=party, users=users)


def temporary_passwords(env):
    """Email address → the temporary password in its newest email in the outbox."""
    found = {}
    for message in idp(env, "outbox", "--limit", "1000"):
        if message["channel"] == "email" and TEMPORARY_PASSWORD in message["body"]:
            password = message["body"].split(TEMPORARY_PASSWORD, 1)[1].split()[0]
            found.setdefault(message["to"], password)
    return found


def first_logins(seed, sms_url):
    """Every user's first login (temporary → permanent password); keeps one token response each."""
    def log_in(user):
        seed.user_tokens[user.identifier] = Browser(seed.party, sms_url).log_in(user)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(log_in, seed.users))
