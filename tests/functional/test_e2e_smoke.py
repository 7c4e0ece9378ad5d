"""Smoke: a real OIDC client library against a live server."""

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_user


def test_code_flow_with_pkce(live_server):
    base = live_server.url
    rp, secret = make_client(redirect_uris=["http://127.0.0.1:9/cb"], first_party=True)
    user = make_user(permissions=["invoices.view"])
    meta = requests.get(base + "/.well-known/openid-configuration").json()
    session = OAuth2Session(rp.client_id, secret, scope="openid profile company permissions",
                            redirect_uri="http://127.0.0.1:9/cb", code_challenge_method="S256")
    verifier = "v" * 64
    url, state = session.create_authorization_url(meta["authorization_endpoint"], nonce="n-1",
                                                  code_verifier=verifier)
    browser = requests.Session()
    r = browser.get(url, allow_redirects=False)
    assert r.status_code == 302, r.text
    r = browser.get(base + login_url(r.headers["Location"], user), allow_redirects=False)
    assert r.status_code == 302, r.text
    r = browser.get(base + r.headers["Location"], allow_redirects=False)
    assert r.status_code == 302, r.text
    callback = r.headers["Location"]
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback,
                                code_verifier=verifier)
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["sub"] == user.sub
    assert claims["nonce"] == "n-1"
    assert claims["permissions"] == ["invoices.view"]
    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == user.sub
