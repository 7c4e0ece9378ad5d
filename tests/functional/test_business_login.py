"""Business login through the real pages (MISSION.md 1-8, DESIGN.md §3):
identifier → "Tovább" → password → "Tovább" → SMS code, temporary passwords
and their first-login change, the SMS switch and acr_values, password hashing,
English pages, audit events, SMTP delivery and the CLI."""

import json
import re
from datetime import timedelta
from email import message_from_bytes
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text as sql

from idp.companies import create_company
from idp.companies import create_user
from idp.companies import TEMP_ALPHABET
from idp.extensions import db
from idp.models.company import BusinessUser
from idp.services import get_services
from idp.services.passwords import PasswordService
from tests.conftest import free_port
from tests.conftest import interaction_from
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import past_the_offer
from tests.login_helpers import audit_events
from tests.login_helpers import csrf_token
from tests.login_helpers import authorize
from tests.login_helpers import exchange_code
from tests.login_helpers import flow_id
from tests.login_helpers import id_token_claims
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import outbox
from tests.login_helpers import post_form
from tests.login_helpers import resend
from tests.login_helpers import start_login
from tests.login_helpers import strip_volatile
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import temporary_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
NEW_PASSWORD = "zöld alma a kosárban"
PHONE = "+36301234567"
WRONG_CREDENTIALS = "Hibás azonosító vagy jelszó."


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def anna(acme):
    return make_login_user(company=acme, username="anna", phone=PHONE, email="anna@acme.example")


def tag(html, name):
    """The opening tag of the input named ``name``."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no input {name!r}"
    return match.group(0)


# --- step 1: identifier -----------------------------------------------------------------
def test_identifier_page_has_next_button_and_other_login_links(client):
    response = client.get("/login")
    html = text(response)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*type="submit"[^>]*value="Tovább"', html)
    assert 'autocomplete="username"' in tag(html, "identifier")
    assert 'href="/login/phone"' in html
    assert 'href="/account/login"' in html


@pytest.mark.parametrize("typed", [
    pytest.param("  anna@acme  ", id="surrounding-spaces"),
    pytest.param("ANNA@Acme", id="upper-case"),
    pytest.param("\tAnna@ACME\n", id="tab-newline"),
    pytest.param("ａｎｎａ＠ａｃｍｅ", id="fullwidth-nfkc"),
])
def test_identifier_is_trimmed_case_folded_and_nfkc_normalised(client, anna, typed):
    fid = start_login(client, typed)
    html = text(client.get(f"/login/password?flow={fid}"))
    assert "<strong>anna@acme</strong>" in html
    response = submit_password(client, fid, PASSWORD)
    assert response.status_code == 302 and "/login/sms?flow=" in response.headers["Location"]


# --- step 2: password -------------------------------------------------------------------
def test_password_page_shows_identifier_not_you_link_field_next_and_forgot_link(client, anna):
    fid = start_login(client, "anna@acme")
    response = client.get(f"/login/password?flow={fid}")
    html = text(response)
    assert response.status_code == 200
    assert "<strong>anna@acme</strong>" in html
    assert re.search(r'<a href="/login">Nem Ön az\?</a>', html)
    assert 'type="password"' in tag(html, "password")
    assert 'autocomplete="current-password"' in tag(html, "password")
    assert re.search(r'<input[^>]*type="submit"[^>]*value="Tovább"', html)
    assert f'href="/login/password-reset?flow={fid}">Nem tudom a jelszavam</a>' in html


def test_unknown_identifier_fails_at_the_password_step_exactly_like_a_wrong_password(client, anna, acme):
    make_login_user(company=acme, username="bela")
    known = submit_password(client, start_login(client, "bela@acme"), "not the password at all")
    for unknown_identifier in ("nobody@acme", "bela@nosuchco"):
        unknown = submit_password(client, start_login(client, unknown_identifier), "not the password at all")
        assert unknown.status_code == known.status_code == 200
        assert WRONG_CREDENTIALS in text(unknown)
        assert (strip_volatile(text(unknown)).replace(unknown_identifier, "ID")
                == strip_volatile(text(known)).replace("bela@acme", "ID"))
    assert outbox() == []
    assert len(audit_events("login.failed")) == 3


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("disabled", True, id="disabled"),
    pytest.param("deleted_at", "now", id="deleted"),
])
def test_disabled_user_is_told_after_the_right_password_deleted_user_is_unknown(client, acme, field, value):
    user = make_login_user(company=acme, username="bela")
    setattr(user, field, get_services().clock.now() if value == "now" else value)
    db.session.commit()
    wrong = submit_password(client, start_login(client, "bela@acme"), "not the password at all")
    right = submit_password(client, start_login(client, "bela@acme"), PASSWORD)
    assert wrong.status_code == right.status_code == 200
    assert WRONG_CREDENTIALS in text(wrong)
    if field == "disabled":
        assert "letiltották" in text(right) and WRONG_CREDENTIALS not in text(right)
    else:
        assert WRONG_CREDENTIALS in text(right) and "letiltották" not in text(right)
    assert outbox() == []


# --- step 3: SMS code -------------------------------------------------------------------
def test_sms_step_sends_a_free_hungarian_sms_with_webotp_line_and_shows_masked_number(client, anna):
    fid = start_login(client, "anna@acme")
    response = submit_password(client, fid, PASSWORD)
    assert response.headers["Location"].endswith(f"/login/sms?flow={fid}")
    [sms] = outbox("sms")
    assert sms.to == PHONE
    code = re.search(r"#(\d+)$", sms.body).group(1)
    assert re.fullmatch(r"\d{6}", code)
    assert "díjmentes" in sms.body and "kód" in sms.body
    assert sms.body.splitlines()[-1] == f"@localhost #{code}"
    [row] = db.session.execute(sql("SELECT * FROM otp_challenges")).all()
    assert not any(code in str(value) for value in row)  # stored only as a keyed hash

    html = text(client.get(response.headers["Location"]))
    assert "+36 30 *** **67" in html and PHONE not in html and "1234567" not in html
    code_input = tag(html, "code")
    assert 'autocomplete="one-time-code"' in code_input and 'inputmode="numeric"' in code_input
    assert re.search(r'<input[^>]*type="submit"[^>]*value="Tovább"', html)
    assert re.search(r'<input[^>]*value="Nem kaptam meg az SMS-t"', html)

    response = submit_code(client, fid, code)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/done")
    assert "Bejelentkezve: anna@acme" in text(client.get("/login/done"))


def test_wrong_code_says_how_many_tries_are_left(client, anna):
    fid = start_login(client, "anna@acme")
    submit_password(client, fid, PASSWORD)
    right = last_code(PHONE)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    response = submit_code(client, fid, wrong)
    assert response.status_code == 200
    assert "Hibás kód. Még 4 próbálkozása maradt." in text(response)
    assert submit_code(client, fid, right).headers["Location"].endswith("/login/done")


def test_resend_sends_a_fresh_code_and_the_old_one_dies(client, anna, clock):
    fid = start_login(client, "anna@acme")
    submit_password(client, fid, PASSWORD)
    old = last_code(PHONE)
    clock.advance(31)
    response = resend(client, fid)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/login/sms?flow={fid}")
    assert "Új kódot küldtünk" in text(client.get(response.headers["Location"]))
    messages = outbox("sms", PHONE)
    assert len(messages) == 2
    new = last_code(PHONE)
    if new != old:  # (one chance in a million that the fresh code repeats the old one)
        response = submit_code(client, fid, old)
        assert response.status_code == 200 and "Hibás kód" in text(response)
    assert submit_code(client, fid, new).headers["Location"].endswith("/login/done")
    assert [e.details["resend"] for e in audit_events("otp.sent")] == [False, True]


def test_resend_too_soon_in_a_browser_goes_back_to_the_sms_page(client, anna, clock):
    """Like the phone login: the refusal is a 303 to the SMS page with the message,
    so a reload re-posts nothing; a program posting directly still gets 429."""
    fid = start_login(client, "anna@acme")
    submit_password(client, fid, PASSWORD)
    token = csrf_token(text(client.get(f"/login/sms?flow={fid}")))
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    response = client.post(f"/login/sms/resend?flow={fid}", data={"csrf_token": token}, headers=browser)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/login/sms?flow={fid}")
    html = text(client.get(response.headers["Location"], headers=browser))
    assert re.search(r'<div class="alert" role="alert">Új kódot 30 másodperc múlva kérhet\.</div>', html)
    assert len(outbox("sms")) == 1
    response = client.post(f"/login/sms/resend?flow={fid}", data={"csrf_token": token})
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"


# --- the SMS switch and acr_values ------------------------------------------------------------
def sms_off_user():
    company = make_company(slug="nosms", name="No SMS Kft.", sms_login_required=False)
    return make_login_user(company=company, username="anna", phone=PHONE)


def test_company_with_sms_off_logs_in_straight_after_the_password(client, app):
    sms_off_user()
    fid = start_login(client, "anna@nosms")
    response = submit_password(client, fid, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/done")
    assert outbox() == []
    assert "Bejelentkezve: anna@nosms" in text(client.get("/login/done"))


@pytest.mark.parametrize(("acr_values", "expect_sms", "acr", "amr"), [
    pytest.param(None, False, "urn:telekom:acr:1fa", ["pwd"], id="no-acr-values"),
    pytest.param("urn:telekom:acr:2fa", True, "urn:telekom:acr:2fa", ["pwd", "sms", "mfa"], id="acr-2fa"),
])
def test_sms_off_company_still_gets_the_sms_step_when_2fa_is_asked(client, app, acr_values, expect_sms, acr, amr):
    user = sms_off_user()
    rp, _ = make_client(first_party=True, public=True)
    response, verifier = authorize(client, rp, **({"acr_values": acr_values} if acr_values else {}))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?interaction=")
    response = post_form(client, response.headers["Location"], {"identifier": "anna@nosms"})
    fid = flow_id(response.headers["Location"])
    response = submit_password(client, fid, PASSWORD)
    if expect_sms:
        assert "/login/sms" in response.headers["Location"]
        assert [m.to for m in outbox("sms")] == [PHONE]
        response = submit_code(client, fid, last_code(PHONE))
    else:
        assert outbox() == []
    response = past_the_offer(client, response)
    assert "/oauth/authorize/resume/" in response.headers["Location"]
    response = client.get(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/cb?code=")
    claims = id_token_claims(client, exchange_code(client, rp, response.headers["Location"], verifier)["id_token"])
    assert claims["sub"] == user.sub
    assert claims["acr"] == acr
    assert claims["amr"] == amr


# --- temporary passwords -----------------------------------------------------------------------
def test_temporary_passwords_are_random_unique_emailed_and_stored_hashed(app):
    passwords = []
    for n in range(3):
        company, admin = create_company(f"co{n}", f"Cég {n} Kft.", f"boss{n}@example.hu", f"30123456{n}")
        passwords.append(admin.temporary_password)
        assert temporary_password(f"boss{n}@example.hu") == admin.temporary_password
    registered = create_user("anna@co0", "anna@example.hu", "301111111", ["invoices.view"])
    passwords.append(registered.temporary_password)
    assert temporary_password("anna@example.hu") == registered.temporary_password
    assert len(set(passwords)) == 4
    for password in passwords:
        assert len(password) >= 12 and set(password) <= set(TEMP_ALPHABET)
    for user in BusinessUser.query.all():
        assert user.password_temporary is True
        assert user.password_hash.startswith("$argon2id$")
        assert not any(p in user.password_hash for p in passwords)
        assert user.password_expires_at == get_services().clock.now() + timedelta(days=7)
    email = outbox("email", "anna@example.hu")[0]
    assert email.subject and "anna@co0" in email.body and "http://localhost/login" in email.body


def test_temporary_password_expires_after_its_ttl(client, app, clock):
    create_company("acme", "Acme Kft.", "boss@acme.example", "301234567")
    temporary = temporary_password("boss@acme.example")
    clock.advance(days=7, seconds=-1)
    response = submit_password(client, start_login(client, "admin@acme"), temporary)
    assert response.status_code == 302 and "/login/sms" in response.headers["Location"]
    clock.advance(2)
    response = submit_password(client, start_login(client, "admin@acme"), temporary)
    assert response.status_code == 200
    assert "Az ideiglenes jelszava lejárt" in text(response)
    assert "Nem tudom a jelszavam" in text(response)
    assert len(outbox("sms")) == 1


def test_first_login_must_set_a_new_password_before_anything_else(client, app):
    create_company("acme", "Acme Kft.", "boss@acme.example", "301234567")
    temporary = temporary_password("boss@acme.example")
    rp, _ = make_client(first_party=True, public=True)
    response, verifier = authorize(client, rp)
    interaction = interaction_from(response.headers["Location"])
    response = post_form(client, response.headers["Location"], {"identifier": "admin@acme"})
    fid = flow_id(response.headers["Location"])
    assert "/login/sms" in submit_password(client, fid, temporary).headers["Location"]
    response = submit_code(client, fid, last_code(PHONE))
    assert response.headers["Location"].endswith(f"/login/new-password?flow={fid}")

    # Nothing else is reachable before the new password is set.
    response = client.get(f"/oauth/authorize/resume/{interaction}")
    assert "code=" not in response.headers.get("Location", "")
    assert "Bejelentkezve" not in text(client.get("/login/done"))
    assert client.get(f"/login/sms?flow={fid}").headers["Location"].endswith(f"/login/new-password?flow={fid}")
    assert client.get(f"/login/password?flow={fid}").headers["Location"].endswith(
        f"/login/new-password?flow={fid}")
    html = text(client.get(f"/login/new-password?flow={fid}"))
    assert 'autocomplete="new-password"' in tag(html, "password")
    assert 'autocomplete="new-password"' in tag(html, "repeat")

    response = post_form(client, f"/login/new-password?flow={fid}", {"password": temporary, "repeat": temporary})
    assert response.status_code == 200 and "nem lehet azonos az ideiglenessel" in text(response)
    response = post_form(client, f"/login/new-password?flow={fid}",
                         {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"})
    assert response.status_code == 200 and "A két jelszó nem egyezik." in text(response)
    response = post_form(client, f"/login/new-password?flow={fid}", {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    response = past_the_offer(client, response)
    assert response.headers["Location"] == f"/oauth/authorize/resume/{interaction}"
    response = client.get(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/cb?code=")
    assert exchange_code(client, rp, response.headers["Location"], verifier)["id_token"]

    admin = BusinessUser.query.filter_by(username="admin").one()
    assert admin.password_temporary is False and admin.password_expires_at is None
    assert len(audit_events("password.changed", subject=admin.sub)) == 1
    # The temporary password never works again; the new one does.
    other = new_browser(app)
    response = submit_password(other, start_login(other, "admin@acme"), temporary)
    assert response.status_code == 200 and WRONG_CREDENTIALS in text(response)
    response = submit_password(other, start_login(other, "admin@acme"), NEW_PASSWORD)
    assert "/login/sms" in response.headers["Location"]


# --- password hashing ---------------------------------------------------------------------------
@pytest.mark.production_password_hash
def test_passwords_are_argon2id_with_owasp_parameters_by_default(client, anna):
    assert re.fullmatch(r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[^$]+\$[^$]+", anna.password_hash)
    assert PASSWORD not in anna.password_hash


def test_hash_is_upgraded_at_login_when_the_parameters_change(make_app):
    app = make_app(PASSWORD_HASH_TIME_COST=1)
    with app.app_context():
        company = make_company(slug="acme", sms_login_required=False)
        user = make_login_user(company=company, username="anna", password_hash=PasswordService().hash(PASSWORD))
        old_hash = user.password_hash
        assert ",t=2," in old_hash
        client = new_browser(app)
        wrong = submit_password(client, start_login(client, "anna@acme"), "not the password at all")
        assert wrong.status_code == 200
        db.session.expire_all()
        assert db.session.get(BusinessUser, user.id).password_hash == old_hash  # only a right password rehashes
        assert log_in(client, "anna@acme", PASSWORD).headers["Location"].endswith("/login/done")
        db.session.expire_all()
        new_hash = db.session.get(BusinessUser, user.id).password_hash
        assert new_hash != old_hash
        assert re.match(r"\$argon2id\$v=19\$m=19456,t=1,p=1\$", new_hash)
        other = new_browser(app)
        assert log_in(other, "anna@acme", PASSWORD).headers["Location"].endswith("/login/done")


# --- English ----------------------------------------------------------------------------------
def test_pages_in_english_with_accept_language(app, anna):
    client = new_browser(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    html = text(client.get("/login"))
    assert 'value="Next"' in html and "Tovább" not in html
    assert "Log in with a mobile phone number" in html
    fid = start_login(client, "anna@acme")
    html = text(client.get(f"/login/password?flow={fid}"))
    assert "I don&#39;t know my password" in html or "I don't know my password" in html
    assert "Not you?" in html and 'value="Next"' in html
    html = text(submit_password(client, fid, "not the password at all"))
    assert "Wrong identifier or password." in html and WRONG_CREDENTIALS not in html
    submit_password(client, fid, PASSWORD)
    html = text(client.get(f"/login/sms?flow={fid}"))
    assert "I didn&#39;t get the SMS" in html or "I didn't get the SMS" in html
    assert "+36 30 *** **67" in html and "free of charge" in html
    assert "Nem kaptam meg" not in html
    html = text(submit_code(client, fid, "000000" if last_code(PHONE) != "000000" else "111111"))
    assert "Wrong code. 4 attempts left." in html


# --- audit ------------------------------------------------------------------------------------
def test_login_success_failure_and_code_sent_are_audited(client, anna):
    submit_password(client, start_login(client, "anna@acme"), "not the password at all")
    log_in(client, "anna@acme", PASSWORD, PHONE)
    [failed] = audit_events("login.failed")
    # The row is for operators (never shown to whoever typed the password): it names the real user.
    assert failed.actor == failed.subject == anna.sub
    assert failed.ip == "127.0.0.1" and failed.company_id == anna.company_id
    [sent] = audit_events("otp.sent")
    assert sent.subject == anna.sub and sent.details["channel"] == "sms"
    [succeeded] = audit_events("login.succeeded")
    assert succeeded.subject == anna.sub and succeeded.details["amr"] == ["pwd", "sms", "mfa"]
    assert PASSWORD not in json.dumps([failed.details, sent.details, succeeded.details])


# --- SMTP ----------------------------------------------------------------------------------------
class CollectingHandler:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def test_temporary_password_email_is_delivered_through_a_real_smtp_server(make_app):
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
        with app.app_context():
            company, admin = create_company("acme", "Acme Kft.", "boss@acme.example", "301234567")
            assert outbox() == []
    finally:
        controller.stop()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["boss@acme.example"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    body = message.get_content()
    assert "admin@acme" in body
    assert f"Ideiglenes jelszó: {admin.temporary_password}" in body
    with app.app_context():
        user = BusinessUser.query.filter_by(username="admin").one()
        assert get_services().passwords.verify(user.password_hash, admin.temporary_password)


# --- CLI -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def install(tmp_path_factory):
    from tests.functional.test_cli import Installation

    installation = Installation(tmp_path_factory.mktemp("cli-login"))
    installation.ok("db", "upgrade")
    return installation


def test_cli_company_and_user_create_print_json_and_email_temporary_passwords(install):
    company = json.loads(install.ok("company", "create", "acme", "--name", "Acme Kft.", "--admin-email",
                                    "boss@acme.example", "--admin-phone", "30 123 4567", "--no-sms-login",
                                    "--json").stdout)
    assert company["company"]["slug"] == "acme" and company["company"]["name"] == "Acme Kft."
    assert company["company"]["sms_login_required"] is False
    assert company["admin"]["identifier"] == "admin@acme" and company["admin"]["phone"] == PHONE
    user = json.loads(install.ok("user", "create", "anna@acme", "--email", "anna@acme.example", "--phone",
                                 "+36301112222", "--permission", "usage.view", "--permission", "invoices.view",
                                 "--json").stdout)
    assert user["identifier"] == "anna@acme" and user["permissions"] == ["invoices.view", "usage.view"]
    emails = install.query("SELECT \"to\", body FROM outbox_messages WHERE channel = 'email' ORDER BY id")
    assert [to for to, _ in emails] == ["boss@acme.example", "anna@acme.example"]
    assert all("Ideiglenes jelszó: " in body for _, body in emails)
    assert install.query("SELECT sms_login_required FROM companies WHERE slug = 'acme'") == [(0,)]
    duplicate = install.run("company", "create", "acme", "--name", "X", "--admin-email", "x@example.hu",
                            "--admin-phone", "301234567")
    assert duplicate.returncode != 0 and "Traceback" not in duplicate.stderr and "acme" in duplicate.stderr


def test_cli_demo_creates_demo_company_admin_and_anna_idempotently(install):
    first = json.loads(install.ok("demo", "--json").stdout)
    install.ok("demo", "--json")
    assert first["company"] == {"slug": "demo", "name": "Demo Kft."}
    assert install.query("SELECT name FROM companies WHERE slug = 'demo'") == [("Demo Kft.",)]
    users = install.query("SELECT u.username FROM business_users u JOIN companies c ON c.id = u.company_id "
                          "WHERE c.slug = 'demo' ORDER BY u.username")
    assert users == [("admin",), ("anna",)]
    assert install.query("SELECT COUNT(*) FROM outbox_messages WHERE channel = 'email' AND \"to\" LIKE '%demo%'") \
        == [(2,)]
