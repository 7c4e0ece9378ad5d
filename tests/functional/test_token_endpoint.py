"""The token endpoint through the Flask test client: code exchange (RFC 6749
§4.1.3 + PKCE), JWT access tokens (RFC 9068), ID tokens, client
authentication (secret basic/post, none, private_key_jwt), refresh rotation
with reuse detection, client credentials, and malformed requests."""

import base64
import json
import secrets
import time
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from idp.extensions import db
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_user

ISSUER = "http://localhost"
TOKEN_URL = "/oauth/token"
REDIRECT_URI = "https://rp.example/cb"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# --- helpers -------------------------------------------------------------------

def basic(client_id, secret):
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def get_code(browser, rp, user, scope="openid", nonce=None, **extra):
    """Run the authorization endpoint (logging in if needed); returns ``(code, verifier)``."""
    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": REDIRECT_URI,
              "scope": scope, "state": "s", "nonce": nonce or secrets.token_urlsafe(8),
              "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    response = browser.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    if urlsplit(response.headers["Location"]).path.startswith("/login"):
        response = browser.get(login_url(response.headers["Location"], user))
        response = browser.get(response.headers["Location"])
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert "error" not in query, query
    return query["code"][0], verifier


def exchange(browser, rp, secret, code, verifier, redirect_uri=REDIRECT_URI, auth="basic"):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    return token_request(browser, rp, secret, data, auth)


def token_request(browser, rp, secret, data, auth="basic"):
    headers = {}
    data = {k: v for k, v in data.items() if v is not None}
    if auth == "basic":
        headers = basic(rp.client_id, secret)
    elif auth == "post":
        data.update(client_id=rp.client_id, client_secret=secret)
    elif auth == "none":
        data.update(client_id=rp.client_id)
    return browser.post(TOKEN_URL, data=data, headers=headers)


def refresh(browser, rp, secret, refresh_token, scope=None, auth="basic"):
    return token_request(browser, rp, secret, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                               "scope": scope}, auth)


def oauth_error(response, error, status=400):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    assert "access_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    return body


def jwks(browser):
    return KeySet.import_key_set(browser.get("/jwks.json").get_json())


def header_of(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def decode(browser, token):
    return jwt.decode(token, jwks(browser), algorithms=["RS256", "ES256"]).claims


def introspect(browser, rp, secret, token, hint=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    response = browser.post("/oauth/introspect", data=data, headers=basic(rp.client_id, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def userinfo_status(browser, access_token):
    return browser.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


@pytest.fixture
def company(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def user(company):
    return make_user(company, username="anna", permissions=["usage.view", "invoices.view"])


@pytest.fixture
def confidential(app):
    """A first-party confidential client (no consent page): ``(client, secret)``."""
    return make_client(first_party=True)


@pytest.fixture
def tokens(client, confidential, user):
    """One successful code exchange: ``(token response, nonce)``."""
    rp, secret = confidential
    code, verifier = get_code(client, rp, user, scope="openid profile company permissions", nonce="nonce-1")
    response = exchange(client, rp, secret, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- the happy path --------------------------------------------------------------

def test_code_exchange_response(client, confidential, user, clock):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user, scope="openid profile company permissions")
    response = exchange(client, rp, secret, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"].split() == ["openid", "profile", "company", "permissions"]
    assert len(body["refresh_token"]) >= 32
    assert body["id_token"].count(".") == 2
    assert set(body) == {"token_type", "access_token", "expires_in", "scope", "refresh_token", "id_token"}


def test_access_token_is_an_rfc9068_jwt(client, confidential, user, company, clock, tokens):
    rp, _ = confidential
    access_token = tokens["access_token"]
    header = header_of(access_token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    claims = decode(client, access_token)
    now = clock.timestamp()
    assert claims["iss"] == ISSUER
    assert claims["sub"] == user.sub
    assert claims["aud"] == rp.client_id
    assert claims["client_id"] == rp.client_id
    assert claims["iat"] == now
    assert claims["exp"] == now + 600
    assert len(claims["jti"]) >= 16
    assert claims["scope"] == "openid profile company permissions"
    assert claims["company"] == {"id": company.public_id, "slug": "acme", "name": "Acme Kft."}
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    # Never the profile claims: the access token is for resource servers.
    assert not {"name", "preferred_username", "email", "phone_number", "company_role"} & set(claims)


@pytest.mark.parametrize("scope,expected", [
    ("openid", set()),
    ("openid profile email phone", set()),
    ("openid company", {"company"}),
    ("openid permissions", {"permissions"}),
    ("company permissions", {"company", "permissions"}),
], ids=["openid", "profile-only", "company", "permissions", "no-openid"])
def test_access_token_user_claims_follow_the_granted_scopes(client, confidential, user, scope, expected):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user, scope=scope)
    body = exchange(client, rp, secret, code, verifier).get_json()
    claims = decode(client, body["access_token"])
    assert {"company", "permissions"} & set(claims) == expected
    assert ("id_token" in body) == ("openid" in scope.split())


def test_id_token_claims(client, confidential, user, clock, tokens):
    rp, _ = confidential
    id_token = tokens["id_token"]
    header = header_of(id_token)
    assert header["alg"] == "RS256"
    assert header["kid"]
    claims = decode(client, id_token)
    now = clock.timestamp()
    assert claims["iss"] == ISSUER
    assert claims["sub"] == user.sub
    assert claims["aud"] == rp.client_id
    assert claims["azp"] == rp.client_id
    assert claims["iat"] == now
    assert claims["exp"] == now + 600
    assert claims["auth_time"] == now
    assert claims["acr"] == "urn:telekom:acr:2fa"
    assert claims["amr"] == ["pwd", "sms"]
    assert len(claims["sid"]) >= 20
    assert claims["nonce"] == "nonce-1"
    assert claims["at_hash"] == create_half_hash(tokens["access_token"], "RS256").decode("ascii")
    assert claims["preferred_username"] == "anna@acme"
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert claims["company_role"] == "user"
    assert "email" not in claims and "phone_number" not in claims


def test_id_token_auth_time_is_the_last_login(client, confidential, user, clock):
    rp, secret = confidential
    first_login = clock.timestamp()
    get_code(client, rp, user)
    clock.advance(500)
    code, verifier = get_code(client, rp, user)  # session reused
    claims = decode(client, exchange(client, rp, secret, code, verifier).get_json()["id_token"])
    assert claims["auth_time"] == first_login
    assert claims["iat"] == first_login + 500
    code, verifier = get_code(client, rp, user, max_age="60")  # forces a new login
    claims = decode(client, exchange(client, rp, secret, code, verifier).get_json()["id_token"])
    assert claims["auth_time"] == first_login + 500


def test_es256_id_token_verifies_against_the_jwks(client, user):
    rp, secret = make_client(first_party=True, id_token_signed_response_alg="ES256")
    code, verifier = get_code(client, rp, user, scope="openid profile", nonce="es-nonce")
    body = exchange(client, rp, secret, code, verifier).get_json()
    header = header_of(body["id_token"])
    assert header["alg"] == "ES256"
    published = client.get("/jwks.json").get_json()["keys"]
    key = next(k for k in published if k["kid"] == header["kid"])
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    claims = jwt.decode(body["id_token"], KeySet.import_key_set({"keys": [key]}), algorithms=["ES256"]).claims
    assert claims["sub"] == user.sub
    assert claims["nonce"] == "es-nonce"
    assert claims["at_hash"] == create_half_hash(body["access_token"], "ES256").decode("ascii")
    with pytest.raises(Exception):
        jwt.decode(body["id_token"], KeySet.import_key_set({"keys": [k for k in published if k["kty"] == "RSA"]}))


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_client_auth_methods(client, user, auth):
    method = {"basic": "client_secret_basic", "post": "client_secret_post"}[auth]
    rp, secret = make_client(first_party=True, auth_method=method)
    code, verifier = get_code(client, rp, user)
    response = exchange(client, rp, secret, code, verifier, auth=auth)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_public_client_exchanges_with_pkce_only(client, user):
    rp, secret = make_client(first_party=True, public=True)
    assert secret is None
    code, verifier = get_code(client, rp, user)
    response = exchange(client, rp, None, code, verifier, auth="none")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert decode(client, response.get_json()["access_token"])["client_id"] == rp.client_id


def test_client_secret_with_special_characters_in_basic_auth(client, user):
    # RFC 6749 §2.3.1: client id and secret are form-encoded before base64.
    rp, secret = make_client(first_party=True, client_id="rp:with/odd chars")
    code, verifier = get_code(client, rp, user)
    assert exchange(client, rp, secret, code, verifier).status_code == 200


def test_client_without_the_refresh_grant_gets_no_refresh_token(client, user):
    rp, secret = make_client(first_party=True, grant_types=["authorization_code"])
    code, verifier = get_code(client, rp, user)
    body = exchange(client, rp, secret, code, verifier).get_json()
    assert "refresh_token" not in body
    assert body["access_token"] and body["id_token"]


def test_code_requested_without_redirect_uri(client, confidential, user):
    # Allowed without openid when exactly one URI is registered (RFC 6749 §3.1.2.3);
    # then the token request needs none either (§4.1.3).
    rp, secret = confidential
    code, verifier = get_code(client, rp, user, scope="profile", redirect_uri=None)
    assert exchange(client, rp, secret, code, verifier, redirect_uri=None).status_code == 200


# --- client authentication failures ----------------------------------------------

def _auth_case(case, rp, secret, public):
    data = {}
    headers = {}
    if case == "wrong-secret-basic":
        headers = basic(rp.client_id, "wrong-" + secret)
    elif case == "wrong-secret-post":
        data = {"client_id": rp.client_id, "client_secret": "wrong-" + secret}
    elif case == "unknown-client-basic":
        headers = basic("no-such-client", secret)
    elif case == "unknown-client-post":
        data = {"client_id": "no-such-client", "client_secret": secret}
    elif case == "no-secret":
        data = {"client_id": rp.client_id}
    elif case == "nothing":
        pass
    elif case == "post-for-basic-client":
        data = {"client_id": rp.client_id, "client_secret": secret}
    elif case == "empty-secret-basic":
        headers = {"Authorization": "Basic " + base64.b64encode(f"{rp.client_id}:".encode()).decode()}
    elif case == "garbage-basic":
        headers = {"Authorization": "Basic %%%not-base64"}
    elif case == "public-client-with-other-id":
        data = {"client_id": public.client_id}
    return data, headers


AUTH_FAILURES = [
    # (case, status): RFC 6749 §5.2 - 401 whenever the client tried the Authorization
    # header; otherwise 401 (MAY, Basic being an accepted scheme) or 400.
    ("wrong-secret-basic", 401),
    ("wrong-secret-post", 401),
    ("unknown-client-basic", 401),
    ("unknown-client-post", 400),
    ("no-secret", 401),
    ("nothing", 401),
    ("post-for-basic-client", 401),
    ("empty-secret-basic", 401),
    ("garbage-basic", 401),
    ("public-client-with-other-id", 400),
]


@pytest.mark.parametrize("case,status", AUTH_FAILURES, ids=[c for c, _ in AUTH_FAILURES])
def test_client_authentication_failures(client, confidential, user, case, status):
    rp, secret = confidential
    public, _ = make_client(first_party=True, public=True)
    code, verifier = get_code(client, rp, user)
    data, headers = _auth_case(case, rp, secret, public)
    data.update(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier)
    response = client.post(TOKEN_URL, data=data, headers=headers)
    if case == "public-client-with-other-id":
        # Authenticated as the public client, which does not own this code.
        oauth_error(response, "invalid_grant", status)
    else:
        oauth_error(response, "invalid_client", status)
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Basic ")
    # A failed authentication does not burn the code.
    assert exchange(client, rp, secret, code, verifier).status_code == 200


# --- code validation -------------------------------------------------------------

def test_wrong_code_verifier_then_right_one(client, confidential, user):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    for wrong in ("x" * 43, secrets.token_urlsafe(48), verifier + "a"):
        oauth_error(exchange(client, rp, secret, code, wrong), "invalid_grant")
    assert exchange(client, rp, secret, code, verifier).status_code == 200


@pytest.mark.parametrize("verifier", [None, "", "short"], ids=["missing", "empty", "too-short"])
def test_missing_or_malformed_code_verifier(client, confidential, user, verifier):
    rp, secret = confidential
    code, right = get_code(client, rp, user)
    oauth_error(exchange(client, rp, secret, code, verifier), "invalid_request")
    assert exchange(client, rp, secret, code, right).status_code == 200


def test_verifier_without_challenge_is_refused(client, confidential, user):
    rp, secret = confidential
    code, _ = get_code(client, rp, user, code_challenge=None, code_challenge_method=None)
    oauth_error(exchange(client, rp, secret, code, "v" * 64), "invalid_request")
    # PKCE is optional for a confidential client: without a verifier the code works.
    assert exchange(client, rp, secret, code, None).status_code == 200


def test_reused_code_fails_and_revokes_the_first_tokens(client, confidential, user):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    first = exchange(client, rp, secret, code, verifier).get_json()
    assert introspect(client, rp, secret, first["access_token"])["active"] is True
    assert userinfo_status(client, first["access_token"]) == 200
    oauth_error(exchange(client, rp, secret, code, verifier), "invalid_grant")
    assert introspect(client, rp, secret, first["access_token"]) == {"active": False}
    assert introspect(client, rp, secret, first["refresh_token"]) == {"active": False}
    assert userinfo_status(client, first["access_token"]) == 401
    oauth_error(refresh(client, rp, secret, first["refresh_token"]), "invalid_grant")


def test_reused_code_also_kills_tokens_refreshed_from_it(client, confidential, user):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    first = exchange(client, rp, secret, code, verifier).get_json()
    second = refresh(client, rp, secret, first["refresh_token"]).get_json()
    oauth_error(exchange(client, rp, secret, code, verifier), "invalid_grant")
    assert introspect(client, rp, secret, second["access_token"]) == {"active": False}
    oauth_error(refresh(client, rp, secret, second["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("elapsed,ok", [(59, True), (60, False), (61, False)], ids=["59s", "60s", "61s"])
def test_code_lifetime(client, clock, confidential, user, elapsed, ok):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    clock.advance(elapsed)
    response = exchange(client, rp, secret, code, verifier)
    if ok:
        assert response.status_code == 200
    else:
        oauth_error(response, "invalid_grant")


def test_code_of_another_client(client, confidential, user):
    rp, secret = confidential
    other, other_secret = make_client(first_party=True)
    code, verifier = get_code(client, rp, user)
    oauth_error(exchange(client, other, other_secret, code, verifier), "invalid_grant")
    # The owner can still use it: another client cannot burn it.
    assert exchange(client, rp, secret, code, verifier).status_code == 200


@pytest.mark.parametrize("redirect_uri", ["https://rp.example/other", REDIRECT_URI + "/", None, ""],
                         ids=["other", "trailing-slash", "missing", "empty"])
def test_redirect_uri_mismatch_at_the_token_endpoint(client, user, redirect_uri):
    rp, secret = make_client(first_party=True, redirect_uris=[REDIRECT_URI, "https://rp.example/other"])
    code, verifier = get_code(client, rp, user)
    oauth_error(exchange(client, rp, secret, code, verifier, redirect_uri=redirect_uri), "invalid_grant")
    assert exchange(client, rp, secret, code, verifier).status_code == 200


@pytest.mark.parametrize("code", ["unknown-code", "", "c" * 300], ids=["unknown", "empty", "oversized"])
def test_unknown_code(client, confidential, code):
    rp, secret = confidential
    oauth_error(exchange(client, rp, secret, code, "v" * 64), "invalid_grant")


def test_code_of_a_user_disabled_since(client, confidential, user):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    user.disabled = True
    db.session.commit()
    oauth_error(exchange(client, rp, secret, code, verifier), "invalid_grant")


# --- refresh ---------------------------------------------------------------------

def test_refresh_rotates_and_keeps_the_login_facts(client, clock, confidential, user, tokens):
    rp, secret = confidential
    first_id = decode(client, tokens["id_token"])
    clock.advance(30)
    response = refresh(client, rp, secret, tokens["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == tokens["scope"]
    access = decode(client, body["access_token"])
    assert access["sub"] == user.sub
    assert access["iat"] == clock.timestamp()
    assert access["permissions"] == ["invoices.view", "usage.view"]
    id_claims = decode(client, body["id_token"])
    assert id_claims["sub"] == user.sub
    assert id_claims["auth_time"] == first_id["auth_time"]
    assert id_claims["sid"] == first_id["sid"]
    assert id_claims["acr"] == first_id["acr"]
    assert "nonce" not in id_claims
    assert id_claims["at_hash"] == create_half_hash(body["access_token"], "RS256").decode("ascii")
    # Normal rotation leaves the previous access token alive until it expires.
    assert introspect(client, rp, secret, tokens["access_token"])["active"] is True
    # The new refresh token works in turn.
    assert refresh(client, rp, secret, body["refresh_token"]).status_code == 200


def test_refresh_token_reuse_revokes_the_family(client, confidential, user, tokens):
    rp, secret = confidential
    second = refresh(client, rp, secret, tokens["refresh_token"]).get_json()
    third = refresh(client, rp, secret, second["refresh_token"]).get_json()
    oauth_error(refresh(client, rp, secret, tokens["refresh_token"]), "invalid_grant")
    for access_token in (tokens["access_token"], second["access_token"], third["access_token"]):
        assert introspect(client, rp, secret, access_token) == {"active": False}
        assert userinfo_status(client, access_token) == 401
    oauth_error(refresh(client, rp, secret, third["refresh_token"]), "invalid_grant")


def test_refresh_reuse_does_not_touch_other_families(client, confidential, user, tokens):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    other = exchange(client, rp, secret, code, verifier).get_json()
    refresh(client, rp, secret, tokens["refresh_token"])
    oauth_error(refresh(client, rp, secret, tokens["refresh_token"]), "invalid_grant")
    assert introspect(client, rp, secret, other["access_token"])["active"] is True
    assert refresh(client, rp, secret, other["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client(client, confidential, user, tokens):
    rp, secret = confidential
    other, other_secret = make_client(first_party=True)
    oauth_error(refresh(client, other, other_secret, tokens["refresh_token"]), "invalid_grant")
    # Not a reuse: the owner's token is untouched.
    assert introspect(client, rp, secret, tokens["access_token"])["active"] is True
    assert refresh(client, rp, secret, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("scope,error", [
    ("openid profile company permissions email", "invalid_scope"),
    ("openid phone", "invalid_scope"),
    ("openid nonsense", "invalid_scope"),
], ids=["wider", "other", "unknown"])
def test_refresh_with_a_scope_not_granted(client, confidential, tokens, scope, error):
    rp, secret = confidential
    oauth_error(refresh(client, rp, secret, tokens["refresh_token"], scope=scope), error)
    # The failed attempt did not use the refresh token up.
    assert refresh(client, rp, secret, tokens["refresh_token"]).status_code == 200


def test_refresh_with_a_narrower_scope(client, confidential, tokens):
    rp, secret = confidential
    body = refresh(client, rp, secret, tokens["refresh_token"], scope="openid company").get_json()
    assert body["scope"] == "openid company"
    claims = decode(client, body["access_token"])
    assert claims["scope"] == "openid company"
    assert "company" in claims and "permissions" not in claims
    assert "preferred_username" not in decode(client, body["id_token"])


def test_expired_refresh_token(client, clock, confidential, tokens):
    rp, secret = confidential
    clock.advance(30 * 86400 + 1)
    oauth_error(refresh(client, rp, secret, tokens["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("value", ["unknown", "", "r" * 300], ids=["unknown", "empty", "oversized"])
def test_unknown_refresh_token(client, confidential, value):
    rp, secret = confidential
    oauth_error(refresh(client, rp, secret, value), "invalid_grant")


def test_refresh_for_a_disabled_user_fails(client, confidential, user, tokens):
    rp, secret = confidential
    user.disabled = True
    db.session.commit()
    oauth_error(refresh(client, rp, secret, tokens["refresh_token"]), "invalid_grant")
    user.disabled = False
    db.session.commit()
    # Disabling is not a reuse: the token was not consumed.
    assert refresh(client, rp, secret, tokens["refresh_token"]).status_code == 200


def test_refresh_needs_client_authentication(client, confidential, tokens):
    rp, secret = confidential
    oauth_error(refresh(client, rp, None, tokens["refresh_token"], auth="none"), "invalid_client", 401)
    assert refresh(client, rp, secret, tokens["refresh_token"]).status_code == 200


def test_public_client_refresh_rotation(client, user):
    rp, _ = make_client(first_party=True, public=True)
    code, verifier = get_code(client, rp, user)
    first = exchange(client, rp, None, code, verifier, auth="none").get_json()
    second = refresh(client, rp, None, first["refresh_token"], auth="none")
    assert second.status_code == 200
    oauth_error(refresh(client, rp, None, first["refresh_token"], auth="none"), "invalid_grant")
    oauth_error(refresh(client, rp, None, second.get_json()["refresh_token"], auth="none"), "invalid_grant")


# --- client credentials ----------------------------------------------------------

@pytest.fixture
def service(app):
    return make_client(name="Számla szolgáltatás", grant_types=["client_credentials"], redirect_uris=[])


@pytest.mark.parametrize("scope", ["company permissions", "permissions"])
def test_client_credentials_token(client, clock, service, scope):
    rp, secret = service
    response = token_request(client, rp, secret, {"grant_type": "client_credentials", "scope": scope})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert body["scope"] == scope
    assert header_of(body["access_token"])["typ"] == "at+jwt"
    claims = decode(client, body["access_token"])
    assert claims["sub"] == rp.client_id
    assert claims["client_id"] == rp.client_id
    assert claims["iss"] == ISSUER
    assert claims["exp"] == clock.timestamp() + 600
    assert not {"company", "permissions", "name", "email", "preferred_username"} & set(claims)


def test_client_credentials_with_client_secret_post(client):
    rp, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], auth_method="client_secret_post")
    response = token_request(client, rp, secret, {"grant_type": "client_credentials", "scope": "permissions"},
                             auth="post")
    assert response.status_code == 200


def test_client_credentials_unknown_scope(client, service):
    rp, secret = service
    oauth_error(token_request(client, rp, secret, {"grant_type": "client_credentials", "scope": "admin"}),
                "invalid_scope")


def test_client_credentials_wrong_secret(client, service):
    rp, _ = service
    oauth_error(token_request(client, rp, "nope", {"grant_type": "client_credentials"}), "invalid_client", 401)


def test_public_client_cannot_use_client_credentials(client):
    rp, _ = make_client(public=True)
    response = token_request(client, rp, None, {"grant_type": "client_credentials"}, auth="none")
    oauth_error(response, "invalid_client", 401)


def test_client_not_registered_for_client_credentials(client, confidential):
    rp, secret = confidential
    oauth_error(token_request(client, rp, secret, {"grant_type": "client_credentials"}), "unauthorized_client")


def test_client_credentials_client_cannot_use_the_code_grant(client, service):
    rp, secret = service
    oauth_error(token_request(client, rp, secret, {"grant_type": "authorization_code", "code": "x",
                                                   "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 64}),
                "unauthorized_client")


# --- malformed requests ----------------------------------------------------------

@pytest.mark.parametrize("grant_type", [
    "password", "implicit", "token", "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange",
    "AUTHORIZATION_CODE",
])
def test_unsupported_grant_type(client, confidential, grant_type):
    rp, secret = confidential
    oauth_error(token_request(client, rp, secret, {"grant_type": grant_type, "username": "u", "password": "p"}),
                "unsupported_grant_type")


def _raw(client, body, content_type, headers=None):
    return client.post(TOKEN_URL, data=body, content_type=content_type, headers=headers or {})


MALFORMED = [
    ("missing-grant-type", b"code=abc", "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("empty-grant-type", b"grant_type=", "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("empty-body", b"", "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("json-body", json.dumps({"grant_type": "client_credentials"}).encode(), "application/json", 400,
     "invalid_request"),
    ("no-content-type", b"grant_type=client_credentials", None, 400, "invalid_request"),
    ("text-plain", b"grant_type=client_credentials", "text/plain", 400, "invalid_request"),
    ("multipart", b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--",
     "multipart/form-data; boundary=x", 400, "invalid_request"),
    ("bad-percent-encoding", b"grant_type=client_credentials&scope=%ZZ%", "application/x-www-form-urlencoded",
     400, "invalid_scope"),
    ("invalid-utf8", b"grant_type=client_credentials&scope=\xff\xfe\xfd", "application/x-www-form-urlencoded",
     400, "invalid_request"),
    ("binary-garbage", bytes(range(256)), "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("repeated-grant-type", b"grant_type=client_credentials&grant_type=client_credentials",
     "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("repeated-scope", b"grant_type=client_credentials&scope=permissions&scope=company",
     "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("oversized-parameter", b"grant_type=client_credentials&scope=" + b"a" * 5000,
     "application/x-www-form-urlencoded", 400, "invalid_request"),
    ("oversized-body", b"grant_type=client_credentials&x=" + b"a" * 70_000, "application/x-www-form-urlencoded",
     413, "invalid_request"),
]


@pytest.mark.parametrize("body,content_type,status,error", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_token_requests_are_client_errors(client, service, body, content_type, status, error):
    rp, secret = service
    response = _raw(client, body, content_type, basic(rp.client_id, secret))
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    payload = response.get_json()
    assert "access_token" not in payload
    assert response.status_code == status
    assert payload["error"] == error


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_token_endpoint_only_accepts_post(client, method):
    response = client.open(TOKEN_URL, method=method)
    assert response.status_code == 405
    assert response.get_json()["error"] == "invalid_request"


def test_parameters_in_the_query_string_are_not_credentials(client, service):
    rp, secret = service
    response = client.post(TOKEN_URL + "?" + urlencode({"client_id": rp.client_id, "client_secret": secret}),
                           data={"grant_type": "client_credentials"})
    oauth_error(response, "invalid_client", 401)


# --- private_key_jwt -------------------------------------------------------------

def rsa_key():
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


@pytest.fixture(scope="module")
def client_keys():
    """Two RSA keys (the registered one and a stranger's) and an EC key, made once."""
    ec = ECKey.generate_key("P-256", private=True)
    ec.ensure_kid()
    return rsa_key(), rsa_key(), ec


def assertion(client_id, key, alg="RS256", **overrides):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER + "/oauth/token",
              "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


def jwt_exchange(browser, rp, signed, code, verifier, with_client_id=True):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}
    if with_client_id:
        data["client_id"] = rp.client_id
    return browser.post(TOKEN_URL, data=data)


@pytest.fixture
def jwt_client(app, client_keys):
    key = client_keys[0]
    rp, secret = make_client(first_party=True, auth_method="private_key_jwt",
                             jwks={"keys": [key.as_dict(private=False)]})
    assert secret is None
    return rp, key


@pytest.mark.parametrize("with_client_id", [True, False], ids=["with-client-id", "assertion-only"])
def test_private_key_jwt_exchange(client, user, jwt_client, with_client_id):
    rp, key = jwt_client
    code, verifier = get_code(client, rp, user)
    response = jwt_exchange(client, rp, assertion(rp.client_id, key), code, verifier, with_client_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert decode(client, body["id_token"])["aud"] == rp.client_id
    assert body["refresh_token"]


@pytest.mark.parametrize("aud", [ISSUER, ISSUER + "/oauth/token", [ISSUER + "/oauth/token", "https://x"]],
                         ids=["issuer", "token-endpoint", "list"])
def test_private_key_jwt_accepted_audiences(client, user, jwt_client, aud):
    rp, key = jwt_client
    code, verifier = get_code(client, rp, user)
    assert jwt_exchange(client, rp, assertion(rp.client_id, key, aud=aud), code, verifier).status_code == 200


def test_private_key_jwt_replayed_assertion(client, user, jwt_client):
    rp, key = jwt_client
    signed = assertion(rp.client_id, key)
    code, verifier = get_code(client, rp, user)
    assert jwt_exchange(client, rp, signed, code, verifier).status_code == 200
    code, verifier = get_code(client, rp, user)
    assert oauth_error(jwt_exchange(client, rp, signed, code, verifier),
                       "invalid_client")["error_description"] == "JWT ID is used before."
    # Same jti in a freshly signed assertion is a replay too.
    jti = jwt.decode(signed, key).claims["jti"]
    oauth_error(jwt_exchange(client, rp, assertion(rp.client_id, key, jti=jti), code, verifier),
                "invalid_client")
    assert jwt_exchange(client, rp, assertion(rp.client_id, key), code, verifier).status_code == 200


def _bad_assertion(case, rp, keys):
    key, stranger, ec = keys
    now = int(time.time())
    return {
        "other-key": lambda: assertion(rp.client_id, stranger),
        "other-key-same-kid": lambda: jwt.encode({"alg": "RS256", "kid": key.kid}, {
            "iss": rp.client_id, "sub": rp.client_id, "aud": ISSUER + "/oauth/token", "jti": "j1",
            "exp": now + 60}, stranger),
        "ec-key-not-registered": lambda: assertion(rp.client_id, ec, alg="ES256"),
        "wrong-audience": lambda: assertion(rp.client_id, key, aud="https://other.example/token"),
        "missing-audience": lambda: assertion(rp.client_id, key, aud=None),
        "expired": lambda: assertion(rp.client_id, key, exp=now - 3600, iat=now - 4000),
        "missing-exp": lambda: assertion(rp.client_id, key, exp=None),
        "missing-jti": lambda: assertion(rp.client_id, key, jti=None),
        "iss-differs-from-sub": lambda: assertion(rp.client_id, key, iss="someone-else"),
        "unknown-sub": lambda: assertion("no-such-client", key, iss="no-such-client"),
        "alg-none": lambda: ".".join([
            base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("="),
            base64.urlsafe_b64encode(json.dumps({"iss": rp.client_id, "sub": rp.client_id,
                                                 "aud": ISSUER + "/oauth/token", "jti": "x",
                                                 "exp": now + 60}).encode()).decode().rstrip("="), ""]),
        "garbage": lambda: "not.a.jwt",
        "tampered-payload": lambda: _tamper(assertion(rp.client_id, key)),
    }[case]()


def _tamper(token):
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 3600
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return ".".join([head, payload, sig])


BAD_ASSERTIONS = ["other-key", "other-key-same-kid", "ec-key-not-registered", "wrong-audience",
                  "missing-audience", "expired", "missing-exp", "missing-jti", "iss-differs-from-sub",
                  "unknown-sub", "alg-none", "garbage", "tampered-payload"]


@pytest.mark.parametrize("case", BAD_ASSERTIONS)
def test_private_key_jwt_bad_assertions(client, user, jwt_client, client_keys, case):
    rp, key = jwt_client
    code, verifier = get_code(client, rp, user)
    response = jwt_exchange(client, rp, _bad_assertion(case, rp, client_keys), code, verifier)
    # No Authorization header was used, so 400 (RFC 6749 §5.2).
    oauth_error(response, "invalid_client", 400)
    assert jwt_exchange(client, rp, assertion(rp.client_id, key), code, verifier).status_code == 200


def test_private_key_jwt_client_cannot_use_a_secret(client, user, jwt_client):
    rp, _ = jwt_client
    code, verifier = get_code(client, rp, user)
    response = client.post(TOKEN_URL, data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
                           headers=basic(rp.client_id, "guess"))
    oauth_error(response, "invalid_client", 401)


def test_secret_client_cannot_use_an_assertion(client, user, confidential, client_keys):
    rp, secret = confidential
    code, verifier = get_code(client, rp, user)
    oauth_error(jwt_exchange(client, rp, assertion(rp.client_id, client_keys[0]), code, verifier),
                "invalid_client")
    assert exchange(client, rp, secret, code, verifier).status_code == 200
