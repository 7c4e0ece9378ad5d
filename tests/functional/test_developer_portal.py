"""The developer portal (issue 11.1, DESIGN.md §3 ``/developers``), as a developer:
register a client of each type (the secret shown once, stored hashed), edit it,
rotate its secret with a grace period (the old one works until its end, then
not), disable and delete it (its tokens die), and see only one's own clients -
as a business user and as a Telekom account."""

import hashlib
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.session import Consent
from idp.models.token import Token
from idp.services import get_services
from tests.factories import make_client
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_user
from tests.login_helpers import account_log_in
from tests.login_helpers import audit_events
from tests.login_helpers import last_code
from tests.login_helpers import location
from tests.login_helpers import log_in
from tests.login_helpers import make_account
from tests.login_helpers import new_browser
from tests.login_helpers import past_the_offer
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import text
from tests.oauth_helpers import basic
from tests.oauth_helpers import tokens_for

PASSWORD = "Helyes-jelszo-2024!"
DEV_PHONE = "+36301000011"
WEB_APP = {
    "client_name": "Számlázó Kft. appja", "app_type": "web", "token_endpoint_auth_method": "client_secret_basic",
    "redirect_uris": "https://rp.example/cb\r\n  https://rp.example/cb2  \r\n\r\n",
    "post_logout_redirect_uris": "https://rp.example/bye", "scope": ["openid", "profile", "offline_access"],
    "logo_uri": "https://rp.example/logo.png", "client_uri": "https://rp.example/",
    "policy_uri": "https://rp.example/privacy", "tos_uri": "https://rp.example/terms",
    "backchannel_logout_uri": "https://rp.example/backchannel",
}
NATIVE_APP = {"client_name": "Mobil app", "app_type": "native", "redirect_uris": "com.example.app:/cb\nhttp://127.0.0.1/cb",
              "scope": ["openid", "email"]}
SECRET_VALUE = re.compile(r'id="client_secret"[^>]*>([^<]+)</textarea>')


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone="+36301000001")
    return company


@pytest.fixture
def developer(acme):
    return make_login_user(acme, username="dev", phone=DEV_PHONE)


@pytest.fixture
def browser(app, developer):
    browser = new_browser(app)
    log_in(browser, "dev@acme", PASSWORD, phone=DEV_PHONE)
    return browser


def register(browser, **fields):
    return post_form(browser, "/developers/clients/new", {**WEB_APP, **fields})


def client_of(response):
    """The client a redirect to one of its portal pages is about (fresh from the database)."""
    client_id = re.match(r"/developers/clients/([^/]+)", location(response)).group(1)
    db.session.expire_all()
    return OAuthClient.query.filter_by(client_id=client_id).one()


def shown_secret(browser, response):
    """Follow the redirect to the secret page; returns the secret it shows."""
    page = browser.get(location(response))
    assert page.status_code == 200, text(page)
    return SECRET_VALUE.search(text(page)).group(1)


def authenticates(browser, client, secret, method="client_secret_basic"):
    """Whether the token endpoint takes ``secret`` for ``client`` (a made-up code:
    the client is authenticated first, so the answer is invalid_client or invalid_grant)."""
    data = {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": "https://rp.example/cb",
            "code_verifier": "v" * 43}
    headers = {}
    if method == "client_secret_basic":
        headers = basic(client.client_id, secret)
    else:
        data.update(client_id=client.client_id, client_secret=secret)
    response = browser.post("/oauth/token", data=data, headers=headers)
    assert response.status_code in (400, 401), text(response)
    return response.get_json()["error"] != "invalid_client"


def user_tokens(app, client, secret, scope="openid"):
    """A person's tokens for ``client`` (consent given beforehand), through the real endpoints."""
    user = make_user()
    db.session.add(Consent(client_id=client.client_id, principal_kind=user.kind, subject=user.sub, scope=scope,
                           updated_at=get_services().clock.now()))
    db.session.commit()
    return tokens_for(new_browser(app), SimpleNamespace(client_id=client.client_id), secret, user, scope=scope)


def userinfo_status(app, access_token):
    return new_browser(app).get("/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


# --- getting in -----------------------------------------------------------------------------------
def test_the_portal_is_reached_through_the_login_and_starts_empty(app, developer):
    browser = new_browser(app)
    response = browser.get("/developers")
    assert location(response) == "/login?next=/developers"
    fid = start_login(browser, "dev@acme", query="?next=/developers")
    response = submit_password(browser, fid, PASSWORD)
    if "/login/sms" in location(response):
        response = submit_code(browser, fid, last_code(DEV_PHONE))
    assert location(past_the_offer(browser, response)) == "/developers"
    html = text(browser.get("/developers"))
    assert "<h1>Alkalmazásaim</h1>" in html
    assert "Még nincs regisztrált alkalmazása." in html
    assert 'href="/developers/clients/new"' in html


def test_the_front_page_links_to_the_portal(client):
    assert 'href="/developers"' in text(client.get("/"))


def test_the_new_client_form_offers_both_types_every_scope_and_the_metadata(browser):
    html = text(browser.get("/developers/clients/new"))
    assert re.findall(r'name="app_type" type="radio" value="([^"]+)"', html) == ["web", "native"]
    assert re.findall(r'name="token_endpoint_auth_method" type="radio" value="([^"]+)"', html) == [
        "client_secret_basic", "client_secret_post"]
    assert re.findall(r'name="scope" type="checkbox" value="([^"]+)"', html) == [
        "openid", "profile", "email", "phone", "company", "permissions", "subscriptions", "offline_access"]
    for label in ("Azonosítás (bejelentkezés)", "Név és felhasználónév", "Hozzáférés akkor is, amikor Ön nincs"):
        assert label in html
    for name in ("client_name", "redirect_uris", "post_logout_redirect_uris", "logo_uri", "client_uri",
                 "policy_uri", "tos_uri", "backchannel_logout_uri"):
        assert f'name="{name}"' in html
    for name in ("first_party", "resource_server", "grant_types"):
        assert f'name="{name}"' not in html


# --- registering ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_web_app_gets_a_secret_shown_once_and_stored_hashed(browser, developer, method):
    response = register(browser, token_endpoint_auth_method=method)
    assert response.status_code == 303
    client = client_of(response)
    assert location(response) == f"/developers/clients/{client.client_id}/secret"

    page = browser.get(location(response))
    html = text(page)
    assert "<h1>Regisztrálva: Számlázó Kft. appja</h1>" in html
    assert page.headers["Cache-Control"] == "no-store, max-age=0" and page.headers["Pragma"] == "no-cache"
    secret = SECRET_VALUE.search(html).group(1)
    assert "Mentse el most a titkos kulcsot." in html and client.client_id in html
    assert client.client_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([getattr(client, c.name) for c in OAuthClient.__table__.columns])
    assert authenticates(browser, client, secret, method)
    assert not authenticates(browser, client, secret + "x", method)

    again = browser.get(location(response))  # a reload
    assert location(again) == f"/developers/clients/{client.client_id}"
    detail = text(browser.get(location(again)))
    assert secret not in detail
    assert "A titkos kulcsot csak egyszer, közvetlenül a létrehozása után mutatjuk meg." in detail


def test_the_stored_registration_is_what_was_typed(browser, developer):
    client = client_of(register(browser))
    assert (client.client_name, client.token_endpoint_auth_method) == ("Számlázó Kft. appja", "client_secret_basic")
    assert client.redirect_uris == ["https://rp.example/cb", "https://rp.example/cb2"]
    assert client.post_logout_redirect_uris == ["https://rp.example/bye"]
    assert client.scope == "openid profile offline_access"
    assert client.grant_types == ["authorization_code", "refresh_token"] and client.response_types == ["code"]
    assert (client.logo_uri, client.client_uri, client.policy_uri, client.tos_uri) == (
        "https://rp.example/logo.png", "https://rp.example/", "https://rp.example/privacy", "https://rp.example/terms")
    assert client.backchannel_logout_uri == "https://rp.example/backchannel"
    assert (client.owner_kind, client.owner_sub) == ("business", developer.sub)
    assert not client.first_party and not client.resource_server and not client.disabled
    [event] = audit_events("client.registered", subject=client.client_id)
    assert event.actor == developer.sub and event.details["first_party"] is False


def test_a_single_page_or_native_app_has_no_secret(browser, developer):
    response = register(browser, **{k: "" for k in WEB_APP if k.endswith("_uri")}, **NATIVE_APP)
    client = client_of(response)
    assert location(response) == f"/developers/clients/{client.client_id}"
    assert client.token_endpoint_auth_method == "none" and client.client_secret_hash is None
    assert client.redirect_uris == ["com.example.app:/cb", "http://127.0.0.1/cb"]
    assert (client.logo_uri, client.backchannel_logout_uri) == (None, None)
    html = text(browser.get(location(response)))
    assert "Az alkalmazást regisztráltuk." in html
    assert client.client_id in html and "Nincs: az alkalmazás PKCE-vel igazolja magát." in html
    assert 'id="client_secret"' not in html and "Titkos kulcs cseréje" not in html
    assert browser.get(f"/developers/clients/{client.client_id}/secret").status_code == 303


def test_a_telekom_account_registers_too(app):
    account = make_account(email="fejleszto@example.com")
    browser = new_browser(app)
    account_log_in(browser, "fejleszto@example.com")
    client = client_of(register(browser))
    assert (client.owner_kind, client.owner_sub) == ("account", account.sub)
    [event] = audit_events("client.registered", subject=client.client_id)
    assert event.actor == account.sub


def listed(browser):
    """The names on the portal's list of ``browser``'s developer."""
    return re.findall(r'<a href="/developers/clients/[^"]+">([^<]+)</a>', text(browser.get("/developers")))


def test_the_list_shows_only_my_clients(app, browser, acme, developer):
    register(browser, client_name="Az én appom")
    other_user = make_login_user(acme, username="other", phone="+36301000012")
    other = new_browser(app)
    log_in(other, "other@acme", PASSWORD, phone="+36301000012")
    register(other, client_name="A kolléga appja")
    make_account(email="harmadik@example.com")
    third = new_browser(app)
    account_log_in(third, "harmadik@example.com")
    make_client(name="Az operátor appja")
    assert listed(browser) == ["Az én appom"]
    assert listed(other) == ["A kolléga appja"]
    assert listed(third) == []
    assert other_user.company_id == developer.company_id  # one company, yet each owns their clients alone


# --- editing ------------------------------------------------------------------------------------
def test_the_client_page_shows_the_registration_in_its_form(browser):
    client = client_of(register(browser))
    html = text(browser.get(f"/developers/clients/{client.client_id}"))
    assert f"<h1>{client.client_name}</h1>" in html
    assert "https://rp.example/cb\nhttps://rp.example/cb2</textarea>" in html
    checked = re.findall(r'<input checked[^>]*name="scope"[^>]*value="([^"]+)"', html)
    assert checked == ["openid", "profile", "offline_access"]
    assert 'value="https://rp.example/logo.png"' in html


def test_edit_changes_the_registration_and_audits(browser, developer):
    client = client_of(register(browser))
    url = f"/developers/clients/{client.client_id}"
    response = post_form(browser, url, {**WEB_APP, "client_name": "Új név", "redirect_uris": "https://rp.example/new",
                                        "scope": ["openid", "email"], "logo_uri": "", "post_logout_redirect_uris": ""})
    assert location(response) == url
    assert "Mentve." in text(browser.get(url))
    db.session.expire_all()
    assert (client.client_name, client.redirect_uris, client.scope) == ("Új név", ["https://rp.example/new"],
                                                                       "openid email")
    assert (client.logo_uri, client.post_logout_redirect_uris) == (None, [])
    assert client.token_endpoint_auth_method == "client_secret_basic" and client.client_secret_hash
    [event] = audit_events("client.updated", subject=client.client_id)
    assert event.actor == developer.sub
    assert event.details["changed"] == ["client_name", "logo_uri", "post_logout_redirect_uris", "redirect_uris",
                                        "scope"]


def test_changing_the_type_drops_or_makes_a_secret(browser):
    response = register(browser)
    client = client_of(response)
    old_secret = shown_secret(browser, response)
    url = f"/developers/clients/{client.client_id}"
    response = post_form(browser, url, {**WEB_APP, "app_type": "native"})
    assert location(response) == url
    db.session.expire_all()
    assert client.token_endpoint_auth_method == "none" and client.client_secret_hash is None
    assert not authenticates(browser, client, old_secret)

    response = post_form(browser, url, {**WEB_APP, "token_endpoint_auth_method": "client_secret_post"})
    assert location(response) == url + "/secret"
    page = text(browser.get(location(response)))
    assert "<h1>Új titkos kulcs: Számlázó Kft. appja</h1>" in page and "A régi titkos kulcs" not in page
    new_secret = SECRET_VALUE.search(page).group(1)
    db.session.expire_all()
    assert client.token_endpoint_auth_method == "client_secret_post"
    assert new_secret != old_secret and authenticates(browser, client, new_secret, "client_secret_post")


# --- rotating the secret ----------------------------------------------------------------------------
def test_rotation_keeps_the_old_secret_for_the_grace_period_chosen(browser, developer, clock):
    response = register(browser)
    client = client_of(response)
    old_secret = shown_secret(browser, response)
    detail_url = f"/developers/clients/{client.client_id}"
    html = text(browser.get(detail_url))
    assert re.findall(r'name="grace" type="radio" value="(\d+)"', html) == ["0", "3600", "86400", "604800"]

    response = rotate(browser, client, "3600")
    assert location(response) == f"{detail_url}/secret"
    page = browser.get(location(response))
    new_secret = SECRET_VALUE.search(text(page)).group(1)
    until = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    assert f"A régi titkos kulcs még működik eddig: {until} UTC." in text(page)
    assert f"Az előző titkos kulcs még működik eddig: {until} UTC." in text(browser.get(detail_url))
    [event] = audit_events("client.secret_rotated", subject=client.client_id)
    assert event.actor == developer.sub and event.details["grace"] == 3600

    assert new_secret != old_secret
    assert authenticates(browser, client, old_secret) and authenticates(browser, client, new_secret)
    clock.advance(3599)
    assert authenticates(browser, client, old_secret)
    clock.advance(2)
    assert not authenticates(browser, client, old_secret)
    assert authenticates(browser, client, new_secret)
    assert "Az előző titkos kulcs még működik" not in text(browser.get(detail_url))


def test_rotation_without_grace_ends_the_old_secret_at_once(browser):
    response = register(browser)
    client = client_of(response)
    old_secret = shown_secret(browser, response)
    response = rotate(browser, client, "0")
    page = text(browser.get(location(response)))
    assert "A régi titkos kulcs már nem működik." in page
    new_secret = SECRET_VALUE.search(page).group(1)
    assert not authenticates(browser, client, old_secret) and authenticates(browser, client, new_secret)


def rotate(browser, client, grace):
    """Press "Új titkos kulcs" on the client's page with ``grace`` chosen."""
    detail = f"/developers/clients/{client.client_id}"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(browser.get(detail))).group(1)
    return browser.post(detail + "/rotate-secret", data={"csrf_token": token, "grace": grace})


# --- disabling and deleting ----------------------------------------------------------------------------
def test_disable_ends_the_tokens_and_enable_does_not_bring_them_back(app, browser, developer):
    response = register(browser)
    client = client_of(response)
    secret = shown_secret(browser, response)
    tokens = user_tokens(app, client, secret)
    assert userinfo_status(app, tokens["access_token"]) == 200

    detail = f"/developers/clients/{client.client_id}"
    response = action(browser, client, "disable")
    assert location(response) == detail
    assert "Letiltva: senki sem léphet be vele" in text(browser.get(detail))
    db.session.expire_all()
    assert client.disabled
    assert userinfo_status(app, tokens["access_token"]) == 401
    assert not authenticates(browser, client, secret)
    [event] = audit_events("client.disabled", subject=client.client_id)
    assert event.actor == developer.sub

    action(browser, client, "enable")
    db.session.expire_all()
    assert not client.disabled and authenticates(browser, client, secret)
    assert userinfo_status(app, tokens["access_token"]) == 401


def action(browser, client, name):
    detail = f"/developers/clients/{client.client_id}"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(browser.get(detail))).group(1)
    return browser.post(f"{detail}/{name}", data={"csrf_token": token})


def test_delete_asks_first_then_ends_every_token(app, browser, developer):
    response = register(browser)
    client = client_of(response)
    client_id = client.client_id
    secret = shown_secret(browser, response)
    tokens = user_tokens(app, client, secret)
    assert userinfo_status(app, tokens["access_token"]) == 200

    confirm = text(browser.get(f"/developers/clients/{client_id}/delete"))
    assert "A törlés végleges." in confirm and "Végleges törlés" in confirm
    assert OAuthClient.query.filter_by(client_id=client_id).count() == 1  # asking changed nothing

    response = post_form(browser, f"/developers/clients/{client_id}/delete", {})
    assert location(response) == "/developers"
    assert "„Számlázó Kft. appja” törölve" in text(browser.get("/developers"))
    db.session.expire_all()
    assert OAuthClient.query.filter_by(client_id=client_id).count() == 0
    assert Consent.query.filter_by(client_id=client_id).count() == 0
    assert all(t.access_revoked_at is not None for t in Token.query.filter_by(client_id=client_id))
    assert userinfo_status(app, tokens["access_token"]) == 401
    refreshed = new_browser(app).post("/oauth/token", data={"grant_type": "refresh_token",
                                                            "refresh_token": tokens["refresh_token"]},
                                      headers=basic(client_id, secret))
    assert refreshed.status_code == 401
    [event] = audit_events("client.deleted", subject=client_id)
    assert event.actor == developer.sub and event.details["tokens_revoked"] == 1
    assert browser.get(f"/developers/clients/{client_id}").status_code == 404


def test_pages_in_english(browser):
    response = register(browser)
    page = text(browser.get(location(response), headers={"Accept-Language": "en"}))
    assert "Save the secret now." in page
    html = text(browser.get(location(response).removesuffix("/secret"), headers={"Accept-Language": "en"}))
    assert "<h2>Rotate the secret</h2>" in html.replace(' id="rotate"', "")
    assert "Web app with a server-side secret" in html
