"""CORS for single-page apps (issue 8.7): the token, userinfo and revocation
endpoints allow the origins of the client's registered redirect URIs, on the
preflight and on the actual response, errors included; discovery and JWKS
stay open to every origin."""

import pytest

from tests.factories import make_client
from tests.factories import make_user
from tests.oauth_helpers import basic
from tests.oauth_helpers import get_code
from tests.oauth_helpers import tokens_for

SPA_ORIGIN = "https://spa.example"
SPA_REDIRECT = SPA_ORIGIN + "/callback"


@pytest.fixture
def spa(app):
    return make_client(name="SPA", public=True, first_party=True, redirect_uris=[SPA_REDIRECT])[0]


@pytest.fixture
def other(app):
    return make_client(name="Other", first_party=True, redirect_uris=["https://other.example:8443/cb"])


@pytest.fixture
def user(app):
    return make_user()


def preflight(client, path, origin, method="POST", headers="authorization, content-type"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("path,method", [("/oauth/token", "POST"), ("/oauth/revoke", "POST"),
                                         ("/oauth/userinfo", "GET")])
def test_preflight_allows_a_registered_web_origin(client, spa, other, path, method):
    response = preflight(client, path, SPA_ORIGIN, method)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert preflight(client, path, "https://other.example:8443").headers[
        "Access-Control-Allow-Origin"] == "https://other.example:8443"


@pytest.mark.parametrize("origin", ["https://evil.example", "https://spa.example.evil.example",
                                    "http://spa.example", "https://spa.example:444", "null"])
def test_preflight_refuses_an_unregistered_origin(client, spa, origin):
    response = preflight(client, "/oauth/token", origin)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_token_response_and_its_errors_carry_the_clients_origin(client, spa, user):
    headers = {"Origin": SPA_ORIGIN}
    failed = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": "nope",
                                               "client_id": spa.client_id, "redirect_uri": SPA_REDIRECT,
                                               "code_verifier": "v" * 50}, headers=headers)
    assert failed.status_code == 400
    assert failed.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    code, verifier = get_code(client, spa, user, redirect_uri=SPA_REDIRECT)
    ok = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                           "client_id": spa.client_id, "redirect_uri": SPA_REDIRECT,
                                           "code_verifier": verifier}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert "Origin" in ok.headers["Vary"]


def test_another_clients_origin_is_not_allowed_for_this_client(client, spa, other):
    response = client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x",
                                                 "client_id": spa.client_id},
                           headers={"Origin": "https://other.example:8443"})
    assert "Access-Control-Allow-Origin" not in response.headers
    rp, secret = other
    response = client.post("/oauth/revoke", data={"token": "x"},
                           headers={"Origin": SPA_ORIGIN, **basic(rp.client_id, secret)})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_userinfo_and_revocation_from_the_spa(client, spa, user):
    issued = tokens_for(client, spa, None, user, scope="openid", redirect_uri=SPA_REDIRECT)
    bearer = {"Authorization": "Bearer " + issued["access_token"], "Origin": SPA_ORIGIN}
    response = client.get("/oauth/userinfo", headers=bearer)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    revoked = client.post("/oauth/revoke", data={"token": issued["refresh_token"], "client_id": spa.client_id},
                          headers={"Origin": SPA_ORIGIN})
    assert revoked.status_code == 200
    assert revoked.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    expired = client.get("/oauth/userinfo", headers=bearer)
    assert expired.status_code == 401
    assert expired.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN


def test_a_disabled_clients_origin_is_not_allowed(client, spa):
    from idp.extensions import db

    spa.disabled = True
    db.session.commit()
    assert "Access-Control-Allow-Origin" not in preflight(client, "/oauth/token", SPA_ORIGIN).headers


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_discovery_and_jwks_are_open_to_every_origin(client, path):
    assert client.get(path, headers={"Origin": "https://anyone.example"}).headers[
        "Access-Control-Allow-Origin"] == "*"


def test_pages_and_introspection_send_no_cors_headers(client, spa):
    for path in ("/login", "/oauth/introspect"):
        assert "Access-Control-Allow-Origin" not in client.open(
            path, method="OPTIONS", headers={"Origin": SPA_ORIGIN}).headers
