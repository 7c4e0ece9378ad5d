"""The first-party multi-step grants (DESIGN.md §4) through the Flask test
client: ``business-password`` and ``phone`` at the token endpoint, the
``sms_otp_required`` answer, ``sms-otp``, ``/oauth/otp/resend``, the temporary
password, the throttles of §4a as these channels answer them, no enumeration,
hostile input, scope rules and discovery. Two parallel code submissions go to a
live server."""

import base64
import json
import threading

import pytest
import requests
from flask import current_app
from werkzeug.datastructures import MultiDict

from idp.extensions import db
from idp.models.session import LoginSession
from idp.models.token import Token
from idp.services import get_services
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.factories import make_user
from tests.login_helpers import last_code
from tests.login_helpers import other_code
from tests.login_helpers import outbox
from tests.login_helpers import start_login
from tests.login_helpers import submit_password
from tests.oauth_helpers import decode
from tests.oauth_helpers import oauth_error
from tests.oauth_helpers import post_as
from tests.oauth_helpers import refresh

TOKEN_URL = "/oauth/token"
RESEND_URL = "/oauth/otp/resend"
BUSINESS = "urn:telekom:oauth:grant-type:business-password"
PHONE = "urn:telekom:oauth:grant-type:phone"
SMS_OTP = "urn:telekom:oauth:grant-type:sms-otp"
FIRST_PARTY_GRANTS = (BUSINESS, PHONE, SMS_OTP)
ACR_1FA, ACR_2FA = "urn:telekom:acr:1fa", "urn:telekom:acr:2fa"

PASSWORD = "Helyes-jelszo-2024!"
WRONG_PASSWORD = "Rossz-jelszo-2024!"
USER_PHONE, USER_HINT = "+36301234567", "+36 30 *** **67"
LINE_NUMBER, LINE_HINT = "+36201234567", "+36 20 *** **67"
FULL_SCOPE = "openid profile company permissions"
SMS_OTP_REQUIRED_KEYS = {"error", "auth_session", "expires_in", "otp_length", "phone_hint"}


# --- helpers ------------------------------------------------------------------------------------
def token(browser, rp, secret, **data):
    return post_as(browser, TOKEN_URL, rp, secret, data)


def password_grant(browser, rp, secret, username="anna@acme", password=PASSWORD, scope=FULL_SCOPE, **extra):
    return token(browser, rp, secret, grant_type=BUSINESS, username=username, password=password, scope=scope,
                 **extra)


def phone_grant(browser, rp, secret, number="201234567", scope="openid phone permissions", **extra):
    return token(browser, rp, secret, grant_type=PHONE, phone_number=number, scope=scope, **extra)


def sms_otp(browser, rp, secret, auth_session, otp, **extra):
    return token(browser, rp, secret, grant_type=SMS_OTP, auth_session=auth_session, otp=otp, **extra)


def resend(browser, rp, secret, auth_session):
    return post_as(browser, RESEND_URL, rp, secret, {"auth_session": auth_session})


def sms_required(response, hint=USER_HINT):
    """The ``sms_otp_required`` answer of DESIGN.md §4.2; returns its ``auth_session``."""
    body = oauth_error(response, "sms_otp_required")
    assert set(body) - {"error_description"} == SMS_OTP_REQUIRED_KEYS, body
    assert body["expires_in"] == 300 and body["otp_length"] == 6 and body["phone_hint"] == hint, body
    assert isinstance(body["auth_session"], str) and len(body["auth_session"]) >= 22
    return body["auth_session"]


def tokens_of(response):
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2
    return body


def business_tokens(browser, rp, secret, scope=FULL_SCOPE, phone=USER_PHONE, **extra):
    """A whole business login: password, then the SMS code."""
    auth_session = sms_required(password_grant(browser, rp, secret, scope=scope, **extra))
    return tokens_of(sms_otp(browser, rp, secret, auth_session, last_code(phone)))


def sms_count(to=None):
    return len(outbox("sms", to))


def token_rows():
    db.session.expire_all()
    return Token.query.count()


def end_login_sessions():
    for login in LoginSession.query.all():
        login.ended_at = login.created_at
    db.session.commit()


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def anna(acme):
    return make_login_user(acme, username="anna", phone=USER_PHONE, permissions=["usage.view", "invoices.view"])


@pytest.fixture
def line(acme):
    return make_phone_line(acme, number=LINE_NUMBER, permissions=["invoices.view", "users.manage"])


@pytest.fixture
def public(app):
    """A first-party native app: a public client (``token_endpoint_auth_method=none``)."""
    return make_client(first_party=True, public=True)[0], None


@pytest.fixture
def confidential(app):
    return make_client(first_party=True)


# --- who may use the grants ---------------------------------------------------------------------
def started_session(client, public):
    """An ``auth_session`` the first-party ``public`` client started for anna."""
    rp, secret = public
    return sms_required(password_grant(client, rp, secret))


@pytest.mark.parametrize("call", [
    pytest.param(lambda c, rp, s, session: password_grant(c, rp, s), id="business-password"),
    pytest.param(lambda c, rp, s, session: phone_grant(c, rp, s), id="phone"),
    pytest.param(lambda c, rp, s, session: sms_otp(c, rp, s, session, last_code(USER_PHONE)), id="sms-otp"),
    pytest.param(lambda c, rp, s, session: resend(c, rp, s, session), id="otp-resend"),
])
@pytest.mark.parametrize("public_client", [True, False], ids=["public", "confidential"])
def test_a_client_that_is_not_first_party_is_unauthorized(client, clock, anna, line, public, call,
                                                          public_client):
    auth_session = started_session(client, public)
    clock.advance(30)  # past the resend cooldown: only the client can be the reason
    third_party, secret = make_client(first_party=False, public=public_client)
    body = oauth_error(call(client, third_party, secret, auth_session), "unauthorized_client")
    assert set(body) <= {"error", "error_description"}
    assert sms_count() == 1 and token_rows() == 0
    # The first-party client's session was not touched.
    tokens_of(sms_otp(client, public[0], None, auth_session, last_code(USER_PHONE)))


@pytest.mark.parametrize("how", ["no-secret", "wrong-basic", "wrong-post", "anonymous"])
@pytest.mark.parametrize("url,data", [
    pytest.param(TOKEN_URL, {"grant_type": BUSINESS, "username": "anna@acme", "password": PASSWORD,
                             "scope": "openid"}, id="business-password"),
    pytest.param(TOKEN_URL, {"grant_type": PHONE, "phone_number": "201234567", "scope": "openid"}, id="phone"),
    pytest.param(TOKEN_URL, {"grant_type": SMS_OTP, "auth_session": "SESSION", "otp": "CODE"}, id="sms-otp"),
    pytest.param(RESEND_URL, {"auth_session": "SESSION"}, id="otp-resend"),
])
def test_a_confidential_first_party_client_must_authenticate(client, clock, anna, line, confidential, how,
                                                            url, data):
    rp, secret = confidential
    auth_session = sms_required(password_grant(client, rp, secret))
    code = last_code(USER_PHONE)
    clock.advance(30)
    data = {k: {"SESSION": auth_session, "CODE": code}.get(v, v) for k, v in data.items()}
    if how == "no-secret":
        response = client.post(url, data={**data, "client_id": rp.client_id})
    elif how == "anonymous":
        response = client.post(url, data=data)
    elif how == "wrong-basic":
        response = post_as(client, url, rp, secret + "x", data)
    else:
        response = client.post(url, data={**data, "client_id": rp.client_id, "client_secret": secret + "x"})
    oauth_error(response, "invalid_client", 401)
    assert sms_count() == 1 and token_rows() == 0
    tokens_of(sms_otp(client, rp, secret, auth_session, code))  # the session lives on


def test_a_public_first_party_client_logs_in_without_a_secret(client, anna, public):
    rp, _ = public
    body = business_tokens(client, rp, None)
    assert decode(client, body["id_token"])["aud"] == rp.client_id


def test_a_confidential_first_party_client_logs_in_with_its_secret(client, anna, confidential):
    rp, secret = confidential
    body = business_tokens(client, rp, secret)
    assert decode(client, body["access_token"])["client_id"] == rp.client_id


# --- the SMS step -------------------------------------------------------------------------------
def test_sms_otp_required_is_exactly_what_design_says(client, anna, public):
    rp, _ = public
    response = password_grant(client, rp, None)
    auth_session = sms_required(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    [sms] = outbox("sms")
    assert sms.to == USER_PHONE
    assert auth_session not in sms.body
    assert token_rows() == 0


def test_the_sms_code_gives_two_factor_tokens(client, clock, acme, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None, scope=FULL_SCOPE))
    clock.advance(7)
    response = sms_otp(client, rp, None, auth_session, last_code(USER_PHONE))
    body = tokens_of(response)
    assert body["scope"] == FULL_SCOPE
    claims = decode(client, body["id_token"])
    assert claims["sub"] == anna.sub and claims["aud"] == rp.client_id
    assert claims["iss"] == current_app.config["ISSUER"]
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert claims["acr"] == ACR_2FA
    assert claims["auth_time"] == clock.timestamp()
    login = db.session.get(LoginSession, claims["sid"])
    assert login is not None and login.subject == anna.sub and login.binding == f"client:{rp.client_id}"
    assert claims["company"] == {"id": acme.public_id, "slug": "acme", "name": "Acme Kft."}
    assert claims["company_role"] == "user"
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert claims["preferred_username"] == "anna@acme"


@pytest.mark.parametrize("scope,expected", [
    ("openid", set()),
    ("openid company", {"company"}),
    ("openid permissions", {"permissions"}),
    ("openid company permissions", {"company", "permissions"}),
], ids=["openid", "company", "permissions", "both"])
def test_the_access_token_is_an_rfc9068_jwt_with_company_and_permissions(client, clock, acme, anna, public,
                                                                         scope, expected):
    rp, _ = public
    access_token = business_tokens(client, rp, None, scope=scope)["access_token"]
    header = json.loads(base64.urlsafe_b64decode(access_token.split(".")[0] + "=="))
    assert header["typ"] == "at+jwt"
    claims = decode(client, access_token)
    assert claims["sub"] == anna.sub and claims["client_id"] == rp.client_id and claims["aud"] == rp.client_id
    assert claims["scope"] == scope and claims["exp"] == clock.timestamp() + 600 and claims["jti"]
    assert {"company", "permissions"} & set(claims) == expected
    if "company" in expected:
        assert claims["company"] == {"id": acme.public_id, "slug": "acme", "name": "Acme Kft."}
    if "permissions" in expected:
        assert claims["permissions"] == ["invoices.view", "usage.view"]


@pytest.mark.parametrize("grant_types,has_refresh", [
    (["authorization_code", "refresh_token"], True),
    (["authorization_code"], False),
], ids=["refresh-grant", "no-refresh-grant"])
def test_a_refresh_token_only_for_a_client_with_the_refresh_grant(client, anna, grant_types, has_refresh):
    rp, secret = make_client(first_party=True, grant_types=grant_types)
    body = business_tokens(client, rp, secret, scope="openid")
    assert ("refresh_token" in body) == has_refresh
    if has_refresh:
        first = decode(client, body["id_token"])
        again = decode(client, tokens_of(refresh(client, rp, secret, body["refresh_token"]))["id_token"])
        assert again["sub"] == anna.sub
        # The refreshed ID token tells of the same login.
        assert {k: again[k] for k in ("amr", "acr", "sid", "auth_time")} == {
            k: first[k] for k in ("amr", "acr", "sid", "auth_time")}
        assert again["amr"] == ["pwd", "sms", "mfa"]


@pytest.mark.parametrize("scope,outlives", [
    ("openid offline_access", True),
    ("openid", False),
], ids=["offline_access", "online"])
def test_only_an_offline_refresh_token_outlives_the_login_session(client, clock, anna, confidential, scope,
                                                                  outlives):
    rp, secret = confidential
    issued = business_tokens(client, rp, secret, scope=scope)
    assert issued["scope"] == scope
    end_login_sessions()
    clock.advance(int(current_app.config["LOGIN_SESSION_TTL"]) + 1)
    again = refresh(client, rp, secret, issued["refresh_token"])
    if outlives:
        assert tokens_of(again)["scope"] == scope
    else:
        oauth_error(again, "invalid_grant")


def test_without_openid_there_is_no_id_token(client, anna, public):
    rp, _ = public
    body = business_tokens(client, rp, None, scope="company permissions")
    assert "id_token" not in body and body["scope"] == "company permissions"
    assert decode(client, body["access_token"])["company"]["slug"] == "acme"


@pytest.mark.parametrize("typed", ["anna@acme", "Anna@ACME", "  anna@acme  ", "ＡＮＮＡ@ａｃｍｅ"],
                         ids=["plain", "upper-case", "spaces", "full-width"])
def test_the_username_is_read_as_the_login_page_reads_it(client, anna, public, typed):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None, username=typed))
    body = tokens_of(sms_otp(client, rp, None, auth_session, last_code(USER_PHONE)))
    assert decode(client, body["id_token"])["sub"] == anna.sub


def test_a_company_without_sms_gets_tokens_from_the_password(client, app):
    company = make_company(slug="nosms", sms_login_required=False)
    user = make_login_user(company, username="bob", phone=USER_PHONE)
    rp, secret = make_client(first_party=True)
    body = tokens_of(password_grant(client, rp, secret, username="bob@nosms", scope="openid company"))
    claims = decode(client, body["id_token"])
    assert claims["sub"] == user.sub
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_1FA
    assert claims["company"]["slug"] == "nosms" and claims["sid"]
    assert sms_count() == 0


def test_acr_values_2fa_forces_the_sms_step_where_the_company_switched_it_off(client, app):
    company = make_company(slug="nosms", sms_login_required=False)
    make_login_user(company, username="bob", phone=USER_PHONE)
    rp, secret = make_client(first_party=True)
    response = password_grant(client, rp, secret, username="bob@nosms", scope="openid", acr_values=ACR_2FA)
    auth_session = sms_required(response)
    assert sms_count(USER_PHONE) == 1
    claims = decode(client, tokens_of(sms_otp(client, rp, secret, auth_session, last_code(USER_PHONE)))["id_token"])
    assert claims["amr"] == ["pwd", "sms", "mfa"] and claims["acr"] == ACR_2FA


def test_acr_values_1fa_does_not_skip_the_sms_the_company_asks_for(client, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None, scope="openid", acr_values=ACR_1FA))
    claims = decode(client, tokens_of(sms_otp(client, rp, None, auth_session, last_code(USER_PHONE)))["id_token"])
    assert claims["amr"] == ["pwd", "sms", "mfa"] and claims["acr"] == ACR_2FA


def test_the_access_token_opens_userinfo_with_the_same_claims(client, anna, public):
    rp, _ = public
    body = business_tokens(client, rp, None, scope=FULL_SCOPE)
    response = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert response.status_code == 200
    id_token = decode(client, body["id_token"])
    info = response.get_json()
    assert info["sub"] == anna.sub
    assert {k: info[k] for k in ("company", "company_role", "permissions", "preferred_username")} == {
        k: id_token[k] for k in ("company", "company_role", "permissions", "preferred_username")}


def test_the_phone_grant_logs_the_phone_line_in(client, clock, line, public):
    rp, _ = public
    scope = "openid profile phone company permissions"
    auth_session = sms_required(phone_grant(client, rp, None, scope=scope), LINE_HINT)
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]
    body = tokens_of(sms_otp(client, rp, None, auth_session, last_code(LINE_NUMBER)))
    claims = decode(client, body["id_token"])
    assert claims["sub"] == line.sub and claims["sub"] not in (LINE_NUMBER, "201234567")
    assert claims["amr"] == ["sms"] and claims["acr"] == ACR_1FA
    assert claims["auth_time"] == clock.timestamp() and claims["sid"]
    assert claims["phone_number"] == LINE_NUMBER and claims["phone_number_verified"] is True
    assert claims["permissions"] == ["invoices.view"]  # users.manage is not a phone function
    assert not {"company", "company_role"} & set(claims)
    access = decode(client, body["access_token"])
    assert access["sub"] == line.sub and "company" not in access and access["permissions"] == ["invoices.view"]


# --- wrong, expired, foreign and used codes --------------------------------------------------------
def test_a_wrong_code_is_invalid_grant_with_the_tries_left(client, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    for left in (4, 3, 2, 1):
        body = oauth_error(sms_otp(client, rp, None, auth_session, other_code(code)), "invalid_grant")
        assert body["error_description"] == f"Wrong code; {left} more tries"
    tokens_of(sms_otp(client, rp, None, auth_session, code))  # the 5th try is the right code


def test_the_fifth_wrong_code_kills_the_auth_session(client, clock, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    for _ in range(4):
        oauth_error(sms_otp(client, rp, None, auth_session, other_code(code)), "invalid_grant")
    body = oauth_error(sms_otp(client, rp, None, auth_session, other_code(code)), "invalid_grant")
    assert "more tries" not in body["error_description"]
    oauth_error(sms_otp(client, rp, None, auth_session, code), "invalid_grant")
    clock.advance(30)
    oauth_error(resend(client, rp, None, auth_session), "invalid_grant")  # no new code for a dead session
    assert sms_count() == 1 and token_rows() == 0


def test_an_expired_code_is_invalid_grant_and_the_session_dies(client, clock, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    clock.advance(301)
    oauth_error(sms_otp(client, rp, None, auth_session, code), "invalid_grant")
    oauth_error(resend(client, rp, None, auth_session), "invalid_grant")
    oauth_error(sms_otp(client, rp, None, auth_session, last_code(USER_PHONE)), "invalid_grant")
    assert sms_count() == 1 and token_rows() == 0


def test_an_auth_session_of_another_first_party_client_is_invalid_grant(client, clock, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    other, other_secret = make_client(first_party=True)
    clock.advance(30)
    oauth_error(sms_otp(client, other, other_secret, auth_session, code), "invalid_grant")
    oauth_error(resend(client, other, other_secret, auth_session), "invalid_grant")
    assert sms_count() == 1 and token_rows() == 0
    body = tokens_of(sms_otp(client, rp, None, auth_session, code))
    assert decode(client, body["id_token"])["aud"] == rp.client_id


def test_a_login_page_flow_is_not_an_auth_session(client, clock, anna, public):
    rp, _ = public
    fid = start_login(client, "anna@acme")
    assert "/login/sms" in submit_password(client, fid, PASSWORD).headers["Location"]
    code = last_code(USER_PHONE)
    oauth_error(sms_otp(client, rp, None, fid, code), "invalid_grant")
    clock.advance(30)
    oauth_error(resend(client, rp, None, fid), "invalid_grant")
    assert sms_count() == 1 and token_rows() == 0


def disable(principal):
    principal.disabled = True
    db.session.commit()


def test_a_user_disabled_after_the_sms_gets_no_tokens(client, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    disable(anna)
    oauth_error(sms_otp(client, rp, None, auth_session, last_code(USER_PHONE)), "invalid_grant")
    assert token_rows() == 0 and LoginSession.query.count() == 0


def test_a_phone_line_disabled_after_the_sms_gets_no_tokens(client, line, public):
    rp, _ = public
    auth_session = sms_required(phone_grant(client, rp, None), LINE_HINT)
    disable(line)
    oauth_error(sms_otp(client, rp, None, auth_session, last_code(LINE_NUMBER)), "invalid_grant")
    assert token_rows() == 0 and LoginSession.query.count() == 0


def test_an_auth_session_is_single_use(client, clock, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    tokens_of(sms_otp(client, rp, None, auth_session, code))
    oauth_error(sms_otp(client, rp, None, auth_session, code), "invalid_grant")
    clock.advance(30)
    oauth_error(resend(client, rp, None, auth_session), "invalid_grant")
    assert token_rows() == 1


def test_of_two_parallel_right_codes_exactly_one_gets_tokens(live_server):
    make_login_user(make_company(slug="acme"), username="anna", phone=USER_PHONE)
    rp, _ = make_client(first_party=True, public=True)
    url = live_server.url + TOKEN_URL
    first = requests.post(url, data={"grant_type": BUSINESS, "username": "anna@acme", "password": PASSWORD,
                                     "scope": "openid", "client_id": rp.client_id}, timeout=30)
    assert first.status_code == 400 and first.json()["error"] == "sms_otp_required", first.text
    data = {"grant_type": SMS_OTP, "auth_session": first.json()["auth_session"], "otp": last_code(USER_PHONE),
            "client_id": rp.client_id}
    barrier, replies = threading.Barrier(4), []

    def submit():
        barrier.wait()
        replies.append(requests.post(url, data=data, timeout=30))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status_code for r in replies) == [200, 400, 400, 400], [r.text for r in replies]
    assert sorted(r.json().get("error", "") for r in replies) == ["", "invalid_grant", "invalid_grant",
                                                                   "invalid_grant"]
    db.session.expire_all()
    assert Token.query.count() == 1 and LoginSession.query.count() == 1


# --- resend ---------------------------------------------------------------------------------------
def test_resend_waits_for_the_cooldown_then_sends_a_fresh_code(client, clock, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    old = last_code(USER_PHONE)
    clock.advance(10)
    response = resend(client, rp, None, auth_session)
    oauth_error(response, "too_many_requests", 429)
    assert response.headers["Retry-After"] == "20"
    assert sms_count() == 1
    clock.advance(20)
    response = resend(client, rp, None, auth_session)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"expires_in": 300, "otp_length": 6, "phone_hint": USER_HINT}
    assert sms_count(USER_PHONE) == 2
    new = last_code(USER_PHONE)
    # The new SMS starts the cooldown again.
    oauth_error(resend(client, rp, None, auth_session), "too_many_requests", 429)
    if new != old:
        body = oauth_error(sms_otp(client, rp, None, auth_session, old), "invalid_grant")
        assert body["error_description"] == "Wrong code; 4 more tries"
    tokens_of(sms_otp(client, rp, None, auth_session, new))


def test_resend_of_a_phone_login(client, clock, line, public):
    rp, _ = public
    auth_session = sms_required(phone_grant(client, rp, None), LINE_HINT)
    clock.advance(30)
    response = resend(client, rp, None, auth_session)
    assert response.status_code == 200
    assert response.get_json() == {"expires_in": 300, "otp_length": 6, "phone_hint": LINE_HINT}
    assert sms_count(LINE_NUMBER) == 2
    tokens_of(sms_otp(client, rp, None, auth_session, last_code(LINE_NUMBER)))


def test_the_sixth_sms_an_hour_for_one_user_is_429_with_retry_after(client, clock, anna, public):
    rp, _ = public
    for _ in range(5):
        sms_required(password_grant(client, rp, None))
        clock.advance(60)
    response = password_grant(client, rp, None)
    body = oauth_error(response, "too_many_requests", 429)
    assert "auth_session" not in body
    assert 3000 < int(response.headers["Retry-After"]) <= 3600
    assert sms_count(USER_PHONE) == 5
    clock.advance(3600)
    sms_required(password_grant(client, rp, None))


def in_app(make_app, **config):
    app = make_app(**config)
    context = app.app_context()
    context.push()
    return app, context


def wrong_passwords_from_one_ip(browser, rp):
    """Wrong passwords for ever new usernames (no username reaches its own delay)."""
    for n in range(2):
        oauth_error(password_grant(browser, rp, None, username=f"user{n}@acme", password=WRONG_PASSWORD),
                    "invalid_grant")
    return password_grant(browser, rp, None, username="anna@acme")


def logins_from_one_ip(browser, rp):
    for _ in range(2):
        sms_required(password_grant(browser, rp, None))
    return password_grant(browser, rp, None)


THROTTLES = [
    ("wrong-passwords-per-ip", {"IP_PASSWORD_FAILURES_PER_HOUR": 2}, wrong_passwords_from_one_ip, 0),
    ("sms-per-ip", {"SMS_PER_IP_PER_HOUR": 2}, logins_from_one_ip, 2),
    ("sms-daily-budget", {"SMS_DAILY_BUDGET": 2}, logins_from_one_ip, 2),
]


@pytest.mark.parametrize("config,run,sent", [c[1:] for c in THROTTLES], ids=[c[0] for c in THROTTLES])
def test_the_other_throttles_answer_429_with_retry_after(make_app, clock, config, run, sent):
    app, context = in_app(make_app, **config)
    try:
        make_login_user(make_company(slug="acme"), username="anna", phone=USER_PHONE)
        rp, _ = make_client(first_party=True, public=True)
        browser = app.test_client()
        response = run(browser, rp)
        body = oauth_error(response, "too_many_requests", 429)
        assert "auth_session" not in body
        assert int(response.headers["Retry-After"]) > 0
        assert sms_count() == sent and token_rows() == 0
    finally:
        context.pop()


# --- temporary passwords and locked identifiers --------------------------------------------------
@pytest.mark.parametrize("sms_login_required", [True, False], ids=["sms-on", "sms-off"])
def test_a_temporary_password_must_be_changed_before_any_sms(client, public, sms_login_required):
    company = make_company(slug="acme", sms_login_required=sms_login_required)
    make_user(company, username="new", phone=USER_PHONE, password_temporary=True,
              password_hash=get_services().passwords.hash(PASSWORD))
    rp, _ = public
    response = password_grant(client, rp, None, username="new@acme")
    body = oauth_error(response, "password_change_required")
    assert set(body) <= {"error", "error_description"}
    assert sms_count() == 0 and token_rows() == 0
    # Only the right password tells: a wrong one answers as for anybody else.
    wrong = password_grant(client, rp, None, username="new@acme", password=WRONG_PASSWORD)
    unknown = password_grant(client, rp, None, username="nobody@acme", password=WRONG_PASSWORD)
    assert oauth_error(wrong, "invalid_grant") == oauth_error(unknown, "invalid_grant")


def test_the_twentieth_wrong_password_locks_the_username(client, clock, anna, public):
    rp, _ = public
    for attempt in range(1, 20):
        body = oauth_error(password_grant(client, rp, None, password=WRONG_PASSWORD), "invalid_grant")
        assert body["error_description"] == "Wrong username or password", attempt
        clock.advance(31)  # past the growing delay
    response = password_grant(client, rp, None, password=WRONG_PASSWORD)
    body = oauth_error(response, "access_denied")
    assert "locked" in body["error_description"] and "Nem tudom a jelszavam" in body["error_description"]
    clock.advance(31)
    body = oauth_error(password_grant(client, rp, None), "access_denied")
    assert "locked" in body["error_description"]
    assert sms_count() == 0
    clock.advance(15 * 60)
    sms_required(password_grant(client, rp, None))


def test_the_growing_delay_after_five_wrong_passwords_is_429_with_retry_after(client, clock, anna, public):
    rp, _ = public
    for _ in range(5):
        oauth_error(password_grant(client, rp, None, password=WRONG_PASSWORD), "invalid_grant")
    response = password_grant(client, rp, None)  # even the right password waits
    oauth_error(response, "too_many_requests", 429)
    assert response.headers["Retry-After"] == "1"
    assert sms_count() == 0
    clock.advance(1)
    sms_required(password_grant(client, rp, None))


# --- no enumeration --------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["nobody@acme", "anna@nosuchcompany"], ids=["unknown-user", "unknown-company"])
def test_an_unknown_username_answers_exactly_like_a_wrong_password(client, anna, public, username):
    rp, _ = public
    wrong = password_grant(client, rp, None, password=WRONG_PASSWORD)
    unknown = password_grant(client, rp, None, username=username, password=WRONG_PASSWORD)
    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())
    assert unknown.headers.get("Retry-After") == wrong.headers.get("Retry-After")
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    # Even with the password of an existing user.
    right = password_grant(client, rp, None, username=username)
    assert (right.status_code, right.get_json()) == (wrong.status_code, wrong.get_json())


@pytest.mark.parametrize("kind", ["unregistered", "disabled-line"])
def test_an_unregistered_number_answers_like_a_registered_one_but_gets_no_sms(client, clock, acme, line, public,
                                                                             kind):
    if kind == "disabled-line":
        make_phone_line(acme, number="+36301112233").disabled = True
        db.session.commit()
    rp, _ = public
    registered = phone_grant(client, rp, None, number="201234567")
    unregistered = phone_grant(client, rp, None, number="301112233")
    sms_required(registered, LINE_HINT)
    sms_required(unregistered, "+36 30 *** **33")
    assert registered.status_code == unregistered.status_code
    assert set(registered.get_json()) == set(unregistered.get_json())
    assert registered.get_json()["error_description"] == unregistered.get_json()["error_description"]
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]
    # Its auth_session takes codes, and answers wrong ones, like any other.
    code = last_code(LINE_NUMBER)
    for response in (sms_otp(client, rp, None, registered.get_json()["auth_session"], other_code(code)),
                     sms_otp(client, rp, None, unregistered.get_json()["auth_session"], other_code(code))):
        assert oauth_error(response, "invalid_grant")["error_description"] == "Wrong code; 4 more tries"
    # The resend cooldown holds for both alike.
    early = [resend(client, rp, None, r.get_json()["auth_session"]) for r in (registered, unregistered)]
    assert [(r.status_code, r.headers.get("Retry-After"), r.get_json()) for r in early] == [
        (429, "30", early[0].get_json())] * 2
    clock.advance(30)
    again = resend(client, rp, None, unregistered.get_json()["auth_session"])
    assert again.status_code == 200 and again.get_json()["phone_hint"] == "+36 30 *** **33"
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]
    assert token_rows() == 0


# --- phone numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["201234567", "20 123 4567", "+36201234567", "06201234567", "20/123-4567"])
def test_every_accepted_form_of_the_number_reaches_the_line(client, line, public, typed):
    rp, _ = public
    auth_session = sms_required(phone_grant(client, rp, None, number=typed), LINE_HINT)
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]
    body = tokens_of(sms_otp(client, rp, None, auth_session, last_code(LINE_NUMBER)))
    assert decode(client, body["id_token"])["sub"] == line.sub


@pytest.mark.parametrize("typed", [
    pytest.param("12345678", id="budapest-landline"),
    pytest.param("221234567", id="nine-digit-landline"),
    pytest.param("+3612345678", id="e164-landline"),
    pytest.param("20123456", id="too-short"),
    pytest.param("2012345678", id="too-long"),
    pytest.param("20123456a", id="letter"),
    pytest.param("twenty", id="letters"),
    pytest.param("+44 7700 900123", id="foreign-mobile"),
    pytest.param("   ", id="blank"),
])
def test_a_number_that_is_not_a_hungarian_mobile_is_invalid_request(client, line, public, typed):
    rp, _ = public
    body = oauth_error(phone_grant(client, rp, None, number=typed), "invalid_request")
    assert "auth_session" not in body
    assert sms_count() == 0


# --- malformed requests: the RFC's error codes, never a 500 ----------------------------------------
MALFORMED = [
    ("no-grant-type", {"username": "anna@acme", "password": PASSWORD}, "invalid_request"),
    ("unknown-grant-type", {"grant_type": "urn:telekom:oauth:grant-type:magic"}, "unsupported_grant_type"),
    ("no-username", {"grant_type": BUSINESS, "password": PASSWORD}, "invalid_request"),
    ("no-password", {"grant_type": BUSINESS, "username": "anna@acme"}, "invalid_request"),
    ("empty-password", {"grant_type": BUSINESS, "username": "anna@acme", "password": ""}, "invalid_request"),
    ("username-not-user-at-company", {"grant_type": BUSINESS, "username": "anna", "password": PASSWORD},
     "invalid_request"),
    ("username-control-char", {"grant_type": BUSINESS, "username": "anna@acme\x01", "password": PASSWORD},
     "invalid_request"),
    ("password-control-char", {"grant_type": BUSINESS, "username": "anna@acme", "password": "a\x00b"},
     "invalid_request"),
    ("username-200-chars", {"grant_type": BUSINESS, "username": "a" * 190 + "@acme", "password": PASSWORD},
     "invalid_request"),
    ("username-very-long", {"grant_type": BUSINESS, "username": "a" * 5000 + "@acme", "password": PASSWORD},
     "invalid_request"),
    ("password-very-long", {"grant_type": BUSINESS, "username": "anna@acme", "password": "x" * 5000},
     "invalid_request"),
    ("no-phone-number", {"grant_type": PHONE, "scope": "openid"}, "invalid_request"),
    ("phone-control-char", {"grant_type": PHONE, "phone_number": "20123\x074567"}, "invalid_request"),
    ("phone-very-long", {"grant_type": PHONE, "phone_number": "2" * 5000}, "invalid_request"),
    ("no-auth-session", {"grant_type": SMS_OTP, "otp": "123456"}, "invalid_request"),
    ("no-otp", {"grant_type": SMS_OTP, "auth_session": "SESSION"}, "invalid_request"),
    ("unknown-auth-session", {"grant_type": SMS_OTP, "auth_session": "x" * 32, "otp": "123456"},
     "invalid_grant"),
    ("long-auth-session", {"grant_type": SMS_OTP, "auth_session": "x" * 500, "otp": "123456"}, "invalid_grant"),
    ("otp-control-char", {"grant_type": SMS_OTP, "auth_session": "SESSION", "otp": "12\x1b456"},
     "invalid_request"),
    ("otp-very-long", {"grant_type": SMS_OTP, "auth_session": "SESSION", "otp": "1" * 5000}, "invalid_request"),
    ("scope-control-char", {"grant_type": BUSINESS, "username": "anna@acme", "password": PASSWORD,
                            "scope": "openid\x0bprofile"}, "invalid_request"),
]


@pytest.mark.parametrize("data,error", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_request_gets_the_rfc_error(client, clock, anna, line, public, data, error):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    code = last_code(USER_PHONE)
    data = {k: (auth_session if v == "SESSION" else v) for k, v in data.items()}
    body = oauth_error(post_as(client, TOKEN_URL, rp, None, data), error)
    assert "access_token" not in body and "auth_session" not in body
    assert sms_count() == 1  # nothing new went out
    # The malformed request neither used nor spent the real session's code.
    tokens_of(sms_otp(client, rp, None, auth_session, code))


@pytest.mark.parametrize("param", ["username", "password", "scope", "grant_type", "client_id"])
def test_a_repeated_parameter_is_invalid_request(client, anna, public, param):
    rp, _ = public
    data = {"grant_type": BUSINESS, "username": "anna@acme", "password": PASSWORD, "scope": "openid",
            "client_id": rp.client_id}
    pairs = list(data.items()) + [(param, data[param])]
    response = client.post(TOKEN_URL, data=MultiDict(pairs))
    oauth_error(response, "invalid_request")
    assert sms_count() == 0


@pytest.mark.parametrize("data,error", [
    pytest.param({}, "invalid_request", id="no-auth-session"),
    pytest.param({"auth_session": ""}, "invalid_request", id="empty-auth-session"),
    pytest.param({"auth_session": "x" * 32}, "invalid_grant", id="unknown"),
    pytest.param({"auth_session": "x\x01"}, "invalid_request", id="control-char"),
    pytest.param({"auth_session": "x" * 5000}, "invalid_request", id="very-long"),
    pytest.param([("auth_session", "SESSION"), ("auth_session", "SESSION")], "invalid_request", id="repeated"),
])
def test_a_malformed_resend_gets_the_rfc_error(client, clock, anna, public, data, error):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None))
    clock.advance(30)
    if isinstance(data, list):
        data = [(k, auth_session if v == "SESSION" else v) for k, v in data] + [("client_id", rp.client_id)]
        response = client.post(RESEND_URL, data=MultiDict(data))
    else:
        response = post_as(client, RESEND_URL, rp, None, data)
    oauth_error(response, error)
    assert sms_count() == 1


def test_a_json_body_is_invalid_request(client, anna, public):
    rp, _ = public
    response = client.post(TOKEN_URL, json={"grant_type": BUSINESS, "username": "anna@acme",
                                            "password": PASSWORD, "client_id": rp.client_id})
    oauth_error(response, "invalid_request")
    oauth_error(client.post(RESEND_URL, json={"auth_session": "x", "client_id": rp.client_id}),
                "invalid_request")
    assert sms_count() == 0


# --- scopes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("grant", ["business-password", "phone"])
@pytest.mark.parametrize("scope,description", [
    ("openid admin", "Unknown scope: admin"),
    ("openid company", "The client is not registered for the scope company"),
], ids=["unknown", "unregistered"])
def test_a_scope_the_client_may_not_have_is_invalid_scope_and_sends_no_sms(client, anna, line, grant, scope,
                                                                          description):
    rp, secret = make_client(first_party=True, scope="openid profile phone")
    call = password_grant if grant == "business-password" else phone_grant
    body = oauth_error(call(client, rp, secret, scope=scope), "invalid_scope")
    assert body["error_description"] == description
    assert sms_count() == 0


def test_an_empty_scope_gets_the_registered_default(client, anna):
    rp, secret = make_client(first_party=True, scope="openid company offline_access")
    body = business_tokens(client, rp, secret, scope=None)
    assert body["scope"] == "openid company"


def test_the_sms_otp_step_may_narrow_the_scope_but_never_widen_it(client, anna, public):
    rp, _ = public
    auth_session = sms_required(password_grant(client, rp, None, scope="openid company"))
    code = last_code(USER_PHONE)
    body = oauth_error(sms_otp(client, rp, None, auth_session, code, scope="openid company permissions"),
                       "invalid_scope")
    assert "permissions" in body["error_description"]
    body = tokens_of(sms_otp(client, rp, None, auth_session, code, scope="openid"))
    assert body["scope"] == "openid"
    assert "company" not in decode(client, body["access_token"])


# --- discovery ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
def test_discovery_lists_the_first_party_grants_and_the_challenge_endpoint(client, path):
    metadata = client.get(path).get_json()
    assert set(FIRST_PARTY_GRANTS) <= set(metadata["grant_types_supported"])
    assert metadata["authorization_challenge_endpoint"] == metadata["issuer"] + "/oauth/authorize-challenge"
    assert {"amr", "acr", "sid", "company", "permissions", "phone_number"} <= set(metadata["claims_supported"])
