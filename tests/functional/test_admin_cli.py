"""The admin area's powers on the command line (DESIGN.md §5): ``idp user …``,
``idp phone …``, ``idp company set-sms``, each with ``--json`` printing exactly
one JSON document. In-process through Click's test runner against the test's
database, plus one real ``idp`` subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp.extensions import db
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.services import get_services
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import audit_events
from tests.login_helpers import outbox
from tests.login_helpers import temporary_password

PASSWORD = "Helyes-jelszo-2024!"


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone="+36301000001")
    return company


@pytest.fixture
def anna(acme):
    return make_login_user(acme, username="anna", email="anna@acme.example", phone="+36301234567",
                           permissions=["invoices.view"])


@pytest.fixture
def line(acme):
    return make_phone_line(acme, number="+36201234567", permissions=["usage.view"])


def idp(app, *args):
    """Run ``idp ARGS`` in-process; returns Click's result."""
    result = app.test_cli_runner().invoke(args=["idp", *args])
    db.session.expire_all()  # the command committed in its own session
    return result


def ok_json(app, *args):
    result = idp(app, *args, "--json") if "--json" not in args else idp(app, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    return json.loads(result.stdout)  # exactly one document: json.loads refuses anything after it


def fails(app, *args, needle=""):
    """One line on stderr; with ``--json`` the same sentence as ``{"error": …}`` on stdout."""
    result = idp(app, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("idp: "), result.stderr
    assert needle in lines[0], lines[0]
    if "--json" in args:
        assert json.loads(result.stdout) == {"error": lines[0].removeprefix("idp: ")}
    else:
        assert result.stdout == ""
    return lines[0]


def user(company, username):
    return BusinessUser.query.filter_by(company_id=company.id, username=username).one()


# --- users ---------------------------------------------------------------------------------------
def test_user_create_emails_a_temporary_password_and_prints_json(app, acme):
    document = ok_json(app, "user", "create", "bela@acme", "--email", "bela@acme.example", "--phone", "301234568",
                       "--name", "Nagy Béla", "--permission", "usage.view", "--permission", "invoices.view")
    bela = user(acme, "bela")
    assert document == {"identifier": "bela@acme", "sub": bela.sub, "email": "bela@acme.example",
                        "phone": "+36301234568", "permissions": ["invoices.view", "usage.view"]}
    assert bela.password_temporary and bela.display_name == "Nagy Béla"
    assert get_services().passwords.verify(bela.password_hash, temporary_password("bela@acme.example"))
    assert audit_events("user.created", subject=bela.sub)[0].actor == "cli"


def test_user_list_json_and_search(app, acme, anna):
    document = ok_json(app, "user", "list", "acme")
    assert [u["identifier"] for u in document] == ["admin@acme", "anna@acme"]
    assert document[1] == {"identifier": "anna@acme", "sub": anna.sub, "name": None,
                           "email": "anna@acme.example", "phone": "+36301234567", "role": "user",
                           "permissions": ["invoices.view"], "disabled": False, "temporary_password": False}
    assert document[0]["role"] == "main_admin" and "users.manage" in document[0]["permissions"]
    assert [u["identifier"] for u in ok_json(app, "user", "list", "acme", "--search", "anna")] == ["anna@acme"]
    assert ok_json(app, "user", "list", "acme", "--search", "nobody") == []


def test_user_list_without_json_prints_lines(app, anna):
    result = idp(app, "user", "list", "acme")
    assert result.exit_code == 0
    assert "anna@acme" in result.stdout and "invoices.view" in result.stdout and "active" in result.stdout


def test_user_edit(app, acme, anna):
    document = ok_json(app, "user", "edit", "anna@acme", "--email", "anna.kiss@acme.example", "--phone",
                       "+36 20 765 4321", "--name", "Kiss Anna")
    assert (document["email"], document["phone"], document["name"]) == ("anna.kiss@acme.example", "+36207654321",
                                                                       "Kiss Anna")
    ok_json(app, "user", "edit", "anna@acme", "--name", "K. Anna")  # the rest stays
    anna = user(acme, "anna")
    assert (anna.email_address, anna.phone, anna.display_name) == ("anna.kiss@acme.example", "+36207654321",
                                                                     "K. Anna")
    assert [e.actor for e in audit_events("user.updated", subject=anna.sub)] == ["cli", "cli"]


def test_user_set_permissions_replaces_them(app, acme, anna):
    document = ok_json(app, "user", "set-permissions", "anna@acme", "--permission", "orders.create",
                       "--permission", "users.manage")
    assert document["permissions"] == ["orders.create", "users.manage"]
    assert user(acme, "anna").permissions == ["orders.create", "users.manage"]
    assert ok_json(app, "user", "set-permissions", "anna@acme")["permissions"] == []
    [first, second] = audit_events("user.permissions_changed", subject=anna.sub)
    assert first.details["before"] == ["invoices.view"] and second.details["after"] == []


@pytest.mark.parametrize("command, field, value", [
    ("disable", "disabled", True),
    ("enable", "disabled", False),
    ("delete", "deleted_at", "set"),
    ("reset-password", "password_temporary", True),
], ids=["disable", "enable", "delete", "reset-password"])
def test_user_state_commands(app, acme, anna, command, field, value):
    if command == "enable":
        anna.disabled = True
        db.session.commit()
    document = ok_json(app, "user", command, "anna@acme")
    assert document["identifier"] == "anna@acme"
    stored = getattr(user(acme, "anna"), field)
    assert (stored is not None) if value == "set" else stored == value
    event = {"disable": "user.disabled", "enable": "user.enabled", "delete": "user.deleted",
             "reset-password": "user.temporary_password_sent"}[command]
    assert [e.actor for e in audit_events(event, subject=anna.sub)] == ["cli"]


def test_reset_password_emails_a_new_one(app, anna):
    ok_json(app, "user", "reset-password", "anna@acme")
    assert len(outbox("email", "anna@acme.example")) == 1
    db.session.refresh(anna)
    assert not get_services().passwords.verify(anna.password_hash, PASSWORD)
    assert get_services().passwords.verify(anna.password_hash, temporary_password("anna@acme.example"))


def test_deleted_user_is_gone_and_its_name_is_never_reused(app, acme, anna):
    ok_json(app, "user", "delete", "anna@acme")
    assert ok_json(app, "user", "list", "acme")[-1]["identifier"] == "admin@acme"
    fails(app, "user", "disable", "anna@acme", needle="No user 'anna@acme'")
    fails(app, "user", "create", "anna@acme", "--email", "a@acme.example", "--phone", "301234569",
          needle="already taken")
    assert BusinessUser.query.filter_by(username="anna").count() == 1


@pytest.mark.parametrize("args, needle", [
    (["user", "create", "admin@acme", "--email", "x@acme.example", "--phone", "301234569"], "belongs to the main administrator"),
    (["user", "create", "Anna Kiss@acme", "--email", "x@acme.example", "--phone", "301234569"], "The username is 1-64"),
    (["user", "create", "x" * 65 + "@acme", "--email", "x@acme.example", "--phone", "301234569"], "The username is 1-64"),
    (["user", "create", "bela@nope", "--email", "x@acme.example", "--phone", "301234569"], "No company"),
    (["user", "create", "bela@acme", "--email", "nope", "--phone", "301234569"], "Invalid email"),
    (["user", "create", "bela@acme", "--email", "x@acme.example", "--phone", "123"], "9-digit format"),
    (["user", "create", "bela@acme", "--email", "x@acme.example", "--phone", "301234569", "--permission", "root"],
     "Unknown permission"),
    (["user", "edit", "anna@acme", "--email", "nope"], "Invalid email address."),
    (["user", "edit", "anna@acme", "--phone", "12"], "9-digit format"),
    (["user", "edit", "nobody@acme", "--name", "x"], "No user 'nobody@acme'"),
    (["user", "set-permissions", "anna@acme", "--permission", "root"], "Unknown permission: root"),
    (["user", "set-permissions", "admin@acme", "--permission", "usage.view"], "rights cannot be changed"),
    (["user", "disable", "admin@acme"], "main administrator cannot be disabled"),
    (["user", "delete", "admin@acme"], "main administrator cannot be deleted"),
    (["user", "list", "nope"], "No company with the slug 'nope'"),
    (["phone", "add", "201234567", "--company", "acme"], "already registered"),
    (["phone", "add", "12345", "--company", "acme"], "Not a Hungarian mobile"),
    (["phone", "add", "709999999", "--company", "acme", "--permission", "users.manage"], "Not available to phone"),
    (["phone", "set-permissions", "201234567", "--permission", "users.manage"], "Not available to phone numbers"),
    (["phone", "set-permissions", "709999999", "--permission", "usage.view"], "+36709999999 is not registered"),
    (["phone", "remove", "nonsense"], "Not a Hungarian mobile number"),
    (["company", "set-sms", "nope", "off"], "No company with the slug 'nope'"),
], ids=["reserved-admin", "bad-username", "long-username", "no-company", "bad-email", "bad-phone",
        "unknown-permission", "edit-bad-email", "edit-bad-phone", "edit-unknown-user", "set-unknown-permission",
        "set-main-admin", "disable-main-admin", "delete-main-admin", "list-unknown-company", "phone-duplicate",
        "phone-bad-number", "phone-add-not-for-phones", "phone-set-not-for-phones", "phone-unknown",
        "phone-remove-garbage", "sms-unknown-company"])
def test_refused_commands_print_one_line_and_change_nothing(app, acme, anna, line, args, needle):
    def state():
        db.session.expire_all()
        return ([(u.username, u.email_address, u.phone, u.permissions, u.disabled, u.deleted_at)
                 for u in BusinessUser.query.order_by(BusinessUser.id)],
                [(x.number, x.permissions, x.deleted_at) for x in PhoneLine.query.order_by(PhoneLine.id)],
                [c.sms_login_required for c in Company.query], len(outbox()))

    before = state()
    fails(app, *args, "--json", needle=needle)
    assert state() == before


def test_an_invalid_choice_is_a_usage_error(app, acme):
    result = idp(app, "company", "set-sms", "acme", "maybe")
    assert result.exit_code == 2 and "Traceback" not in result.output


# --- phone lines ---------------------------------------------------------------------------------
def test_phone_add_list_set_permissions_remove(app, acme):
    added = ok_json(app, "phone", "add", "20 123 4567", "--company", "acme", "--label", "Raktár",
                    "--permission", "usage.view")
    line = PhoneLine.query.filter_by(number="+36201234567").one()
    assert added == {"number": "+36201234567", "sub": line.sub, "company": "acme", "permissions": ["usage.view"]}

    assert ok_json(app, "phone", "list", "acme") == [{
        "number": "+36201234567", "sub": line.sub, "label": "Raktár", "company": "acme",
        "permissions": ["usage.view"], "disabled": False}]

    changed = ok_json(app, "phone", "set-permissions", "+36201234567", "--permission", "invoices.view",
                      "--permission", "invoices.pay")
    assert changed["permissions"] == ["invoices.pay", "invoices.view"]
    assert [e.actor for e in audit_events("phone_line.permissions_changed", subject=line.sub)] == ["cli"]

    removed = ok_json(app, "phone", "remove", "201234567")
    assert removed["number"] == "+36201234567"
    assert PhoneLine.query.filter_by(number="+36201234567").one().deleted_at is not None
    assert ok_json(app, "phone", "list", "acme") == []
    fails(app, "phone", "remove", "201234567", needle="is not registered")
    assert len(audit_events("phone_line.removed", subject=line.sub)) == 1


def test_phone_list_without_json(app, line):
    result = idp(app, "phone", "list", "acme")
    assert result.exit_code == 0 and "+36201234567" in result.stdout and "usage.view" in result.stdout


# --- the SMS switch --------------------------------------------------------------------------------
def test_company_set_sms_off_and_on(app, acme):
    assert ok_json(app, "company", "set-sms", "acme", "off") == {"slug": "acme", "sms_login_required": False}
    company = Company.query.filter_by(slug="acme").one()
    assert not company.sms_login_required and company.sms_setting_changed_by == "cli"
    assert ok_json(app, "company", "set-sms", "ACME", "on") == {"slug": "acme", "sms_login_required": True}
    assert [e.details for e in audit_events("company.sms_login_changed")] == [
        {"sms_login_required": False}, {"sms_login_required": True}]
    result = idp(app, "company", "set-sms", "acme", "off")
    assert result.exit_code == 0 and result.stdout.strip() == "SMS code at login for acme: off."


# --- one real subprocess -----------------------------------------------------------------------------
def test_the_installed_idp_command_lists_users_as_json(app, acme, anna):
    """The console script against this test's database file: one process, one JSON document."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and k != "FLASK_APP"}
    env.update(IDP_SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
               IDP_KEYS_DIR=app.config["KEYS_DIR"])
    db.session.commit()
    result = subprocess.run([str(Path(sys.executable).parent / "idp"), "user", "list", "acme", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [u["identifier"] for u in json.loads(result.stdout)] == ["admin@acme", "anna@acme"]
