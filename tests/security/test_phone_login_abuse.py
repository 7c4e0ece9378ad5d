"""Abuse of the phone login (DESIGN.md §4a): numbers nobody can enumerate,
SMS toll fraud (per number, per client IP, per day for the whole service),
the one-time code rules, flows that cannot be skipped, replayed, moved or
re-pointed at another number, CSRF on every form, and hostile input answered
with a clear, escaped page - never a 500."""

import re
from urllib.parse import urlencode

import pytest
import requests

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.flow import FlowState
from idp.models.otp import OtpChallenge
from idp.models.session import LoginSession
from idp.services import get_services
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_phone_line
from tests.login_helpers import post_at_once
from tests.login_helpers import CSRF
from tests.login_helpers import at_phone_code
from tests.login_helpers import audit_events
from tests.login_helpers import authorize
from tests.login_helpers import csrf_token
from tests.login_helpers import last_code
from tests.login_helpers import new_browser
from tests.login_helpers import other_code
from tests.login_helpers import outbox
from tests.login_helpers import phone_resend
from tests.login_helpers import post_anyway
from tests.login_helpers import post_form
from tests.login_helpers import request_sms
from tests.login_helpers import start_phone_login
from tests.login_helpers import strip_volatile
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

NUMBER, SHOWN = "+36301234567", "+36 30 123 4567"
OTHER, OTHER_SHOWN = "+36301234568", "+36 30 123 4568"
THIRD = "+36201234567"
RESTART = "Kezdje újra a belépést"
FORMAT_ERROR = "Adja meg a mobilszámát körzetszámmal, 9 számjegyű formában, például 301234567"
BUDGET_MESSAGE = "Az SMS-küldés átmenetileg nem érhető el. Kérjük, próbálja újra később."
HTML = {"Accept": "text/html"}


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def acme(app):
    return make_company(slug="acme")


@pytest.fixture
def line(acme):
    return make_phone_line(company=acme, number=NUMBER, permissions=["invoices.view"])


def in_app(make_app, **config):
    app = make_app(**config)
    context = app.app_context()
    context.push()
    return app, context


def flow_step(fid):
    db.session.expire_all()
    return db.session.get(FlowState, fid).step


def logged_in():
    db.session.expire_all()
    return LoginSession.query.count()


def same_page(a, b):
    """Equal after removing CSRF tokens, flow ids and each journey's own number."""
    def norm(response):
        body = strip_volatile(text(response)).replace(SHOWN, "NUMBER").replace(OTHER_SHOWN, "NUMBER")
        location = strip_volatile(response.headers.get("Location", ""))
        return response.status_code, location, response.headers.get("Retry-After"), body
    return norm(a) == norm(b)


def assert_phone_restart(response):
    assert response.status_code == 400 and RESTART in text(response)
    assert 'href="/login/phone' in text(response)  # "Újrakezdés" goes back to the phone login


# --- numbers that cannot log in look exactly like those that can --------------------------------
def disable(line):
    line.disabled = True
    db.session.commit()


def delete(line):
    line.deleted_at = get_services().clock.now()
    db.session.commit()


@pytest.mark.parametrize("make_other", [
    pytest.param(lambda company: None, id="unregistered"),
    pytest.param(lambda company: disable(make_phone_line(company=company, number=OTHER)), id="disabled-line"),
    pytest.param(lambda company: delete(make_phone_line(company=company, number=OTHER)), id="deleted-line"),
])
def test_a_number_that_cannot_log_in_walks_the_same_pages_but_gets_no_sms(app, line, acme, clock, make_other):
    make_other(acme)
    real, fake = new_browser(app), new_browser(app)
    pages, wrong = [], None
    for browser, typed in ((real, "301234567"), (fake, "301234568")):
        seen = []
        response = post_form(browser, "/login/phone", {"number": typed})
        seen.append(response)
        location = response.headers["Location"]
        seen.append(browser.get(location))
        fid = re.search(r"flow=([\w-]+)", location).group(1)
        seen.append(request_sms(browser, fid))
        seen.append(browser.get(f"/login/phone/code?flow={fid}"))
        wrong = wrong or other_code(last_code(NUMBER))
        seen.append(submit_phone_code(browser, fid, wrong))
        seen.append(phone_resend(browser, fid))  # within the cooldown
        pages.append((fid, seen))
    clock.advance(30)
    for (fid, seen), browser in zip(pages, (real, fake)):
        response = phone_resend(browser, fid)
        seen.extend([response, browser.get(response.headers["Location"])])
    (real_fid, real_pages), (fake_fid, fake_pages) = pages
    assert [r.status_code for r in real_pages] == [302, 200, 302, 200, 200, 429, 302, 200]
    for number, (a, b) in enumerate(zip(real_pages, fake_pages)):
        assert same_page(a, b), number
    assert "Hibás kód. Még 4 próbálkozása maradt." in text(fake_pages[4])
    assert [m.to for m in outbox()] == [NUMBER, NUMBER]  # nothing ever went to the other number
    assert [e.subject for e in audit_events("otp.sent")] == [line.sub, line.sub]


@pytest.mark.parametrize("kind", ["unregistered", "disabled-line"])
def test_even_the_right_code_of_a_number_that_cannot_log_in_never_succeeds(client, acme, kind):
    if kind == "disabled-line":
        disable(make_phone_line(company=acme, number=OTHER))
    fid = at_phone_code(client, "301234568")
    # Suppose the attacker guessed the code that was never sent: put a known one in place.
    challenge = db.session.get(OtpChallenge, db.session.get(FlowState, fid).otp_challenge_id)
    assert challenge.destination is None and challenge.subject is None
    challenge.code_hash = get_services().otp._digest(challenge.id, "123456")
    db.session.commit()
    response = submit_phone_code(client, fid, "123456")
    assert_phone_restart(response)
    assert logged_in() == 0 and audit_events("login.succeeded") == [] and outbox() == []
    assert post_anyway(client, f"/login/phone/code?flow={fid}", {"code": "123456"}).status_code == 400
    assert logged_in() == 0


def test_a_line_disabled_after_the_sms_was_sent_cannot_finish_the_login(client, line):
    fid = at_phone_code(client, "301234567")
    disable(line)
    response = submit_phone_code(client, fid, last_code(NUMBER))
    assert response.status_code == 400 and RESTART in text(response)
    assert logged_in() == 0 and audit_events("login.succeeded") == []


# --- toll fraud -------------------------------------------------------------------------------
@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_at_most_five_sms_an_hour_per_number(client, line, clock, registered):
    typed = "301234567" if registered else "301234568"
    for _ in range(5):
        at_phone_code(client, typed)
        clock.advance(1)
    fid = start_phone_login(client, typed)
    response = request_sms(client, fid)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 3500
    assert "Túl sok SMS-t kért. Próbálja újra 60 perc múlva." in text(response)
    assert flow_step(fid) == "check"
    assert len(outbox("sms", NUMBER)) == (5 if registered else 0)
    at_phone_code(client, "30 123 4569")  # another number is not affected
    clock.advance(3600)
    at_phone_code(client, typed)  # (in a new flow: the refused one expired meanwhile)
    assert len(outbox("sms", NUMBER)) == (6 if registered else 0)


def test_sms_per_client_ip_counts_every_number_and_every_resend(make_app, clock):
    app, context = in_app(make_app, SMS_PER_IP_PER_HOUR=3)
    try:
        company = make_company(slug="acme")
        for number in (NUMBER, THIRD):
            make_phone_line(company=company, number=number)
        client = new_browser(app)
        first = at_phone_code(client, "301234567")
        at_phone_code(client, "301234568")  # unregistered: counted like the others
        at_phone_code(client, "201234567")
        fid = start_phone_login(client, "301234567")
        response = request_sms(client, fid)
        assert response.status_code == 429 and 3500 <= int(response.headers["Retry-After"]) <= 3601
        clock.advance(30)
        assert phone_resend(client, first).status_code == 429
        assert [m.to for m in outbox("sms")] == [NUMBER, THIRD]
        assert flow_step(fid) == "check"

        other = new_browser(app)
        other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        at_phone_code(other, "301234567")
        assert len(outbox("sms")) == 3
    finally:
        context.pop()


def test_daily_budget_refuses_every_number_alike_audits_once_and_sends_nothing(make_app, clock):
    app, context = in_app(make_app, SMS_DAILY_BUDGET=2)
    try:
        company = make_company(slug="acme")
        for number in (NUMBER, THIRD, "+36701234567"):
            make_phone_line(company=company, number=number)
        client = new_browser(app)
        first = at_phone_code(client, "301234567")
        at_phone_code(client, "201234567")
        assert len(outbox("sms")) == 2 and audit_events("sms.budget_exhausted") == []

        # The budget is spent: an unregistered number is refused first, then a real line.
        refused = {}
        for typed in ("301234568", "701234567"):
            fid = start_phone_login(client, typed)
            response = request_sms(client, fid)
            assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
            assert BUDGET_MESSAGE in text(response)
            assert flow_step(fid) == "check"
            refused[typed] = response
        body = strip_volatile(text(refused["301234568"])).replace(OTHER_SHOWN, "N")
        assert body == strip_volatile(text(refused["701234567"])).replace("+36 70 123 4567", "N")
        clock.advance(30)
        response = phone_resend(client, first)
        assert response.status_code == 429 and BUDGET_MESSAGE in text(response)

        assert len(outbox("sms")) == 2  # the provider was never called
        [event] = audit_events("sms.budget_exhausted")
        assert event.details["budget"] == 2 and event.ip == "127.0.0.1"

        clock.advance(86400)  # a new day, a new budget
        at_phone_code(client, "701234567")
        assert len(outbox("sms")) == 3 and len(audit_events("sms.budget_exhausted")) == 1
    finally:
        context.pop()


def test_budget_spent_by_real_sms_is_audited_even_if_only_unregistered_numbers_ask(make_app):
    app, context = in_app(make_app, SMS_DAILY_BUDGET=1)
    try:
        make_phone_line(company=make_company(slug="acme"), number=NUMBER)
        client = new_browser(app)
        at_phone_code(client, "301234567")
        for _ in range(2):
            response = request_sms(client, start_phone_login(client, "301234568"))
            assert response.status_code == 429 and BUDGET_MESSAGE in text(response)
        assert len(audit_events("sms.budget_exhausted")) == 1 and len(outbox()) == 1
    finally:
        context.pop()


# --- the code rules ------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "works"), [(299, True), (301, False)], ids=["299s", "301s"])
def test_the_code_lives_three_hundred_seconds(client, line, clock, seconds, works):
    fid = at_phone_code(client, "301234567")
    clock.advance(seconds)
    response = submit_phone_code(client, fid, last_code(NUMBER))
    if works:
        assert response.status_code == 302 and response.headers["Location"].endswith("/login/done")
    else:
        assert_phone_restart(response)
        assert "A kód lejárt" in text(response)
        assert logged_in() == 0


def test_the_fifth_wrong_code_kills_it_and_then_the_right_one_fails(client, line, clock):
    fid = at_phone_code(client, "301234567")
    code = last_code(NUMBER)
    for left in (4, 3, 2, 1):
        response = submit_phone_code(client, fid, other_code(code))
        assert response.status_code == 200 and f"Még {left} próbálkozása maradt." in text(response)
    response = submit_phone_code(client, fid, other_code(code))
    assert_phone_restart(response)
    assert "túl sokszor adott meg hibás kódot" in text(response)
    clock.advance(30)
    for response in (post_anyway(client, f"/login/phone/code?flow={fid}", {"code": code}),
                     post_anyway(client, f"/login/phone/code/resend?flow={fid}", {})):
        assert response.status_code == 400 and RESTART in text(response)
    assert logged_in() == 0 and len(outbox()) == 1
    [failed] = audit_events("login.failed")
    assert failed.details["reason"] == "code_dead"


def test_resend_cooldown_then_a_fresh_code_and_the_old_one_dies(client, line, clock):
    fid = at_phone_code(client, "301234567")
    old = last_code(NUMBER)
    response = phone_resend(client, fid)
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert "Új kódot 30 másodperc múlva kérhet." in text(response)
    assert 'autocomplete="one-time-code"' in text(response)  # still the code page
    clock.advance(29)
    response = phone_resend(client, fid)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert len(outbox("sms")) == 1
    clock.advance(1)
    assert phone_resend(client, fid).status_code == 302
    assert len(outbox("sms")) == 2
    assert phone_resend(client, fid).status_code == 429  # the resend restarts the cooldown
    new = last_code(NUMBER)
    if new == old:
        pytest.skip("the fresh code repeated the old one (one chance in a million)")
    response = submit_phone_code(client, fid, old)
    assert response.status_code == 200 and "Hibás kód" in text(response)
    assert submit_phone_code(client, fid, new).headers["Location"].endswith("/login/done")


def test_two_simultaneous_right_codes_log_in_exactly_once(live_server):
    make_phone_line(company=make_company(slug="acme"), number=NUMBER)
    base = live_server.url
    browser = requests.Session()
    token = CSRF.search(browser.get(base + "/login/phone", timeout=10).text).group(1)
    response = browser.post(base + "/login/phone", data={"csrf_token": token, "number": "301234567"},
                            allow_redirects=False, timeout=10)
    check_url = base + response.headers["Location"]
    response = browser.post(check_url, data={"csrf_token": token}, allow_redirects=False, timeout=10)
    code_url = base + response.headers["Location"]
    assert "/login/phone/code?flow=" in code_url
    code = last_code(NUMBER)

    replies = post_at_once(browser, code_url, {"csrf_token": token, "code": code})
    assert len(replies) == 2
    successes = [r for r in replies if r.status_code == 302 and r.headers["Location"].endswith("/login/done")]
    failures = [r for r in replies if r.status_code == 400 and RESTART in r.text]
    assert len(successes) == 1 and len(failures) == 1, [(r.status_code, r.headers.get("Location")) for r in replies]
    assert logged_in() == 1
    assert len(audit_events("login.succeeded")) == 1


# --- flows: no skipping, no replay, no other browser, no other number ------------------------------
def test_the_code_step_cannot_be_reached_before_kerem_az_sms_t(client, line):
    fid = start_phone_login(client, "301234567")
    for response in (client.get(f"/login/phone/code?flow={fid}"),
                     post_anyway(client, f"/login/phone/code?flow={fid}", {"code": "123456"}),
                     post_anyway(client, f"/login/phone/code/resend?flow={fid}", {})):
        assert_phone_restart(response)
    assert flow_step(fid) == "check"
    assert outbox() == [] and OtpChallenge.query.count() == 0 and logged_in() == 0
    assert request_sms(client, fid).status_code == 302  # the flow itself is still fine


def test_a_finished_flow_and_its_code_cannot_be_replayed(client, line):
    fid = at_phone_code(client, "301234567")
    code = last_code(NUMBER)
    assert submit_phone_code(client, fid, code).headers["Location"].endswith("/login/done")
    for response in (client.get(f"/login/phone/check?flow={fid}"), client.get(f"/login/phone/code?flow={fid}"),
                     post_anyway(client, f"/login/phone/check?flow={fid}", {}),
                     post_anyway(client, f"/login/phone/code?flow={fid}", {"code": code}),
                     post_anyway(client, f"/login/phone/code/resend?flow={fid}", {})):
        assert_phone_restart(response)
    assert logged_in() == 1 and len(outbox()) == 1
    # Nor in a new flow of the same number: that one has its own code.
    again = at_phone_code(client, "301234567")
    if last_code(NUMBER) != code:
        assert "Hibás kód" in text(submit_phone_code(client, again, code))
    assert logged_in() == 1


def test_the_check_step_cannot_be_repeated_to_send_more_sms(client, line):
    fid = at_phone_code(client, "301234567")
    response = post_anyway(client, f"/login/phone/check?flow={fid}", {})
    assert_phone_restart(response)
    assert len(outbox()) == 1


def test_a_flow_cannot_move_to_another_browser(app, client, line):
    fid = start_phone_login(client, "301234567")
    thief = new_browser(app)
    for response in (thief.get(f"/login/phone/check?flow={fid}"),
                     post_anyway(thief, f"/login/phone/check?flow={fid}", {})):
        assert_phone_restart(response)
    assert outbox() == []
    request_sms(client, fid)
    for response in (thief.get(f"/login/phone/code?flow={fid}"),
                     post_anyway(thief, f"/login/phone/code?flow={fid}", {"code": last_code(NUMBER)}),
                     post_anyway(thief, f"/login/phone/code/resend?flow={fid}", {})):
        assert_phone_restart(response)
    assert len(outbox()) == 1 and logged_in() == 0
    assert submit_phone_code(client, fid, last_code(NUMBER)).headers["Location"].endswith("/login/done")


def test_the_number_cannot_be_swapped_between_steps(client, line, acme):
    other = make_phone_line(company=acme, number=OTHER, permissions=["usage.view"])
    fid = start_phone_login(client, "301234567")
    # A number smuggled into the later steps' posts is ignored: the flow keeps the checked one.
    response = post_form(client, f"/login/phone/check?flow={fid}", {"number": "301234568"})
    assert response.status_code == 302
    assert [m.to for m in outbox()] == [NUMBER]
    # A code sent for another number (another flow, same browser) does not open this one.
    theirs = at_phone_code(client, "301234568")
    their_code, my_code = last_code(OTHER), last_code(NUMBER)
    if their_code != my_code:
        response = submit_phone_code(client, fid, their_code)
        assert response.status_code == 200 and "Hibás kód" in text(response)
    response = post_form(client, f"/login/phone/code?flow={fid}", {"code": my_code, "number": "301234568"})
    assert response.headers["Location"].endswith("/login/done")
    assert f"Bejelentkezve: {NUMBER}" in text(client.get("/login/done"))
    [succeeded] = audit_events("login.succeeded")
    assert succeeded.subject == line.sub != other.sub
    assert flow_step(theirs) == "code"


# --- CSRF --------------------------------------------------------------------------------------
def snapshot():
    db.session.expire_all()
    return ([(f.id, f.step, f.finished_at) for f in FlowState.query.order_by(FlowState.id)],
            [(c.id, c.attempts, c.used_at, c.code_hash) for c in OtpChallenge.query.order_by(OtpChallenge.id)],
            len(outbox()), AuditEvent.query.count(), LoginSession.query.count())


CSRF_CASES = {
    "number": (lambda c: "/login/phone", {"number": "301234567"}),
    "check": (lambda c: f"/login/phone/check?flow={start_phone_login(c, '301234567')}", {}),
    "code": (lambda c: f"/login/phone/code?flow={at_phone_code(c, '301234567')}", {"code": None}),
    "resend": (lambda c: f"/login/phone/code/resend?flow={at_phone_code(c, '301234567')}", {}),
}


@pytest.mark.parametrize("case", list(CSRF_CASES))
@pytest.mark.parametrize("token", [None, "forged-token"], ids=["no-token", "forged-token"])
def test_every_phone_form_refuses_a_post_without_a_valid_csrf_token(client, line, clock, case, token):
    make_url, data = CSRF_CASES[case]
    url = make_url(client)
    clock.advance(31)  # past the resend cooldown: only CSRF can refuse the resend
    data = {k: (last_code(NUMBER) if v is None else v) for k, v in data.items()}
    if token:
        data["csrf_token"] = token
    before = snapshot()
    response = client.post(url, data=data, headers=HTML)
    assert response.status_code == 400
    assert snapshot() == before


# --- hostile and wrong input -------------------------------------------------------------------------
TOO_LONG = "A telefonszám túl hosszú."
EMPTY = "Adja meg a mobiltelefonszámát."
BAD_NUMBERS = {
    "landline-budapest": ("12345678", FORMAT_ERROR),
    "landline-06": ("0612345678", FORMAT_ERROR),
    "landline-e164": ("+3612345678", FORMAT_ERROR),
    "landline-county": ("06 22 123 456", FORMAT_ERROR),
    "german-mobile": ("+4915112345678", FORMAT_ERROR),
    "eight-digits": ("30123456", FORMAT_ERROR),
    "ten-digits": ("3012345678", FORMAT_ERROR),
    "no-such-prefix": ("801234567", FORMAT_ERROR),
    "letters": ("harminc123", FORMAT_ERROR),
    "letters-around-digits": ("abc301234567", FORMAT_ERROR),
    "vanity-letters": ("0630ABCDEFG", FORMAT_ERROR),
    "emoji": ("📱301234567", FORMAT_ERROR),
    "emoji-only": ("😀😀😀", FORMAT_ERROR),
    "nul-byte": ("301234567\x00", "Érvénytelen karaktert tartalmaz."),
    "sql": ("301234567' OR '1'='1", FORMAT_ERROR),
    "sql-drop": ("301234567; DROP TABLE phone_lines; --", FORMAT_ERROR),
    "script": ("<script>alert(1)</script>301234567", FORMAT_ERROR),
    "attribute-breakout": ('"><img src=x onerror=alert(1)>', FORMAT_ERROR),
    "double-plus": ("++36301234567", FORMAT_ERROR),
    "10kB-digits": ("3" * 10240, TOO_LONG),
    "10kB-letters": ("<b>" * 3413, TOO_LONG),
    "empty": ("", EMPTY),
    "whitespace": ("  \t ", FORMAT_ERROR),
}


@pytest.mark.parametrize("name", list(BAD_NUMBERS))
def test_a_bad_number_gets_a_clear_escaped_message_never_a_500(client, line, name):
    typed, message = BAD_NUMBERS[name]
    token = csrf_token(text(client.get("/login/phone")))
    for headers, status in ((HTML, 200), ({}, 400)):
        response = client.post("/login/phone", data={"csrf_token": token, "number": typed}, headers=headers)
        body = text(response)
        assert response.status_code == status, (headers, response.status_code)
        assert message in body and 'class="field-error"' in body
        assert "Körzetszámmal, 9 számjegyű formában, például 301234567." in body  # the format, always shown
        assert re.search(r'<input[^>]*name="number"', body)  # the form again
        assert "<script>alert(1)" not in body and "<img src=x" not in body and "<b><b>" not in body
    assert FlowState.query.count() == 0 and outbox() == []


def test_a_hostile_login_hint_is_prefilled_escaped(client):
    rp, _ = make_client(first_party=True, public=True)
    response, _ = authorize(client, rp, login_hint='"><script>alert(1)</script>301234567')
    location = response.headers["Location"]
    assert location.startswith("/login/phone?interaction=")
    body = text(client.get(location))
    assert "<script>alert(1)" not in body
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;301234567"' in body
    response = post_form(client, location, {"number": '"><script>alert(1)</script>301234567'})
    assert response.status_code == 400 and FORMAT_ERROR in text(response)


@pytest.mark.parametrize("flow", ["", "x" * 200, "nonexistent", "'\" <script>alert(1)</script>"],
                         ids=["empty", "long", "unknown", "metacharacters"])
def test_bogus_flow_ids_get_the_phone_restart_page(client, flow):
    for path in ("/login/phone/check", "/login/phone/code"):
        response = client.get(path, query_string={"flow": flow})
        assert_phone_restart(response)
        assert "<script>alert(1)" not in text(response)
    for path in ("/login/phone/check", "/login/phone/code", "/login/phone/code/resend"):
        response = post_anyway(client, f"{path}?{urlencode({'flow': flow})}", {"code": "123456"})
        assert_phone_restart(response)
    assert outbox() == []
