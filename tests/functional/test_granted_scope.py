"""Which scope a grant gets (RFC 6749 §3.3), decided in one place for every
grant, and ``offline_access`` (OIDC Core §11): accepted, advertised, and a
refresh token that outlives the login only when it was granted."""

import re

import pytest
from flask import current_app

from idp.extensions import db
from idp.grants.scopes import granted_scope
from idp.models.session import LoginSession
from tests.factories import make_client
from tests.factories import make_user
from tests.oauth_helpers import authorize
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import decode
from tests.oauth_helpers import oauth_error
from tests.oauth_helpers import query_of
from tests.oauth_helpers import refresh
from tests.oauth_helpers import token_request
from tests.oauth_helpers import tokens_for


@pytest.fixture
def user(app):
    return make_user(permissions=["invoices.view"])


def client_credentials(browser, rp, secret, scope):
    return token_request(browser, rp, secret, {"grant_type": "client_credentials", "scope": scope})


# --- one decision for every grant ---------------------------------------------------

CLIENT_CREDENTIALS_CASES = [
    ("escalation", "openid", "company permissions", "invalid_scope"),
    ("one-unregistered", "openid permissions", "permissions company", "invalid_scope"),
    ("unknown", "openid", "admin", "invalid_scope"),
    ("registered", "openid permissions", "permissions", "permissions"),
    ("empty-gives-default", "openid permissions", "", "openid permissions"),
    ("absent-gives-default", "permissions", None, "permissions"),
    ("offline-access-needs-a-user", "permissions offline_access", "permissions offline_access", "permissions"),
    ("default-never-offline", "permissions offline_access", None, "permissions"),
]


@pytest.mark.parametrize("registered,requested,expected", [c[1:] for c in CLIENT_CREDENTIALS_CASES],
                         ids=[c[0] for c in CLIENT_CREDENTIALS_CASES])
def test_client_credentials_gets_only_what_the_client_is_registered_for(client, registered, requested,
                                                                       expected):
    rp, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], scope=registered)
    response = client_credentials(client, rp, secret, requested)
    if expected == "invalid_scope":
        body = oauth_error(response, "invalid_scope")
        assert re.fullmatch(r"[ -~]+", body["error_description"])
        return
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scope"] == expected
    claims = decode(client, body["access_token"])
    assert claims["scope"] == expected
    assert claims["sub"] == rp.client_id
    assert not {"company", "permissions"} & set(claims)


def test_the_authorization_endpoint_refuses_an_unregistered_scope(client, user):
    rp, _ = make_client(first_party=True, scope="openid profile")
    params, _ = authorize_params(rp, scope="openid company")
    response = client.get("/oauth/authorize", query_string=params)
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_scope"
    assert query["error_description"] == "The client is not registered for the scope company"
    assert query["state"] == params["state"]


def test_an_empty_scope_at_the_authorization_endpoint_gives_the_registered_default(client, user):
    rp, secret = make_client(first_party=True, scope="profile permissions offline_access")
    params, verifier = authorize_params(rp, scope=None)
    query = query_of(authorize(client, params, user).headers["Location"])
    body = token_request(client, rp, secret, {"grant_type": "authorization_code", "code": query["code"],
                                              "redirect_uri": params["redirect_uri"],
                                              "code_verifier": verifier}).get_json()
    assert body["scope"] == "profile permissions"
    assert decode(client, body["access_token"])["permissions"] == ["invoices.view"]


def test_a_refresh_loses_what_the_registration_no_longer_allows(client, user):
    rp, secret = make_client(first_party=True, scope="openid profile permissions")
    issued = tokens_for(client, rp, secret, user, scope="openid profile permissions")
    rp.scope = "openid profile"
    db.session.commit()
    oauth_error(refresh(client, rp, secret, issued["refresh_token"], scope="openid permissions"),
                "invalid_scope")
    body = refresh(client, rp, secret, issued["refresh_token"]).get_json()
    assert body["scope"] == "openid profile"
    assert "permissions" not in decode(client, body["access_token"])
    assert "permissions" not in decode(client, body["id_token"])


def test_every_grant_decides_its_scope_in_the_one_place(app):
    """A grant added later must use idp.grants.scopes: each registered grant class does."""
    from idp.oidc.server import authorization
    from idp.grants.scopes import ScopePolicy

    for grant_class, _ in authorization._token_grants:
        refresh_override = getattr(grant_class, "_validate_token_scope", None)
        assert issubclass(grant_class, ScopePolicy) or (
            refresh_override is not None and "granted_scope" in refresh_override.__code__.co_names), grant_class
    for grant_class, _ in authorization._authorization_grants:
        assert issubclass(grant_class, ScopePolicy), grant_class


def test_granted_scope_table(app):
    rp, _ = make_client(scope="openid profile offline_access")
    no_refresh, _ = make_client(scope="openid profile offline_access", grant_types=["authorization_code"])
    assert granted_scope(rp, "openid offline_access", "authorization_code") == "openid offline_access"
    assert granted_scope(no_refresh, "openid offline_access", "authorization_code") == "openid"
    assert granted_scope(rp, "profile openid profile", "authorization_code") == "profile openid"
    assert granted_scope(rp, None, "refresh_token", original="openid offline_access") == "openid offline_access"
    assert current_app.config["SCOPES"][-1] == "offline_access"


# --- offline_access -----------------------------------------------------------------

def test_discovery_advertises_offline_access(client):
    assert "offline_access" in client.get("/.well-known/openid-configuration").get_json()["scopes_supported"]


def end_login_sessions():
    for login in LoginSession.query.all():
        login.ended_at = login.created_at
    db.session.commit()


def test_an_ordinary_refresh_token_ends_with_the_login_session(client, user):
    rp, secret = make_client(first_party=True)
    issued = tokens_for(client, rp, secret, user, scope="openid")
    assert "refresh_token" in issued
    first = refresh(client, rp, secret, issued["refresh_token"])
    assert first.status_code == 200
    end_login_sessions()
    oauth_error(refresh(client, rp, secret, first.get_json()["refresh_token"]), "invalid_grant")


def test_an_ordinary_refresh_token_ends_when_the_login_session_expires(client, clock, user):
    rp, secret = make_client(first_party=True)
    issued = tokens_for(client, rp, secret, user, scope="openid")
    clock.advance(int(current_app.config["LOGIN_SESSION_TTL"]) + 1)
    oauth_error(refresh(client, rp, secret, issued["refresh_token"]), "invalid_grant")


def test_an_offline_refresh_token_outlives_the_login_session(client, clock, user):
    rp, secret = make_client(first_party=True)
    issued = tokens_for(client, rp, secret, user, scope="openid offline_access")
    assert issued["scope"] == "openid offline_access"
    end_login_sessions()
    clock.advance(int(current_app.config["LOGIN_SESSION_TTL"]) + 1)
    again = refresh(client, rp, secret, issued["refresh_token"])
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["scope"] == "openid offline_access"
    assert decode(client, again.get_json()["id_token"])["sub"] == user.sub


def test_offline_access_without_the_refresh_token_grant_is_left_out(client, user):
    rp, secret = make_client(first_party=True, grant_types=["authorization_code"])
    issued = tokens_for(client, rp, secret, user, scope="openid offline_access")
    assert issued["scope"] == "openid"
    assert "refresh_token" not in issued


def test_a_third_party_asks_consent_for_offline_access(client, user):
    rp, secret = make_client(name="Külső alkalmazás", first_party=False)
    params, _ = authorize_params(rp, scope="openid offline_access", prompt="none")
    response = client.get("/oauth/authorize", query_string=params)
    assert response.status_code == 302
    # Not logged in yet: login_required; after login, still no consent.
    assert query_of(response.headers["Location"])["error"] == "login_required"
    params, _ = authorize_params(rp, scope="openid offline_access")
    response = authorize(client, params, user)
    assert response.headers["Location"].startswith("/oauth/consent/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "kijelentkezés után is eléri" in page
    silent, _ = authorize_params(rp, scope="openid offline_access", prompt="none")
    query = query_of(client.get("/oauth/authorize", query_string=silent).headers["Location"])
    assert query["error"] == "consent_required"
