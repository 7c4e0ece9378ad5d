"""Company and permission claims (DESIGN.md §2) in the ID token, userinfo and
the JWT access token, and how admin-area changes reach them: a permission
change shows at the next token issue or refresh; a disabled or deleted user's
access token introspects as inactive and its refresh token fails."""

import base64
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws

from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import admin_browser
from tests.login_helpers import admin_post
from tests.login_helpers import id_token_claims
from tests.login_helpers import new_browser
from tests.login_helpers import post_form

REDIRECT_URI = "https://rp.example/cb"
SCOPE = "openid profile company permissions"
ADMIN_PHONE = "+36301000001"
ALL_CODES = ["invoices.pay", "invoices.view", "orders.create", "subscriptions.manage", "subscriptions.view",
             "usage.view", "users.manage"]


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone=ADMIN_PHONE)
    return company


@pytest.fixture
def anna(acme):
    return make_login_user(acme, username="anna", phone="+36301234567", permissions=["usage.view", "invoices.view"])


@pytest.fixture
def rp(app):
    client, secret = make_client(first_party=True, scope="openid profile email phone company permissions")
    client.secret = secret
    return client


@pytest.fixture
def admin(app, acme):
    return admin_browser(app, "admin@acme", phone=ADMIN_PHONE)


def basic(rp):
    return {"Authorization": "Basic " + base64.b64encode(f"{rp.client_id}:{rp.secret}".encode()).decode()}


def issue(app, rp, principal, scope=SCOPE):
    """A browser of ``principal`` goes through the code flow (logging in through
    the test seam); returns the token response."""
    browser = new_browser(app)
    verifier = secrets.token_urlsafe(48)
    response = browser.get("/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": rp.client_id, "redirect_uri": REDIRECT_URI, "scope": scope,
        "state": "s", "nonce": secrets.token_urlsafe(8), "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256"}))
    assert response.status_code == 302
    response = browser.get(browser.get(login_url(response.headers["Location"], principal)).headers["Location"])
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    response = browser.post("/oauth/token", headers=basic(rp), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refresh(client, rp, token):
    return client.post("/oauth/token", headers=basic(rp),
                       data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})


def introspect(client, rp, access_token):
    response = client.post("/oauth/introspect", headers=basic(rp), data={"token": access_token})
    assert response.status_code == 200
    return response.get_json()


def userinfo(client, access_token):
    return client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def access_token_claims(client, token):
    header = jws.extract_compact(token["access_token"].encode()).headers()
    assert header["typ"] == "at+jwt"
    return id_token_claims(client, token["access_token"])  # same keys, same verification


def company_claims(claims):
    return {k: claims.get(k) for k in ("company", "company_role", "permissions")}


# --- discovery -----------------------------------------------------------------------------------
def test_discovery_lists_the_company_and_permissions_scopes_and_claims(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert {"company", "permissions"} <= set(document["scopes_supported"])
    assert {"company", "company_role", "permissions"} <= set(document["claims_supported"])


# --- the claims ------------------------------------------------------------------------------------
@pytest.mark.parametrize("who, role, permissions", [
    ("anna", "user", ["invoices.view", "usage.view"]),
    ("admin", "main_admin", ALL_CODES),
], ids=["user", "main-admin"])
def test_company_and_permission_claims_in_id_token_userinfo_and_access_token(app, client, rp, acme, anna, who,
                                                                             role, permissions):
    from idp.models.company import BusinessUser

    principal = anna if who == "anna" else BusinessUser.query.filter_by(company_id=acme.id, username="admin").one()
    token = issue(app, rp, principal)
    expected = {"company": {"id": acme.public_id, "slug": "acme", "name": "Acme Kft."}, "company_role": role,
                "permissions": permissions}
    id_claims = id_token_claims(client, token["id_token"])
    assert company_claims(id_claims) == expected
    assert id_claims["permissions"] == sorted(id_claims["permissions"])
    info = userinfo(client, token["access_token"]).get_json()
    assert company_claims(info) == expected
    at = access_token_claims(client, token)
    assert at["company"] == expected["company"] and at["permissions"] == permissions
    assert at["sub"] == principal.sub and at["client_id"] == rp.client_id


@pytest.mark.parametrize("scope, present", [
    ("openid", set()),
    ("openid company", {"company", "company_role"}),
    ("openid permissions", {"permissions"}),
], ids=["openid-only", "company-only", "permissions-only"])
def test_claims_only_for_the_granted_scopes(app, client, rp, anna, scope, present):
    token = issue(app, rp, anna, scope=scope)
    names = {"company", "company_role", "permissions"}
    assert names & set(id_token_claims(client, token["id_token"])) == present
    assert names & set(userinfo(client, token["access_token"]).get_json()) == present
    assert {"company", "permissions"} & set(access_token_claims(client, token)) == present - {"company_role"}


def test_phone_line_gets_its_own_permissions_and_no_company_role(app, client, rp, acme):
    line = make_phone_line(acme, number="+36201234567", permissions=["usage.view", "invoices.view"])
    token = issue(app, rp, line)
    claims = id_token_claims(client, token["id_token"])
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert "company_role" not in claims and "company" not in claims


# --- admin changes reach the tokens --------------------------------------------------------------
def test_permission_change_in_the_admin_area_shows_at_the_next_refresh(app, client, rp, anna, admin):
    token = issue(app, rp, anna)
    assert id_token_claims(client, token["id_token"])["permissions"] == ["invoices.view", "usage.view"]

    response = post_form(admin, "/admin/rights", {"row": f"user:{anna.sub}",
                                                  f"user:{anna.sub}": ["orders.create", "invoices.pay"]})
    assert response.status_code == 302

    response = refresh(client, rp, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    renewed = response.get_json()
    assert id_token_claims(client, renewed["id_token"])["permissions"] == ["invoices.pay", "orders.create"]
    assert access_token_claims(client, renewed)["permissions"] == ["invoices.pay", "orders.create"]
    assert userinfo(client, renewed["access_token"]).get_json()["permissions"] == ["invoices.pay", "orders.create"]
    assert introspect(client, rp, renewed["access_token"])["active"] is True


def test_permission_change_shows_at_the_next_token_issue(app, client, rp, anna, admin):
    issue(app, rp, anna)
    post_form(admin, "/admin/rights", {"row": f"user:{anna.sub}", f"user:{anna.sub}": []})
    token = issue(app, rp, anna)
    assert id_token_claims(client, token["id_token"])["permissions"] == []
    assert access_token_claims(client, token)["permissions"] == []


def test_phone_line_restriction_shows_at_the_next_refresh(app, client, rp, acme, admin):
    line = make_phone_line(acme, number="+36201234567", permissions=["usage.view", "invoices.view"])
    token = issue(app, rp, line)
    post_form(admin, "/admin/rights", {"row": f"line:{line.sub}", f"line:{line.sub}": ["invoices.view"]})
    renewed = refresh(client, rp, token).get_json()
    assert id_token_claims(client, renewed["id_token"])["permissions"] == ["invoices.view"]


def test_delegated_admin_change_keeps_what_it_cannot_grant_in_the_token(app, client, rp, acme, anna):
    make_login_user(acme, username="dora", phone="+36301000002", permissions=["users.manage", "usage.view"])
    dora = admin_browser(app, "dora@acme", phone="+36301000002")
    token = issue(app, rp, anna)
    post_form(dora, "/admin/rights", {"row": f"user:{anna.sub}", f"user:{anna.sub}": []})  # unticks usage.view
    renewed = refresh(client, rp, token).get_json()
    assert id_token_claims(client, renewed["id_token"])["permissions"] == ["invoices.view"]


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_disabled_or_deleted_user_tokens_stop_working(app, client, rp, anna, admin, action):
    token = issue(app, rp, anna)
    assert introspect(client, rp, token["access_token"])["active"] is True

    assert admin_post(admin, f"/admin/users/{anna.sub}/{action}", {}).status_code == 302

    assert introspect(client, rp, token["access_token"]) == {"active": False}
    response = refresh(client, rp, token)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert userinfo(client, token["access_token"]).status_code == 401


def test_re_enabled_user_needs_a_new_login(app, client, rp, anna, admin):
    token = issue(app, rp, anna)
    admin_post(admin, f"/admin/users/{anna.sub}/disable", {})
    admin_post(admin, f"/admin/users/{anna.sub}/enable", {})
    assert introspect(client, rp, token["access_token"]) == {"active": False}
    assert refresh(client, rp, token).get_json()["error"] == "invalid_grant"
    fresh = issue(app, rp, anna)
    assert introspect(client, rp, fresh["access_token"])["active"] is True


def test_disabled_user_tokens_die_even_without_revocation(app, client, rp, anna):
    """The principal check itself (not only the revocation the admin action does)."""
    from idp.extensions import db

    token = issue(app, rp, anna)
    anna.disabled = True
    db.session.commit()
    assert introspect(client, rp, token["access_token"]) == {"active": False}
    assert refresh(client, rp, token).get_json()["error"] == "invalid_grant"
