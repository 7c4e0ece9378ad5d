"""The developer portal (issue 11.1, DESIGN.md §3 ``/developers``) in a real
browser: a business user goes to /developers, logs in on the way, registers a
web app (first with a bad redirect URI, shown at the field), copies the secret
from its one page, finds it gone on a reload, edits the app on its page and
rotates the secret with an hour of grace. The secret page on a phone-sized
screen too. Every page is screenshotted into tests/artifacts/; no page may log
a console error or a CSP violation."""

import re

import pytest

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.outbox import OutboxMessage
from tests.browser.conftest import later_on_offer
from tests.browser.conftest import screenshot
from tests.browser.test_business_login import continue_button
from tests.browser.test_business_login import enter_identifier
from tests.browser.test_business_login import enter_password
from tests.browser.test_business_login import no_horizontal_scroll
from tests.browser.test_business_login import watch_console
from tests.factories import make_company_with_admin
from tests.factories import make_login_user

pytestmark = pytest.mark.browser

PASSWORD = "Helyes-jelszo-2024!"
PHONE = "+36301000011"


def sms_code():
    db.session.rollback()  # read what the server committed
    message = OutboxMessage.query.filter_by(channel="sms", to=PHONE).order_by(OutboxMessage.id.desc()).first()
    return re.search(r"#(\d{6})\s*$", message.body).group(1)


def stored_client(name):
    db.session.rollback()
    return OAuthClient.query.filter_by(client_name=name).one()


@pytest.fixture
def developer(live_server):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone="+36301000001")
    return make_login_user(company, username="dev", phone=PHONE)


@pytest.fixture
def portal(chromium, live_server, developer):
    """A browser logged in through /developers (it sends a stranger to /login and back)."""
    context = chromium.new_context(locale="hu-HU", viewport={"width": 1024, "height": 760},
                                   permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = watch_console(page)
    page.goto(live_server.url + "/developers")
    page.wait_for_url(re.compile(r"/login\?next=%2Fdevelopers|/login\?next=/developers"))
    enter_identifier(page, "dev@acme")
    enter_password(page, PASSWORD)
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code())
    continue_button(page).click()
    later_on_offer(page)
    page.wait_for_url(live_server.url + "/developers")
    yield page, problems
    context.close()


def fill_web_app(page, redirect_uris):
    page.get_by_label("Az alkalmazás neve", exact=True).fill("Számlázó")
    page.get_by_label("Webalkalmazás szerveroldali titkos kulccsal").check()
    page.get_by_label("Átirányítási címek (redirect URI)").fill(redirect_uris)
    page.get_by_label("Kijelentkezés utáni átirányítási címek").fill("https://szamlazo.example/bye")
    page.get_by_role("checkbox", name=re.compile("Név és felhasználónév")).check()
    page.get_by_label("Logó címe").fill("https://szamlazo.example/logo.png")
    page.get_by_label("Honlap").fill("https://szamlazo.example/")
    page.get_by_label("Adatkezelési tájékoztató").fill("https://szamlazo.example/adatvedelem")
    page.get_by_label("Felhasználási feltételek").fill("https://szamlazo.example/aszf")


def test_register_see_the_secret_once_edit_and_rotate(portal, live_server):
    page, problems = portal
    assert page.get_by_role("heading", name="Alkalmazásaim").is_visible()
    assert page.get_by_text("Még nincs regisztrált alkalmazása.").is_visible()
    screenshot(page, "developers-01-empty")

    page.get_by_role("link", name="Új alkalmazás").first.click()
    page.wait_for_url(live_server.url + "/developers/clients/new")
    # The question of how the secret is sent is hidden while a PKCE app is chosen.
    page.get_by_role("radio", name=re.compile("Egyoldalas")).check()
    assert not page.get_by_text("A titkos kulcs küldése a token végpontnak").is_visible()
    fill_web_app(page, "https://szamlazo.example/callback\njavascript:alert(1)")
    assert page.get_by_text("A titkos kulcs küldése a token végpontnak").is_visible()
    screenshot(page, "developers-02-new")
    page.get_by_role("button", name="Alkalmazás regisztrálása").click()
    page.wait_for_load_state()
    error = page.locator("#redirect_uris-error")
    assert "Nem használható: „javascript:alert(1)”" in error.inner_text()
    assert page.locator("#redirect_uris").evaluate("e => e === document.activeElement")
    screenshot(page, "developers-03-field-error")
    assert OAuthClient.query.count() == 0

    page.get_by_label("Átirányítási címek (redirect URI)").fill("https://szamlazo.example/callback")
    page.get_by_role("button", name="Alkalmazás regisztrálása").click()
    page.wait_for_url(re.compile(r"/developers/clients/[^/]+/secret$"))
    secret_url = page.url
    client = stored_client("Számlázó")
    secret = page.locator("#client_secret").input_value()
    assert page.locator("#client_id").input_value() == client.client_id
    assert client.check_client_secret(secret)
    assert page.get_by_text("Mentse el most a titkos kulcsot.").is_visible()
    screenshot(page, "developers-04-secret")

    page.get_by_role("button", name="Másolás").nth(1).click()
    page.get_by_role("button", name="Másolva").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()  # the secret is not there any more
    page.wait_for_url(live_server.url + f"/developers/clients/{client.client_id}")
    assert secret not in page.content()
    assert page.get_by_text("A titkos kulcsot csak egyszer").is_visible()
    page.goto(secret_url)
    assert secret not in page.content()
    screenshot(page, "developers-05-client")

    page.get_by_label("Az alkalmazás neve", exact=True).fill("Számlázó 2")
    page.get_by_role("button", name="Mentés").click()
    page.wait_for_url(live_server.url + f"/developers/clients/{client.client_id}")
    assert page.get_by_role("heading", name="Számlázó 2", exact=True).is_visible()
    assert page.get_by_text("Mentve.").is_visible()

    page.get_by_label("1 óráig").check()
    page.get_by_role("button", name="Új titkos kulcs").click()
    page.wait_for_url(secret_url)
    new_secret = page.locator("#client_secret").input_value()
    assert new_secret != secret
    assert page.get_by_text(re.compile(r"A régi titkos kulcs még működik eddig: \d{4}-\d\d-\d\d \d\d:\d\d UTC")
                            ).is_visible()
    screenshot(page, "developers-06-rotated")
    page.get_by_role("link", name="Elmentettem, tovább").click()
    assert page.get_by_text(re.compile("Az előző titkos kulcs még működik eddig")).is_visible()

    page.goto(live_server.url + "/developers")
    assert page.get_by_role("link", name="Számlázó 2").is_visible()
    screenshot(page, "developers-07-list")

    page.goto(live_server.url + f"/developers/clients/{client.client_id}/delete")
    screenshot(page, "developers-08-delete")
    page.get_by_role("button", name="Végleges törlés").click()
    page.wait_for_url(live_server.url + "/developers")
    assert page.get_by_text("„Számlázó 2” törölve").is_visible()
    assert problems == []


def test_the_secret_page_on_a_phone(portal, live_server):
    page, problems = portal
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/developers/clients/new")
    assert no_horizontal_scroll(page)
    screenshot(page, "developers-mobile-01-new")
    fill_web_app(page, "https://szamlazo.example/callback")
    page.get_by_role("button", name="Alkalmazás regisztrálása").click()
    page.wait_for_url(re.compile(r"/secret$"))
    assert no_horizontal_scroll(page)
    box = page.locator("#client_secret").bounding_box()
    assert box["width"] > 150  # the secret stays readable beside its button
    screenshot(page, "developers-mobile-02-secret")
    page.get_by_role("link", name="Elmentettem, tovább").click()
    assert no_horizontal_scroll(page)
    screenshot(page, "developers-mobile-03-client")
    assert problems == []
