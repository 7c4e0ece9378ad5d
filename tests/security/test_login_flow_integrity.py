"""The login journeys cannot be forged, skipped, replayed or moved: CSRF on
every form, session rotation at login, flow state bound to one browser and
one step, single-use codes under concurrent submissions, and hostile input
answered with a clear, escaped page - never a 500."""

import re

import pytest
import requests

from idp.companies import create_company
from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.company import BusinessUser
from idp.models.flow import FlowState
from idp.models.session import LoginSession
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import post_at_once
from tests.login_helpers import CSRF
from tests.login_helpers import audit_events
from tests.login_helpers import authorize
from tests.login_helpers import flow_id
from tests.login_helpers import last_code
from tests.login_helpers import new_browser
from tests.login_helpers import outbox
from tests.login_helpers import post_anyway
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import temporary_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
NEW_PASSWORD = "szilva lekvár kenyéren"
PHONE = "+36301234567"
EMAIL = "anna@acme.example"
RESTART = "Kezdje újra a belépést"


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def anna(app):
    return make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE, email=EMAIL)


def flow_step(fid):
    db.session.expire_all()
    return db.session.get(FlowState, fid).step


def at_sms(client):
    fid = start_login(client, "anna@acme")
    assert "/login/sms" in submit_password(client, fid, PASSWORD).headers["Location"]
    return fid


def start_reset(client, identifier="anna@acme"):
    return flow_id(post_form(client, "/login/password-reset", {"identifier": identifier}).headers["Location"])


def reset_at_code(client):
    rid = start_reset(client)
    post_form(client, f"/login/password-reset/choose?flow={rid}", {"channel": "email"})
    return rid


def reset_at_new(client):
    rid = reset_at_code(client)
    post_form(client, f"/login/password-reset/code?flow={rid}", {"code": last_code(EMAIL)})
    return rid


def stored_hash():
    db.session.expire_all()
    return BusinessUser.query.filter_by(username="anna").one().password_hash


def first_login_at_new_password(client):
    create_company("tmp", "Tmp Kft.", "boss@tmp.example", "301119999")
    fid = start_login(client, "admin@tmp")
    submit_password(client, fid, temporary_password("boss@tmp.example"))
    assert submit_code(client, fid, last_code("+36301119999")).headers["Location"].endswith(
        f"/login/new-password?flow={fid}")
    return fid


# --- CSRF on every form -----------------------------------------------------------------------
def snapshot():
    db.session.expire_all()
    return (FlowState.query.count(), [(f.id, f.step, f.finished_at) for f in FlowState.query.all()],
            len(outbox()), AuditEvent.query.count(), LoginSession.query.count(),
            [u.password_hash for u in BusinessUser.query.order_by(BusinessUser.id)])


CSRF_CASES = {
    "identifier": (lambda c: "/login", {"identifier": "anna@acme"}),
    "password": (lambda c: f"/login/password?flow={start_login(c, 'anna@acme')}", {"password": PASSWORD}),
    "sms-code": (lambda c: f"/login/sms?flow={at_sms(c)}", {"code": None}),
    "sms-resend": (lambda c: f"/login/sms/resend?flow={at_sms(c)}", {}),
    "new-password": (lambda c: f"/login/new-password?flow={first_login_at_new_password(c)}",
                     {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}),
    "reset-start": (lambda c: "/login/password-reset", {"identifier": "anna@acme"}),
    "reset-choose": (lambda c: f"/login/password-reset/choose?flow={start_reset(c)}", {"channel": "email"}),
    "reset-code": (lambda c: f"/login/password-reset/code?flow={reset_at_code(c)}", {"code": None}),
    "reset-new": (lambda c: f"/login/password-reset/new?flow={reset_at_new(c)}",
                  {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}),
}


@pytest.mark.parametrize("case", list(CSRF_CASES), ids=list(CSRF_CASES))
@pytest.mark.parametrize("token", [None, "forged-token"], ids=["no-token", "forged-token"])
def test_every_form_refuses_a_post_without_a_valid_csrf_token(client, anna, case, token, clock):
    make_url, data = CSRF_CASES[case]
    url = make_url(client)
    clock.advance(31)  # past the resend cooldown, so only CSRF can refuse the resend
    data = {k: (last_code() if v is None else v) for k, v in data.items()}
    if token:
        data["csrf_token"] = token
    before = snapshot()
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert snapshot() == before


# --- session rotation -----------------------------------------------------------------------------
def test_session_is_rotated_at_login_and_the_old_cookie_cannot_resume(app, client, anna):
    rp, _ = make_client(first_party=True, public=True)
    response, _ = authorize(client, rp)
    login_page = response.headers["Location"]
    interaction = re.search(r"interaction=([\w-]+)", login_page).group(1)
    fid = flow_id(post_form(client, login_page, {"identifier": "anna@acme"}).headers["Location"])
    submit_password(client, fid, PASSWORD)
    before = client.get_cookie("idp_session").value
    response = submit_code(client, fid, last_code(PHONE))
    assert response.headers["Location"] == f"/account/offer?next=/oauth/authorize/resume/{interaction}"
    after = client.get_cookie("idp_session").value
    assert after != before

    fixated = new_browser(app)
    fixated.set_cookie("idp_session", before)
    response = fixated.get(f"/oauth/authorize/resume/{interaction}")
    assert "code=" not in response.headers.get("Location", "")
    assert "Bejelentkezve" not in text(fixated.get("/login/done"))

    response = client.get(f"/oauth/authorize/resume/{interaction}")
    assert response.headers["Location"].startswith("https://rp.example/cb?code=")


# --- flow state: no skipping, no replay, no other browser ---------------------------------------------
def test_code_cannot_be_posted_before_the_password_step(client, anna):
    fid = start_login(client, "anna@acme")
    response = post_anyway(client, f"/login/sms?flow={fid}", {"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/login/password?flow={fid}")
    assert flow_step(fid) == "password"
    assert LoginSession.query.count() == 0 and outbox() == []


def test_new_password_page_before_the_sms_step_sends_back(client, app):
    create_company("tmp", "Tmp Kft.", "boss@tmp.example", "301119999")
    fid = start_login(client, "admin@tmp")
    assert client.get(f"/login/new-password?flow={fid}").headers["Location"].endswith(f"/login/password?flow={fid}")
    submit_password(client, fid, temporary_password("boss@tmp.example"))
    response = client.get(f"/login/new-password?flow={fid}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/login/sms?flow={fid}")
    response = post_anyway(client, f"/login/new-password?flow={fid}", {"password": NEW_PASSWORD,
                                                                      "repeat": NEW_PASSWORD})
    assert response.headers["Location"].endswith(f"/login/sms?flow={fid}")
    assert BusinessUser.query.filter_by(username="admin").one().password_temporary is True


def test_reset_steps_cannot_be_skipped(client, anna):
    rid = start_reset(client)
    assert client.get(f"/login/password-reset/code?flow={rid}").status_code == 400
    response = post_anyway(client, f"/login/password-reset/new?flow={rid}",
                           {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 400
    assert stored_hash() == anna.password_hash and audit_events("password.reset") == []


def test_finished_flow_cannot_be_replayed(client, anna):
    fid = at_sms(client)
    code = last_code(PHONE)
    assert submit_code(client, fid, code).headers["Location"].endswith("/login/done")
    for response in (client.get(f"/login/password?flow={fid}"), client.get(f"/login/sms?flow={fid}"),
                     post_anyway(client, f"/login/sms?flow={fid}", {"code": code}),
                     post_anyway(client, f"/login/password?flow={fid}", {"password": PASSWORD})):
        assert response.status_code == 400 and RESTART in text(response)
    assert LoginSession.query.count() == 1


def test_flow_cannot_move_to_another_browser(app, client, anna):
    fid = at_sms(client)
    thief = new_browser(app)
    for response in (thief.get(f"/login/sms?flow={fid}"), thief.get(f"/login/password?flow={fid}"),
                     post_anyway(thief, f"/login/sms?flow={fid}", {"code": last_code(PHONE)}),
                     post_anyway(thief, f"/login/sms/resend?flow={fid}", {})):
        assert response.status_code == 400 and RESTART in text(response)
    assert len(outbox("sms")) == 1 and LoginSession.query.count() == 0
    rid = start_reset(client)
    assert thief.get(f"/login/password-reset/choose?flow={rid}").status_code == 400
    # The owner can still finish.
    assert submit_code(client, fid, last_code(PHONE)).headers["Location"].endswith("/login/done")


def test_flow_expires(client, anna, clock):
    fid = start_login(client, "anna@acme")
    clock.advance(15 * 60 + 1)
    response = post_anyway(client, f"/login/password?flow={fid}", {"password": PASSWORD})
    assert response.status_code == 400 and RESTART in text(response)


@pytest.mark.parametrize("flow", ["", "x" * 200, "nonexistent", "'\" <script>alert(1)</script>"],
                         ids=["empty", "long", "unknown", "metacharacters"])
@pytest.mark.parametrize("path", ["/login/password", "/login/sms", "/login/new-password",
                                  "/login/password-reset/choose", "/login/password-reset/code",
                                  "/login/password-reset/new"])
def test_bogus_flow_ids_get_the_restart_page(client, path, flow):
    response = client.get(path, query_string={"flow": flow})
    assert response.status_code == 400 and RESTART in text(response)
    assert "<script>alert(1)" not in text(response)


def test_bogus_interaction_gets_an_error_not_a_login(client):
    response = client.get("/login?interaction=not-a-real-one")
    assert response.status_code == 400 and "<form" not in text(response)


# --- codes: states and single use --------------------------------------------------------------------
@pytest.mark.parametrize(("state", "status", "message"), [
    pytest.param("wrong", 200, "Hibás kód. Még 4 próbálkozása maradt.", id="wrong"),
    pytest.param("expired", 400, "A kód lejárt", id="expired-301s"),
    pytest.param("fifth-wrong", 400, "túl sokszor adott meg hibás kódot", id="fifth-wrong-kills"),
    pytest.param("old-after-resend", 200, "Hibás kód", id="replaced-by-resend"),
])
def test_code_states_get_a_clear_message(client, anna, clock, state, status, message):
    fid = at_sms(client)
    code = last_code(PHONE)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    if state == "expired":
        clock.advance(301)
    if state == "fifth-wrong":
        for _ in range(4):
            submit_code(client, fid, wrong)
        response = submit_code(client, fid, wrong)
        assert response.status_code == 400 and message in text(response)
        message = RESTART  # and then even the right code fails
    if state == "old-after-resend":
        clock.advance(30)
        token = CSRF.search(text(client.get(f"/login/sms?flow={fid}"))).group(1)
        client.post(f"/login/sms/resend?flow={fid}", data={"csrf_token": token})
        if last_code(PHONE) == code:
            pytest.skip("the fresh code repeated the old one (one chance in a million)")
    response = (submit_code(client, fid, wrong) if state == "wrong" else
                post_anyway(client, f"/login/sms?flow={fid}", {"code": code}))
    assert response.status_code == status
    assert message in text(response)
    assert LoginSession.query.count() == 0


def test_two_simultaneous_right_codes_log_in_exactly_once(live_server):
    make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)
    base = live_server.url
    browser = requests.Session()
    token = CSRF.search(browser.get(base + "/login", timeout=10).text).group(1)
    response = browser.post(base + "/login", data={"csrf_token": token, "identifier": "anna@acme"},
                            allow_redirects=False, timeout=10)
    password_url = base + response.headers["Location"]
    response = browser.post(password_url, data={"csrf_token": token, "password": PASSWORD},
                            allow_redirects=False, timeout=10)
    sms_url = base + response.headers["Location"]
    assert "/login/sms?flow=" in sms_url
    token = CSRF.search(browser.get(sms_url, timeout=10).text).group(1)
    code = last_code(PHONE)

    replies = post_at_once(browser, sms_url, {"csrf_token": token, "code": code})
    assert len(replies) == 2
    successes = [r for r in replies if r.status_code == 302 and r.headers["Location"].endswith("/login/done")]
    failures = [r for r in replies if r.status_code == 400 and RESTART in r.text]
    assert len(successes) == 1 and len(failures) == 1, [(r.status_code, r.headers.get("Location")) for r in replies]
    db.session.expire_all()
    assert LoginSession.query.count() == 1
    assert len(audit_events("login.succeeded")) == 1


# --- hostile input on every page ---------------------------------------------------------------------
HOSTILE = {
    "empty": "",
    "whitespace": "  \t  ",
    "10kB": "A" * 10240,
    "metacharacters": "'\" <script>alert(1)</script> --; DROP TABLE business_users",
    "sql": "anna@acme' OR '1'='1",
    "nul-byte": "anna\x00@acme",
    "fullwidth-digits": "１２３４５６",
}
PAGES = {
    "identifier": (lambda c: "/login", ["identifier"]),
    "password": (lambda c: f"/login/password?flow={start_login(c, 'anna@acme')}", ["password"]),
    "sms-code": (lambda c: f"/login/sms?flow={at_sms(c)}", ["code"]),
    "new-password": (lambda c: f"/login/new-password?flow={first_login_at_new_password(c)}", ["password", "repeat"]),
    "reset-start": (lambda c: "/login/password-reset", ["identifier"]),
    "reset-choose": (lambda c: f"/login/password-reset/choose?flow={start_reset(c)}", ["channel"]),
    "reset-code": (lambda c: f"/login/password-reset/code?flow={reset_at_code(c)}", ["code"]),
    "reset-new": (lambda c: f"/login/password-reset/new?flow={reset_at_new(c)}", ["password", "repeat"]),
}


@pytest.mark.parametrize("page", list(PAGES), ids=list(PAGES))
def test_hostile_input_gets_a_clear_escaped_answer_never_a_500(client, anna, page):
    make_url, fields = PAGES[page]
    url = make_url(client)
    before = snapshot()[5]
    for name, value in HOSTILE.items():
        # (A new password's repeat never matches: some of these are acceptable passwords.)
        response = post_form(client, url, {field: value + ("!" if field == "repeat" else "") for field in fields})
        body = text(response)
        assert response.status_code in (200, 400), (name, response.status_code)
        assert "<script>alert(1)" not in body, name
        assert 'class="field-error"' in body or RESTART in body, (name, body)
        assert "Hibakód: 500" not in body
    assert snapshot()[5] == before  # no password was changed by any of it
    assert LoginSession.query.count() == 0


@pytest.mark.parametrize("page", ["/login", "/login/password-reset"])
def test_identifier_is_echoed_html_escaped(client, page):
    response = post_form(client, page, {"identifier": HOSTILE["metacharacters"]})
    body = text(response)
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "felhasznalo@ceg" in body  # the format hint
    assert FlowState.query.count() == 0
