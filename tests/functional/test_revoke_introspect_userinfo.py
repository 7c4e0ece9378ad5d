"""Revocation (RFC 7009), introspection (RFC 7662) and userinfo (OIDC Core
§5.3, RFC 6750 errors) through the Flask test client."""

import base64
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.services import get_services
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_phone_line
from tests.factories import make_user

ISSUER = "http://localhost"
REDIRECT_URI = "https://rp.example/cb"
ALL_SCOPES = "openid profile email phone company permissions subscriptions"


# --- helpers -------------------------------------------------------------------

def basic(client_id, secret):
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def issue(browser, rp, secret, principal, scope="openid profile"):
    """Log in (or reuse the browser's session), get a code, exchange it; returns the token response."""
    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": REDIRECT_URI, "scope": scope,
              "state": "s", "nonce": secrets.token_urlsafe(8),
              "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    response = browser.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 302
    if urlsplit(response.headers["Location"]).path.startswith("/login"):
        response = browser.get(browser.get(login_url(response.headers["Location"], principal)).headers["Location"])
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    headers = basic(rp.client_id, secret) if secret else {}
    if not secret:
        data["client_id"] = rp.client_id
    response = browser.post("/oauth/token", data=data, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refresh(browser, rp, secret, refresh_token):
    return browser.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                        headers=basic(rp.client_id, secret))


def revoke(browser, rp, secret, token, hint=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    if secret:
        return browser.post("/oauth/revoke", data=data, headers=basic(rp.client_id, secret))
    return browser.post("/oauth/revoke", data={**data, "client_id": rp.client_id})


def introspect(browser, rp, secret, token, hint=None, expect=200):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    response = browser.post("/oauth/introspect", data=data, headers=basic(rp.client_id, secret))
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def userinfo(browser, token, method="GET"):
    return browser.open("/oauth/userinfo", method=method, headers={"Authorization": f"Bearer {token}"})


def assert_bearer_error(response, status, error=None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("bearer"), challenge  # auth-scheme is case-insensitive
    if error:
        assert f'error="{error}"' in challenge
        assert response.get_json()["error"] == error
    body = response.get_data(as_text=True)
    assert '"sub"' not in body


def decode(browser, token):
    return jwt.decode(token, KeySet.import_key_set(browser.get("/jwks.json").get_json())).claims


@pytest.fixture
def company(app):
    return make_company(slug="acme", name="Acme Kft.")


@pytest.fixture
def user(company):
    user = make_user(company, username="anna", email="anna@acme.example", phone="+36301234567",
                     permissions=["usage.view", "invoices.view", "not.in.catalog"], display_name="Kiss Anna",
                     preferred_locale="hu")
    user.password_changed_at = get_services().clock.now() - timedelta(days=1)
    db.session.commit()
    return user


@pytest.fixture
def rp(app):
    return make_client(first_party=True)


@pytest.fixture
def other_rp(app):
    return make_client(first_party=True, name="Other RP")


@pytest.fixture
def resource_server(app):
    """A client the operator registered as a resource server: it may introspect every access token."""
    return make_client(name="Resource server", grant_types=["client_credentials"], redirect_uris=[],
                       resource_server=True)


@pytest.fixture
def tokens(client, rp, user):
    client_, secret = rp
    return issue(client, client_, secret, user, scope="openid profile permissions")


# --- revocation ------------------------------------------------------------------

@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"], ids=["no-hint", "right-hint", "wrong-hint"])
def test_revoke_access_token(client, rp, tokens, hint):
    rp_client, secret = rp
    assert introspect(client, rp_client, secret, tokens["access_token"])["active"] is True
    response = revoke(client, rp_client, secret, tokens["access_token"], hint)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert introspect(client, rp_client, secret, tokens["access_token"]) == {"active": False}
    assert_bearer_error(userinfo(client, tokens["access_token"]), 401, "invalid_token")


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"], ids=["no-hint", "right-hint", "wrong-hint"])
def test_revoke_refresh_token_ends_the_family(client, rp, tokens, hint):
    rp_client, secret = rp
    second = refresh(client, rp_client, secret, tokens["refresh_token"]).get_json()
    assert revoke(client, rp_client, secret, second["refresh_token"], hint).status_code == 200
    assert refresh(client, rp_client, secret, second["refresh_token"]).get_json()["error"] == "invalid_grant"
    for access_token in (tokens["access_token"], second["access_token"]):
        assert introspect(client, rp_client, secret, access_token) == {"active": False}
        assert_bearer_error(userinfo(client, access_token), 401, "invalid_token")
    assert introspect(client, rp_client, secret, second["refresh_token"]) == {"active": False}


def test_revoking_one_family_leaves_others_alone(client, rp, user, tokens):
    rp_client, secret = rp
    other = issue(client, rp_client, secret, user)
    revoke(client, rp_client, secret, tokens["refresh_token"])
    assert introspect(client, rp_client, secret, other["access_token"])["active"] is True
    assert refresh(client, rp_client, secret, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "x" * 2000, "eyJhbGciOiJIUzI1NiJ9.e30.abc"],
                         ids=["unknown", "long", "jwt-looking"])
def test_revoking_an_unknown_token_is_ok(client, rp, token):
    rp_client, secret = rp
    response = revoke(client, rp_client, secret, token)
    assert response.status_code == 200


def test_revoking_twice_is_ok(client, rp, tokens):
    rp_client, secret = rp
    assert revoke(client, rp_client, secret, tokens["access_token"]).status_code == 200
    assert revoke(client, rp_client, secret, tokens["access_token"]).status_code == 200
    assert introspect(client, rp_client, secret, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoking_another_clients_token_is_refused(client, rp, other_rp, tokens, which):
    # RFC 7009 §2.1: the request is refused and the client told so; the token stays valid.
    rp_client, secret = rp
    other, other_secret = other_rp
    response = revoke(client, other, other_secret, tokens[which])
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request",
                                   "error_description": "The token was not issued to this client"}
    assert introspect(client, rp_client, secret, tokens["access_token"])["active"] is True
    assert userinfo(client, tokens["access_token"]).status_code == 200
    assert refresh(client, rp_client, secret, tokens["refresh_token"]).status_code == 200


REVOKE_AUTH_FAILURES = [
    ("wrong-secret", lambda c, s: ({}, basic(c.client_id, "wrong"))),
    ("no-credentials", lambda c, s: ({}, {})),
    ("client-id-only", lambda c, s: ({"client_id": c.client_id}, {})),
    ("unknown-client", lambda c, s: ({}, basic("nobody", "x"))),
]


@pytest.mark.parametrize("auth", [a for _, a in REVOKE_AUTH_FAILURES], ids=[i for i, _ in REVOKE_AUTH_FAILURES])
def test_revocation_requires_client_authentication(client, rp, tokens, auth):
    rp_client, secret = rp
    data, headers = auth(rp_client, secret)
    response = client.post("/oauth/revoke", data={"token": tokens["access_token"], **data}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert introspect(client, rp_client, secret, tokens["access_token"])["active"] is True


def test_public_client_revokes_its_own_token(client, user):
    public, _ = make_client(first_party=True, public=True)
    rs, rs_secret = make_client(name="rs", grant_types=["client_credentials"], redirect_uris=[],
                                 resource_server=True)
    issued = issue(client, public, None, user)
    assert revoke(client, public, None, issued["refresh_token"]).status_code == 200
    assert introspect(client, rs, rs_secret, issued["access_token"]) == {"active": False}


def test_revocation_without_token_parameter(client, rp):
    rp_client, secret = rp
    response = client.post("/oauth/revoke", data={}, headers=basic(rp_client.client_id, secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


# --- introspection ---------------------------------------------------------------

def test_introspection_of_an_active_access_token(client, clock, rp, user, tokens):
    rp_client, secret = rp
    body = introspect(client, rp_client, secret, tokens["access_token"])
    jwt_claims = decode(client, tokens["access_token"])
    now = clock.timestamp()
    assert body == {
        "active": True,
        "scope": "openid profile permissions",
        "client_id": rp_client.client_id,
        "sub": user.sub,
        "aud": rp_client.client_id,
        "exp": now + 600,
        "iat": now,
        "iss": ISSUER,
        "token_type": "Bearer",
        "jti": jwt_claims["jti"],
        "username": "anna@acme",
    }


def test_resource_server_introspects_a_users_access_token(client, rp, resource_server, user, tokens):
    rs, rs_secret = resource_server
    body = introspect(client, rs, rs_secret, tokens["access_token"])
    assert body["active"] is True
    assert body["sub"] == user.sub
    assert body["client_id"] == rp[0].client_id


def test_introspection_of_a_refresh_token_by_its_own_client(client, rp, user, tokens):
    rp_client, secret = rp
    body = introspect(client, rp_client, secret, tokens["refresh_token"], hint="refresh_token")
    assert body["active"] is True
    assert body["client_id"] == rp_client.client_id
    assert body["sub"] == user.sub
    assert body["token_type"] == "refresh_token"
    assert body["scope"] == "openid profile permissions"
    assert "jti" not in body


@pytest.mark.parametrize("introspector", ["other_rp", "resource_server"])
def test_introspection_of_a_refresh_token_by_another_client(client, rp, tokens, request, introspector):
    other, other_secret = request.getfixturevalue(introspector)
    assert introspect(client, other, other_secret, tokens["refresh_token"]) == {"active": False}
    assert introspect(client, rp[0], rp[1], tokens["refresh_token"])["active"] is True


def test_introspection_of_a_rotated_refresh_token(client, rp, tokens):
    rp_client, secret = rp
    assert refresh(client, rp_client, secret, tokens["refresh_token"]).status_code == 200
    assert introspect(client, rp_client, secret, tokens["refresh_token"]) == {"active": False}


@pytest.mark.parametrize("elapsed,active", [(599, True), (600, False), (601, False)], ids=["599s", "600s", "601s"])
def test_introspection_of_an_expiring_access_token(client, clock, rp, tokens, elapsed, active):
    rp_client, secret = rp
    clock.advance(elapsed)
    assert introspect(client, rp_client, secret, tokens["access_token"])["active"] is active


@pytest.mark.parametrize("token", ["unknown", "", "a.b.c"], ids=["unknown", "empty", "jwt-shaped"])
def test_introspection_of_an_unknown_token(client, rp, token):
    rp_client, secret = rp
    assert introspect(client, rp_client, secret, token) == {"active": False}


def test_introspection_of_a_forged_jwt(client, rp, tokens):
    # Same claims, different signature: the row lookup is by the whole token's hash.
    rp_client, secret = rp
    head, payload, _ = tokens["access_token"].split(".")
    forged = f"{head}.{payload}.{base64.urlsafe_b64encode(b'x' * 256).decode().rstrip('=')}"
    assert introspect(client, rp_client, secret, forged) == {"active": False}
    assert_bearer_error(userinfo(client, forged), 401, "invalid_token")


INTROSPECTION_AUTH_FAILURES = [
    ("no-credentials", "none"),
    ("public-client", "public"),
    ("wrong-secret", "wrong"),
    ("unknown-client", "unknown"),
]


@pytest.mark.parametrize("case", [c for _, c in INTROSPECTION_AUTH_FAILURES],
                         ids=[i for i, _ in INTROSPECTION_AUTH_FAILURES])
def test_introspection_requires_client_authentication(client, rp, tokens, case):
    rp_client, _ = rp
    data, headers = {"token": tokens["access_token"]}, {}
    if case == "public":
        public, _ = make_client(public=True)
        data["client_id"] = public.client_id
    elif case == "wrong":
        headers = basic(rp_client.client_id, "wrong")
    elif case == "unknown":
        headers = basic("nobody", "x")
    response = client.post("/oauth/introspect", data=data, headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "invalid_client"
    assert "active" not in body
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_introspection_of_a_client_credentials_token(client, clock, resource_server):
    rs, rs_secret = resource_server
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "permissions"},
                           headers=basic(rs.client_id, rs_secret))
    access_token = response.get_json()["access_token"]
    body = introspect(client, rs, rs_secret, access_token)
    assert body["active"] is True
    assert body["sub"] == rs.client_id
    assert body["client_id"] == rs.client_id
    assert body["scope"] == "permissions"
    assert "username" not in body


# --- userinfo --------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_with_bearer(client, user, tokens, method):
    response = userinfo(client, tokens["access_token"], method)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "sub": user.sub,
        "name": "Kiss Anna",
        "preferred_username": "anna@acme",
        "locale": "hu",
        "permissions": ["invoices.view", "usage.view"],
    }


USERINFO_MISSING = [
    ("no-header", {}),
    ("empty-bearer", {"Authorization": "Bearer "}),
    ("basic-scheme", {"Authorization": "Basic Zm9vOmJhcg=="}),
]


@pytest.mark.parametrize("headers", [h for _, h in USERINFO_MISSING], ids=[i for i, _ in USERINFO_MISSING])
def test_userinfo_without_a_token(client, headers):
    response = client.get("/oauth/userinfo", headers=headers)
    assert_bearer_error(response, 401)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000], ids=["garbage", "jwt-shaped", "oversized"])
def test_userinfo_with_an_invalid_token(client, token):
    assert_bearer_error(userinfo(client, token), 401, "invalid_token")


def test_userinfo_with_a_refresh_token(client, tokens):
    assert_bearer_error(userinfo(client, tokens["refresh_token"]), 401, "invalid_token")


def test_userinfo_with_an_id_token(client, tokens):
    assert_bearer_error(userinfo(client, tokens["id_token"]), 401, "invalid_token")


def test_userinfo_with_an_expired_token(client, clock, tokens):
    clock.advance(601)
    assert_bearer_error(userinfo(client, tokens["access_token"]), 401, "invalid_token")


def test_userinfo_with_a_token_of_another_issuer(make_app, user, tokens):
    other = make_app(issuer="https://other.example")
    with other.app_context():
        response = userinfo(other.test_client(), tokens["access_token"])
    assert_bearer_error(response, 401, "invalid_token")


def test_userinfo_with_a_client_credentials_token_without_openid(client, resource_server):
    rs, rs_secret = resource_server
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "permissions"},
                           headers=basic(rs.client_id, rs_secret))
    assert_bearer_error(userinfo(client, response.get_json()["access_token"]), 403, "insufficient_scope")


def test_userinfo_with_a_client_credentials_token_with_openid(client, resource_server):
    # The token has the scope but no end-user behind it.
    rs, rs_secret = resource_server
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "openid"},
                           headers=basic(rs.client_id, rs_secret))
    assert response.status_code == 200
    assert_bearer_error(userinfo(client, response.get_json()["access_token"]), 401, "invalid_token")


def test_user_token_without_openid_scope_is_refused_by_userinfo(client, rp, user):
    rp_client, secret = rp
    issued = issue(client, rp_client, secret, user, scope="profile permissions")
    assert "id_token" not in issued
    assert_bearer_error(userinfo(client, issued["access_token"]), 403, "insufficient_scope")


@pytest.mark.parametrize("change", ["disabled", "deleted"])
def test_tokens_of_a_user_disabled_later_die(client, rp, user, tokens, change):
    rp_client, secret = rp
    if change == "disabled":
        user.disabled = True
    else:
        user.deleted_at = get_services().clock.now()
    db.session.commit()
    assert introspect(client, rp_client, secret, tokens["access_token"]) == {"active": False}
    assert introspect(client, rp_client, secret, tokens["refresh_token"]) == {"active": False}
    assert_bearer_error(userinfo(client, tokens["access_token"]), 401, "invalid_token")


VERIFIED_USER_CLAIMS = {
    "openid": {},
    "profile": {"name": "Kiss Anna", "preferred_username": "anna@acme", "locale": "hu"},
    "email": {"email": "anna@acme.example", "email_verified": True},
    "phone": {"phone_number": "+36301234567", "phone_number_verified": True},
    "company": {"company": "COMPANY", "company_role": "user"},
    "permissions": {"permissions": ["invoices.view", "usage.view"]},
    "subscriptions": {"subscriptions": []},
}
SCOPE_CASES = ["openid", "openid profile", "openid email", "openid phone", "openid company", "openid permissions",
               "openid subscriptions", "openid email phone", "openid company permissions", ALL_SCOPES]


@pytest.mark.parametrize("scope", SCOPE_CASES, ids=[s.replace(" ", "+") for s in SCOPE_CASES])
def test_userinfo_claims_follow_the_granted_scopes(client, rp, user, company, scope):
    rp_client, secret = rp
    issued = issue(client, rp_client, secret, user, scope=scope)
    expected = {"sub": user.sub}
    for name in scope.split():
        expected.update(VERIFIED_USER_CLAIMS[name])
    if "company" in expected:
        expected["company"] = {"id": company.public_id, "slug": "acme", "name": "Acme Kft."}
    info = userinfo(client, issued["access_token"]).get_json()
    assert info == expected
    # The ID token carries the same user claims (DESIGN.md §2).
    id_claims = decode(client, issued["id_token"])
    protocol = {"iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"}
    assert {k: v for k, v in id_claims.items() if k not in protocol} == expected


def test_userinfo_of_an_unverified_new_user(client, rp, company):
    rp_client, secret = rp
    fresh = make_user(company, username="bela", email="bela@acme.example", phone="+36301112233")
    issued = issue(client, rp_client, secret, fresh, scope="openid profile email phone")
    assert userinfo(client, issued["access_token"]).get_json() == {
        "sub": fresh.sub, "name": "bela@acme", "preferred_username": "bela@acme",
        "email": "bela@acme.example", "email_verified": False,
        "phone_number": "+36301112233", "phone_number_verified": False,
    }


def test_userinfo_of_the_main_admin(client, rp, company):
    rp_client, secret = rp
    admin = make_user(company, username="admin")
    issued = issue(client, rp_client, secret, admin, scope="openid company permissions")
    info = userinfo(client, issued["access_token"]).get_json()
    assert info["company_role"] == "main_admin"
    assert info["permissions"] == sorted(["invoices.view", "invoices.pay", "subscriptions.view",
                                          "subscriptions.manage", "orders.create", "usage.view", "users.manage"])


def test_userinfo_of_a_phone_line(client, rp, company):
    rp_client, secret = rp
    line = make_phone_line(company, number="+36207654321", permissions=["invoices.view", "users.manage"])
    issued = issue(client, rp_client, secret, line, scope=ALL_SCOPES)
    info = userinfo(client, issued["access_token"]).get_json()
    assert info == {
        "sub": line.sub,
        "name": "+36207654321",
        "preferred_username": "+36207654321",
        "phone_number": "+36207654321",
        "phone_number_verified": True,
        "permissions": ["invoices.view"],  # users.manage is not phone-applicable
        "subscriptions": [],
    }
    assert line.sub != "+36207654321" and "3620" not in line.sub
    access = decode(client, issued["access_token"])
    assert "company" not in access
    assert access["permissions"] == ["invoices.view"]


def test_userinfo_reflects_permission_changes(client, rp, user, tokens):
    user.permissions = ["invoices.pay"]
    db.session.commit()
    assert userinfo(client, tokens["access_token"]).get_json()["permissions"] == ["invoices.pay"]


def test_userinfo_answers_for_the_tokens_user_not_the_browser(app, rp, company):
    rp_client, secret = rp
    anna = make_user(company, username="anna2")
    bela = make_user(company, username="bela2")
    anna_tokens = issue(app.test_client(), rp_client, secret, anna)
    bela_browser = app.test_client()
    issue(bela_browser, rp_client, secret, bela)
    info = userinfo(bela_browser, anna_tokens["access_token"]).get_json()
    assert info["sub"] == anna.sub
    assert json.dumps(info).count(bela.sub) == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"}],
                         ids=["no-credentials", "other-scheme", "empty-bearer"])
def test_userinfo_without_a_bearer_token_gets_a_bare_challenge(client, headers):
    """RFC 6750 §3.1: no error code when the request carried no bearer token."""
    response = client.get("/oauth/userinfo", headers=headers)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and "error=" not in challenge


# --- who may introspect what (RFC 7662 §2.1, §4: no token scanning) ------------------

@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_a_client_that_is_not_a_resource_server_sees_only_its_own_tokens(client, rp, tokens, which):
    """Another confidential client gets exactly the answer for an unknown token."""
    scanner, scanner_secret = make_client(name="Scanner", grant_types=["client_credentials"], redirect_uris=[])
    assert introspect(client, scanner, scanner_secret, tokens[which]) == {"active": False}
    assert introspect(client, rp[0], rp[1], tokens[which])["active"] is True


def test_a_client_introspects_its_own_client_credentials_token(client):
    service, secret = make_client(name="Service", grant_types=["client_credentials"], redirect_uris=[])
    issued = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers=basic(service.client_id, secret)).get_json()
    body = introspect(client, service, secret, issued["access_token"])
    assert body["active"] is True and body["sub"] == service.client_id


def test_a_resource_server_sees_any_clients_access_token_but_not_refresh_tokens(client, rp, tokens,
                                                                                resource_server):
    rs, rs_secret = resource_server
    assert introspect(client, rs, rs_secret, tokens["access_token"])["active"] is True
    assert introspect(client, rs, rs_secret, tokens["refresh_token"]) == {"active": False}


# --- a token_type_hint is only a hint (RFC 7009 §2.1, §4.1.2; RFC 7662 §2.1) ----------

@pytest.mark.parametrize("hint", ["id_token", "urn:ietf:params:oauth:token-type:jwt", "nonsense", ""])
@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_an_unknown_hint_is_ignored_by_revocation(client, rp, tokens, hint, which):
    rp_client, secret = rp
    response = client.post("/oauth/revoke", data={"token": tokens[which], "token_type_hint": hint},
                           headers=basic(rp_client.client_id, secret))
    assert response.status_code == 200, response.get_json()
    assert introspect(client, rp_client, secret, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("hint", ["id_token", "nonsense"])
def test_an_unknown_hint_is_ignored_by_introspection(client, rp, tokens, hint):
    rp_client, secret = rp
    assert introspect(client, rp_client, secret, tokens["access_token"], hint=hint)["active"] is True
    assert introspect(client, rp_client, secret, tokens["refresh_token"], hint=hint)["active"] is True
