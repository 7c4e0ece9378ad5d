"""The throttles of DESIGN.md §4a on the business login pages: growing delays
and the lock per identifier, wrong passwords per client IP, SMS resend
cooldown, SMS per user, per IP and per day - and that counting wrong passwords
is atomic under parallel requests against a real server."""

import threading

import pytest
import requests

from idp.extensions import db
from tests.conftest import LiveServer
from tests.conftest import free_port
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import CSRF
from tests.login_helpers import audit_events
from tests.login_helpers import csrf_token
from tests.login_helpers import new_browser
from tests.login_helpers import outbox
from tests.login_helpers import post_form
from tests.login_helpers import resend
from tests.login_helpers import start_login
from tests.login_helpers import submit_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
WRONG = "not the password at all"
PHONE = "+36301234567"
#: Cheap argon2 parameters where a test only needs many password checks, not their cost.
FAST_HASH = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 1024}


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def anna(app):
    return make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)


def in_app(make_app, **config):
    """An app with ``config`` whose context stays pushed for the test."""
    app = make_app(**config)
    context = app.app_context()
    context.push()
    return app, context


# --- wrong passwords per identifier ----------------------------------------------------------
def test_growing_delay_from_the_fifth_wrong_password_and_lock_at_the_twentieth(client, anna, clock):
    fid = start_login(client, "anna@acme")
    for _ in range(4):
        response = submit_password(client, fid, WRONG)
        assert response.status_code == 200 and "Retry-After" not in response.headers
        assert "Hibás azonosító vagy jelszó." in text(response)
    assert submit_password(client, fid, WRONG).status_code == 200  # the 5th: counted, then a delay starts

    delays = []
    for attempt in range(6, 21):
        response = submit_password(client, fid, PASSWORD)  # during the delay, even the right one waits
        assert response.status_code == 429
        retry_after = int(response.headers["Retry-After"])
        assert f"Próbálja újra {retry_after} másodperc múlva" in text(response)
        delays.append(retry_after)
        clock.advance(retry_after)
        response = submit_password(client, fid, WRONG)
        if attempt < 20:
            assert response.status_code == 200, (attempt, text(response))
    # The 20th wrong password itself answers with the lock, pointing to "Nem tudom a jelszavam".
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "zároltuk" in text(response) and "Nem tudom a jelszavam" in text(response)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
    assert len(audit_events("login.failed")) == 20  # refused attempts cost no password check
    [locked] = audit_events("login.locked")
    # For operators: the locked identifier's user, from where, for how long.
    assert (locked.actor, locked.subject, locked.ip, locked.company_id) == (anna.sub, anna.sub, "127.0.0.1",
                                                                            anna.company_id)
    assert locked.details == {"minutes": 15}

    response = submit_password(client, fid, PASSWORD)
    assert response.status_code == 429
    assert 890 <= int(response.headers["Retry-After"]) <= 900
    assert "zároltuk" in text(response) and "Nem tudom a jelszavam" in text(response)
    assert "15 perc" in text(response)
    assert outbox() == []

    clock.advance(14 * 60)
    assert submit_password(client, start_login(client, "anna@acme"), PASSWORD).status_code == 429
    clock.advance(61)
    response = submit_password(client, start_login(client, "anna@acme"), PASSWORD)
    assert response.status_code == 302 and "/login/sms" in response.headers["Location"]


def test_a_right_password_before_the_fifth_resets_the_count(client, anna, clock):
    fid = start_login(client, "anna@acme")
    for _ in range(4):
        submit_password(client, fid, WRONG)
    assert submit_password(client, fid, PASSWORD).status_code == 302
    fid = start_login(client, "anna@acme")
    for _ in range(4):
        response = submit_password(client, fid, WRONG)
        assert response.status_code == 200
    assert "Retry-After" not in response.headers


def test_unknown_identifiers_are_delayed_and_locked_the_same_way(client, app):
    fid = start_login(client, "nobody@acme")
    for _ in range(5):
        assert submit_password(client, fid, WRONG).status_code == 200
    response = submit_password(client, fid, WRONG)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"


# --- wrong passwords per client IP --------------------------------------------------------------
def test_hundred_wrong_passwords_an_hour_from_one_ip_then_429(make_app):
    app, context = in_app(make_app, **FAST_HASH)
    try:
        make_login_user(company=make_company(slug="acme", sms_login_required=False), username="anna")
        client = new_browser(app)
        token = csrf_token(text(client.get("/login")))

        def attempt(identifier, password, browser=client, csrf=token):
            response = browser.post("/login", data={"csrf_token": csrf, "identifier": identifier})
            assert response.status_code == 302, text(response)
            return browser.post(response.headers["Location"], data={"csrf_token": csrf, "password": password})

        for n in range(100):  # a different identifier each time: no per-identifier delay
            response = attempt(f"user{n}@acme", WRONG)
            assert response.status_code == 200, (n, text(response))
        response = attempt("user100@acme", WRONG)
        assert response.status_code == 429 and 3500 <= int(response.headers["Retry-After"]) <= 3601
        assert len(audit_events("login.failed")) == 100
        response = attempt("anna@acme", PASSWORD)
        assert response.status_code == 429

        other = new_browser(app)
        other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        response = attempt("anna@acme", PASSWORD, browser=other, csrf=csrf_token(text(other.get("/login"))))
        assert response.status_code == 302 and response.headers["Location"].endswith("/login/done")
    finally:
        context.pop()


# --- SMS ----------------------------------------------------------------------------------------
def at_sms_step(client, identifier="anna@acme"):
    fid = start_login(client, identifier)
    response = submit_password(client, fid, PASSWORD)
    assert response.status_code == 302 and "/login/sms" in response.headers["Location"], text(response)
    return fid


def test_resend_at_most_once_per_thirty_seconds(client, anna, clock):
    fid = at_sms_step(client)
    response = resend(client, fid)
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert "Új kódot 30 másodperc múlva kérhet." in text(response)
    clock.advance(29)
    response = resend(client, fid)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert len(outbox("sms")) == 1
    clock.advance(1)
    assert resend(client, fid).status_code == 302
    assert len(outbox("sms")) == 2
    assert resend(client, fid).status_code == 429


def test_at_most_five_sms_an_hour_per_user(client, anna, clock):
    fid = at_sms_step(client)
    for _ in range(4):
        clock.advance(30)
        assert resend(client, fid).status_code == 302
    clock.advance(30)
    response = resend(client, fid)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 30
    assert "Túl sok SMS-t kért." in text(response)
    assert len(outbox("sms")) == 5
    # A new login of the same user gets no SMS either.
    response = submit_password(client, start_login(client, "anna@acme"), PASSWORD)
    assert response.status_code == 429 and "Túl sok SMS-t kért." in text(response)
    assert len(outbox("sms")) == 5
    clock.advance(3600)
    at_sms_step(client)
    assert len(outbox("sms")) == 6


def test_sms_per_client_ip(make_app):
    app, context = in_app(make_app, SMS_PER_IP_PER_HOUR=2)
    try:
        company = make_company(slug="acme")
        for n in range(3):
            make_login_user(company=company, username=f"user{n}")
        client = new_browser(app)
        at_sms_step(client, "user0@acme")
        at_sms_step(client, "user1@acme")
        response = submit_password(client, start_login(client, "user2@acme"), PASSWORD)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        assert len(outbox("sms")) == 2
    finally:
        context.pop()


def test_daily_sms_budget_stops_sending_and_is_audited_once(make_app, clock):
    app, context = in_app(make_app, SMS_DAILY_BUDGET=2)
    try:
        company = make_company(slug="acme")
        make_login_user(company=company, username="anna", phone=PHONE)
        make_login_user(company=company, username="bela", phone="+36301112233", email="bela@acme.example")
        client = new_browser(app)
        fid = at_sms_step(client)
        clock.advance(30)
        assert resend(client, fid).status_code == 302
        clock.advance(30)
        response = resend(client, fid)
        assert response.status_code == 429
        assert "Az SMS-küldés átmenetileg nem érhető el." in text(response)
        response = submit_password(client, start_login(client, "bela@acme"), PASSWORD)
        assert response.status_code == 429 and "átmenetileg nem érhető el" in text(response)
        assert [m.to for m in outbox("sms")] == [PHONE, PHONE]
        [event] = audit_events("sms.budget_exhausted")
        assert event.details["budget"] == 2
        # Password reset by SMS is refused too; by email it still works.
        response = post_form(client, "/login/password-reset", {"identifier": "bela@acme"})
        choose_url = response.headers["Location"]
        response = post_form(client, choose_url, {"channel": "sms"})
        assert response.status_code == 429 and "átmenetileg nem érhető el" in text(response)
        assert len(outbox("sms")) == 2
        response = post_form(client, choose_url, {"channel": "email"})
        assert response.status_code == 302 and [m.to for m in outbox("email")] == ["bela@acme.example"]
        # The next day there is a new budget.
        clock.advance(86400)
        at_sms_step(client, "bela@acme")
        assert len(outbox("sms")) == 3
        assert len(audit_events("sms.budget_exhausted")) == 1
    finally:
        context.pop()


# --- atomic counting under parallel requests (real server) --------------------------------------------
def test_parallel_wrong_passwords_cannot_exceed_the_lock(make_app):
    port = free_port()
    app = make_app(issuer=f"http://127.0.0.1:{port}", PASSWORD_LOCK_AFTER=5)
    server = LiveServer(app, port).start()
    try:
        with app.app_context():
            make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)
        base = server.url
        browser = requests.Session()
        token = CSRF.search(browser.get(base + "/login", timeout=10).text).group(1)
        response = browser.post(base + "/login", data={"csrf_token": token, "identifier": "anna@acme"},
                                allow_redirects=False, timeout=10)
        password_url = base + response.headers["Location"]
        token = CSRF.search(browser.get(password_url, timeout=10).text).group(1)

        barrier = threading.Barrier(20)
        statuses = []

        def guess(n):
            session = requests.Session()
            session.cookies.update(browser.cookies)
            barrier.wait()
            reply = session.post(password_url, data={"csrf_token": token, "password": f"guess number {n}"},
                                 allow_redirects=False, timeout=30)
            statuses.append(reply.status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with app.app_context():  # each argon2 verification of a wrong password is one login.failed
            assert 1 <= len(audit_events("login.failed")) <= 5
            assert len(audit_events("login.locked")) == 1
        assert len(statuses) == 20 and set(statuses) <= {200, 429}
        assert statuses.count(429) >= 15
        response = browser.post(password_url, data={"csrf_token": token, "password": PASSWORD},
                                allow_redirects=False, timeout=10)
        assert response.status_code == 429 and "zároltuk" in response.text
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
