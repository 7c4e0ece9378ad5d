"""The Authorization Challenge Endpoint of draft-ietf-oauth-first-party-apps,
``POST /oauth/authorize-challenge``, through the Flask test client: the flow
end to end for a business user and a phone line (public client, PKCE S256, the
code exchanged at the token endpoint without ``redirect_uri``), the draft's
error answers (``insufficient_authorization``, ``invalid_session``,
``redirect_to_web``), the request checks and the code's single use."""

import pytest
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
from tests.oauth_helpers import pkce_pair
from tests.oauth_helpers import post_as

CHALLENGE_URL = "/oauth/authorize-challenge"
TOKEN_URL = "/oauth/token"
ACR_1FA, ACR_2FA = "urn:telekom:acr:1fa", "urn:telekom:acr:2fa"
PASSWORD = "Helyes-jelszo-2024!"
WRONG_PASSWORD = "Rossz-jelszo-2024!"
USER_PHONE, USER_HINT = "+36301234567", "+36 30 *** **67"
LINE_NUMBER, LINE_HINT = "+36201234567", "+36 20 *** **67"
FULL_SCOPE = "openid profile company permissions"
INSUFFICIENT_KEYS = {"error", "auth_session", "otp_required", "otp_length", "phone_hint", "expires_in"}


# --- helpers ------------------------------------------------------------------------------------
def challenge(browser, rp, secret, **data):
    return post_as(browser, CHALLENGE_URL, rp, secret, data)


def start(browser, rp, secret, challenge_=None, scope=FULL_SCOPE, **credentials):
    """The first request: ``response_type=code``, the scope, PKCE and the credentials."""
    data = {"response_type": "code", "scope": scope, **credentials}
    if challenge_:
        data.update(code_challenge=challenge_, code_challenge_method="S256")
    return challenge(browser, rp, secret, **data)


def as_anna(browser, rp, secret, challenge_=None, **extra):
    return start(browser, rp, secret, challenge_, username="anna@acme", password=PASSWORD, **extra)


def insufficient(response, hint=USER_HINT):
    """403 ``insufficient_authorization`` asking for the SMS code; returns the ``auth_session``."""
    body = oauth_error(response, "insufficient_authorization", 403)
    assert set(body) - {"error_description"} == INSUFFICIENT_KEYS, body
    assert body["otp_required"] is True and body["otp_length"] == 6 and body["expires_in"] == 300, body
    assert body["phone_hint"] == hint, body
    assert isinstance(body["auth_session"], str) and len(body["auth_session"]) >= 22
    return body["auth_session"]


def authorization_code(response):
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"authorization_code"}, body
    assert len(body["authorization_code"]) >= 32
    return body["authorization_code"]


def otp(browser, rp, secret, auth_session, code):
    return challenge(browser, rp, secret, auth_session=auth_session, otp=code)


def exchange(browser, rp, secret, code, verifier=None, **extra):
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, **extra}
    return post_as(browser, TOKEN_URL, rp, secret, data)


def tokens_of(response):
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def anna_code(browser, rp, secret=None, challenge_=None, **extra):
    """Password, then the SMS code; returns the authorization code."""
    auth_session = insufficient(as_anna(browser, rp, secret, challenge_, **extra))
    return authorization_code(otp(browser, rp, secret, auth_session, last_code(USER_PHONE)))


def sms_count(to=None):
    return len(outbox("sms", to))


def token_rows():
    db.session.expire_all()
    return Token.query.count()


def userinfo_status(browser, access_token):
    return browser.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def anna(acme):
    return make_login_user(acme, username="anna", phone=USER_PHONE, permissions=["usage.view", "invoices.view"])


@pytest.fixture
def line(acme):
    return make_phone_line(acme, number=LINE_NUMBER, permissions=["invoices.view", "orders.create"])


@pytest.fixture
def public(app):
    return make_client(first_party=True, public=True)[0], None


@pytest.fixture
def pkce():
    return pkce_pair()


# --- the flow end to end --------------------------------------------------------------------------
def test_a_business_user_logs_in_through_the_challenge_endpoint(client, clock, acme, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    auth_session = insufficient(as_anna(client, rp, None, code_challenge))
    assert [m.to for m in outbox("sms")] == [USER_PHONE]
    clock.advance(5)
    code = authorization_code(otp(client, rp, None, auth_session, last_code(USER_PHONE)))
    body = tokens_of(exchange(client, rp, None, code, verifier))
    assert body["scope"] == FULL_SCOPE and body["token_type"] == "Bearer"
    claims = decode(client, body["id_token"])
    assert claims["sub"] == anna.sub and claims["aud"] == rp.client_id
    assert claims["amr"] == ["pwd", "sms", "mfa"] and claims["acr"] == ACR_2FA
    assert claims["auth_time"] == clock.timestamp()
    login = db.session.get(LoginSession, claims["sid"])
    assert login is not None and login.subject == anna.sub
    assert claims["company"] == {"id": acme.public_id, "slug": "acme", "name": "Acme Kft."}
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert claims["preferred_username"] == "anna@acme"
    access = decode(client, body["access_token"])
    assert access["sub"] == anna.sub and access["client_id"] == rp.client_id
    assert access["company"]["slug"] == "acme" and access["permissions"] == ["invoices.view", "usage.view"]
    assert userinfo_status(client, body["access_token"]) == 200


def test_a_phone_line_logs_in_through_the_challenge_endpoint(client, clock, line, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    scope = "openid phone company permissions"
    response = start(client, rp, None, code_challenge, scope=scope, phone_number="20 123 4567")
    auth_session = insufficient(response, LINE_HINT)
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]
    code = authorization_code(otp(client, rp, None, auth_session, last_code(LINE_NUMBER)))
    body = tokens_of(exchange(client, rp, None, code, verifier))
    claims = decode(client, body["id_token"])
    assert claims["sub"] == line.sub and claims["amr"] == ["sms"] and claims["sid"]
    assert claims["phone_number"] == LINE_NUMBER
    assert claims["permissions"] == ["invoices.view"]  # orders.create is not a phone function
    assert not {"company", "company_role"} & set(claims)
    assert "company" not in decode(client, body["access_token"])


def test_the_nonce_of_the_first_request_is_in_the_id_token(client, anna, public, pkce):
    """DESIGN.md §2: the ID token carries ``nonce`` when the request had one; the
    draft (§4.1) makes the endpoint accept the authorization request parameters
    of RFC 6749 and its extensions, OpenID Connect's among them."""
    rp, _ = public
    verifier, code_challenge = pkce
    code = anna_code(client, rp, None, code_challenge, scope="openid", nonce="n-0S6_WzA2Mj")
    claims = decode(client, tokens_of(exchange(client, rp, None, code, verifier))["id_token"])
    assert claims.get("nonce") == "n-0S6_WzA2Mj", claims


def test_an_auth_session_has_256_bits_of_entropy(client, anna, public, pkce):
    """Draft §5.3.1: a random auth_session SHOULD have at least 256 bits of
    entropy - 43 base64url characters."""
    rp, _ = public
    first = insufficient(as_anna(client, rp, None, pkce[1]))
    assert len(first) >= 43, (len(first), first)


def test_a_confidential_first_party_client_may_leave_out_pkce(client, anna):
    rp, secret = make_client(first_party=True)
    code = anna_code(client, rp, secret)
    body = tokens_of(exchange(client, rp, secret, code))
    assert decode(client, body["id_token"])["sub"] == anna.sub


LOGINS = [
    ("sms-on", True, {}, ["pwd", "sms", "mfa"], ACR_2FA),
    ("sms-off", False, {}, ["pwd"], ACR_1FA),
    ("sms-off-acr-2fa", False, {"acr_values": ACR_2FA}, ["pwd", "sms", "mfa"], ACR_2FA),
]


@pytest.mark.parametrize("sms_on,extra,amr,acr", [c[1:] for c in LOGINS], ids=[c[0] for c in LOGINS])
def test_the_code_carries_how_the_user_logged_in(client, public, pkce, sms_on, extra, amr, acr):
    company = make_company(slug="acme", sms_login_required=sms_on)
    user = make_login_user(company, username="anna", phone=USER_PHONE, permissions=["usage.view"])
    rp, _ = public
    verifier, code_challenge = pkce
    response = as_anna(client, rp, None, code_challenge, scope="openid company permissions", **extra)
    if "sms" in amr:
        response = otp(client, rp, None, insufficient(response), last_code(USER_PHONE))
    else:
        assert sms_count() == 0
    body = tokens_of(exchange(client, rp, None, authorization_code(response), verifier))
    claims = decode(client, body["id_token"])
    assert (claims["amr"], claims["acr"]) == (amr, acr)
    assert claims["sub"] == user.sub
    assert claims["company"]["slug"] == "acme" and claims["permissions"] == ["usage.view"]


def test_a_company_without_sms_gets_the_code_at_once(client, public, pkce):
    company = make_company(slug="acme", sms_login_required=False)
    make_login_user(company, username="anna", phone=USER_PHONE)
    rp, _ = public
    verifier, code_challenge = pkce
    code = authorization_code(as_anna(client, rp, None, code_challenge))
    assert sms_count() == 0
    assert tokens_of(exchange(client, rp, None, code, verifier))["scope"] == FULL_SCOPE


# --- the draft's answers --------------------------------------------------------------------------
def test_insufficient_authorization_has_the_drafts_shape(client, anna, public, pkce):
    rp, _ = public
    response = as_anna(client, rp, None, pkce[1])
    insufficient(response)
    assert response.headers["Pragma"] == "no-cache"
    assert sms_count(USER_PHONE) == 1 and token_rows() == 0


def test_a_public_client_may_continue_with_the_auth_session_alone(client, anna, public, pkce):
    """Draft §5.1: ``client_id`` is REQUIRED unless the request includes an
    ``auth_session`` from which the server can determine the client."""
    rp, _ = public
    verifier, code_challenge = pkce
    auth_session = insufficient(as_anna(client, rp, None, code_challenge))
    response = client.post(CHALLENGE_URL, data={"auth_session": auth_session, "otp": last_code(USER_PHONE)})
    code = authorization_code(response)
    assert decode(client, tokens_of(exchange(client, rp, None, code, verifier))["id_token"])["sub"] == anna.sub


def test_a_missing_otp_asks_for_it_again(client, anna, public, pkce):
    rp, _ = public
    auth_session = insufficient(as_anna(client, rp, None, pkce[1]))
    assert insufficient(challenge(client, rp, None, auth_session=auth_session)) == auth_session
    authorization_code(otp(client, rp, None, auth_session, last_code(USER_PHONE)))


def test_a_wrong_code_is_insufficient_authorization_with_the_tries_left(client, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    auth_session = insufficient(as_anna(client, rp, None, code_challenge))
    code = last_code(USER_PHONE)
    for left in (4, 3, 2, 1):
        response = otp(client, rp, None, auth_session, other_code(code))
        assert insufficient(response) == auth_session
        assert response.get_json()["error_description"] == f"Wrong code; {left} more tries"
    tokens_of(exchange(client, rp, None, authorization_code(otp(client, rp, None, auth_session, code)),
                       verifier))


def kill_with_wrong_codes(browser, rp, auth_session, code):
    for _ in range(4):
        insufficient(otp(browser, rp, None, auth_session, other_code(code)))
    oauth_error(otp(browser, rp, None, auth_session, other_code(code)), "invalid_session")


@pytest.mark.parametrize("case", ["unknown", "too-long", "dead", "expired", "used", "other-client",
                                  "browser-flow"])
def test_an_auth_session_that_cannot_go_on_is_invalid_session(client, clock, anna, public, pkce, case):
    rp, _ = public
    auth_session = insufficient(as_anna(client, rp, None, pkce[1]))
    code = last_code(USER_PHONE)
    caller = rp
    if case == "unknown":
        auth_session = "x" * 32
    elif case == "too-long":
        auth_session = "x" * 200
    elif case == "dead":
        kill_with_wrong_codes(client, rp, auth_session, code)
    elif case == "expired":
        clock.advance(301)
    elif case == "used":
        authorization_code(otp(client, rp, None, auth_session, code))
    elif case == "other-client":
        caller = make_client(first_party=True, public=True)[0]
    elif case == "browser-flow":
        clock.advance(30)
        auth_session = start_login(client, "anna@acme")  # a login page's flow, at its SMS step next
        assert submit_password(client, auth_session, PASSWORD).status_code == 302
        code = last_code(USER_PHONE)
    response = otp(client, caller, None, auth_session, code)
    body = oauth_error(response, "invalid_session")
    assert "auth_session" not in body and "authorization_code" not in body
    if case in ("dead", "expired", "used"):
        oauth_error(otp(client, rp, None, auth_session, last_code(USER_PHONE)), "invalid_session")
    if case == "other-client":  # the owner's session lives on
        authorization_code(otp(client, rp, None, auth_session, code))


def test_a_user_disabled_after_the_sms_gets_no_code(client, anna, public, pkce):
    rp, _ = public
    auth_session = insufficient(as_anna(client, rp, None, pkce[1]))
    anna.disabled = True
    db.session.commit()
    oauth_error(otp(client, rp, None, auth_session, last_code(USER_PHONE)), "invalid_session")
    assert LoginSession.query.count() == 0


@pytest.mark.parametrize("sms_login_required", [True, False], ids=["sms-on", "sms-off"])
def test_a_temporary_password_is_redirect_to_web_before_any_sms(client, public, pkce, sms_login_required):
    company = make_company(slug="acme", sms_login_required=sms_login_required)
    make_user(company, username="new", phone=USER_PHONE, password_temporary=True,
              password_hash=get_services().passwords.hash(PASSWORD))
    rp, _ = public
    response = start(client, rp, None, pkce[1], username="new@acme", password=PASSWORD)
    body = oauth_error(response, "redirect_to_web", 403)
    assert set(body) <= {"error", "error_description"}
    assert sms_count() == 0 and token_rows() == 0
    # A wrong password does not tell that the password is temporary.
    wrong = start(client, rp, None, pkce[1], username="new@acme", password=WRONG_PASSWORD)
    assert wrong.status_code == 400 and wrong.get_json()["error"] != "redirect_to_web"


def test_an_unknown_username_answers_like_a_wrong_password(client, anna, public, pkce):
    rp, _ = public
    wrong = start(client, rp, None, pkce[1], username="anna@acme", password=WRONG_PASSWORD)
    assert wrong.status_code == 400 and "auth_session" not in wrong.get_json(), wrong.get_json()
    unknown = start(client, rp, None, pkce[1], username="nobody@acme", password=WRONG_PASSWORD)
    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())
    assert sms_count() == 0


def test_an_unregistered_number_answers_like_a_registered_one_but_gets_no_sms(client, line, public, pkce):
    rp, _ = public
    registered = start(client, rp, None, pkce[1], phone_number="201234567")
    unregistered = start(client, rp, None, pkce[1], phone_number="301112233")
    insufficient(registered, LINE_HINT)
    insufficient(unregistered, "+36 30 *** **33")
    assert registered.get_json()["error_description"] == unregistered.get_json()["error_description"]
    assert [m.to for m in outbox("sms")] == [LINE_NUMBER]


# --- request checks -------------------------------------------------------------------------------
@pytest.mark.parametrize("response_type", [None, "", "token", "code id_token", "id_token"],
                         ids=["missing", "empty", "token", "code-id_token", "id_token"])
def test_a_response_type_other_than_code_is_unsupported(client, anna, public, pkce, response_type):
    rp, _ = public
    response = challenge(client, rp, None, response_type=response_type, scope="openid", username="anna@acme",
                         password=PASSWORD, code_challenge=pkce[1], code_challenge_method="S256")
    oauth_error(response, "unsupported_response_type", 400)
    assert sms_count() == 0


@pytest.mark.parametrize("pkce_params", [
    pytest.param({}, id="no-code-challenge"),
    pytest.param({"code_challenge_method": "S256"}, id="method-only"),
    pytest.param({"code_challenge": "CHALLENGE"}, id="no-method-means-plain"),
    pytest.param({"code_challenge": "CHALLENGE", "code_challenge_method": "plain"}, id="plain"),
    pytest.param({"code_challenge": "CHALLENGE", "code_challenge_method": "S512"}, id="unknown-method"),
    pytest.param({"code_challenge": "abc", "code_challenge_method": "S256"}, id="too-short"),
])
def test_a_public_client_must_use_pkce_s256(client, anna, public, pkce, pkce_params):
    rp, _ = public
    pkce_params = {k: (pkce[1] if v == "CHALLENGE" else v) for k, v in pkce_params.items()}
    response = challenge(client, rp, None, response_type="code", scope="openid", username="anna@acme",
                         password=PASSWORD, **pkce_params)
    oauth_error(response, "invalid_request")
    assert sms_count() == 0


REFUSED = [
    ("unknown-scope", {"scope": "openid admin"}, "invalid_scope"),
    ("unregistered-scope", {"scope": "openid subscriptions"}, "invalid_scope"),
    ("no-credentials", {"username": None, "password": None}, "invalid_request"),
    ("no-password", {"password": None}, "invalid_request"),
    ("no-username", {"username": None}, "invalid_request"),
    ("malformed-username", {"username": "anna"}, "invalid_request"),
    ("landline", {"username": None, "password": None, "phone_number": "12345678"}, "invalid_request"),
    ("control-character", {"username": "anna@acme\x07"}, "invalid_request"),
    ("very-long-password", {"password": "x" * 5000}, "invalid_request"),
]


@pytest.mark.parametrize("changes,error", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_refused_first_request_sends_no_sms(client, anna, pkce, changes, error):
    rp, _ = make_client(first_party=True, public=True, scope="openid profile company permissions")
    data = {"response_type": "code", "scope": "openid", "username": "anna@acme", "password": PASSWORD,
            "code_challenge": pkce[1], "code_challenge_method": "S256", **changes}
    oauth_error(challenge(client, rp, None, **data), error)
    assert sms_count() == 0


@pytest.mark.parametrize("param", ["username", "auth_session", "otp", "client_id"])
def test_a_repeated_parameter_is_invalid_request(client, anna, public, pkce, param):
    rp, _ = public
    auth_session = insufficient(as_anna(client, rp, None, pkce[1]))
    values = {"auth_session": auth_session, "otp": last_code(USER_PHONE), "client_id": rp.client_id,
              "username": "anna@acme"}
    pairs = list(values.items()) + [(param, values[param])]
    oauth_error(client.post(CHALLENGE_URL, data=MultiDict(pairs)), "invalid_request")
    authorization_code(otp(client, rp, None, auth_session, last_code(USER_PHONE)))  # nothing was spent


def test_a_client_id_that_is_not_the_authenticated_client_is_invalid_request(client, anna, public):
    rp, secret = make_client(first_party=True)
    other, _ = public
    response = post_as(client, CHALLENGE_URL, rp, secret,
                       {"client_id": other.client_id, "response_type": "code", "scope": "openid",
                        "username": "anna@acme", "password": PASSWORD})
    body = oauth_error(response, "invalid_request")
    assert "client_id" in body["error_description"]
    assert sms_count() == 0
    # With its own client_id the same request goes on.
    insufficient(post_as(client, CHALLENGE_URL, rp, secret,
                         {"client_id": rp.client_id, "response_type": "code", "scope": "openid",
                          "username": "anna@acme", "password": PASSWORD}))


@pytest.mark.parametrize("how", ["no-secret", "wrong-secret"])
def test_a_confidential_client_must_authenticate(client, anna, how):
    rp, secret = make_client(first_party=True)
    data = {"response_type": "code", "scope": "openid", "username": "anna@acme", "password": PASSWORD}
    if how == "no-secret":
        response = client.post(CHALLENGE_URL, data={**data, "client_id": rp.client_id})
    else:
        response = post_as(client, CHALLENGE_URL, rp, secret + "x", data)
    oauth_error(response, "invalid_client", 401)
    assert sms_count() == 0


@pytest.mark.parametrize("public_client", [True, False], ids=["public", "confidential"])
def test_a_client_that_is_not_first_party_is_unauthorized(client, clock, anna, public, pkce, public_client):
    third_party, secret = make_client(first_party=False, public=public_client)
    response = start(client, third_party, secret, pkce[1], username="anna@acme", password=PASSWORD)
    oauth_error(response, "unauthorized_client")
    assert sms_count() == 0
    rp, _ = public
    auth_session = insufficient(as_anna(client, rp, None, pkce[1]))
    oauth_error(otp(client, third_party, secret, auth_session, last_code(USER_PHONE)), "unauthorized_client")
    authorization_code(otp(client, rp, None, auth_session, last_code(USER_PHONE)))


# --- the code at the token endpoint ---------------------------------------------------------------
@pytest.mark.parametrize("sent,error", [
    pytest.param(None, "invalid_request", id="no-verifier"),
    pytest.param("OTHER", "invalid_grant", id="wrong-verifier"),
    pytest.param("CHALLENGE", "invalid_grant", id="the-challenge-itself"),
    pytest.param("short", "invalid_request", id="malformed-verifier"),
])
def test_the_code_needs_its_verifier(client, anna, public, pkce, sent, error):
    rp, _ = public
    _, code_challenge = pkce
    code = anna_code(client, rp, None, code_challenge)
    sent = {"OTHER": pkce_pair()[0], "CHALLENGE": code_challenge}.get(sent, sent)
    oauth_error(exchange(client, rp, None, code, sent), error)
    assert token_rows() == 0


def test_the_code_is_single_use_and_a_replay_revokes_its_tokens(client, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    code = anna_code(client, rp, None, code_challenge)
    body = tokens_of(exchange(client, rp, None, code, verifier))
    assert userinfo_status(client, body["access_token"]) == 200
    oauth_error(exchange(client, rp, None, code, verifier), "invalid_grant")
    assert userinfo_status(client, body["access_token"]) == 401


def test_the_code_belongs_to_its_client(client, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    code = anna_code(client, rp, None, code_challenge)
    other, _ = make_client(first_party=True, public=True)
    oauth_error(exchange(client, other, None, code, verifier), "invalid_grant")
    assert token_rows() == 0


def test_the_code_expires(client, clock, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    code = anna_code(client, rp, None, code_challenge)
    clock.advance(int(current_app.config["AUTHORIZATION_CODE_TTL"]) + 1)
    oauth_error(exchange(client, rp, None, code, verifier), "invalid_grant")


def test_the_code_has_the_scope_of_the_first_request(client, anna, public, pkce):
    rp, _ = public
    verifier, code_challenge = pkce
    auth_session = insufficient(as_anna(client, rp, None, code_challenge, scope="openid"))
    # Parameters of the first request sent again with the code change nothing.
    response = challenge(client, rp, None, auth_session=auth_session, otp=last_code(USER_PHONE),
                         scope="openid company permissions")
    body = tokens_of(exchange(client, rp, None, authorization_code(response), verifier))
    assert body["scope"] == "openid"
    assert not {"company", "permissions"} & set(decode(client, body["access_token"]))
