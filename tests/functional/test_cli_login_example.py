"""examples/cli_login.py logs in with the first-party grants, prompting for the
password and the SMS code, and prints the ID token's claims."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from idp.extensions import db
from idp.models.outbox import OutboxMessage
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cli_login.py"
PHONE = "+36301234567"


def newest_code(after_id):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.session.rollback()  # see what the server committed
        message = (OutboxMessage.query.filter(OutboxMessage.id > after_id, OutboxMessage.to == PHONE)
                   .order_by(OutboxMessage.id.desc()).first())
        if message is not None:
            return message.body.rsplit("#", 1)[1].strip()
        time.sleep(0.05)
    raise AssertionError("no SMS arrived")


def run_example(live_server, args, answers):
    """Run the example, answering its prompts line by line; ``answers`` are
    strings or callables (evaluated when the prompt comes)."""
    process = subprocess.Popen([sys.executable, str(EXAMPLE), "--issuer", live_server.url, *args],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output = []
    for answer in answers:
        line = ""
        while not line.endswith(": "):
            char = process.stdout.read(1)
            assert char, "".join(output) + line + process.stderr.read()
            line += char
            if char == "\n":
                output.append(line)
                line = ""
        output.append(line)
        process.stdin.write((answer() if callable(answer) else answer) + "\n")
        process.stdin.flush()
    rest, errors = process.communicate(timeout=30)
    return process.returncode, "".join(output) + rest, errors


def test_business_login_from_the_command_line(live_server):
    rp, secret = make_client(first_party=True)
    user = make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE,
                           permissions=["invoices.view"])
    before = db.session.query(db.func.max(OutboxMessage.id)).scalar() or 0
    code, output, errors = run_example(
        live_server, ["--client-id", rp.client_id, "--client-secret", secret, "anna@acme"],
        ["Helyes-jelszo-2024!", "000000", lambda: newest_code(before)])
    assert code == 0, output + errors
    assert "The SMS code went to +36 30 *** **67" in output
    assert "Wrong code; 4 more tries" in output
    claims = json.loads(output[output.index("{"):])
    assert claims["sub"] == user.sub
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert claims["company"]["slug"] == "acme" and claims["permissions"] == ["invoices.view"]


def test_a_wrong_password_fails_cleanly(live_server):
    rp, _ = make_client(first_party=True, public=True)
    make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)
    code, output, _ = run_example(live_server, ["--client-id", rp.client_id, "anna@acme"], ["wrong password"])
    assert code == 1
    assert "Login failed: invalid_grant: Wrong username or password" in output
