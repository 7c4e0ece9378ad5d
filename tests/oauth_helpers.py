"""Helpers for driving the protocol endpoints through the Flask test client."""

import base64
import secrets
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import login_url

REDIRECT_URI = "https://rp.example/cb"


def basic(client_id, secret):
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def query_of(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def authorize_params(rp, redirect_uri=REDIRECT_URI, scope="openid", **extra):
    """A code + PKCE request; returns ``(params, verifier)``."""
    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": "st-" + secrets.token_urlsafe(6), "nonce": secrets.token_urlsafe(8),
              "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}, verifier


def authorize(browser, params, principal=None):
    """Run the authorization endpoint, logging ``principal`` in through the
    test seam when asked to; returns the final response (a redirect to the
    client, or a page)."""
    response = browser.get("/oauth/authorize?" + urlencode(params))
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path.startswith("/login"):
        assert principal is not None, "a login was needed"
        response = browser.get(login_url(response.headers["Location"], principal))
        response = browser.get(response.headers["Location"])
    return response


def get_code(browser, rp, principal, redirect_uri=REDIRECT_URI, scope="openid", **extra):
    """``(code, verifier)`` of a successful authorization."""
    params, verifier = authorize_params(rp, redirect_uri, scope, **extra)
    response = authorize(browser, params, principal)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    query = query_of(response.headers["Location"])
    assert "code" in query, query
    return query["code"], verifier


def token_request(browser, rp, secret, data, headers=None):
    data = {k: v for k, v in data.items() if v is not None}
    headers = dict(headers or {})
    if secret:
        headers.update(basic(rp.client_id, secret))
    else:
        data["client_id"] = rp.client_id
    return browser.post("/oauth/token", data=data, headers=headers)


def exchange(browser, rp, secret, code, verifier, redirect_uri=REDIRECT_URI):
    return token_request(browser, rp, secret, {"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": redirect_uri, "code_verifier": verifier})


def tokens_for(browser, rp, secret, principal, scope="openid", redirect_uri=REDIRECT_URI, **extra):
    code, verifier = get_code(browser, rp, principal, redirect_uri, scope=scope, **extra)
    response = exchange(browser, rp, secret, code, verifier, redirect_uri)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refresh(browser, rp, secret, refresh_token, scope=None):
    return token_request(browser, rp, secret, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                               "scope": scope})


def introspect(browser, rp, secret, token, hint=None):
    data = {"token": token, "token_type_hint": hint}
    response = browser.post("/oauth/introspect", data={k: v for k, v in data.items() if v is not None},
                            headers=basic(rp.client_id, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def oauth_error(response, error, status=400):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    assert response.headers["Cache-Control"] == "no-store"
    return body


def decode(browser, token):
    keys = KeySet.import_key_set(browser.get("/jwks.json").get_json())
    return jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims


# --- added for the first-party grant and authorization challenge tests ---------------------------
def post_as(browser, url, rp, secret, data, headers=None):
    """POST ``data`` (``None`` values left out) to ``url`` as client ``rp``: HTTP
    Basic with ``secret``, or - a public client, ``secret`` None - its
    ``client_id`` in the body (``token_endpoint_auth_method=none``)."""
    data = {k: v for k, v in data.items() if v is not None}
    headers = dict(headers or {})
    if secret:
        headers.update(basic(rp.client_id, secret))
    else:
        data.setdefault("client_id", rp.client_id)
    return browser.post(url, data=data, headers=headers)


def pkce_pair():
    """``(code_verifier, S256 code_challenge)`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)
