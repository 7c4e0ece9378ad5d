"""The protocol's own pages in a real browser: the refused-request page, the
consent page (both languages), and the development outbox."""

from urllib.parse import urlencode

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_user

pytestmark = pytest.mark.browser


def authorize_url(base, client, redirect_uri, **extra):
    params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
              "scope": "openid profile email", "state": "st-1", "nonce": "n-1",
              "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
    params.update(extra)
    return base + "/oauth/authorize?" + urlencode(params)


def test_unregistered_redirect_uri_shows_a_page_and_stays(live_server, page):
    client, _ = make_client(redirect_uris=["https://rp.example/cb"])
    response = page.goto(authorize_url(live_server.url, client, "https://evil.example/cb"))
    assert response.status == 400
    assert page.url.startswith(live_server.url)
    assert page.get_by_role("heading", name="Hibás belépési kérés").is_visible()
    assert "nem irányítjuk vissza" in page.get_by_role("alert").inner_text()
    screenshot(page, "protocol-01-invalid-request-hu")


@pytest.mark.parametrize("locale, allow, heading", [
    ("hu", "Engedélyezem", "Hozzáférés engedélyezése"),
    ("en", "Allow", "Allow access"),
])
def test_consent_page_for_a_third_party_client(live_server, page, locale, allow, heading):
    callback = live_server.url + "/dev/callback"
    client, _ = make_client(name="Külső Fejlesztő App", redirect_uris=[callback], public=True)
    user = make_user(username="anna")
    page.goto(authorize_url(live_server.url, client, callback, ui_locales=locale))
    page.goto(live_server.url + login_url(page.url, user))
    assert "/oauth/consent/" in page.url
    assert page.get_by_role("heading", name=heading).is_visible()
    assert "Külső Fejlesztő App" in page.content()
    screenshot(page, f"protocol-02-consent-{locale}")
    page.get_by_role("button", name=allow).click()
    assert page.url.startswith(callback + "?code=")
    assert "state=st-1" in page.url and "iss=" in page.url
    screenshot(page, f"protocol-03-callback-{locale}")


def test_outbox_page(live_server, page):
    from idp.extensions import db
    from idp.services import get_services

    get_services().sms.send("+36301234567", "A belépési kódja: 123456\n\n@127.0.0.1 #123456")
    db.session.commit()
    page.goto(live_server.url + "/dev/outbox")
    assert page.get_by_role("heading", name="Fejlesztői postafiók").is_visible()
    assert "+36301234567" in page.inner_text("table")
    screenshot(page, "protocol-04-outbox")
