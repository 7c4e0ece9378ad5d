"""The Telekom account (MISSION.md 9, DESIGN.md §3 ``/account``) in a real
browser, on the demo data of ``idp demo`` (``idp/demo.py``):

1. a business login from a relying party → the offer ("Telekom fiók
   létrehozása") → the create form, prefilled with the user's email → the
   emailed code → "Csatolom" → back at the relying party with a code; the
   account page then lists the business identity;
2. a relying party asking ``openid company subscriptions`` → "Belépés Telekom
   fiókkal" → "Belépés Facebookkal" (the local stand-in of Facebook) → the
   account chooser → the business identity with its company's SMS step-up →
   an ID token with ``amr`` ``["fed", "sms", "mfa"]`` and a ``subscriptions``
   claim;
3. the account page with data (linked identities, Facebook, subscriptions, an
   application, sessions), on a desktop and a phone-sized screen;
4. the offer's "Van már fiókom: csatolom": an existing account linked instead.

Every page is screenshotted into tests/artifacts/ (``account-NN-…``); no page
may log a console error or a CSP violation."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.outbox import OutboxMessage
from tests.browser.conftest import screenshot
from tests.browser.test_business_login import VERIFIER
from tests.browser.test_business_login import authorize_url
from tests.browser.test_business_login import autocomplete
from tests.browser.test_business_login import continue_button
from tests.browser.test_business_login import new_page
from tests.browser.test_business_login import no_horizontal_scroll
from tests.browser.test_business_login import relying_party
from tests.browser.test_business_login import watch_console
from tests.conftest import LiveServer
from tests.conftest import listening_socket
from tests.factories import make_client

pytestmark = pytest.mark.browser

DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_PHONE = "+36301110001"
ANNA_PHONE = "+36301110002"  # anna@demo's phone: the chooser's SMS goes there
ACCOUNT_PASSWORD = "Otthoni-fiok-jelszava-2026"
NEW_PASSWORD = "lila akác virágzik a kertben"
NONCE = "nonce-account-1"
PHONE = {"width": 390, "height": 844}


# --- helpers -------------------------------------------------------------------
@pytest.fixture
def facebook_live_server(make_app, fake_facebook):
    """A live server whose app logs in with the local stand-in of Facebook."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    app = make_app(issuer=f"http://127.0.0.1:{port}", **fake_facebook.config)
    server = LiveServer(app, port, sock).start()
    with app.app_context():
        yield server
    server.stop()


def newest(channel, to):
    """The newest message sent to ``to`` (read as the server committed it)."""
    db.session.rollback()
    message = (OutboxMessage.query.filter_by(channel=channel, to=to)
               .order_by(OutboxMessage.id.desc()).first())
    assert message is not None, f"no {channel} to {to} in the outbox"
    return message


def sms_code(to):
    return re.search(r"#(\d{6})\s*$", newest("sms", to).body).group(1)


def emailed_code(to):
    return re.search(r"kódot: (\d{6})", newest("email", to).body).group(1)


def demo_company():
    """``idp demo``'s company: admin@demo (a temporary password, emailed) and anna@demo."""
    from idp.demo import ensure_demo_company

    return ensure_demo_company()


def demo_account(facebook_id=None):
    """``idp demo``'s Telekom account (anna@otthon.example), linked to anna@demo and the
    phone line 301234567, with a home subscription; optionally with Facebook."""
    from idp.demo import ensure_demo_account

    account = ensure_demo_account(demo_company())
    account.facebook_id = facebook_id
    db.session.commit()
    return account


def temporary_password(email):
    return re.search(r"Ideiglenes jelszó: (\S+)", newest("email", email).body).group(1)


def callback_pattern(live_server):
    return re.compile(re.escape(live_server.url + "/dev/callback?") + ".*code=")


def id_token_claims(live_server, client, callback_url, state):
    """The relying party's part: code + PKCE verifier at the token endpoint, the ID
    token verified against /jwks.json."""
    query = parse_qs(urlsplit(callback_url).query)
    assert query["state"] == [state]
    assert query["iss"] == [live_server.url]
    response = requests.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": client.client_id,
        "redirect_uri": live_server.url + "/dev/callback", "code_verifier": VERIFIER}, timeout=5)
    assert response.status_code == 200, response.text
    keys = KeySet.import_key_set(requests.get(live_server.url + "/jwks.json", timeout=5).json())
    claims = jwt.decode(response.json()["id_token"], keys).claims  # raises unless the signature verifies
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": live_server.url},
                          aud={"essential": True, "value": client.client_id},
                          nonce={"essential": True, "value": NONCE}).validate(claims)
    return claims


def account_login(page, username, password):
    """``/account/login``: username and password (an account without a phone gets no SMS step)."""
    page.get_by_label("E-mail-cím vagy mobilszám", exact=True).fill(username)
    page.get_by_label("Jelszó", exact=True).fill(password)
    page.get_by_role("button", name="Belépés", exact=True).click()


def section(page, heading):
    """The account page's section under ``heading``."""
    return page.locator("section.panel").filter(has=page.get_by_role("heading", name=heading, exact=True))


def ours(problems, fake_facebook):
    """The console problems of the IdP's pages (the stand-in dialog has no favicon, say)."""
    return [problem for problem in problems if fake_facebook.url not in problem]


def within_viewport(page, locator):
    box = locator.bounding_box()
    return box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


# --- 1. the offer after a business login: create an account, linked -------------------
def test_business_login_offer_creates_a_linked_account(live_server, page):
    problems = watch_console(page)
    demo_company()
    temporary = temporary_password(DEMO_ADMIN_EMAIL)
    client = relying_party(live_server)

    # The business login: identifier, temporary password, SMS code, a new password.
    page.goto(authorize_url(live_server.url, client.client_id, nonce=NONCE, state="st-offer"))
    page.get_by_label("Azonosító", exact=True).fill("admin@demo")
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/password\?flow="))
    page.get_by_label("Jelszó", exact=True).fill(temporary)
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/sms\?flow="))
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code(DEMO_ADMIN_PHONE))
    continue_button(page).click()
    page.wait_for_url(re.compile(r"/login/new-password\?flow="))
    page.get_by_label("Új jelszó", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Új jelszó még egyszer", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Jelszó mentése").click()

    # The offer.
    page.wait_for_url(re.compile(r"/account/offer\?"))
    assert page.get_by_role("heading", name="Minden előfizetése egy helyen").is_visible()
    assert "admin@demo" in page.locator("p.lead").inner_text()
    create = page.get_by_role("link", name="Telekom fiók létrehozása", exact=True)
    link_existing = page.get_by_role("link", name="Van már fiókom: csatolom", exact=True)
    later = page.get_by_role("button", name="Később", exact=True)
    assert create.is_visible() and link_existing.is_visible() and later.is_visible()
    screenshot(page, "account-01-offer")
    create.click()

    # The create form, prefilled with the business user's email address.
    page.wait_for_url(re.compile(r"/account/new\?"))
    assert page.get_by_role("heading", name="Telekom fiók létrehozása").is_visible()
    username = page.get_by_label("E-mail-cím vagy mobilszám", exact=True)
    assert username.input_value() == DEMO_ADMIN_EMAIL
    assert autocomplete(username) == "username"
    password = page.get_by_label("Jelszó", exact=True)
    repeat = page.get_by_label("Jelszó még egyszer", exact=True)
    assert autocomplete(password) == "new-password" and autocomplete(repeat) == "new-password"
    # Linking from the offer: no "Már van fiókom" detour here (the offer has its own).
    assert page.get_by_role("link", name="Már van fiókom: belépek").count() == 0
    page.get_by_label("Név", exact=True).fill("Demo Admin")
    password.fill(ACCOUNT_PASSWORD)
    repeat.fill(ACCOUNT_PASSWORD)
    screenshot(page, "account-02-new")
    page.get_by_role("button", name="Fiók létrehozása", exact=True).click()

    # The code emailed to that address.
    page.wait_for_url(re.compile(r"/account/new/verify\?flow="))
    assert page.get_by_role("heading", name="Megerősítő kód").is_visible()
    assert DEMO_ADMIN_EMAIL in page.locator("p.lead").inner_text()
    code = page.get_by_label("E-mailben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code" and code.get_attribute("inputmode") == "numeric"
    assert page.get_by_role("button", name="Nem kaptam meg a kódot").is_visible()
    screenshot(page, "account-03-code")
    code.fill(emailed_code(DEMO_ADMIN_EMAIL))
    continue_button(page).click()

    # Both sides proven in this browser: confirm the link.
    page.wait_for_url(re.compile(r"/account/offer/link\?"))
    assert page.get_by_role("heading", name="Azonosító csatolása").is_visible()
    lead = page.locator("p.lead").inner_text()
    assert "admin@demo" in lead and DEMO_ADMIN_EMAIL in lead
    screenshot(page, "account-04-link-confirm")
    page.get_by_role("button", name="Csatolom", exact=True).click()

    # Back at the relying party, logged in as the business user.
    page.wait_for_url(callback_pattern(live_server))
    screenshot(page, "account-05-callback")
    claims = id_token_claims(live_server, client, page.url, "st-offer")
    assert claims["preferred_username"] == "admin@demo"
    assert {"pwd", "sms"} <= set(claims["amr"])

    # The new account lists the business identity on its page (after logging in to it).
    page.goto(live_server.url + "/account")
    page.wait_for_url(re.compile(r"/account/login\?next="))
    assert page.get_by_role("link", name="Belépés Facebookkal").count() == 0  # not configured here
    screenshot(page, "account-06-login-without-facebook")
    account_login(page, DEMO_ADMIN_EMAIL, ACCOUNT_PASSWORD)
    page.wait_for_url(live_server.url + "/account")
    links = section(page, "Csatolt azonosítók")
    assert "admin@demo" in links.inner_text() and "Demo Kft." in links.inner_text()
    assert "Demo Admin" in section(page, "Profil").inner_text()
    screenshot(page, "account-07-linked")
    assert problems == []

    # A second visit offers nothing: the identity is linked to a complete account.
    from idp.flows.linking import account_of
    from idp.models.company import BusinessUser

    db.session.rollback()
    admin = BusinessUser.query.filter_by(username="admin").one()
    assert account_of(admin).email_address == DEMO_ADMIN_EMAIL


# --- 2. Facebook → the account chooser → the company's SMS step-up ---------------------
def test_facebook_login_chooses_business_identity_with_sms(facebook_live_server, fake_facebook, page):
    server = facebook_live_server
    problems = watch_console(page)
    demo_account(facebook_id=fake_facebook.identity["id"])
    client = relying_party(server)

    page.goto(authorize_url(server.url, client.client_id, scope="openid company subscriptions", nonce=NONCE,
                            state="st-fb"))
    page.wait_for_url(re.compile(r"/login\?interaction="))
    page.get_by_role("link", name="Belépés Telekom fiókkal").click()

    page.wait_for_url(re.compile(r"/account/login\?interaction="))
    assert page.get_by_role("heading", name="Belépés Telekom fiókkal").is_visible()
    username = page.get_by_label("E-mail-cím vagy mobilszám", exact=True)
    assert autocomplete(username) == "username"
    assert autocomplete(page.get_by_label("Jelszó", exact=True)) == "current-password"
    facebook = page.get_by_role("link", name="Belépés Facebookkal", exact=True)
    assert facebook.is_visible()
    assert page.get_by_role("link", name="Még nincs fiókom: létrehozom").is_visible()
    # The Facebook button is as wide as the form, below the "Belépés" button.
    login_box = page.get_by_role("button", name="Belépés", exact=True).bounding_box()
    facebook_box, field_box = facebook.bounding_box(), username.bounding_box()
    assert facebook_box["y"] > login_box["y"] + login_box["height"]
    assert abs(facebook_box["width"] - field_box["width"]) < 2
    screenshot(page, "account-08-login-facebook")
    facebook.click()

    # Facebook's dialog (the local stand-in).
    page.get_by_role("button", name="Folytatás mint Kovács Anna").wait_for()
    assert page.url.startswith(fake_facebook.url + "/dialog/oauth?")
    screenshot(page, "account-09-facebook-dialog")
    page.get_by_role("button", name="Folytatás mint Kovács Anna").click()

    # The chooser: the business users linked to the account.
    page.wait_for_url(re.compile(r"/account/choose\?flow="))
    assert page.get_by_role("heading", name="Melyik azonosítójával lép be?").is_visible()
    choice = page.get_by_role("radio", name="anna@demo – Demo Kft.")
    assert choice.is_visible()
    assert page.get_by_role("radio").count() == 1  # the phone line is no business identity
    choice.check()
    screenshot(page, "account-10-chooser")
    continue_button(page).click()

    # Demo Kft. asks for the SMS code: it goes to anna@demo's phone.
    page.wait_for_url(re.compile(r"/account/choose/sms\?flow="))
    assert "+36 30 *** **02" in page.locator("p.lead").inner_text()
    code = page.get_by_label("SMS-ben kapott kód", exact=True)
    assert autocomplete(code) == "one-time-code"
    assert page.get_by_role("button", name="Nem kaptam meg az SMS-t").is_visible()
    screenshot(page, "account-11-chooser-sms")
    code.fill(sms_code(ANNA_PHONE))
    continue_button(page).click()

    page.wait_for_url(callback_pattern(server))
    screenshot(page, "account-12-callback")
    claims = id_token_claims(server, client, page.url, "st-fb")
    assert claims["amr"] == ["fed", "sms", "mfa"]
    assert claims["acr"] == "urn:telekom:acr:2fa"
    assert claims["company"]["name"] == "Demo Kft."
    assert [s["label"] for s in claims["subscriptions"]] == ["Demo Kft. céges flotta"]
    assert ours(problems, fake_facebook) == []


# --- 3. the account page with data, on a desktop and on a phone ------------------------
def test_account_page_with_data(facebook_live_server, fake_facebook, chromium, page):
    server = facebook_live_server
    problems = watch_console(page)
    demo_account(facebook_id=fake_facebook.identity["id"])
    # An app of another developer the account logs in to (and consents to).
    callback = server.url + "/dev/callback"
    app_client, _ = make_client(name="Otthoni TV alkalmazás", redirect_uris=[callback], public=True)

    page.goto(authorize_url(server.url, app_client.client_id, nonce=NONCE, state="st-app"))
    page.get_by_role("link", name="Belépés Telekom fiókkal").click()
    page.wait_for_url(re.compile(r"/account/login\?interaction="))
    account_login(page, "anna@otthon.example", "Demo-Telekom-fiok-2026")
    page.wait_for_url(re.compile(r"/oauth/consent/"))
    assert "anna@otthon.example" in page.locator("p.lead").inner_text()
    page.get_by_role("button", name="Engedélyezem").click()
    page.wait_for_url(callback_pattern(server))

    # The same account on a phone: the login page and the account page fit the screen.
    context, phone = new_page(chromium, viewport=PHONE)
    try:
        phone_problems = watch_console(phone)
        phone.goto(server.url + "/account")
        phone.wait_for_url(re.compile(r"/account/login\?next="))
        screenshot(phone, "account-13-mobile-login")
        assert no_horizontal_scroll(phone)
        assert within_viewport(phone, phone.get_by_role("link", name="Belépés Facebookkal"))
        assert within_viewport(phone, phone.get_by_role("button", name="Belépés", exact=True))
        account_login(phone, "anna@otthon.example", "Demo-Telekom-fiok-2026")
        phone.wait_for_url(server.url + "/account")
        screenshot(phone, "account-14-mobile-page")
        assert no_horizontal_scroll(phone)
        for button in ("Mentés", "Kód küldése", "Jelszó mentése", "Kijelentkezés mindenhol"):
            assert within_viewport(phone, phone.get_by_role("button", name=button, exact=True)), button
        assert phone_problems == []
    finally:
        context.close()

    page.goto(server.url + "/account")
    assert page.get_by_role("heading", name="Telekom fiók", exact=True).is_visible()
    profile = section(page, "Profil").inner_text()
    assert "Kovács Anna" in profile and "anna@otthon.example" in profile and "megerősítve" in profile
    links = section(page, "Csatolt azonosítók").inner_text()
    assert "anna@demo" in links and ("+36 30 123 4567" in links or "+36301234567" in links)
    assert "Facebook" in links and "Csatolva" in links
    subscriptions = section(page, "Előfizetések").inner_text()
    for label in ("Otthoni internet és TV – Budapest", "Mobil előfizetés 30 123 4567", "Demo Kft. céges flotta"):
        assert label in subscriptions
    applications = section(page, "Alkalmazások")
    assert "Otthoni TV alkalmazás" in applications.inner_text()
    assert applications.get_by_role("button", name="Hozzáférés visszavonása").is_visible()
    sessions = section(page, "Bejelentkezések")
    assert sessions.locator("tr").count() == 2  # this browser and the phone
    assert no_horizontal_scroll(page)
    screenshot(page, "account-15-page")
    assert problems == []


# --- 4. the offer's other way: link an account that already exists --------------------
def test_offer_links_an_existing_account(live_server, page):
    problems = watch_console(page)
    demo_account()
    temporary = temporary_password(DEMO_ADMIN_EMAIL)
    client = relying_party(live_server)

    page.goto(authorize_url(live_server.url, client.client_id, nonce=NONCE, state="st-link"))
    page.get_by_label("Azonosító", exact=True).fill("admin@demo")
    continue_button(page).click()
    page.get_by_label("Jelszó", exact=True).fill(temporary)
    continue_button(page).click()
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code(DEMO_ADMIN_PHONE))
    continue_button(page).click()
    page.get_by_label("Új jelszó", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Új jelszó még egyszer", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Jelszó mentése").click()
    page.wait_for_url(re.compile(r"/account/offer\?"))
    page.get_by_role("link", name="Van már fiókom: csatolom", exact=True).click()

    # The account login only proves the account: no detour to the business or phone login
    # (creating an account instead is still offered; it is linked the same way).
    page.wait_for_url(re.compile(r"/account/login\?link="))
    assert page.get_by_role("link", name="Belépés üzleti azonosítóval").count() == 0
    assert page.get_by_role("link", name="Még nincs fiókom: létrehozom").get_attribute("href").startswith(
        "/account/new?link=")
    screenshot(page, "account-16-link-login")
    account_login(page, "anna@otthon.example", "Demo-Telekom-fiok-2026")

    page.wait_for_url(re.compile(r"/account/offer/link\?"))
    lead = page.locator("p.lead").inner_text()
    assert "admin@demo" in lead and "anna@otthon.example" in lead
    screenshot(page, "account-17-link-confirm-existing")
    page.get_by_role("button", name="Csatolom", exact=True).click()
    page.wait_for_url(callback_pattern(live_server))
    claims = id_token_claims(live_server, client, page.url, "st-link")
    assert claims["preferred_username"] == "admin@demo"  # the login stays the business user's
    assert problems == []

    from idp.flows.linking import account_of
    from idp.models.company import BusinessUser

    db.session.rollback()
    admin = BusinessUser.query.filter_by(username="admin").one()
    assert account_of(admin).email_address == "anna@otthon.example"
