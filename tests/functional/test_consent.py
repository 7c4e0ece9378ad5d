"""The consent page of third-party clients (issue 11.4): who the client is,
what each scope reveals, approve and deny, remembered per principal and
client, ``prompt=consent`` asks again, first-party clients skip it, and a
consent cannot be replayed or used for another request."""

import re
from urllib.parse import urlencode

import pytest

from idp.extensions import db
from idp.models.account import TelekomAccount
from idp.models.session import Consent
from idp.services import get_services
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_user
from tests.login_helpers import csrf_token
from tests.login_helpers import text
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import query_of


@pytest.fixture
def user(app):
    return make_user(permissions=["invoices.view"], display_name="Kiss Anna", email="anna@acme.example")


@pytest.fixture
def third_party(app, user):
    developer = TelekomAccount(email_address="dev@example.com", email_confirmed=True, display_name="Dev Elek",
                               created_at=get_services().clock.now())
    db.session.add(developer)
    db.session.commit()
    return make_client(name="Számla Figyelő", first_party=False, owner=developer,
                       logo_uri="https://app.example/logo.png", client_uri="https://app.example",
                       policy_uri="https://app.example/privacy", tos_uri="https://app.example/terms")[0]


def to_consent(client, rp, user, scope="openid profile email", **extra):
    params, _ = authorize_params(rp, scope=scope, **extra)
    response = client.get("/oauth/authorize?" + urlencode(params))
    if response.headers["Location"].startswith("/login"):
        response = client.get(client.get(login_url(response.headers["Location"], user)).headers["Location"])
    location = response.headers["Location"]
    assert location.startswith("/oauth/consent/"), location
    return params, location, client.get(location)


def test_the_page_says_who_the_client_is_and_what_each_scope_reveals(client, user, third_party):
    _, _, page = to_consent(client, third_party, user, scope="openid profile email offline_access")
    html = text(page)
    assert "Számla Figyelő" in html
    assert 'src="https://app.example/logo.png"' in html
    for href in ("https://app.example", "https://app.example/privacy", "https://app.example/terms"):
        assert f'href="{href}"' in html
    assert "Az alkalmazást Dev Elek regisztrálta." in html
    assert "A neve és a felhasználóneve." in html and "Kiss Anna" in html
    assert "anna@acme.example" in html
    assert "amikor Ön nincs bejelentkezve" in html  # offline_access says it keeps access
    assert "img-src 'self' data: https:" in page.headers["Content-Security-Policy"]


def test_english_second(client, user, third_party):
    _, _, page = to_consent(client, third_party, user, ui_locales="en")
    assert "Your name and username." in text(page) and "Registered by Dev Elek." in text(page)


def test_approve_is_remembered_and_deny_goes_back_with_access_denied(app, client, user, third_party):
    params, location, page = to_consent(client, third_party, user)
    response = client.post(location, data={"csrf_token": csrf_token(text(page)), "allow": "1"})
    code_response = client.get(response.headers["Location"])
    assert "code" in query_of(code_response.headers["Location"])
    again, _ = authorize_params(third_party, scope="openid profile email")
    assert "code" in query_of(client.get("/oauth/authorize?" + urlencode(again)).headers["Location"])
    other = app.test_client()
    params, location, page = to_consent(other, third_party, make_user())
    response = other.post(location, data={"csrf_token": csrf_token(text(page)), "deny": "1"})
    query = query_of(response.headers["Location"])
    assert query["error"] == "access_denied" and query["state"] == params["state"]


def test_prompt_consent_and_a_wider_scope_ask_again(client, user, third_party):
    _, location, page = to_consent(client, third_party, user, scope="openid profile")
    client.get(client.post(location, data={"csrf_token": csrf_token(text(page)), "allow": "1"}).headers["Location"])
    for extra in ({"scope": "openid profile", "prompt": "consent"}, {"scope": "openid profile email"}):
        params, _ = authorize_params(third_party, **extra)
        assert client.get("/oauth/authorize?" + urlencode(params)).headers["Location"].startswith("/oauth/consent/")


def test_first_party_clients_skip_it(client, user):
    first, _ = make_client(first_party=True)
    params, _ = authorize_params(first, scope="openid profile email")
    response = client.get("/oauth/authorize?" + urlencode(params))
    response = client.get(client.get(login_url(response.headers["Location"], user)).headers["Location"])
    assert "code" in query_of(response.headers["Location"])
    assert Consent.query.count() == 0


def test_a_consent_cannot_be_replayed_or_used_for_another_request(app, client, user, third_party):
    _, location, page = to_consent(client, third_party, user)
    token = csrf_token(text(page))
    assert client.post(location, data={"csrf_token": token, "allow": "1"}).status_code == 302
    client.get(client.get(location).headers.get("Location", location))
    replay = client.post(location, data={"csrf_token": token, "allow": "1"})
    assert replay.status_code in (302, 400)
    assert "code=" not in replay.headers.get("Location", "")
    # Another browser cannot use this browser's consent page.
    stranger = app.test_client()
    stolen = stranger.post(location, data={"csrf_token": token, "allow": "1"})
    assert stolen.status_code == 400 and "Location" not in stolen.headers


def test_a_consent_page_of_a_first_party_login_is_refused(client, user, third_party):
    """The page answers only for an interaction that is waiting for consent."""
    first, _ = make_client(first_party=True)
    params, _ = authorize_params(first)
    response = client.get("/oauth/authorize?" + urlencode(params))
    interaction = re.search(r"interaction=([\w-]+)", response.headers["Location"]).group(1)
    assert client.get(f"/oauth/consent/{interaction}").status_code == 400
