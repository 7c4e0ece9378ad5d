"""Phone login through the real pages (MISSION.md 10-14, DESIGN.md §2-§3):
number ("Tovább") → check ("Javítom" / "Kérem az SMS-t") → code ("Belépek"),
the phone-line principal and its claims after a full authorization code flow,
login_hint routing, English pages, and registering lines (``add_phone_line``,
``idp phone add``, ``idp demo``)."""

import json
import re

import pytest

from idp.companies import RegistrationError
from idp.companies import add_phone_line
from idp.extensions import db
from idp.models.company import PhoneLine
from idp.models.flow import FlowState
from tests.conftest import interaction_from
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_phone_line
from tests.factories import make_user
from tests.login_helpers import past_the_offer
from tests.login_helpers import at_phone_code
from tests.login_helpers import audit_events
from tests.login_helpers import authorize
from tests.login_helpers import csrf_token
from tests.login_helpers import exchange_code
from tests.login_helpers import flow_id
from tests.login_helpers import id_token_claims
from tests.login_helpers import last_code
from tests.login_helpers import new_browser
from tests.login_helpers import other_code
from tests.login_helpers import outbox
from tests.login_helpers import phone_resend
from tests.login_helpers import post_form
from tests.login_helpers import request_sms
from tests.login_helpers import start_phone_login
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

NUMBER = "+36301234567"
SHOWN = "+36 30 123 4567"
FORMAT_ERROR = "Adja meg a mobilszámát körzetszámmal, 9 számjegyű formában, például 301234567"
HTML = {"Accept": "text/html"}


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def line(acme):
    return make_phone_line(company=acme, number=NUMBER, permissions=["invoices.view", "usage.view"])


def tag(html, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no input {name!r}"
    return match.group(0)


def submit_button(html, label):
    return re.search(rf'<input[^>]*type="submit"[^>]*value="{re.escape(label)}"', html)


def visible_inputs(html):
    return [m.group(1) for m in re.finditer(r'<input(?![^>]*type="(?:hidden|submit)")[^>]*name="([^"]+)"', html)]


# --- step 1: the number ------------------------------------------------------------------
def test_number_page_has_one_tel_national_field_with_the_format_hint_and_next(client):
    response = client.get("/login/phone")
    html = text(response)
    assert response.status_code == 200
    assert visible_inputs(html) == ["number"]
    number = tag(html, "number")
    assert 'autocomplete="tel-national"' in number and 'type="text"' in number
    assert submit_button(html, "Tovább")
    assert "Körzetszámmal, 9 számjegyű formában, például 301234567." in html
    assert "csak az adott számhoz tartozó funkciókat" in html  # no company-level functions
    assert 'href="/login"' in html  # back to the business login


@pytest.mark.parametrize("typed", [
    pytest.param("301234567", id="nine-digits"),
    pytest.param("30 123 4567", id="spaced"),
    pytest.param("30/123-4567", id="slash-dash"),
    pytest.param("+36301234567", id="e164"),
    pytest.param("06301234567", id="06-prefix"),
    pytest.param("+36 30 123 4567", id="international-spaced"),
    pytest.param("  301234567\t", id="surrounding-whitespace"),
])
def test_every_usual_way_of_typing_the_number_reaches_the_same_line(client, line, typed):
    fid = start_phone_login(client, typed)
    db.session.expire_all()
    assert db.session.get(FlowState, fid).identifier == NUMBER  # compared and kept as E.164
    html = text(client.get(f"/login/phone/check?flow={fid}"))
    assert f'<strong class="nowrap">{SHOWN}</strong>' in html
    assert request_sms(client, fid).status_code == 302
    assert [m.to for m in outbox("sms")] == [NUMBER]


@pytest.mark.parametrize("typed", [
    pytest.param("12345678", id="budapest-landline"),
    pytest.param("+4915112345678", id="german-mobile"),
    pytest.param("30123456", id="eight-digits"),
])
def test_a_wrong_number_gets_the_form_again_with_the_nine_digit_format(client, typed):
    page = client.get("/login/phone")
    response = client.post("/login/phone", data={"csrf_token": csrf_token(text(page)), "number": typed},
                           headers=HTML)
    html = text(response)
    assert response.status_code == 200
    assert FORMAT_ERROR in html and 'class="field-error"' in html
    assert f'value="{typed}"' in tag(html, "number")  # kept, to be corrected
    assert 'aria-invalid="true"' in tag(html, "number")
    assert FlowState.query.count() == 0


# --- step 2: checking the number -----------------------------------------------------------
def test_check_page_shows_the_number_for_reading_a_way_back_and_sends_nothing_yet(client, line):
    fid = start_phone_login(client, "301234567")
    response = client.get(f"/login/phone/check?flow={fid}")
    html = text(response)
    assert response.status_code == 200
    assert SHOWN in html
    assert '<a href="/login/phone">Javítom</a>' in html
    assert submit_button(html, "Kérem az SMS-t")
    assert visible_inputs(html) == []  # the number cannot be changed here, only by going back
    assert outbox() == []


def test_javitom_goes_back_and_a_corrected_number_is_checked_instead(client, line, acme):
    fid = start_phone_login(client, "301234576")  # digits swapped
    html = text(client.get(f"/login/phone/check?flow={fid}"))
    back = re.search(r'<a href="([^"]+)">Javítom</a>', html).group(1)
    assert client.get(back).status_code == 200
    response = post_form(client, back, {"number": "301234567"})
    corrected = flow_id(response.headers["Location"])
    assert corrected != fid
    assert SHOWN in text(client.get(f"/login/phone/check?flow={corrected}"))
    request_sms(client, corrected)
    assert [m.to for m in outbox("sms")] == [NUMBER]


def test_kerem_az_sms_t_sends_a_free_sms_with_a_webotp_line(client, line):
    fid = start_phone_login(client, "301234567")
    response = request_sms(client, fid)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/login/phone/code?flow={fid}")
    [sms] = outbox("sms")
    assert sms.to == NUMBER
    code = re.search(r"#(\d{6})$", sms.body).group(1)
    assert sms.body.splitlines()[-1] == f"@localhost #{code}"
    assert "díjmentes" in sms.body
    [sent] = audit_events("otp.sent")
    assert sent.subject == line.sub and sent.details["purpose"] == "phone_login"


# --- step 3: the code ------------------------------------------------------------------------
def test_code_page_has_a_one_time_code_field_resend_and_belepek(client, line):
    fid = at_phone_code(client, "301234567")
    response = client.get(f"/login/phone/code?flow={fid}")
    html = text(response)
    assert response.status_code == 200
    assert visible_inputs(html) == ["code"]
    code = tag(html, "code")
    assert 'autocomplete="one-time-code"' in code and 'inputmode="numeric"' in code
    assert submit_button(html, "Belépek")
    assert re.search(rf'<form method="post" action="/login/phone/code/resend\?flow={fid}"', html)
    assert re.search(r'<input[^>]*value="Nem kaptam meg az SMS-t"', html)
    assert SHOWN in html and "díjmentes" in html


def test_wrong_code_says_how_many_tries_are_left_then_the_right_one_logs_in(client, line):
    fid = at_phone_code(client, "301234567")
    code = last_code(NUMBER)
    response = submit_phone_code(client, fid, other_code(code))
    assert response.status_code == 200 and "Hibás kód. Még 4 próbálkozása maradt." in text(response)
    response = submit_phone_code(client, fid, code)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/done")
    assert f"Bejelentkezve: {NUMBER}" in text(client.get("/login/done"))
    [succeeded] = audit_events("login.succeeded")
    assert succeeded.subject == line.sub and succeeded.details["amr"] == ["sms"]


def test_nem_kaptam_meg_sends_a_fresh_code_and_only_that_one_works(client, line, clock):
    fid = at_phone_code(client, "301234567")
    old = last_code(NUMBER)
    clock.advance(30)
    response = phone_resend(client, fid)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/login/phone/code?flow={fid}")
    assert "Új kódot küldtünk. A korábbi kód már nem érvényes." in text(client.get(response.headers["Location"]))
    assert [m.to for m in outbox("sms")] == [NUMBER, NUMBER]
    new = last_code(NUMBER)
    if new != old:  # (one chance in a million that the fresh code repeats the old one)
        assert "Hibás kód" in text(submit_phone_code(client, fid, old))
    assert submit_phone_code(client, fid, new).headers["Location"].endswith("/login/done")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_resend_too_soon_in_a_browser_goes_back_to_the_code_page(client, line, clock):
    """Post/Redirect/Get: the refusal leaves the browser on the code page (GET), so
    a reload re-posts nothing. (A program posting directly still gets 429.)"""
    fid = at_phone_code(client, "301234567")
    token = csrf_token(text(client.get(f"/login/phone/code?flow={fid}")))
    response = client.post(f"/login/phone/code/resend?flow={fid}", data={"csrf_token": token},
                           headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/login/phone/code?flow={fid}")
    page = client.get(response.headers["Location"], headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200
    assert re.search(r'<div class="alert" role="alert">Új kódot 30 másodperc múlva kérhet\.</div>', text(page))
    assert 'action="/login/phone/code/resend' in text(page)  # the button is still there for later
    assert "Új kódot 30 másodperc" not in text(client.get(f"/login/phone/code?flow={fid}"))  # shown once
    assert len(outbox("sms")) == 1
    clock.advance(30)
    response = client.post(f"/login/phone/code/resend?flow={fid}", data={"csrf_token": token},
                           headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 302 and len(outbox("sms")) == 2


# --- the login result: the phone-line principal ---------------------------------------------------
SCOPE = "openid profile phone company permissions"


def phone_login_for(client, rp, **extra):
    """authorize → /login/phone?interaction=… → number → SMS → code → resume → RP callback."""
    response, verifier = authorize(client, rp, scope=SCOPE, **extra)
    assert response.status_code == 302
    interaction = interaction_from(response.headers["Location"])
    response = post_form(client, f"/login/phone?interaction={interaction}", {"number": "30 123 4567"})
    fid = flow_id(response.headers["Location"])
    assert request_sms(client, fid).status_code == 302
    response = past_the_offer(client, submit_phone_code(client, fid, last_code(NUMBER)))
    assert response.headers["Location"] == f"/oauth/authorize/resume/{interaction}"
    response = client.get(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/cb?code=")
    return exchange_code(client, rp, response.headers["Location"], verifier)


def test_phone_login_yields_the_phone_line_principal_in_id_token_userinfo_and_access_token(client, acme):
    # The main admin left these on; users.manage slipped into the row (not phone-applicable) must not leak.
    line = make_phone_line(company=acme, number=NUMBER,
                           permissions=["usage.view", "invoices.view", "users.manage"])
    admin = make_user(company=acme, username="admin", phone=NUMBER)  # a business user with the same phone
    rp, _ = make_client(first_party=True, public=True)
    tokens = phone_login_for(client, rp)
    assert set(tokens["scope"].split()) == set(SCOPE.split())

    claims = id_token_claims(client, tokens["id_token"])
    assert claims["sub"] == line.sub != admin.sub
    assert re.fullmatch(r"[A-Za-z0-9_\-]{16,}", claims["sub"])
    assert not any(part in claims["sub"] for part in ("301234567", "1234567", NUMBER))
    assert claims["amr"] == ["sms"]
    assert claims["acr"] == "urn:telekom:acr:1fa"
    assert claims["phone_number"] == NUMBER and claims["phone_number_verified"] is True
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert "company" not in claims and "company_role" not in claims

    info = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["sub"] == line.sub
    assert info["phone_number"] == NUMBER and info["phone_number_verified"] is True
    assert info["permissions"] == ["invoices.view", "usage.view"]
    assert "company" not in info and "company_role" not in info

    access = id_token_claims(client, tokens["access_token"])
    assert access["sub"] == line.sub and access["client_id"] == rp.client_id
    assert access["permissions"] == ["invoices.view", "usage.view"]
    assert "company" not in access and "company_role" not in access


def test_the_sub_is_stable_across_logins_and_follows_the_admins_current_settings(app, acme):
    line = make_phone_line(company=acme, number=NUMBER, permissions=["invoices.view", "usage.view"])
    rp, _ = make_client(first_party=True, public=True)
    first = id_token_claims(app.test_client(), phone_login_for(new_browser(app), rp)["id_token"])
    line.permissions = ["invoices.view"]  # the main admin switched usage.view off
    db.session.commit()
    second = id_token_claims(app.test_client(), phone_login_for(new_browser(app), rp)["id_token"])
    assert first["sub"] == second["sub"] == line.sub
    assert first["permissions"] == ["invoices.view", "usage.view"]
    assert second["permissions"] == ["invoices.view"]


@pytest.mark.parametrize("hint", [
    pytest.param("301234567", id="nine-digits"),
    pytest.param("+36301234567", id="e164"),
])
def test_a_phone_number_login_hint_lands_on_the_phone_page_prefilled(client, line, hint):
    rp, _ = make_client(first_party=True, public=True)
    response, verifier = authorize(client, rp, scope=SCOPE, login_hint=hint)
    location = response.headers["Location"]
    assert location.startswith("/login/phone?interaction=")
    html = text(client.get(location))
    assert f'value="{hint}"' in tag(html, "number")
    response = post_form(client, location, {"number": hint})  # just "Tovább"
    fid = flow_id(response.headers["Location"])
    assert SHOWN in text(client.get(f"/login/phone/check?flow={fid}"))
    assert '<a href="/login/phone?interaction=' in text(client.get(f"/login/phone/check?flow={fid}"))
    request_sms(client, fid)
    response = client.get(past_the_offer(client, submit_phone_code(client, fid, last_code(NUMBER))).headers["Location"])
    claims = id_token_claims(client, exchange_code(client, rp, response.headers["Location"], verifier)["id_token"])
    assert claims["sub"] == line.sub


def test_business_login_page_offers_the_phone_login_for_the_same_request(client):
    rp, _ = make_client(first_party=True, public=True)
    response, _ = authorize(client, rp)
    interaction = interaction_from(response.headers["Location"])
    assert response.headers["Location"].startswith("/login?interaction=")
    assert f'href="/login/phone?interaction={interaction}"' in text(client.get(response.headers["Location"]))


# --- English ----------------------------------------------------------------------------------
def test_phone_pages_in_english(app, line):
    client = new_browser(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    html = text(client.get("/login/phone"))
    assert "Log in with a phone number" in html and submit_button(html, "Next")
    assert "9-digit" in html and "Tovább" not in html
    response = client.post("/login/phone", data={"csrf_token": csrf_token(html), "number": "12345678"},
                           headers=HTML)
    assert "9-digit format" in text(response) and "számjegyű" not in text(response)
    fid = start_phone_login(client, "301234567")
    html = text(client.get(f"/login/phone/check?flow={fid}"))
    assert submit_button(html, "Send me the SMS") and ">Change</a>" in html and SHOWN in html
    assert "Kérem" not in html and "Javítom" not in html
    request_sms(client, fid)
    html = text(client.get(f"/login/phone/code?flow={fid}"))
    assert submit_button(html, "Log me in")
    assert "I didn&#39;t get the SMS" in html or "I didn't get the SMS" in html
    assert "Belépek" not in html and "Nem kaptam meg" not in html
    assert "Wrong code. 4 attempts left." in text(submit_phone_code(client, fid, other_code(last_code(NUMBER))))


# --- registering lines ------------------------------------------------------------------------------
@pytest.mark.parametrize(("number", "company", "permissions", "needle"), [
    pytest.param("301234567", "acme", ["users.manage"], "users.manage", id="not-phone-applicable"),
    pytest.param("301234567", "acme", ["invoices.view", "orders.create"], "orders.create", id="one-not-applicable"),
    pytest.param("301234567", "acme", ["no.such"], "no.such", id="unknown-permission"),
    pytest.param("301234567", "nosuchco", [], "nosuchco", id="unknown-company"),
    pytest.param("12345678", "acme", [], "12345678", id="landline"),
    pytest.param("+4915112345678", "acme", [], "+4915112345678", id="foreign"),
])
def test_add_phone_line_refuses_bad_registrations_and_stores_nothing(acme, number, company, permissions, needle):
    with pytest.raises(RegistrationError) as raised:
        add_phone_line(number, company, permissions)
    assert needle in raised.value.message
    assert PhoneLine.query.count() == 0 and audit_events("phone_line.added") == []


def test_add_phone_line_stores_e164_and_refuses_the_same_number_typed_differently(acme):
    line = add_phone_line("30 123 4567", "acme", ["usage.view", "invoices.view"], "Flotta 1")
    assert line.number == NUMBER and line.permission_codes == ["invoices.view", "usage.view"]
    assert line.sub and line.sub != NUMBER
    with pytest.raises(RegistrationError):
        add_phone_line("+36301234567", "acme")
    assert PhoneLine.query.count() == 1
    [added] = audit_events("phone_line.added")
    assert added.subject == line.sub and added.details["permissions"] == ["invoices.view", "usage.view"]


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    from tests.functional.test_cli import Installation

    installation = Installation(tmp_path_factory.mktemp("cli-phone"))
    installation.ok("db", "upgrade")
    return installation


def test_cli_demo_and_phone_add(install):
    from tests.functional.test_cli import one_line_error

    demo = json.loads(install.ok("demo", "--json").stdout)
    assert demo["phone_lines"] == [NUMBER]
    added = json.loads(install.ok("phone", "add", "201234567", "--company", "demo", "--permission",
                                  "usage.view", "--permission", "invoices.pay", "--json").stdout)
    assert added["number"] == "+36201234567" and added["company"] == "demo"
    assert added["permissions"] == ["invoices.pay", "usage.view"] and added["sub"] != added["number"]
    plain = json.loads(install.ok("phone", "add", "+36701234567", "--company", "demo", "--json").stdout)
    assert plain["number"] == "+36701234567" and plain["permissions"] == []

    one_line_error(install.run("phone", "add", "311234567", "--company", "demo", "--permission", "users.manage",
                               "--json"), "users.manage")
    one_line_error(install.run("phone", "add", "311234567", "--company", "nosuchco", "--json"), "nosuchco")
    rows = install.query("SELECT p.number, p.permissions, c.slug FROM phone_lines p "
                         "JOIN companies c ON c.id = p.company_id ORDER BY p.id")
    assert [(number, json.loads(perms), slug) for number, perms, slug in rows] == [
        (NUMBER, ["invoices.view", "subscriptions.view", "usage.view"], "demo"),
        ("+36201234567", ["invoices.pay", "usage.view"], "demo"),
        ("+36701234567", [], "demo"),
    ]
