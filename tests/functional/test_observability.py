"""Logs (issue 12 §5): one JSON line per request with the request id, the
client and the principal, the request id taken from and given back in
``X-Request-ID``, application lines with the same id - and no password, code,
token or secret in any line, after every journey that makes one."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import current_app

from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import authorize
from tests.login_helpers import exchange_code
from tests.login_helpers import flow_id
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import other_code
from tests.login_helpers import past_the_offer
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.oauth_helpers import introspect
from tests.oauth_helpers import post_as
from tests.oauth_helpers import refresh
from tests.oauth_helpers import token_request
from tests.observability_helpers import logs  # noqa: F401

PASSWORD = "Helyes-jelszo-2024!"
WRONG_PASSWORD = "Rossz-jelszo-2024!"
NEW_PASSWORD = "piros paprika füzér 2025"
PHONE = "+36301234567"
EMAIL = "anna@acme.example"
BUSINESS = "urn:telekom:oauth:grant-type:business-password"
SMS_OTP = "urn:telekom:oauth:grant-type:sms-otp"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def browser(app):
    return new_browser(app)


@pytest.fixture
def anna(app):
    return make_login_user(company=make_company(slug="acme"), username="anna", phone=PHONE, email=EMAIL)


# --- the request line ---------------------------------------------------------------------------
def test_one_line_per_request_with_its_fields_and_never_the_query(browser, logs):
    response = browser.get("/healthz?code=query-secret-1&state=x", headers={"X-Request-ID": "lb-7f3a"})

    assert response.headers["X-Request-ID"] == "lb-7f3a"
    [line] = logs.requests()
    assert line["level"] == "info" and line["ts"]
    assert {k: line[k] for k in ("method", "path", "status", "request_id", "ip")} == {
        "method": "GET", "path": "/healthz", "status": 200, "request_id": "lb-7f3a", "ip": "127.0.0.1"}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "client_id" not in line and "sub" not in line
    assert "query-secret-1" not in logs.everything()


def test_a_hostile_path_cannot_forge_a_line(browser, logs):
    browser.get("/x%0d%0aINFO forged%00")
    [line] = logs.requests()
    assert line["path"] == "/x\r\nINFO forged\x00"
    assert line["message"] == "GET /x\\x0d\\x0aINFO forged\\x00 400 %.1f ms" % line["duration_ms"]


def test_a_request_id_is_made_when_none_comes_and_differs_per_request(browser, logs):
    first, second = browser.get("/healthz"), browser.get("/nowhere")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(GENERATED_ID.fullmatch(i) for i in ids) and ids[0] != ids[1]
    assert [line["request_id"] for line in logs.requests()] == ids
    assert second.status_code == 404 and logs.requests("/nowhere")[0]["status"] == 404


@pytest.mark.parametrize("hostile", [
    pytest.param("abc\r\nX-Injected: 1", id="crlf"),
    pytest.param("a" * 10 * 1024, id="10kB"),
    pytest.param("k\xc3\xb3d", id="non-ascii"),  # UTF-8 bytes as WSGI hands them over (latin-1)
    pytest.param("two words", id="space"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("", id="empty"),
    pytest.param("x" * 129, id="129-characters"),
])
def test_a_hostile_request_id_is_replaced(browser, logs, hostile):
    response = browser.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": hostile})

    given = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(given)
    assert "X-Injected" not in response.headers
    assert logs.requests()[0]["request_id"] == given


def test_a_request_id_of_128_visible_characters_is_kept(browser):
    sane = "0123456789abcdef" * 7 + "~!#$%&'*+-.^_`|"
    sane = sane[:128]
    assert browser.get("/healthz", headers={"X-Request-ID": sane}).headers["X-Request-ID"] == sane


def test_application_lines_carry_the_request_id(make_app, logs):
    app = make_app()

    @app.route("/test/odd")
    def odd():
        current_app.logger.warning("something odd happened")
        return "ok"

    app.test_client().get("/test/odd", headers={"X-Request-ID": "trace-99"})

    odd_line = next(line for line in logs.lines() if line["message"] == "something odd happened")
    assert odd_line["level"] == "warning" and odd_line["logger"] == "idp" and odd_line["request_id"] == "trace-99"
    assert logs.requests("/test/odd")[0]["request_id"] == "trace-99"


# --- who the request was about ------------------------------------------------------------------
def test_the_line_names_the_client_and_the_principal_when_known(app, browser, anna, logs):
    rp, secret = make_client(first_party=True)
    service, service_secret = make_client(grant_types=["client_credentials"], redirect_uris=[])

    token_request(browser, service, service_secret, {"grant_type": "client_credentials"})
    response, verifier = authorize(browser, rp)
    callback = browser.get(log_in_through_pages(browser, response)).headers["Location"]
    tokens = exchange_code(browser, rp, callback, verifier, secret=secret)
    browser.get("/oauth/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    browser.get("/account")

    lines = logs.requests()
    client_credentials, code_exchange = [line for line in lines if line["path"] == "/oauth/token"]
    assert client_credentials["client_id"] == service.client_id and "sub" not in client_credentials
    assert code_exchange["client_id"] == rp.client_id and code_exchange["sub"] == anna.sub
    assert logs.requests("/oauth/authorize")[0]["client_id"] == rp.client_id
    assert "sub" not in logs.requests("/login/password")[0]
    sms_post = [line for line in logs.requests("/login/sms") if line["method"] == "POST"][0]
    assert sms_post["sub"] == anna.sub
    [userinfo] = logs.requests("/oauth/userinfo")
    assert (userinfo["client_id"], userinfo["sub"]) == (rp.client_id, anna.sub)
    assert logs.requests("/account")[0]["sub"] == anna.sub


def log_in_through_pages(browser, authorize_response):
    """anna's login through the pages, for the authorization request that sent the
    browser there; returns where the request resumes."""
    response = post_form(browser, authorize_response.headers["Location"], {"identifier": "anna@acme"})
    fid = flow_id(response.headers["Location"])
    submit_password(browser, fid, PASSWORD)
    return past_the_offer(browser, submit_code(browser, fid, last_code(PHONE))).headers["Location"]


# --- no secret in any line ----------------------------------------------------------------------
def test_no_password_code_token_or_secret_reaches_the_logs(app, browser, anna, logs):
    secrets = [PASSWORD, WRONG_PASSWORD, NEW_PASSWORD]
    rp, rp_secret = make_client(first_party=True)
    service, service_secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    secrets += [rp_secret, service_secret]

    # A wrong password, then the browser login of an authorization request with a wrong SMS code first.
    fid = start_login(browser, "anna@acme")
    submit_password(browser, fid, WRONG_PASSWORD)
    response, verifier = authorize(browser, rp, scope="openid profile offline_access")
    response = post_form(browser, response.headers["Location"], {"identifier": "anna@acme"})
    fid = flow_id(response.headers["Location"])
    submit_password(browser, fid, PASSWORD)
    sms_code = last_code(PHONE)
    submit_code(browser, fid, other_code(sms_code))
    response = past_the_offer(browser, submit_code(browser, fid, sms_code))
    callback = browser.get(response.headers["Location"]).headers["Location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    tokens = exchange_code(browser, rp, callback, verifier, secret=rp_secret)
    refreshed = refresh(browser, rp, rp_secret, tokens["refresh_token"]).get_json()
    browser.get("/oauth/userinfo", headers={"Authorization": "Bearer " + refreshed["access_token"]})
    introspect(browser, rp, rp_secret, refreshed["access_token"])
    secrets += [fid, sms_code, other_code(sms_code), code, verifier, *token_values(tokens), *token_values(refreshed)]

    # A client's own token; the first-party grants (auth_session, SMS code); a password reset by SMS.
    own = token_request(browser, service, service_secret, {"grant_type": "client_credentials"}).get_json()
    started = post_as(browser, "/oauth/token", rp, rp_secret, {"grant_type": BUSINESS, "username": "anna@acme",
                                                               "password": PASSWORD, "scope": "openid"}).get_json()
    otp = last_code(PHONE)
    first_party = post_as(browser, "/oauth/token", rp, rp_secret, {
        "grant_type": SMS_OTP, "auth_session": started["auth_session"], "otp": otp}).get_json()
    secrets += [own["access_token"], started["auth_session"], otp, *token_values(first_party)]
    secrets += reset_password(new_browser(app))

    assert len(logs.requests()) > 30
    leaked = [secret for secret in secrets if secret in logs.everything()]
    assert leaked == []


def token_values(response):
    return [response[key] for key in ("access_token", "refresh_token", "id_token") if key in response]


def reset_password(browser):
    """"Nem tudom a jelszavam" by SMS; returns the secrets it made (the flow id, the code)."""
    response = post_form(browser, "/login/password-reset", {"identifier": "anna@acme"})
    rid = flow_id(response.headers["Location"])
    post_form(browser, f"/login/password-reset/choose?flow={rid}", {"channel": "sms"})
    code = last_code(PHONE)
    response = post_form(browser, f"/login/password-reset/code?flow={rid}", {"code": code})
    assert response.headers["Location"].endswith(f"/login/password-reset/new?flow={rid}")
    response = post_form(browser, f"/login/password-reset/new?flow={rid}",
                         {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    log_in(new_browser(browser.application), "anna@acme", NEW_PASSWORD, PHONE)
    return [rid, code]
