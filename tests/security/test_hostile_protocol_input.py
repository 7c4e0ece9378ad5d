"""Hostile protocol input (issue 8.3): control characters, invalid UTF-8,
non-ASCII and very long values in any parameter of any protocol endpoint get
the RFC error - never a 500, never a redirect to an unproven URI, never a
description Authlib refuses to build."""

import re
from urllib.parse import quote
from urllib.parse import urlencode

import pytest

from tests.factories import make_client
from tests.oauth_helpers import REDIRECT_URI
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import basic

HOSTILE = [
    ("crlf", "a\r\nLocation: https://evil.example"),
    ("lf", "a\nb"),
    ("nul", "a\x00b"),
    ("bell", "a\x07b"),
    ("tab", "a\tb"),
    ("unit-separator", "a\x1fb"),
    ("del", "a\x7fb"),
    ("c1-next-line", "a\x85b"),
    ("quote-backslash", 'a"b\\c'),
    ("non-ascii", "árvíztűrő tükörfúrógép"),
    ("emoji-rtl", "\U0001F600\u202eevil"),
    ("very-long", "x" * 9000),
]
#: What an error from a JSON endpoint may say (RFC 6749 §5.2, RFC 7009, RFC 6750).
JSON_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
               "unsupported_grant_type", "invalid_scope", "invalid_token", "unsupported_token_type"}
DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")


@pytest.fixture
def rp(app):
    return make_client(first_party=True)


def check_json_error(response, where):
    assert response.status_code in (200, 400, 401, 413), (where, response.status_code)
    if response.status_code == 200:
        return
    body = response.get_json(silent=True)
    if response.status_code == 401 and body is None:  # RFC 6750 §3.1: a bare challenge
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
        return
    assert body and body["error"] in JSON_ERRORS, (where, body)
    assert DESCRIPTION.fullmatch(body.get("error_description", "")), (where, body)


def check_authorize(response, where):
    assert response.status_code in (302, 400), (where, response.status_code)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?") or location.startswith("/login"), (where, location)
        assert "\r" not in location and "\n" not in location
    else:
        assert "Location" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_authorization_endpoint(client, rp, method):
    params, _ = authorize_params(rp[0])
    for name in [*params, "prompt", "login_hint", "ui_locales", "max_age", "acr_values", "id_token_hint"]:
        for label, value in HOSTILE:
            hostile = {**params, name: value}
            if method == "GET":
                response = client.get("/oauth/authorize?" + urlencode(hostile))
            else:
                response = client.post("/oauth/authorize", data=hostile)
            check_authorize(response, (name, label))


def token_bodies(rp):
    client_id = rp.client_id
    return {
        "authorization_code": {"grant_type": "authorization_code", "code": "c", "redirect_uri": REDIRECT_URI,
                               "code_verifier": "v" * 50},
        "refresh_token": {"grant_type": "refresh_token", "refresh_token": "r", "scope": "openid"},
        "client_credentials": {"grant_type": "client_credentials", "scope": "openid"},
        "public": {"grant_type": "authorization_code", "code": "c", "client_id": client_id,
                   "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 50},
        "assertion": {"grant_type": "client_credentials", "client_id": client_id,
                      "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                      "client_assertion": "a.b.c"},
    }


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token", "client_credentials", "public",
                                   "assertion"])
def test_token_endpoint(client, rp, grant):
    client_, secret = rp
    body = token_bodies(client_)[grant]
    for name in body:
        for label, value in HOSTILE:
            headers = basic(client_.client_id, secret) if grant in ("authorization_code", "refresh_token") else {}
            response = client.post("/oauth/token", data={**body, name: value}, headers=headers)
            check_json_error(response, (grant, name, label))


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
def test_revocation_and_introspection(client, rp, path):
    client_, secret = rp
    for name in ("token", "token_type_hint", "client_id"):
        for label, value in HOSTILE:
            data = {"token": "t", "token_type_hint": "access_token", name: value}
            check_json_error(client.post(path, data=data, headers=basic(client_.client_id, secret)),
                             (path, name, label))


def test_userinfo(client):
    for label, value in HOSTILE:
        check_json_error(client.post("/oauth/userinfo", data={"access_token": value}), ("form", label))
        header = "Bearer " + quote(value) if label == "very-long" else "Bearer x" + quote(value)
        check_json_error(client.get("/oauth/userinfo", headers={"Authorization": header}), ("header", label))


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/userinfo"])
def test_invalid_utf8_and_raw_control_bytes_in_the_body(client, rp, path):
    client_, secret = rp
    for raw in (b"token=\xff\xfe&grant_type=client_credentials", b"grant_type=client_credentials&scope=a\x0d\x0a",
                b"\xc3\x28=1&grant_type=refresh_token", b"grant_type=authorization_code&code=%0D%0A%00"):
        response = client.post(path, data=raw, content_type="application/x-www-form-urlencoded",
                               headers=basic(client_.client_id, secret))
        check_json_error(response, (path, raw))


def test_a_redirect_uri_with_crlf_is_an_error_page_not_a_500(client, rp):
    params, _ = authorize_params(rp[0], redirect_uri=REDIRECT_URI + "\r\nX-Injected: 1")
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert "Location" not in response.headers and "X-Injected" not in response.headers


@pytest.mark.parametrize("uri", [REDIRECT_URI + "/é", REDIRECT_URI + '?"', REDIRECT_URI + "\\x"],
                         ids=["non-ascii", "quote", "backslash"])
def test_an_unregistered_redirect_uri_authlib_cannot_quote_is_an_error_page(client, rp, uri):
    params, _ = authorize_params(rp[0], redirect_uri=uri)
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_control_character_in_the_state_of_a_proven_client_goes_back_without_the_state(client, rp):
    params, _ = authorize_params(rp[0], state="a\r\nb")
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?error=invalid_request")
    assert "state=" not in location
