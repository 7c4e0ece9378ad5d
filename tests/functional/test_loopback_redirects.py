"""Loopback redirect URIs of native apps (RFC 8252 §7.3): any port at request
time for a public client registered with a loopback IP literal; everything
else about the URI still matches exactly."""

from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import pytest

from tests.factories import make_client
from tests.factories import make_user
from tests.oauth_helpers import authorize
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import exchange
from tests.oauth_helpers import query_of


@pytest.fixture
def user(app):
    return make_user()


ACCEPTED = [
    ("v4-no-port-registered", "http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"),
    ("v4-other-port-registered", "http://127.0.0.1:8000/cb", "http://127.0.0.1:61000/cb"),
    ("v4-same", "http://127.0.0.1:8000/cb", "http://127.0.0.1:8000/cb"),
    ("v4-no-port-requested", "http://127.0.0.1:8000/cb", "http://127.0.0.1/cb"),
    ("v6", "http://[::1]/cb", "http://[::1]:40000/cb"),
    ("with-query", "http://127.0.0.1/cb?app=x", "http://127.0.0.1:5555/cb?app=x"),
]


@pytest.mark.parametrize("registered,requested", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_a_native_app_may_use_any_port(client, user, registered, requested):
    rp, _ = make_client(public=True, first_party=True, redirect_uris=[registered])
    params, verifier = authorize_params(rp, redirect_uri=requested)
    response = authorize(client, params, user)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(requested + ("&" if "?" in requested else "?"))
    code = query_of(response.headers["Location"])["code"]
    assert exchange(client, rp, None, code, verifier, redirect_uri=requested).status_code == 200
    # The code is bound to the port it was issued for.
    params, verifier = authorize_params(rp, redirect_uri=requested)
    code = query_of(authorize(client, params, user).headers["Location"])["code"]
    assert exchange(client, rp, None, code, verifier, redirect_uri=with_port(requested, 1)).status_code == 400


def with_port(uri, port):
    parts = urlsplit(uri)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, ""))


REFUSED = [
    ("other-path", True, "http://127.0.0.1/cb", "http://127.0.0.1:5000/cb2"),
    ("other-query", True, "http://127.0.0.1/cb?a=1", "http://127.0.0.1:5000/cb?a=2"),
    ("other-loopback-ip", True, "http://127.0.0.1/cb", "http://127.0.0.2:5000/cb"),
    ("v4-for-v6", True, "http://[::1]/cb", "http://127.0.0.1:5000/cb"),
    ("https", True, "http://127.0.0.1/cb", "https://127.0.0.1:5000/cb"),
    # (port 8080: the test issuer is http://localhost itself, which no client may register)
    ("localhost", True, "http://localhost:8080/cb", "http://localhost:5000/cb"),
    ("userinfo", True, "http://127.0.0.1/cb", "http://evil@127.0.0.1:5000/cb"),
    ("fragment", True, "http://127.0.0.1/cb", "http://127.0.0.1:5000/cb#x"),
    ("bad-port", True, "http://127.0.0.1/cb", "http://127.0.0.1:99999/cb"),
    ("path-case", True, "http://127.0.0.1/cb", "http://127.0.0.1:5000/CB"),
    ("confidential-client", False, "http://127.0.0.1/cb", "http://127.0.0.1:5000/cb"),
]


@pytest.mark.parametrize("public,registered,requested", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_everything_else_still_matches_exactly(client, user, public, registered, requested):
    rp, _ = make_client(public=public, first_party=True, redirect_uris=[registered])
    params, _ = authorize_params(rp, redirect_uri=requested)
    response = client.get("/oauth/authorize", query_string=params)
    assert response.status_code == 400 and "Location" not in response.headers
