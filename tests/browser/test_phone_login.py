"""Phone login (MISSION.md 10-14, DESIGN.md §3 ``/login/phone``) in a real
browser: a relying party's authorization request → "Belépés
mobiltelefonszámmal" → the 9-digit number ("Tovább") → the number shown for
checking ("Javítom", "Kérem az SMS-t") → the SMS code ("Belépek") → back to the
relying party with a code, exchanged at the token endpoint; the ID token is
verified against ``/jwks.json`` and carries only the number's own (restricted)
functions, no company-level claims. Also "Javítom", an invalid number, a
phone-sized viewport and the English pages. Every page is screenshotted into
tests/artifacts/; no page may log a console error or a CSP violation."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.outbox import OutboxMessage
from tests.browser.conftest import later_on_offer
from tests.browser.conftest import screenshot
from tests.browser.test_business_login import VERIFIER
from tests.browser.test_business_login import authorize_url
from tests.browser.test_business_login import autocomplete
from tests.browser.test_business_login import continue_button
from tests.browser.test_business_login import focused_id
from tests.browser.test_business_login import new_page
from tests.browser.test_business_login import no_horizontal_scroll
from tests.browser.test_business_login import relying_party
from tests.browser.test_business_login import watch_console

pytestmark = pytest.mark.browser

LINE = "+36301234567"
LINE_DISPLAY = "+36 30 123 4567"
LINE_PERMISSIONS = ["invoices.view", "usage.view"]
OTHER_LINE = "+36701234567"
NONCE = "nonce-phone-1"
SCOPE = "openid phone permissions"
NUMBER_FORMAT_MESSAGE = "9 számjegyű formában, például 301234567"


# --- helpers -------------------------------------------------------------------
def create_acme_with_line():
    """Acme Kft. (its main admin has another number) and the company's phone line,
    restricted by the main admin to two functions."""
    from idp.companies import add_phone_line
    from idp.companies import create_company

    create_company("acme", "Acme Kft.", "boss@acme.example", "301111111")
    add_phone_line("301234567", "acme", LINE_PERMISSIONS)
    add_phone_line("701234567", "acme", ["usage.view"])


def sms_messages(to):
    db.session.rollback()  # read what the server committed
    return (OutboxMessage.query.filter_by(channel="sms", to=to)
            .order_by(OutboxMessage.id.desc()).all())


def sms_code(to=LINE):
    messages = sms_messages(to)
    assert messages, f"no SMS to {to} in the outbox"
    return re.search(r"#(\d{6})\s*$", messages[0].body).group(1)


def phone_authorize_url(live_server, client, **extra):
    return authorize_url(live_server.url, client.client_id, scope=SCOPE, nonce=NONCE, state="st-phone",
                         **extra)


def go_to_phone_login(page, live_server, client, link="Belépés mobiltelefonszámmal", **extra):
    """The relying party sends the browser to /oauth/authorize; the login page offers the phone login."""
    page.goto(phone_authorize_url(live_server, client, **extra))
    page.wait_for_url(re.compile(r"/login\?interaction="))
    page.get_by_role("link", name=link).click()
    page.wait_for_url(re.compile(r"/login/phone\?interaction="))
    return parse_qs(urlsplit(page.url).query)["interaction"][0]


def number_input(page, label="Mobiltelefonszám"):
    return page.get_by_label(label, exact=True)


def enter_number(page, number, label="Mobiltelefonszám", button="Tovább"):
    number_input(page, label).fill(number)
    continue_button(page, button).click()
    page.wait_for_url(re.compile(r"/login/phone/check\?flow="))


def callback_pattern(live_server):
    return re.compile(re.escape(live_server.url + "/dev/callback?") + ".*code=")


def exchange_and_verify(live_server, client, callback_url):
    """The relying party's part: code + PKCE verifier at the token endpoint, ID token against /jwks.json."""
    query = parse_qs(urlsplit(callback_url).query)
    assert query["state"] == ["st-phone"]
    assert query["iss"] == [live_server.url]
    response = requests.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": client.client_id,
        "redirect_uri": live_server.url + "/dev/callback", "code_verifier": VERIFIER}, timeout=5)
    assert response.status_code == 200, response.text
    token = response.json()
    keys = KeySet.import_key_set(requests.get(live_server.url + "/jwks.json", timeout=5).json())
    claims = jwt.decode(token["id_token"], keys).claims  # raises unless the signature verifies
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": live_server.url},
                          aud={"essential": True, "value": client.client_id},
                          nonce={"essential": True, "value": NONCE}).validate(claims)
    return claims


# --- the whole journey -----------------------------------------------------------
def test_phone_login_from_relying_party_to_id_token(live_server, page):
    problems = watch_console(page)
    create_acme_with_line()
    client = relying_party(live_server)

    # 1. The number, with its area code, in 9-digit format.
    interaction = go_to_phone_login(page, live_server, client)
    assert page.get_by_role("heading", name="Belépés telefonszámmal").is_visible()
    number = number_input(page)
    assert autocomplete(number) == "tel-national"
    assert number.get_attribute("inputmode") == "tel"
    assert focused_id(page) == "number"
    hint_id = number.get_attribute("aria-describedby")
    assert NUMBER_FORMAT_MESSAGE in page.locator(f"#{hint_id}").inner_text()
    assert page.get_by_role("link", name="Belépés üzleti azonosítóval").is_visible()
    screenshot(page, "phone-01-number")
    number.fill("30 123 4567")
    continue_button(page).click()

    # 2. The number shown for checking.
    page.wait_for_url(re.compile(r"/login/phone/check\?flow="))
    assert page.get_by_role("heading", name="Ellenőrizze a telefonszámot").is_visible()
    assert LINE_DISPLAY in page.locator(".identity").inner_text()
    fix = page.get_by_role("link", name="Javítom", exact=True)
    assert fix.is_visible()
    assert f"interaction={interaction}" in fix.get_attribute("href")
    send = page.get_by_role("button", name="Kérem az SMS-t", exact=True)
    assert send.is_visible()
    assert sms_messages(LINE) == []  # nothing is sent before "Kérem az SMS-t"
    screenshot(page, "phone-02-check")
    send.click()

    # 3. The code from the SMS.
    page.wait_for_url(re.compile(r"/login/phone/code\?flow="))
    assert LINE_DISPLAY in page.locator("p.lead").inner_text()
    code = page.get_by_label("SMS-ben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code"
    assert code.get_attribute("inputmode") == "numeric"
    assert focused_id(page) == "code"
    assert page.get_by_role("button", name="Nem kaptam meg az SMS-t").is_visible()
    assert len(sms_messages(LINE)) == 1
    assert sms_messages(LINE)[0].body.endswith(f"@127.0.0.1 #{sms_code()}")  # WebOTP line
    screenshot(page, "phone-03-code")
    code.fill(sms_code())
    page.get_by_role("button", name="Belépek", exact=True).click()

    # 4. Back at the relying party.
    later_on_offer(page)
    page.wait_for_url(callback_pattern(live_server))
    screenshot(page, "phone-04-callback")
    assert problems == []

    claims = exchange_and_verify(live_server, client, page.url)
    assert claims["permissions"] == LINE_PERMISSIONS  # only what the main admin left on for the number
    assert claims["amr"] == ["sms"]
    assert claims["phone_number"] == LINE
    assert claims["phone_number_verified"] is True
    assert "company" not in claims and "company_role" not in claims
    from idp.models.company import PhoneLine

    assert claims["sub"] == PhoneLine.query.filter_by(number=LINE).one().sub


# --- detours and errors ------------------------------------------------------------
def test_fix_the_number_keeps_the_authorization_request(live_server, page):
    problems = watch_console(page)
    create_acme_with_line()
    client = relying_party(live_server)
    interaction = go_to_phone_login(page, live_server, client)
    enter_number(page, "70 123 4567")  # the wrong line of the company
    assert "+36 70 123 4567" in page.locator(".identity").inner_text()

    page.get_by_role("link", name="Javítom", exact=True).click()
    page.wait_for_url(re.compile(r"/login/phone\?interaction="))
    assert parse_qs(urlsplit(page.url).query)["interaction"] == [interaction]
    assert page.get_by_role("heading", name="Belépés telefonszámmal").is_visible()
    enter_number(page, "301234567")
    assert LINE_DISPLAY in page.locator(".identity").inner_text()
    page.get_by_role("button", name="Kérem az SMS-t", exact=True).click()

    page.wait_for_url(re.compile(r"/login/phone/code\?flow="))
    assert sms_messages(OTHER_LINE) == []  # the corrected number got the SMS, not the first one
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code())
    page.get_by_role("button", name="Belépek", exact=True).click()
    later_on_offer(page)
    page.wait_for_url(callback_pattern(live_server))
    claims = exchange_and_verify(live_server, client, page.url)
    assert claims["phone_number"] == LINE
    assert claims["permissions"] == LINE_PERMISSIONS
    assert problems == []


def test_invalid_number_is_shown_at_the_field(live_server, page):
    problems = watch_console(page)
    create_acme_with_line()
    client = relying_party(live_server)
    go_to_phone_login(page, live_server, client)
    number_input(page).fill("1234")
    continue_button(page).click()
    page.wait_for_load_state()

    assert re.search(r"/login/phone\?interaction=", page.url)
    number = number_input(page)
    alert = page.get_by_role("alert")
    assert NUMBER_FORMAT_MESSAGE in alert.inner_text()
    assert number.get_attribute("aria-invalid") == "true"
    assert alert.get_attribute("id") in number.get_attribute("aria-describedby").split()
    assert focused_id(page) == "number"
    assert number.input_value() == "1234"  # kept, so it can be corrected
    field_box, alert_box = number.bounding_box(), alert.bounding_box()
    assert 0 <= alert_box["y"] - (field_box["y"] + field_box["height"]) < 24
    screenshot(page, "phone-05-invalid-number")
    assert sms_messages(LINE) == []
    assert problems == []


def test_resend_too_soon_leaves_the_browser_on_the_code_page(live_server, page, clock):
    """ "Nem kaptam meg az SMS-t" within the 30 s: the message shows on the code
    page, at its own GET address, so a reload (even after the wait) sends nothing."""
    problems = watch_console(page)
    create_acme_with_line()
    page.goto(live_server.url + "/login/phone")
    enter_number(page, "301234567")
    page.get_by_role("button", name="Kérem az SMS-t", exact=True).click()
    page.wait_for_url(re.compile(r"/login/phone/code\?flow="))
    code_url = page.url
    page.get_by_role("button", name="Nem kaptam meg az SMS-t").click()
    page.wait_for_load_state()
    assert page.url == code_url
    assert page.get_by_role("alert").inner_text() == "Új kódot 30 másodperc múlva kérhet."
    assert focused_id(page) == "code"
    screenshot(page, "phone-06-resend-too-soon")

    clock.advance(31)  # a re-posted resend would now send an SMS
    methods = []
    page.on("request", lambda request: methods.append((request.method, request.url))
            if request.resource_type == "document" else None)
    page.reload()
    assert methods == [("GET", code_url)]
    assert page.get_by_role("alert").count() == 0  # the message was shown once
    assert len(sms_messages(LINE)) == 1
    assert problems == []


# --- a phone-sized screen, and English -------------------------------------------------
def test_phone_sized_pages(live_server, chromium):
    create_acme_with_line()
    client = relying_party(live_server)
    context, page = new_page(chromium, viewport={"width": 390, "height": 844})
    try:
        problems = watch_console(page)
        go_to_phone_login(page, live_server, client)
        assert no_horizontal_scroll(page)
        screenshot(page, "phone-mobile-01-number")
        enter_number(page, "30 123 4567")
        assert no_horizontal_scroll(page)
        send = page.get_by_role("button", name="Kérem az SMS-t", exact=True).bounding_box()
        assert send["x"] >= 0 and send["x"] + send["width"] <= 390
        fix = page.get_by_role("link", name="Javítom", exact=True).bounding_box()
        assert fix["x"] + fix["width"] <= 390
        screenshot(page, "phone-mobile-02-check")
        page.get_by_role("button", name="Kérem az SMS-t", exact=True).click()
        page.wait_for_url(re.compile(r"/login/phone/code\?flow="))
        assert no_horizontal_scroll(page)
        button = page.get_by_role("button", name="Belépek", exact=True).bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= 390
        screenshot(page, "phone-mobile-03-code")
        assert problems == []
    finally:
        context.close()


def test_english_pages(live_server, chromium):
    create_acme_with_line()
    client = relying_party(live_server)
    context, page = new_page(chromium, locale="en-US")
    try:
        problems = watch_console(page)
        go_to_phone_login(page, live_server, client, link="Log in with a mobile phone number", ui_locales="en")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.get_by_role("heading", name="Log in with a phone number").is_visible()
        number = number_input(page, "Mobile phone number")
        assert autocomplete(number) == "tel-national"
        screenshot(page, "phone-en-01-number")
        enter_number(page, "30 123 4567", label="Mobile phone number", button="Next")
        assert page.get_by_role("heading", name="Check the phone number").is_visible()
        assert LINE_DISPLAY in page.locator(".identity").inner_text()
        assert page.get_by_role("link", name="Change", exact=True).is_visible()
        assert page.get_by_role("button", name="Send me the SMS", exact=True).is_visible()
        screenshot(page, "phone-en-02-check")
        assert problems == []
    finally:
        context.close()
