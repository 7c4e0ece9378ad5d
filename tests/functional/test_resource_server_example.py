"""examples/resource_server.py authorizes with the access token alone."""

import importlib.util
from pathlib import Path

import pytest
import requests

from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resource_server.py"
REDIRECT = "http://127.0.0.1:9/cb"
VERIFIER = "v" * 50


def load_example():
    spec = importlib.util.spec_from_file_location("resource_server_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def access_token_for(base, user, scope="openid company permissions"):
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    client, _ = make_client(redirect_uris=[REDIRECT], first_party=True, public=True)
    browser = requests.Session()
    response = browser.get(base + "/oauth/authorize", params={
        "response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT, "scope": scope,
        "code_challenge": create_s256_code_challenge(VERIFIER), "code_challenge_method": "S256"},
        allow_redirects=False, timeout=5)
    response = browser.get(base + login_url(response.headers["Location"], user), allow_redirects=False, timeout=5)
    response = browser.get(base + response.headers["Location"], allow_redirects=False, timeout=5)
    code = requests.utils.urlparse(response.headers["Location"]).query.split("code=")[1].split("&")[0]
    token = requests.post(base + "/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client.client_id,
        "code_verifier": VERIFIER}, timeout=5).json()
    return token["access_token"]


@pytest.fixture
def api(live_server):
    module = load_example()
    return module, module.create_app(live_server.url).test_client()


@pytest.mark.parametrize("permissions, path, method, status", [
    (["invoices.view"], "/invoices", "get", 200),
    (["usage.view"], "/invoices", "get", 403),
    (["invoices.view"], "/invoices/pay", "post", 403),
    (["invoices.view", "invoices.pay"], "/invoices/pay", "post", 200),
], ids=["has-permission", "lacks-permission", "view-cannot-pay", "may-pay"])
def test_permission_checked_locally(live_server, api, permissions, path, method, status):
    _, client = api
    user = make_user(company=make_company(slug="acme"), permissions=permissions)
    token = access_token_for(live_server.url, user)
    response = getattr(client, method)(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status == 200 and path == "/invoices":
        assert response.get_json() == {"company": "acme", "subject": user.sub, "invoices": []}
    if status == 403:
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_without_the_permissions_scope_nothing_is_allowed(live_server, api):
    _, client = api
    user = make_user(permissions=["invoices.view"])
    token = access_token_for(live_server.url, user, scope="openid")
    assert client.get("/invoices", headers={"Authorization": f"Bearer {token}"}).status_code == 403


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
    lambda t: "",
    lambda t: "not-a-jwt",
], ids=["bad-signature", "empty", "garbage"])
def test_forged_tokens_are_refused(live_server, api, mangle):
    _, client = api
    token = access_token_for(live_server.url, make_user(permissions=["invoices.view"]))
    response = client.get("/invoices", headers={"Authorization": f"Bearer {mangle(token)}"})
    assert response.status_code == 401


def test_an_id_token_is_not_an_access_token(live_server, api):
    module, _ = api
    from types import SimpleNamespace

    from idp.grants.id_token import build_id_token

    client, _ = make_client()
    user = make_user(permissions=["invoices.view"])
    context = SimpleNamespace(sid="s", auth_time=1, acr=None, amr=["pwd"])
    id_token = build_id_token(client, user, "openid permissions", context)
    with pytest.raises(module.InvalidToken, match="typ"):
        module.AccessTokenVerifier(live_server.url).verify(id_token)


def test_another_issuer_is_refused(live_server):
    module = load_example()
    token = access_token_for(live_server.url, make_user(permissions=["invoices.view"]))
    verifier = module.AccessTokenVerifier(live_server.url)
    assert verifier.verify(token)["sub"]
    verifier.issuer = "https://other.example"  # keys stay cached: only the iss check differs
    with pytest.raises(module.InvalidToken):
        verifier.verify(token)
