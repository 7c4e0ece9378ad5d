"""The developer's whole journey (issue 11) in a real browser: a developer
registers the example relying party (examples/portal) at /developers/clients/new
with its callback, post-logout and back-channel URIs, copies the client id and
the secret from the page shown once, and starts the portal with them. Then
another person clicks "Bejelentkezés Telekommal", logs in at the IdP with
password and SMS code, consents, and sees the company, permissions and
subscription on the portal; logs out through the portal (RP-Initiated Logout),
and the logout token the IdP sends in the background (Back-Channel Logout 1.0)
ends the portal session a second window of the same login had. Every page is
screenshotted into tests/artifacts/; no page may log a console error or a CSP
violation."""

import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.outbox import OutboxMessage
from idp.models.registration import LogoutNotification
from idp.subscriptions import Owner
from idp.subscriptions import add_subscription
from tests.browser.conftest import later_on_offer
from tests.browser.conftest import screenshot
from tests.browser.test_business_login import continue_button
from tests.browser.test_business_login import enter_identifier
from tests.browser.test_business_login import enter_password
from tests.browser.test_business_login import watch_console
from tests.conftest import LiveServer
from tests.conftest import listening_socket
from tests.factories import make_company
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.functional.test_portal_example import LOGIN_BUTTON
from tests.functional.test_portal_example import delivered_logout_tokens
from tests.functional.test_portal_example import eventually
from tests.functional.test_portal_example import load_example

pytestmark = pytest.mark.browser

PASSWORD = "Helyes-jelszo-2024!"
DEVELOPER_PHONE = "+36301000021"
PERSON_PHONE = "+36301000031"
APP_NAME = "Példa portál"
SUBSCRIPTION = "Flotta – 25 vonal"
PERMISSIONS = ["invoices.view", "subscriptions.view"]
#: The scopes examples/portal/app.py asks for besides openid (checked by default), as labelled on the form.
SCOPE_LABELS = ["Név és felhasználónév", "Cég és szerepkör", "Jogosultságok", "Előfizetések"]


def shot(page, number, what):
    return screenshot(page, f"portal-journey-{number:02d}-{what}")


def sms_code(phone):
    """The code the SMS gateway fake (the outbox) holds for ``phone``, as the server committed it."""
    db.session.rollback()
    message = OutboxMessage.query.filter_by(channel="sms", to=phone).order_by(OutboxMessage.id.desc()).first()
    return re.search(r"#(\d{6})\s*$", message.body).group(1)


class PortalSeat:
    """A loopback port kept for the example portal from the start: the developer
    registers its URLs before it runs, and nobody else can take the port meanwhile."""

    def __init__(self):
        self._socket = listening_socket()
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = self._server = None

    def start(self, issuer, client_id, client_secret):
        """Run examples/portal/app.py here, as its README says, with what the developer copied."""
        self.app = load_example().create_app(issuer, client_id, client_secret, self.url)
        self._server = LiveServer(self.app, self.port, self._socket).start()

    @property
    def sessions(self):
        return self.app.extensions["portal"]["sessions"]

    def stop(self):
        if self._server is None:
            self._socket.close()
        else:
            self._server.stop()


@pytest.fixture
def portal(live_server):
    seat = PortalSeat()
    yield seat
    seat.stop()


class Windows:
    """New browser contexts (another person, or another window without the portal's
    cookie), each with its console watched."""

    def __init__(self, chromium):
        self.chromium = chromium
        self.opened = []

    def open(self, cookies=()):
        context = self.chromium.new_context(locale="hu-HU", viewport={"width": 1024, "height": 760})
        context.add_cookies(list(cookies))
        page = context.new_page()
        page.set_default_timeout(10_000)
        self.opened.append((context, watch_console(page)))
        return page

    def console_problems(self):
        return [problem for _, problems in self.opened for problem in problems]

    def close(self):
        for context, _ in self.opened:
            context.close()


@pytest.fixture
def windows(chromium):
    opened = Windows(chromium)
    yield opened
    opened.close()


@pytest.fixture
def developer(live_server):
    company, _ = make_company_with_admin(slug="kodgyar", name="Kódgyár Kft.", phone="+36301000020")
    return make_login_user(company, username="dev", phone=DEVELOPER_PHONE)


@pytest.fixture
def anna(live_server):
    """A business user whose company, permissions and subscription the portal will show."""
    company = make_company(slug="acme", name="Acme Kft.")
    add_subscription(Owner.of(company), "business", SUBSCRIPTION, "acme-fleet-1")
    return make_login_user(company, username="anna", phone=PERSON_PHONE, permissions=PERMISSIONS)


# --- the developer -------------------------------------------------------------------------------
def log_in_at_the_idp(page, identifier, phone, shots=None):
    """Identifier, password, the SMS code, "Később" on the Telekom account offer."""
    if shots:
        shot(page, shots, "idp-identifier")
    enter_identifier(page, identifier)
    enter_password(page, PASSWORD)
    if shots:
        shot(page, shots + 1, "idp-sms")
    page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code(phone))
    continue_button(page).click()
    later_on_offer(page)


def register_the_portal(page, live_server, portal):
    """Fill in /developers/clients/new with the example's URLs and scopes; returns
    what a person copies from the secret page: ``(client_id, client_secret)``."""
    page.goto(live_server.url + "/developers/clients/new")
    page.wait_for_url(re.compile(r"/login\?next="))
    log_in_at_the_idp(page, "dev@kodgyar", DEVELOPER_PHONE)
    page.wait_for_url(live_server.url + "/developers/clients/new")
    page.get_by_label("Az alkalmazás neve", exact=True).fill(APP_NAME)
    page.get_by_label("Webalkalmazás szerveroldali titkos kulccsal").check()
    page.get_by_label("Átirányítási címek (redirect URI)").fill(portal.url + "/callback")
    page.get_by_label("Kijelentkezés utáni átirányítási címek").fill(portal.url + "/logged-out")
    page.get_by_label("Háttércsatornás kijelentkezési cím").fill(portal.url + "/backchannel-logout")
    for label in SCOPE_LABELS:
        page.get_by_role("checkbox", name=re.compile(label)).check()
    shot(page, 1, "register")
    page.get_by_role("button", name="Alkalmazás regisztrálása").click()
    page.wait_for_url(re.compile(r"/developers/clients/[^/]+/secret$"))
    shot(page, 2, "secret")
    return (page.get_by_label("Azonosító (client_id)").input_value(),
            page.get_by_label("Titkos kulcs (client_secret)").input_value())


def assert_registered_as_the_portal_needs(client_id, portal):
    db.session.rollback()
    client = OAuthClient.query.filter_by(client_id=client_id).one()
    assert client.client_name == APP_NAME and not client.is_public
    assert client.redirect_uris == [portal.url + "/callback"]
    assert client.post_logout_redirect_uris == [portal.url + "/logged-out"]
    assert client.backchannel_logout_uri == portal.url + "/backchannel-logout"
    assert client.scope.split() == load_example().SCOPE.split()


# --- the person at the portal --------------------------------------------------------------------
def log_in_at_the_portal(page, live_server, portal):
    """"Bejelentkezés Telekommal", the IdP's login, the consent page, back at the portal."""
    page.goto(portal.url + "/")
    shot(page, 3, "portal-home")
    page.get_by_role("link", name=LOGIN_BUTTON).click()
    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/login\?interaction="))
    log_in_at_the_idp(page, "anna@acme", PERSON_PHONE, shots=4)
    page.wait_for_url(re.compile(r"/oauth/consent/"))
    consent = page.locator("main").inner_text()
    assert page.get_by_role("heading", name="Hozzáférés engedélyezése").is_visible()
    assert all(text in consent for text in (APP_NAME, "anna@acme", "Acme Kft.", SUBSCRIPTION, *PERMISSIONS))
    assert "Az alkalmazást dev@kodgyar regisztrálta." in consent
    shot(page, 6, "consent")
    page.get_by_role("button", name="Engedélyezem").click()
    page.wait_for_url(portal.url + "/")


def id_token_claims(page):
    """The claims the portal prints under "Az ID token állításai"."""
    return json.loads(page.locator("pre.claims").inner_text())


def assert_claims_shown(page, live_server, client_id):
    assert page.get_by_role("heading", name="Üdvözöljük, anna@acme!").is_visible()
    assert "Acme Kft." in page.locator("dd.company").inner_text()
    assert page.locator("dd.permissions li").all_inner_texts() == PERMISSIONS
    subscriptions = page.locator("dd.subscriptions").inner_text()
    assert SUBSCRIPTION in subscriptions and "üzleti" in subscriptions
    claims = id_token_claims(page)
    assert claims["iss"] == live_server.url and claims["aud"] == client_id and claims["sid"]
    return claims


def second_window(windows, page, live_server, portal):
    """Another window of the same login: only the IdP's cookie goes along, so the
    portal starts a session of its own there, of the same ``sid`` (SSO, no consent)."""
    idp_cookie = [c for c in page.context.cookies(live_server.url) if c["name"] == "idp_session"]
    other = windows.open(cookies=idp_cookie)
    other.goto(portal.url + "/")
    other.get_by_role("link", name=LOGIN_BUTTON).click()
    other.wait_for_url(portal.url + "/")
    return other


def delivered_logout_token(client_id):
    db.session.rollback()
    notification = LogoutNotification.query.filter_by(client_id=client_id).one()
    assert notification.delivered_at is not None and notification.attempts == 1, notification.last_error
    return notification


def logout_token_claims(live_server, token):
    keys = KeySet.import_key_set(requests.get(live_server.url + "/jwks.json", timeout=5).json())
    return jwt.decode(token, keys).claims


# --- the journey ---------------------------------------------------------------------------------
def test_a_developer_registers_the_portal_and_a_person_logs_in_and_out_there(
        live_server, portal, windows, developer, anna):
    client_id, secret = register_the_portal(windows.open(), live_server, portal)
    assert_registered_as_the_portal_needs(client_id, portal)
    portal.start(live_server.url, client_id, secret)

    page = windows.open()  # another person, in a browser of her own
    log_in_at_the_portal(page, live_server, portal)
    claims = assert_claims_shown(page, live_server, client_id)
    assert claims["sub"] == anna.sub and claims["company"]["slug"] == "acme"
    shot(page, 7, "portal-claims")

    other = second_window(windows, page, live_server, portal)
    assert id_token_claims(other)["sid"] == claims["sid"]
    shot(other, 8, "second-window")
    assert len(portal.sessions) == 2

    page.get_by_role("button", name="Kijelentkezés").click()  # → /oauth/logout → back with the state
    page.wait_for_url(re.compile(re.escape(portal.url) + r"/logged-out\?state="))
    assert page.get_by_role("heading", name="Kijelentkezett").is_visible()
    shot(page, 9, "logged-out")
    page.goto(live_server.url + "/login/done")
    assert page.get_by_role("heading", name="Nincs belépve").is_visible()  # the IdP session ended too

    # The back channel: the IdP's background thread sends the portal a logout token of that sid.
    assert eventually(lambda: delivered_logout_tokens() == 1)
    notification = delivered_logout_token(client_id)
    assert urlsplit(notification.uri).path == "/backchannel-logout"
    token = logout_token_claims(live_server, notification.logout_token)
    assert (token["sid"], token["sub"], token["aud"]) == (claims["sid"], anna.sub, client_id)
    assert len(portal.sessions) == 0  # the second window's session ended with it
    other.reload()
    assert other.get_by_role("link", name=LOGIN_BUTTON).is_visible()
    shot(other, 10, "second-window-ended")
    assert windows.console_problems() == []
