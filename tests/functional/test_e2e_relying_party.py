"""End to end: Authlib's own OAuth 2.0 client (``requests_client.OAuth2Session``)
as a relying party against a live server on a loopback port - discovery, code
with PKCE, ID-token validation against ``/jwks.json`` (the same checks Authlib's
OpenID client makes), refresh, userinfo, revoke and introspect."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_user

REDIRECT_URI = "http://127.0.0.1:9/cb"
SCOPE = "openid profile email phone company permissions"


def validate_id_token(metadata, client_id, token, nonce, now=None):
    """What Authlib's OpenID client does in ``parse_id_token`` (``now``: the
    relying party's clock, when the test moved the server's)."""
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    decoded = jwt.decode(token["id_token"], keys, registry=JWSRegistry(
        algorithms=metadata["id_token_signing_alg_values_supported"]))
    claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [metadata["issuer"]]}},
                         {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]})
    claims.validate(now=now, leeway=5)
    return decoded


def browser_login(base, authorization_url, user):
    """The browser's part: authorize -> login page (through the seam) -> back to the RP."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302 and "/login?interaction=" in response.headers["Location"]
    response = browser.get(base + login_url(response.headers["Location"], user), allow_redirects=False,
                           timeout=5)
    assert response.status_code == 302
    response = browser.get(base + response.headers["Location"], allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI)
    return response.headers["Location"]


@pytest.fixture
def relying_party(live_server):
    base = live_server.url
    metadata = requests.get(base + "/.well-known/openid-configuration", timeout=5).json()
    client, secret = make_client(name="Portál", redirect_uris=[REDIRECT_URI], first_party=True)
    company = make_company(slug="acme", name="Acme Kft.")
    user = make_user(company=company, username="anna", permissions=["usage.view", "invoices.view"],
                     email="anna@acme.example", phone="+36301234567")
    session = OAuth2Session(client.client_id, secret, scope=SCOPE, redirect_uri=REDIRECT_URI,
                            code_challenge_method="S256")
    return base, metadata, client, session, user


def log_in(base, metadata, session, user, verifier="a" * 50, nonce="nonce-123"):
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce,
                                                  code_verifier=verifier)
    callback = browser_login(base, url, user)
    assert f"state={state}" in callback
    assert "iss=" in callback
    return session.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)


def test_discovery_matches_the_live_issuer(live_server):
    metadata = requests.get(live_server.url + "/.well-known/openid-configuration", timeout=5).json()
    assert metadata["issuer"] == live_server.url
    assert metadata["token_endpoint"] == live_server.url + "/oauth/token"
    assert requests.get(live_server.url + "/.well-known/oauth-authorization-server", timeout=5).json() == metadata


def test_code_flow_pkce_and_id_token(relying_party):
    base, metadata, client, session, user = relying_party
    token = log_in(base, metadata, session, user)
    decoded = validate_id_token(metadata, client.client_id, token, "nonce-123")
    claims = decoded.claims
    assert decoded.header["kid"] in {k["kid"] for k in requests.get(metadata["jwks_uri"], timeout=5).json()["keys"]}
    assert claims["sub"] == user.sub
    assert claims["amr"] == ["pwd", "sms"]
    assert claims["acr"] == "urn:telekom:acr:2fa"
    assert claims["sid"]
    assert claims["preferred_username"] == "anna@acme"
    assert claims["company"] == {"id": user.company.public_id, "slug": "acme", "name": "Acme Kft."}
    assert claims["company_role"] == "user"
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert claims["phone_number"] == "+36301234567"
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == SCOPE


def test_access_token_is_an_rfc9068_jwt(relying_party):
    base, metadata, client, session, user = relying_party
    token = log_in(base, metadata, session, user)
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    decoded = jwt.decode(token["access_token"], keys)
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "scope", "client_id"} <= set(claims)
    assert claims["client_id"] == client.client_id
    assert claims["permissions"] == ["invoices.view", "usage.view"]
    assert claims["company"]["slug"] == "acme"


def test_userinfo_refresh_revoke_and_introspect(relying_party):
    base, metadata, client, session, user = relying_party
    first = log_in(base, metadata, session, user)
    info = session.get(metadata["userinfo_endpoint"], timeout=5).json()
    assert info["sub"] == user.sub and info["email"] == "anna@acme.example"
    first_id_token = jwt.decode(first["id_token"], KeySet.import_key_set(
        requests.get(metadata["jwks_uri"], timeout=5).json())).claims

    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    new_claims = jwt.decode(refreshed["id_token"], KeySet.import_key_set(
        requests.get(metadata["jwks_uri"], timeout=5).json())).claims
    # OIDC Core §12.2: same sub and auth_time as the original authentication.
    assert new_claims["sub"] == first_id_token["sub"]
    assert new_claims["auth_time"] == first_id_token["auth_time"]
    assert "nonce" not in new_claims

    resource_server, rs_secret = make_client(name="Számlázó API", redirect_uris=[],
                                             grant_types=["client_credentials"], resource_server=True)
    rs = OAuth2Session(resource_server.client_id, rs_secret)
    active = rs.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    assert active["active"] is True and active["sub"] == user.sub and active["client_id"] == client.client_id

    response = session.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"],
                                    token_type_hint="refresh_token")
    assert response.status_code == 200
    after = rs.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    assert after == {"active": False}
    assert session.get(metadata["userinfo_endpoint"], timeout=5).status_code == 401


def test_tokens_signed_before_rotation_still_verify(relying_party, clock):
    from idp.services import get_services

    base, metadata, client, session, user = relying_party
    before = log_in(base, metadata, session, user)
    keys = get_services().keys
    keys.rotate()
    jwks = requests.get(metadata["jwks_uri"], timeout=5).json()
    assert len([k for k in jwks["keys"] if k["alg"] == "RS256"]) == 2
    validate_id_token(metadata, client.client_id, before, "nonce-123")
    clock.advance(seconds=keys.overlap + 1)
    after = log_in(base, metadata, session, user, nonce="nonce-456")
    old_kid = jwt.decode(before["id_token"], KeySet.import_key_set(jwks)).header["kid"]
    new_kid = jwt.decode(after["id_token"], KeySet.import_key_set(jwks)).header["kid"]
    assert old_kid != new_kid
    validate_id_token(metadata, client.client_id, after, "nonce-456", now=clock.timestamp())
