"""One table of login rules, run on every channel - the login pages, the
first-party grants (DESIGN.md §4) and the authorization challenge endpoint
(draft-ietf-oauth-first-party-apps) - so a rule cannot hold on one channel and
not on another. Each channel is a small driver that speaks its own protocol
and reports what happened in the same words (an ``Outcome``)."""

import re
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import csrf_token
from tests.login_helpers import last_code
from tests.login_helpers import outbox
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
WRONG = "Rossz-jelszo-2024!"
PHONE = "+36301234567"
LINE = "+36201234567"
DONE, SMS, WRONG_PASSWORD, WRONG_CODE, DEAD, LOCKED, THROTTLED, CHANGE_PASSWORD, SENT = (
    "done", "sms", "wrong password", "wrong code", "dead", "locked", "throttled", "change password", "sent")


# --- the channels ---------------------------------------------------------------------------------
class Pages:
    """The browser's pages (``/login``, ``/login/phone``)."""

    name = "pages"

    def __init__(self, app, rp, secret):
        self.browser = app.test_client()
        self.flow = None

    def _post(self, url, data, html=True):
        page = self.browser.get(url)
        if page.status_code == 400:  # the restart page: the journey is over
            return page
        token = csrf_token(text(page))
        headers = {"Accept": "text/html" if html else "application/json"}
        return self.browser.post(url, data={"csrf_token": token, **data}, headers=headers)

    def password(self, identifier, password):
        response = self._post("/login", {"identifier": identifier})
        self.flow = re.search(r"flow=([\w-]+)", response.headers["Location"]).group(1)
        return self._after_password(self._post(f"/login/password?flow={self.flow}", {"password": password}))

    def _after_password(self, response):
        page = text(response)
        if response.status_code == 302:
            return {"/login/sms": SMS, "/login/done": DONE, "/account/offer": DONE,
                    "/login/new-password": CHANGE_PASSWORD}[urlsplit(response.headers["Location"]).path]
        if response.status_code == 429:
            return LOCKED if "zároltuk" in page else THROTTLED
        assert "Hibás azonosító vagy jelszó." in page, page
        return WRONG_PASSWORD

    def phone(self, number):
        response = self._post("/login/phone", {"number": number})
        self.flow = re.search(r"flow=([\w-]+)", response.headers["Location"]).group(1)
        response = self._post(f"/login/phone/check?flow={self.flow}", {})
        return SMS if response.status_code == 302 else THROTTLED

    def code(self, code):
        phone_flow = self._is_phone()
        url = f"/login/phone/code?flow={self.flow}" if phone_flow else f"/login/sms?flow={self.flow}"
        response = self._post(url, {"code": code})
        if response.status_code == 302:  # the login is done (perhaps with the Telekom account offer first)
            path = urlsplit(response.headers["Location"]).path
            return CHANGE_PASSWORD if path == "/login/new-password" else DONE
        if response.status_code == 400:
            return DEAD
        assert "Hibás kód" in text(response), text(response)
        return WRONG_CODE

    def resend(self):
        url = (f"/login/phone/code/resend?flow={self.flow}" if self._is_phone()
               else f"/login/sms/resend?flow={self.flow}")
        code_page = url.replace("/resend", "").replace("/code/resend", "/code")
        token = csrf_token(text(self.browser.get(code_page)))
        response = self.browser.post(url, data={"csrf_token": token}, headers={"Accept": "application/json"})
        return THROTTLED if response.status_code == 429 else SENT

    def _is_phone(self):
        from idp.models.flow import FlowState

        return db.session.get(FlowState, self.flow).kind == "phone"


class Grants:
    """The first-party grants at the token endpoint and ``/oauth/otp/resend``."""

    name = "grants"

    def __init__(self, app, rp, secret):
        self.client, self.rp, self.secret = app.test_client(), rp, secret
        self.session = None

    def _post(self, path, data):
        return self.client.post(path, data=data, auth=(self.rp.client_id, self.secret))

    def _outcome(self, response):
        body = response.get_json()
        if response.status_code == 200:
            return DONE
        if body["error"] == "sms_otp_required":
            self.session = body["auth_session"]
            return SMS
        return {"access_denied": LOCKED, "too_many_requests": THROTTLED,
                "password_change_required": CHANGE_PASSWORD}.get(body["error"]) or self._grant_error(body)

    def _grant_error(self, body):
        assert body["error"] == "invalid_grant", body
        description = body["error_description"]
        if description.startswith("Wrong code"):
            return WRONG_CODE
        if description == "Wrong username or password":
            return WRONG_PASSWORD
        return DEAD

    def password(self, identifier, password):
        return self._outcome(self._post("/oauth/token", {
            "grant_type": "urn:telekom:oauth:grant-type:business-password", "username": identifier,
            "password": password, "scope": "openid"}))

    def phone(self, number):
        return self._outcome(self._post("/oauth/token", {
            "grant_type": "urn:telekom:oauth:grant-type:phone", "phone_number": number, "scope": "openid"}))

    def code(self, code):
        return self._outcome(self._post("/oauth/token", {
            "grant_type": "urn:telekom:oauth:grant-type:sms-otp", "auth_session": self.session, "otp": code}))

    def resend(self):
        response = self._post("/oauth/otp/resend", {"auth_session": self.session})
        return THROTTLED if response.status_code == 429 else SENT


class Challenge(Grants):
    """The authorization challenge endpoint (the code then goes to the token endpoint)."""

    name = "challenge"

    def _outcome(self, response):
        body = response.get_json()
        if response.status_code == 200:
            assert body["authorization_code"]
            return DONE
        if body["error"] == "insufficient_authorization":
            self.session = body["auth_session"]
            return WRONG_CODE if body["error_description"].startswith("Wrong code") else SMS
        return {"access_denied": LOCKED, "too_many_requests": THROTTLED, "redirect_to_web": CHANGE_PASSWORD,
                "invalid_session": DEAD}.get(body["error"]) or self._grant_error(body)

    def password(self, identifier, password):
        return self._outcome(self._post("/oauth/authorize-challenge", {
            "response_type": "code", "username": identifier, "password": password, "scope": "openid"}))

    def phone(self, number):
        return self._outcome(self._post("/oauth/authorize-challenge", {
            "response_type": "code", "phone_number": number, "scope": "openid"}))

    def code(self, code):
        return self._outcome(self._post("/oauth/authorize-challenge", {"auth_session": self.session, "otp": code}))


CHANNELS = [Pages, Grants, Challenge]


@pytest.fixture(params=CHANNELS, ids=[c.name for c in CHANNELS])
def channel(request, app):
    rp, secret = make_client(first_party=True)
    return lambda: request.param(app, rp, secret)


@pytest.fixture
def acme(app):
    return make_company(slug="acme")


@pytest.fixture
def anna(acme):
    return make_login_user(company=acme, username="anna", phone=PHONE)


# --- the rules ------------------------------------------------------------------------------------
def test_a_right_password_asks_for_the_sms_and_the_code_logs_in(channel, anna):
    login = channel()
    assert login.password("anna@acme", PASSWORD) == SMS
    assert login.code(last_code(PHONE)) == DONE


def test_unknown_user_is_answered_like_a_wrong_password(channel, anna):
    assert channel().password("nobody@acme", PASSWORD) == WRONG_PASSWORD
    assert channel().password("anna@acme", WRONG) == WRONG_PASSWORD


def test_growing_delay_from_the_fifth_wrong_password(channel, anna, clock):
    for _ in range(5):
        assert channel().password("anna@acme", WRONG) == WRONG_PASSWORD
    assert channel().password("anna@acme", PASSWORD) == THROTTLED
    clock.advance(1)
    assert channel().password("anna@acme", PASSWORD) == SMS


def test_the_twentieth_wrong_password_locks_the_identifier(channel, anna, clock):
    for n in range(19):
        clock.advance(31)  # past every delay
        assert channel().password("anna@acme", WRONG) == WRONG_PASSWORD, n
    clock.advance(31)
    assert channel().password("anna@acme", WRONG) == LOCKED
    assert channel().password("anna@acme", PASSWORD) == LOCKED
    clock.advance(15 * 60)
    assert channel().password("anna@acme", PASSWORD) == SMS


def test_sms_resend_once_per_thirty_seconds(channel, anna, clock):
    login = channel()
    assert login.password("anna@acme", PASSWORD) == SMS
    assert login.resend() == THROTTLED
    clock.advance(30)
    assert login.resend() == SENT
    assert len(outbox("sms", to=PHONE)) == 2
    assert login.code(last_code(PHONE)) == DONE


def test_the_fifth_wrong_code_kills_the_login(channel, anna):
    login = channel()
    assert login.password("anna@acme", PASSWORD) == SMS
    right = last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        assert login.code(wrong) == WRONG_CODE
    assert login.code(wrong) == DEAD
    assert login.code(right) == DEAD


def test_the_company_sms_switch(channel, acme, anna):
    acme.sms_login_required = False
    db.session.commit()
    assert channel().password("anna@acme", PASSWORD) == DONE
    assert outbox("sms") == []


def test_a_temporary_password_must_be_changed_in_the_browser(channel, acme):
    make_login_user(company=acme, username="bela", phone="+36301112233", password_temporary=True)
    login = channel()
    outcome = login.password("bela@acme", PASSWORD)
    if login.name == "pages":
        # The pages take the SMS code first, then the new password (same browser).
        assert outcome == SMS
        assert outbox("sms")
    else:
        # A first-party app is told before any SMS goes out (DESIGN.md §4.5).
        assert outcome == CHANGE_PASSWORD
        assert outbox("sms") == []


def test_an_unregistered_number_walks_the_same_steps_and_gets_no_sms(channel, acme):
    make_phone_line(company=acme, number=LINE)
    assert channel().phone("301234599") == SMS
    assert outbox("sms") == []
    login = channel()
    assert login.phone(LINE) == SMS
    assert login.code(last_code(LINE)) == DONE


@pytest.mark.parametrize("channel_class", CHANNELS, ids=[c.name for c in CHANNELS])
def test_password_spraying_from_one_ip_is_throttled(make_app, channel_class):
    """Wrong passwords per client IP (100 an hour; here 3), whatever the identifier."""
    app = make_app(IP_PASSWORD_FAILURES_PER_HOUR=3)
    with app.app_context():
        make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)
        rp, secret = make_client(first_party=True)
        for n in range(3):
            assert channel_class(app, rp, secret).password(f"user{n}@acme", WRONG) == WRONG_PASSWORD
        assert channel_class(app, rp, secret).password("anna@acme", PASSWORD) == THROTTLED


# --- the try limit holds when the tries arrive at once (a real server, threads) ---------------------------
def start_over_http(name, base, rp, secret):
    """Start a business login on channel ``name``; returns ``(session, url, data of one code try)``."""
    import requests

    http = requests.Session()
    if name == "pages":
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', http.get(base + "/login").text).group(1)
        response = http.post(base + "/login", data={"csrf_token": token, "identifier": "anna@acme"},
                             allow_redirects=False)
        flow = re.search(r"flow=([\w-]+)", response.headers["Location"]).group(1)
        http.post(f"{base}/login/password?flow={flow}", data={"csrf_token": token, "password": PASSWORD},
                  allow_redirects=False)
        return http, f"{base}/login/sms?flow={flow}", {"csrf_token": token}
    http.auth = (rp.client_id, secret)
    if name == "grants":
        body = http.post(base + "/oauth/token", data={"grant_type": "urn:telekom:oauth:grant-type:business-password",
                                                      "username": "anna@acme", "password": PASSWORD}).json()
        return http, base + "/oauth/token", {"grant_type": "urn:telekom:oauth:grant-type:sms-otp",
                                             "auth_session": body["auth_session"]}
    body = http.post(base + "/oauth/authorize-challenge", data={"response_type": "code", "username": "anna@acme",
                                                                "password": PASSWORD}).json()
    return http, base + "/oauth/authorize-challenge", {"auth_session": body["auth_session"]}


@pytest.mark.parametrize("name", [c.name for c in CHANNELS])
def test_the_sixth_try_fails_even_when_all_arrive_at_once(live_server, name):
    import threading

    from idp.models.otp import OtpChallenge

    make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE)
    rp, secret = make_client(first_party=True)
    http, url, data = start_over_http(name, live_server.url, rp, secret)
    right = last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    barrier, replies = threading.Barrier(8), []

    def guess():
        barrier.wait()
        replies.append(http.post(url, data={**data, "code" if name == "pages" else "otp": wrong},
                                 allow_redirects=False, timeout=30))

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(replies) == 8 and all(r.status_code < 500 for r in replies)
    db.session.rollback()
    assert OtpChallenge.query.one().attempts == 5  # never more than five tries were counted
    final = http.post(url, data={**data, "code" if name == "pages" else "otp": right}, allow_redirects=False)
    assert final.status_code == 400, final.text  # dead: even the right code fails now
