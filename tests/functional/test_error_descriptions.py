"""Error descriptions are plain sentences (issue 8.8): no Python list repr,
no quoting of what came in, printable ASCII as RFC 6749 §5.2 requires."""

import re

import pytest

from tests.factories import make_client
from tests.oauth_helpers import basic

PLAIN_SENTENCE = re.compile(r"[A-Z][A-Za-z0-9 ,.'_:/-]*")  # no list repr, no quoted input


@pytest.fixture
def confidential(app):
    return make_client(first_party=True)


def auth_failures(rp, secret):
    return {
        "no-credentials": ({}, {}),
        "wrong-secret": ({}, basic(rp.client_id, "wrong")),
        "unknown-client": ({}, basic("nobody", "x")),
        "secret-in-body-for-a-basic-client": ({"client_id": rp.client_id, "client_secret": secret}, {}),
        "public-claim-of-a-confidential-client": ({"client_id": rp.client_id}, {}),
    }


@pytest.mark.parametrize("path,data", [
    ("/oauth/token", {"grant_type": "client_credentials"}),
    ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "x"}),
    ("/oauth/revoke", {"token": "x"}),
    ("/oauth/introspect", {"token": "x"}),
], ids=["client-credentials", "refresh", "revoke", "introspect"])
def test_invalid_client_is_a_plain_sentence(client, confidential, path, data):
    rp, secret = confidential
    for case, (extra, headers) in auth_failures(rp, secret).items():
        response = client.post(path, data={**data, **extra}, headers=headers)
        body = response.get_json()
        assert body["error"] == "invalid_client", (case, body)
        assert body["error_description"] == "Client authentication failed", (case, body)
        assert "[" not in response.headers.get("WWW-Authenticate", ""), case


@pytest.mark.parametrize("data", [
    {"grant_type": "password"},
    {"grant_type": "client_credentials", "scope": "nonsense"},
    {"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://rp.example/cb",
     "code_verifier": "v" * 50},
    {"grant_type": "refresh_token"},
], ids=["unsupported-grant", "unknown-scope", "bad-code", "missing-refresh-token"])
def test_other_token_errors_are_plain_sentences(client, confidential, data):
    rp, secret = confidential
    rp.grant_types = [*rp.grant_types, "client_credentials"]
    response = client.post("/oauth/token", data=data, headers=basic(rp.client_id, secret))
    assert response.status_code == 400
    description = response.get_json().get("error_description")
    assert description is None or PLAIN_SENTENCE.fullmatch(description), description
