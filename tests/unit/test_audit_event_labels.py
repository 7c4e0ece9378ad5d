"""Every audit event the product writes has a readable name on the log page,
every detail it records a readable label, and the values read as words."""

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from idp.admin.events import DETAIL_LABELS
from idp.admin.events import EVENT_LABELS
from idp.admin.events import describe
from idp.admin.events import who

SOURCE = Path(__file__).resolve().parents[2] / "idp"
LITERAL = re.compile(r'(?:\.record|\.audit)\(\s*"([a-z_]+\.[a-z_]+)"')
PASSED_IN = re.compile(r'event="([a-z_]+\.[a-z_]+)"')
#: The columns of every row (idp/services/audit.py), not details.
COLUMNS = {"actor", "subject", "company_id", "ip"}


def test_every_recorded_event_has_a_label():
    events = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text("utf-8")
        events |= set(LITERAL.findall(text)) | set(PASSED_IN.findall(text))
    assert {"user.created", "login.failed", "password.reset"} <= events  # the scan itself works
    assert sorted(events - set(EVENT_LABELS)) == []


def recorded_detail_keys():
    """``{key: "file:line"}`` of every keyword given to ``….record(event, …)``
    (the audit service) or ``actor.audit(event, …)`` (the admin service)."""
    keys = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "audit") and node.args):
                continue
            event = node.args[0]
            is_event = (isinstance(event, ast.Constant) and isinstance(event.value, str) and "." in event.value
                        or isinstance(event, (ast.Name, ast.IfExp)))
            if is_event:
                for keyword in node.keywords:
                    if keyword.arg and keyword.arg not in COLUMNS:
                        keys.setdefault(keyword.arg, f"{path.relative_to(SOURCE.parent)}:{node.lineno}")
    return keys


def test_every_recorded_detail_key_has_a_label():
    keys = recorded_detail_keys()
    assert {"amr", "client_id", "reason", "resend", "channel", "username"} <= set(keys)  # the scan works
    assert {key: where for key, where in keys.items() if key not in DETAIL_LABELS} == {}


def row(details, actor="sub-1", subject=None):
    return SimpleNamespace(details=details, actor=actor, subject=subject)


@pytest.mark.parametrize(("details", "expected"), [
    pytest.param({"resend": False}, [("Újraküldés", "nem", None)], id="boolean-no"),
    pytest.param({"sms_login_required": True}, [("SMS-kód belépéskor", "igen", None)], id="boolean-yes"),
    pytest.param({"channel": "sms", "purpose": "login"},
                 [("Csatorna", "SMS", None), ("Cél", "belépés", "login")], id="sms-login"),
    pytest.param({"channel": "email", "purpose": "password_reset"},
                 [("Csatorna", "e-mail", None), ("Cél", "jelszó-visszaállítás", "password_reset")], id="email"),
    pytest.param({"reason": "password"}, [("Ok", "hibás azonosító vagy jelszó", "password")], id="reason"),
    pytest.param({"reason": "code_dead", "kind": "phone"},
                 [("Ok", "a kód lejárt, vagy túl sokszor adtak meg hibás kódot", "code_dead"),
                  ("Belépés fajtája", "telefonszámmal", "phone")], id="code-dead"),
    pytest.param({"amr": ["pwd", "sms", "mfa"]},
                 [("Belépés módja", "jelszó, SMS-kód, kétlépcsős", "pwd sms mfa")], id="amr"),
    pytest.param({"client_id": "abc123"}, [("Alkalmazás", "Üzleti portál", "abc123")], id="client-known"),
    pytest.param({"client_id": "gone"}, [("Alkalmazás", "gone", None)], id="client-unknown"),
    pytest.param({"permissions": ["usage.view", "invoices.view"]},
                 [("Jogosultságok", "Számlák megtekintése, Forgalom megtekintése", "usage.view, invoices.view")],
                 id="permissions"),
    pytest.param({"before": []}, [("Korábbi jogok", "nincs", None)], id="no-permissions"),
    pytest.param({"changed": ["email", "phone"]}, [("Módosított adatok", "e-mail-cím, telefonszám", None)],
                 id="changed"),
    pytest.param({"number": "+36301234567"}, [("Telefonszám", "+36 30 123 4567", None)], id="number"),
    pytest.param({"minutes": 15}, [("Zárolás időtartama", "15 perc", None)], id="minutes"),
    pytest.param({"n": 3}, [("n", "3", None)], id="unknown-key"),
])
def test_details_read_as_words_with_the_code_beside_where_useful(app, details, expected):
    with app.test_request_context(headers={"Accept-Language": "hu"}):
        described = describe(row(details), {"abc123": "Üzleti portál"})
    assert [(d.label, d.value, d.raw) for d in described] == expected


def test_details_in_english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        described = describe(row({"resend": True, "channel": "email", "reason": "password",
                                  "permissions": ["invoices.view"]}))
    assert [(d.label, d.value) for d in described] == [
        ("Resend", "yes"), ("Channel", "email"), ("Reason", "wrong identifier or password"),
        ("Permissions", "View invoices")]


@pytest.mark.parametrize(("actor", "subject", "expected"), [
    pytest.param("sub-1", "sub-1", "anna@acme", id="principal"),
    pytest.param("cli", "sub-2", "ügyfélszolgálat (parancssor)", id="customer-service"),
    pytest.param(None, "nobody@acme", "nobody@acme", id="unknown-identifier"),
    pytest.param("admin@acme", "sub-2", "admin@acme", id="admin-by-identifier"),
])
def test_who_names_the_actor(app, actor, subject, expected):
    with app.test_request_context(headers={"Accept-Language": "hu"}):
        assert who(row({}, actor=actor, subject=subject), {"sub-1": "anna@acme"}) == expected
