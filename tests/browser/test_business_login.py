"""Business login (DESIGN.md §3 ``/login``) in a real browser: a relying
party's authorization request → identifier → password → SMS code → new
password → back to the relying party with a code, which is exchanged at the
token endpoint and whose ID token is checked against ``/jwks.json``. Also the
wrong-password error, "Nem kaptam meg az SMS-t", "Nem tudom a jelszavam", the
English pages and a phone-sized viewport. Every page is screenshotted into
tests/artifacts/; no page may log a console error or a CSP violation."""

import base64
import hashlib
import re
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.outbox import OutboxMessage
from tests.browser.conftest import later_on_offer
from tests.browser.conftest import screenshot
from tests.factories import make_client

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "boss@acme.example"
ADMIN_PHONE = "+36301234567"
NEW_PASSWORD = "lila akác virágzik a kertben"
VERIFIER = "browser-test-verifier-" + "x" * 40  # 62 characters (RFC 7636: 43-128)
NONCE = "nonce-business-1"


# --- helpers -------------------------------------------------------------------
def outbox(channel, to):
    """The newest message sent to ``to`` (read as the server committed it)."""
    db.session.rollback()
    message = (OutboxMessage.query.filter_by(channel=channel, to=to)
               .order_by(OutboxMessage.id.desc()).first())
    assert message is not None, f"no {channel} to {to} in the outbox"
    return message


def sms_code():
    body = outbox("sms", ADMIN_PHONE).body
    return re.search(r"#(\d{6})\s*$", body).group(1)


def sms_count():
    db.session.rollback()
    return OutboxMessage.query.filter_by(channel="sms", to=ADMIN_PHONE).count()


def create_acme():
    """The company and its main admin; returns the temporary password from the email."""
    from idp.companies import create_company

    create_company("acme", "Acme Kft.", ADMIN_EMAIL, "301234567")
    return re.search(r"Ideiglenes jelszó: (\S+)", outbox("email", ADMIN_EMAIL).body).group(1)


def pkce_challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(base, client_id, **extra):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": base + "/dev/callback",
              "scope": "openid profile", "state": "st-biz", "nonce": NONCE,
              "code_challenge": pkce_challenge(VERIFIER), "code_challenge_method": "S256"}
    params.update(extra)
    return base + "/oauth/authorize?" + urlencode(params)


def relying_party(live_server):
    client, _ = make_client(name="Üzleti portál", first_party=True, public=True,
                            redirect_uris=[live_server.url + "/dev/callback"])
    return client


def watch_console(page):
    """Collect console errors (CSP violations are reported there) and page errors."""
    problems = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url')})")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def new_page(chromium, locale="hu-HU", viewport=None):
    context = chromium.new_context(locale=locale, viewport=viewport or {"width": 1024, "height": 760})
    page = context.new_page()
    page.set_default_timeout(5_000)
    return context, page


def autocomplete(locator):
    return locator.get_attribute("autocomplete")


def focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def continue_button(page, name="Tovább"):
    return page.get_by_role("button", name=name, exact=True)


def enter_identifier(page, identifier="admin@acme", label="Azonosító", button="Tovább"):
    field = page.get_by_label(label, exact=True)
    field.fill(identifier)
    continue_button(page, button).click()
    page.wait_for_url(re.compile(r"/login/password\?flow="))


def enter_password(page, password, label="Jelszó", expect=r"/login/sms\?flow="):
    page.get_by_label(label, exact=True).fill(password)
    continue_button(page).click()
    page.wait_for_url(re.compile(expect))


# --- the whole journey -----------------------------------------------------------
def test_first_login_from_relying_party_to_id_token(live_server, page):
    problems = watch_console(page)
    temporary = create_acme()
    client = relying_party(live_server)

    page.goto(authorize_url(live_server.url, client.client_id))
    assert re.search(r"/login\?interaction=", page.url)
    assert page.get_by_role("heading", name="Belépés").is_visible()
    identifier = page.get_by_label("Azonosító", exact=True)
    assert autocomplete(identifier) == "username"
    assert focused_id(page) == "identifier"
    screenshot(page, "business-01-identifier")
    identifier.fill("  Admin@ACME ")
    continue_button(page).click()

    page.wait_for_url(re.compile(r"/login/password\?flow="))
    assert "admin@acme" in page.locator(".identity").inner_text()
    password = page.get_by_label("Jelszó", exact=True)
    assert autocomplete(password) == "current-password"
    assert password.get_attribute("type") == "password"
    assert autocomplete(page.locator("input[name=username]")) == "username"
    assert focused_id(page) == "password"
    assert page.get_by_role("link", name="Nem tudom a jelszavam").is_visible()
    screenshot(page, "business-02-password")
    password.fill(temporary)
    continue_button(page).click()

    page.wait_for_url(re.compile(r"/login/sms\?flow="))
    assert "+36 30 *** **67" in page.locator("p.lead").inner_text()
    code = page.get_by_label("SMS-ben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code"
    assert code.get_attribute("inputmode") == "numeric"
    assert page.get_by_role("button", name="Nem kaptam meg az SMS-t").is_visible()
    screenshot(page, "business-03-sms")
    body = outbox("sms", ADMIN_PHONE).body
    assert body.endswith(f"@127.0.0.1 #{sms_code()}")  # WebOTP line
    code.fill(sms_code())
    continue_button(page).click()

    page.wait_for_url(re.compile(r"/login/new-password\?flow="))
    first = page.get_by_label("Új jelszó", exact=True)
    repeat = page.get_by_label("Új jelszó még egyszer", exact=True)
    assert autocomplete(first) == "new-password" and autocomplete(repeat) == "new-password"
    assert autocomplete(page.locator("input[name=username]")) == "username"
    screenshot(page, "business-04-new-password")
    first.fill(NEW_PASSWORD)
    repeat.fill(NEW_PASSWORD)
    page.get_by_role("button", name="Jelszó mentése").click()

    later_on_offer(page)
    page.wait_for_url(re.compile(re.escape(live_server.url + "/dev/callback?") + ".*code="))
    screenshot(page, "business-05-callback")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-biz"]
    assert query["iss"] == [live_server.url]
    assert problems == []

    # The relying party's part: code + PKCE verifier at the token endpoint.
    response = requests.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": client.client_id,
        "redirect_uri": live_server.url + "/dev/callback", "code_verifier": VERIFIER}, timeout=5)
    assert response.status_code == 200, response.text
    token = response.json()
    keys = KeySet.import_key_set(requests.get(live_server.url + "/jwks.json", timeout=5).json())
    decoded = jwt.decode(token["id_token"], keys)  # raises unless the signature verifies
    claims = decoded.claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": live_server.url},
                          aud={"essential": True, "value": client.client_id},
                          nonce={"essential": True, "value": NONCE}).validate(claims)
    assert {"pwd", "sms"} <= set(claims["amr"])
    assert claims["acr"] == "urn:telekom:acr:2fa"
    assert claims["preferred_username"] == "admin@acme"

    # The new password replaced the temporary one.
    from idp.models.company import BusinessUser

    db.session.rollback()
    admin = BusinessUser.query.filter_by(username="admin").one()
    assert admin.password_temporary is False


# --- errors and detours ------------------------------------------------------------
def test_wrong_password_is_shown_at_the_field(live_server, page):
    problems = watch_console(page)
    create_acme()
    client = relying_party(live_server)
    page.goto(authorize_url(live_server.url, client.client_id))
    enter_identifier(page)
    page.get_by_label("Jelszó", exact=True).fill("nem ez a jelszó")
    continue_button(page).click()
    page.wait_for_load_state()

    password = page.get_by_label("Jelszó", exact=True)
    alert = page.get_by_role("alert")
    assert alert.inner_text().strip() == "Hibás azonosító vagy jelszó."
    assert password.get_attribute("aria-invalid") == "true"
    assert alert.get_attribute("id") in password.get_attribute("aria-describedby").split()
    assert focused_id(page) == "password"
    assert password.input_value() == ""  # a wrong password is not echoed back
    # The error sits right under the field, inside the same group.
    field_box, alert_box = password.bounding_box(), alert.bounding_box()
    assert 0 <= alert_box["y"] - (field_box["y"] + field_box["height"]) < 24
    # "Nem tudom a jelszavam" sits beside the password field, before the button.
    link_box = page.get_by_role("link", name="Nem tudom a jelszavam").bounding_box()
    button_box = continue_button(page).bounding_box()
    assert field_box["y"] < link_box["y"] < button_box["y"]
    assert abs((link_box["x"] + link_box["width"]) - (field_box["x"] + field_box["width"])) < 2
    screenshot(page, "business-06-wrong-password")
    assert problems == []


def test_resend_sms_shows_the_new_code_notice(live_server, page, clock):
    problems = watch_console(page)
    temporary = create_acme()
    client = relying_party(live_server)
    page.goto(authorize_url(live_server.url, client.client_id))
    enter_identifier(page)
    enter_password(page, temporary)
    first_code = sms_code()

    resend = page.get_by_role("button", name="Nem kaptam meg az SMS-t")
    resend.focus()
    # Looks like a link (not a magenta button), and keyboard focus is visible.
    background, decoration, outline = resend.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.textDecorationLine, s.outlineStyle]; }")
    assert background == "rgba(0, 0, 0, 0)" and decoration == "underline" and outline == "solid"
    screenshot(page, "business-07-sms-resend-focused")
    clock.advance(31)  # past the resend cooldown
    resend.click()
    page.wait_for_url(re.compile(r"/login/sms\?flow="))
    notice = page.get_by_role("status")
    assert "Új kódot küldtünk" in notice.inner_text()
    assert sms_count() == 2
    screenshot(page, "business-08-sms-resent")

    # The old code no longer works; the new one does.
    code = page.get_by_label("SMS-ben kapott kód", exact=True)
    if first_code != sms_code():
        code.fill(first_code)
        continue_button(page).click()
        page.wait_for_load_state()
        assert "Hibás kód" in page.get_by_role("alert").inner_text()
        assert focused_id(page) == "code"
        screenshot(page, "business-09-sms-wrong-code")
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code())
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/new-password\?flow="))
    assert problems == []


def test_forgotten_password_reset_by_sms(live_server, page):
    problems = watch_console(page)
    create_acme()
    client = relying_party(live_server)
    page.goto(authorize_url(live_server.url, client.client_id))
    enter_identifier(page)
    page.get_by_role("link", name="Nem tudom a jelszavam").click()

    page.wait_for_url(re.compile(r"/login/password-reset\?flow="))
    assert page.get_by_role("heading", name="Nem tudom a jelszavam").is_visible()
    assert page.get_by_label("Azonosító", exact=True).input_value() == "admin@acme"
    screenshot(page, "reset-01-start")
    continue_button(page).click()

    page.wait_for_url(re.compile(r"/login/password-reset/choose\?flow="))
    sms_choice = page.get_by_role("radio", name=re.compile("SMS-ben"))
    assert "+36 30 *** **67" in page.locator("label.choice").filter(has_text="SMS-ben").inner_text()
    screenshot(page, "reset-02-choose")
    sms_choice.check()
    page.get_by_role("button", name="Kód küldése").click()

    page.wait_for_url(re.compile(r"/login/password-reset/code\?flow="))
    code = page.get_by_label("SMS-ben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code"
    screenshot(page, "reset-03-code")
    assert "jelszó-visszaállító" in outbox("sms", ADMIN_PHONE).body
    code.fill(sms_code())
    continue_button(page).click()

    page.wait_for_url(re.compile(r"/login/password-reset/new\?flow="))
    first = page.get_by_label("Új jelszó", exact=True)
    repeat = page.get_by_label("Új jelszó még egyszer", exact=True)
    assert autocomplete(first) == "new-password" and autocomplete(repeat) == "new-password"
    first.fill(NEW_PASSWORD)
    repeat.fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Jelszó mentése").click()
    page.wait_for_load_state()
    assert "nem egyezik" in page.get_by_role("alert").inner_text()
    screenshot(page, "reset-04-new-password-mismatch")
    page.get_by_label("Új jelszó", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Új jelszó még egyszer", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Jelszó mentése").click()

    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Jelszó megváltoztatva").is_visible()
    assert "beállítva" in page.get_by_role("status").inner_text()
    screenshot(page, "reset-05-done")

    # Back to the login of the same authorization request, now with the new password.
    page.get_by_role("link", name="Belépés", exact=True).click()
    page.wait_for_url(re.compile(r"/login\?interaction="))
    enter_identifier(page)
    enter_password(page, NEW_PASSWORD)
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code())
    continue_button(page).click()
    later_on_offer(page)
    page.wait_for_url(re.compile(re.escape(live_server.url + "/dev/callback?") + ".*code="))
    assert problems == []


def test_forgotten_password_code_by_email_is_labelled_so(live_server, page):
    problems = watch_console(page)
    create_acme()
    page.goto(live_server.url + "/login")
    enter_identifier(page)
    page.get_by_role("link", name="Nem tudom a jelszavam").click()
    page.wait_for_url(re.compile(r"/login/password-reset\?flow="))
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/password-reset/choose\?flow="))
    page.get_by_role("radio", name=re.compile("E-mailben")).check()
    page.get_by_role("button", name="Kód küldése").click()
    page.wait_for_url(re.compile(r"/login/password-reset/code\?flow="))
    code = page.get_by_label("E-mailben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code" and focused_id(page) == "code"
    assert page.get_by_text("SMS-ben kapott kód").count() == 0
    screenshot(page, "reset-03b-code-by-email")
    assert problems == []


def log_in_without_an_application(page, live_server, temporary):
    """/login straight (no relying party): identifier, temporary password, SMS code, new password."""
    page.goto(live_server.url + "/login")
    enter_identifier(page)
    enter_password(page, temporary)
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code())
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/new-password\?flow="))
    page.get_by_label("Új jelszó", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Új jelszó még egyszer", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Jelszó mentése").click()
    later_on_offer(page)
    page.wait_for_url(live_server.url + "/login/done")


def test_login_without_an_application_offers_the_admin_area_and_logging_out(live_server, page):
    problems = watch_console(page)
    log_in_without_an_application(page, live_server, create_acme())
    assert page.get_by_role("heading", name="Sikeres belépés").is_visible()
    assert "Bejelentkezve: admin@acme" in page.locator("main").inner_text()
    admin = page.get_by_role("link", name="Cégadminisztráció", exact=True)
    logout = page.get_by_role("button", name="Kijelentkezés", exact=True)
    assert admin.is_visible() and logout.is_visible()
    admin_box, logout_box = admin.bounding_box(), logout.bounding_box()
    assert abs(admin_box["y"] - logout_box["y"]) < 2 and abs(admin_box["height"] - logout_box["height"]) < 2
    screenshot(page, "business-10-done")

    page.goto(live_server.url + "/")
    assert "Bejelentkezve: admin@acme" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Cégadminisztráció", exact=True).is_visible()
    screenshot(page, "home-01-logged-in")
    page.get_by_role("link", name="Cégadminisztráció", exact=True).click()
    page.wait_for_url(live_server.url + "/admin/users")

    page.goto(live_server.url + "/login/done")
    page.get_by_role("button", name="Kijelentkezés", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    assert "Bejelentkezve" not in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Kijelentkezés").count() == 0
    assert page.get_by_role("link", name="Belépés", exact=True).is_visible()
    screenshot(page, "home-02-logged-out")
    page.goto(live_server.url + "/admin/users")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.goto(live_server.url + "/login/done")
    assert page.get_by_role("heading", name="Nincs belépve").is_visible()
    screenshot(page, "business-11-done-logged-out")
    assert problems == []


def test_phone_sized_done_page(live_server, chromium):
    temporary = create_acme()
    context, page = new_page(chromium, viewport={"width": 390, "height": 844})
    try:
        problems = watch_console(page)
        log_in_without_an_application(page, live_server, temporary)
        assert no_horizontal_scroll(page)
        for name in ("Cégadminisztráció", "Kijelentkezés"):
            box = page.get_by_role("link" if name == "Cégadminisztráció" else "button", name=name,
                                   exact=True).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        screenshot(page, "mobile-04-done")
        assert problems == []
    finally:
        context.close()


# --- English, and a phone-sized screen ------------------------------------------------
def test_english_pages(live_server, chromium):
    create_acme()
    client = relying_party(live_server)
    context, page = new_page(chromium, locale="en-US")
    try:
        problems = watch_console(page)
        page.goto(authorize_url(live_server.url, client.client_id, ui_locales="en"))
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.get_by_role("heading", name="Log in").is_visible()
        identifier = page.get_by_label("Identifier", exact=True)
        assert autocomplete(identifier) == "username"
        screenshot(page, "en-01-identifier")
        identifier.fill("admin@acme")
        continue_button(page, "Next").click()

        page.wait_for_url(re.compile(r"/login/password\?flow="))
        password = page.get_by_label("Password", exact=True)
        assert autocomplete(password) == "current-password"
        assert page.get_by_role("link", name="I don't know my password").is_visible()
        password.fill("wrong password")
        continue_button(page, "Next").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").inner_text().strip() == "Wrong identifier or password."
        screenshot(page, "en-02-password-error")
        assert problems == []
    finally:
        context.close()


def test_phone_sized_identifier_and_sms_pages(live_server, chromium):
    temporary = create_acme()
    client = relying_party(live_server)
    context, page = new_page(chromium, viewport={"width": 390, "height": 844})
    try:
        problems = watch_console(page)
        page.goto(authorize_url(live_server.url, client.client_id))
        assert no_horizontal_scroll(page)
        screenshot(page, "mobile-01-identifier")
        enter_identifier(page)
        assert no_horizontal_scroll(page)
        screenshot(page, "mobile-02-password")
        enter_password(page, temporary)
        assert no_horizontal_scroll(page)
        button = continue_button(page).bounding_box()
        assert button["x"] + button["width"] <= 390
        screenshot(page, "mobile-03-sms")
        assert problems == []
    finally:
        context.close()
