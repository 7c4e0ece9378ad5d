"""Conformance-style, on a live server: a relying party that knows only the issuer
discovers the registration endpoint, registers itself as a public (native) client with
plain ``requests`` and an initial access token from ``idp client registration-token``,
then logs a user in with Authlib's ``OAuth2Session`` (code + PKCE S256), verifies the ID
token against ``/jwks.json`` as Authlib's OpenID client does, calls userinfo, and reads
and deletes its own registration (RFC 7592)."""

import json
import re

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from tests.conftest import login_url
from tests.factories import make_company
from tests.factories import make_user

REDIRECT_URI = "http://127.0.0.1:9/cb"
SCOPE = "openid profile email"


def initial_access_token(app):
    result = app.test_cli_runner().invoke(args=["idp", "client", "registration-token", "--label", "conformance",
                                                "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["token"]


def consent_and_return(browser, base, location):
    """The consent page a third-party client gets: allow with the page's CSRF token."""
    assert location.startswith("/oauth/consent/"), location
    page = browser.get(base + location, timeout=5)
    assert page.status_code == 200 and "Conformance RP" in page.text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = browser.post(base + location, data={"csrf_token": csrf, "allow": "Engedélyezem"},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text[:300]
    return browser.get(base + response.headers["Location"], allow_redirects=False, timeout=5)


def browser_login(base, authorization_url, user):
    """authorize -> login (the test seam) -> consent -> back to the relying party."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302 and "/login?interaction=" in response.headers["Location"]
    response = browser.get(base + login_url(response.headers["Location"], user), allow_redirects=False, timeout=5)
    response = browser.get(base + response.headers["Location"], allow_redirects=False, timeout=5)
    assert response.status_code == 302
    response = consent_and_return(browser, base, response.headers["Location"])
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI)
    return response.headers["Location"]


def test_register_dynamically_then_code_pkce_id_token_and_userinfo(live_server):
    base = live_server.url
    metadata = requests.get(base + "/.well-known/openid-configuration", timeout=5).json()
    assert metadata["registration_endpoint"] == base + "/oauth/register"
    user = make_user(company=make_company(slug="acme"), username="anna", email="anna@acme.example")

    response = requests.post(metadata["registration_endpoint"], headers={
        "Authorization": "Bearer " + initial_access_token(live_server.app)}, json={
        "client_name": "Conformance RP", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "scope": SCOPE,
        "application_type": "native", "contacts": ["dev@rp.example"]}, timeout=5)
    assert response.status_code == 201, response.text
    registration = response.json()
    client_id = registration["client_id"]
    assert "client_secret" not in registration and registration["token_endpoint_auth_method"] == "none"

    session = OAuth2Session(client_id, scope=SCOPE, redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                            token_endpoint_auth_method="none")
    verifier = "v" * 64
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], nonce="n-dyn-1",
                                                  code_verifier=verifier)
    callback = browser_login(base, url, user)
    assert f"state={state}" in callback
    token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    assert set(token["scope"].split()) == set(SCOPE.split())

    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    decoded = jwt.decode(token["id_token"], keys, registry=JWSRegistry(
        algorithms=metadata["id_token_signing_alg_values_supported"]))
    claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [metadata["issuer"]]}},
                         {"nonce": "n-dyn-1", "client_id": client_id, "access_token": token["access_token"]})
    claims.validate(leeway=5)
    assert claims["sub"] == user.sub and claims["aud"] == client_id

    info = session.get(metadata["userinfo_endpoint"], timeout=5).json()
    assert info["sub"] == user.sub and info["email"] == "anna@acme.example"

    management = {"Authorization": "Bearer " + registration["registration_access_token"]}
    read = requests.get(registration["registration_client_uri"], headers=management, timeout=5)
    assert read.status_code == 200 and read.json()["redirect_uris"] == [REDIRECT_URI]
    assert requests.delete(registration["registration_client_uri"], headers=management, timeout=5).status_code == 204
    assert session.get(metadata["userinfo_endpoint"], timeout=5).status_code == 401
