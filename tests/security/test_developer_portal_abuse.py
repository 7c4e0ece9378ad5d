"""What a crafted request can do in the developer portal (issue 11.1 and its
bad-input list): a stranger is sent to the login, a phone line gets 403,
another developer's client id in any portal URL is 404 and changes nothing,
every form needs its CSRF token, invalid metadata is a field error (never a
500, nothing saved), the secret is never shown after its one page and never
sits readable in the session cookie, and no posted field makes a client
first-party or a resource server."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.client import OAuthClient
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import account_log_in
from tests.login_helpers import any_csrf_token
from tests.login_helpers import at_phone_code
from tests.login_helpers import last_code
from tests.login_helpers import location
from tests.login_helpers import log_in
from tests.login_helpers import make_account
from tests.login_helpers import new_browser
from tests.login_helpers import post_form
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
DEV_PHONE = "+36301000011"
VALID = {"client_name": "Jó app", "app_type": "web", "token_endpoint_auth_method": "client_secret_basic",
         "redirect_uris": "https://rp.example/cb", "scope": ["openid"]}
SECRET_VALUE = re.compile(r'id="client_secret"[^>]*>([^<]+)</textarea>')


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone="+36301000001")
    return company


@pytest.fixture
def browser(app, acme):
    make_login_user(acme, username="dev", phone=DEV_PHONE)
    browser = new_browser(app)
    log_in(browser, "dev@acme", PASSWORD, phone=DEV_PHONE)
    return browser


@pytest.fixture
def victim(app):
    """Another developer (a Telekom account) and its web client."""
    make_account(email="aldozat@example.com")
    browser = new_browser(app)
    account_log_in(browser, "aldozat@example.com")
    response = post_form(browser, "/developers/clients/new", {**VALID, "client_name": "Az áldozat appja"})
    client_id = location(response).split("/")[3]
    return db.session.query(OAuthClient).filter_by(client_id=client_id).one()


def snapshot():
    """Everything a portal request could change, to prove nothing did."""
    db.session.expire_all()
    rows = [tuple(getattr(c, column.name) for column in OAuthClient.__table__.columns)
            for c in OAuthClient.query.order_by(OAuthClient.id)]
    return rows, AuditEvent.query.filter(AuditEvent.event.like("client.%")).count()


def portal_requests(client_id):
    """Every portal URL naming a client, with a harmless but valid-looking body for the POSTs."""
    return [
        ("GET", f"/developers/clients/{client_id}", None),
        ("GET", f"/developers/clients/{client_id}/secret", None),
        ("GET", f"/developers/clients/{client_id}/delete", None),
        ("POST", f"/developers/clients/{client_id}", {**VALID, "client_name": "Elloptam"}),
        ("POST", f"/developers/clients/{client_id}/rotate-secret", {"grace": "604800"}),
        ("POST", f"/developers/clients/{client_id}/disable", {}),
        ("POST", f"/developers/clients/{client_id}/enable", {}),
        ("POST", f"/developers/clients/{client_id}/delete", {}),
    ]


CLIENT_REQUEST_IDS = ["detail", "secret", "delete-page", "POST-edit", "POST-rotate", "POST-disable", "POST-enable",
                      "POST-delete"]
ALL_REQUESTS = [("GET", "/developers", None), ("GET", "/developers/clients/new", None),
                ("POST", "/developers/clients/new", VALID)]
ALL_REQUEST_IDS = ["list", "new", "POST-new"]


def send(browser, method, url, data):
    if method == "GET":
        return browser.get(url)
    token = any_csrf_token(browser.get("/login").get_data(as_text=True))  # a valid token of this browser
    return browser.post(url, data={"csrf_token": token, **data})


def every_request(client_id):
    return ALL_REQUESTS + portal_requests(client_id)


EVERY_ID = ALL_REQUEST_IDS + CLIENT_REQUEST_IDS


# --- who gets in -------------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(EVERY_ID)), ids=EVERY_ID)
def test_a_stranger_is_sent_to_the_login(app, victim, index):
    method, url, data = every_request(victim.client_id)[index]
    before = snapshot()
    response = send(new_browser(app), method, url, data)
    target = urlsplit(location(response))
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [url if method == "GET" else "/developers"]
    assert snapshot() == before


@pytest.fixture
def phone_browser(app, acme):
    make_phone_line(acme, number="+36209876543", permissions=["invoices.view"])
    browser = new_browser(app)
    fid = at_phone_code(browser, "209876543")
    assert submit_phone_code(browser, fid, last_code("+36209876543")).status_code == 302
    return browser


@pytest.mark.parametrize("index", range(len(EVERY_ID)), ids=EVERY_ID)
def test_a_phone_line_gets_403_with_a_sentence(phone_browser, victim, index):
    method, url, data = every_request(victim.client_id)[index]
    before = snapshot()
    response = send(phone_browser, method, url, data)
    assert response.status_code == 403
    assert "Telekom fiókkal vagy üzleti azonosítóval lehet használni, telefonszámos belépéssel nem" in text(response)
    assert snapshot() == before


# --- IDOR: another developer's client ------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(CLIENT_REQUEST_IDS)), ids=CLIENT_REQUEST_IDS)
def test_another_developers_client_is_not_found(browser, victim, index):
    method, url, data = portal_requests(victim.client_id)[index]
    before = snapshot()
    response = send(browser, method, url, data)
    assert response.status_code == 404
    assert "Az áldozat appja" not in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("index", range(len(CLIENT_REQUEST_IDS)), ids=CLIENT_REQUEST_IDS)
def test_an_operators_client_and_unknown_ids_are_not_found(browser, index):
    from tests.factories import make_client

    operators, _ = make_client(name="Operátori app")
    for client_id in (operators.client_id, "no-such-client", "x" * 300, "%00", "..%2F..%2Fadmin"):
        method, url, data = portal_requests(client_id)[index]
        before = snapshot()
        assert send(browser, method, url, data).status_code in (400, 404)
        assert snapshot() == before


def test_another_developers_client_is_not_in_my_list(browser, victim):
    html = text(browser.get("/developers"))
    assert victim.client_id not in html and "Az áldozat appja" not in html


# --- CSRF ------------------------------------------------------------------------------------------------
def my_client(browser):
    response = post_form(browser, "/developers/clients/new", VALID)
    browser.get(location(response))  # the secret page, seen
    return db.session.query(OAuthClient).filter_by(client_id=location(response).split("/")[3]).one()


def form_posts(client_id):
    return [r for r in ALL_REQUESTS + portal_requests(client_id) if r[0] == "POST"]


FORM_IDS = ["POST-new", "POST-edit", "POST-rotate", "POST-disable", "POST-enable", "POST-delete"]


@pytest.mark.parametrize("token", [None, "forged"], ids=["no-token", "forged-token"])
@pytest.mark.parametrize("index", range(len(FORM_IDS)), ids=FORM_IDS)
def test_every_form_needs_its_csrf_token(browser, token, index):
    client = my_client(browser)
    _, url, data = form_posts(client.client_id)[index]
    before = snapshot()
    response = browser.post(url, data={**data, **({"csrf_token": token} if token else {})})
    assert response.status_code == 400
    assert snapshot() == before


def test_a_token_of_another_browser_does_not_do(app, browser):
    client = my_client(browser)
    other = new_browser(app)
    token = any_csrf_token(other.get("/login").get_data(as_text=True))
    before = snapshot()
    response = browser.post(f"/developers/clients/{client.client_id}/delete", data={"csrf_token": token})
    assert response.status_code == 400
    assert snapshot() == before


# --- invalid metadata ------------------------------------------------------------------------------------
LONG = "https://rp.example/" + "a" * 2000
INVALID = [
    ("javascript-redirect", {"redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
    ("data-redirect", {"redirect_uris": "data:text/html,<script>alert(1)</script>"}, "redirect_uris"),
    ("vbscript-post-logout", {"post_logout_redirect_uris": "vbscript:msgbox"}, "post_logout_redirect_uris"),
    ("http-non-loopback", {"redirect_uris": "http://rp.example/cb"}, "redirect_uris"),
    ("fragment", {"redirect_uris": "https://rp.example/cb#frag"}, "redirect_uris"),
    ("wildcard", {"redirect_uris": "https://*.rp.example/cb"}, "redirect_uris"),
    ("user-info", {"redirect_uris": "https://rp.example@evil.example/cb"}, "redirect_uris"),
    ("relative", {"redirect_uris": "/cb"}, "redirect_uris"),
    ("this-server", {"redirect_uris": "http://localhost/oauth/authorize"}, "redirect_uris"),
    ("private-scheme-for-web-app", {"redirect_uris": "com.example.app:/cb"}, "redirect_uris"),
    ("bad-port", {"redirect_uris": "https://rp.example:99999/cb"}, "redirect_uris"),
    ("long-redirect", {"redirect_uris": LONG}, "redirect_uris"),
    ("control-character-in-redirect", {"redirect_uris": "https://rp.example/c\x07b"}, "redirect_uris"),
    ("c1-control-in-redirect", {"redirect_uris": "https://rp.example/c\x85b"}, "redirect_uris"),
    ("tab-in-redirect", {"redirect_uris": "https://rp.example/c\tb"}, "redirect_uris"),
    ("non-ascii-redirect", {"redirect_uris": "https://példa.hu/cb"}, "redirect_uris"),
    ("bidi-override-redirect", {"redirect_uris": "https://rp.example/\u202egpj.exe"}, "redirect_uris"),
    ("one-bad-line-of-two", {"redirect_uris": "https://rp.example/cb\njavascript:alert(1)"}, "redirect_uris"),
    ("no-redirect", {"redirect_uris": "  \n "}, "redirect_uris"),
    ("javascript-logo", {"logo_uri": "javascript:alert(1)"}, "logo_uri"),
    ("data-logo", {"logo_uri": "data:image/png;base64,AAAA"}, "logo_uri"),
    ("http-homepage", {"client_uri": "http://rp.example/"}, "client_uri"),
    ("relative-policy", {"policy_uri": "privacy.html"}, "policy_uri"),
    ("non-ascii-terms", {"tos_uri": "https://rp.example/feltételek"}, "tos_uri"),
    ("newline-in-terms", {"tos_uri": "https://rp.example/a\nb"}, "tos_uri"),
    ("long-logo", {"logo_uri": LONG}, "logo_uri"),
    ("javascript-backchannel", {"backchannel_logout_uri": "javascript:alert(1)"}, "backchannel_logout_uri"),
    ("empty-name", {"client_name": "   "}, "client_name"),
    ("long-name", {"client_name": "x" * 201}, "client_name"),
    ("control-character-in-name", {"client_name": "App\x1b[31m"}, "client_name"),
    ("newline-in-name", {"client_name": "App\nTelekom hivatalos"}, "client_name"),
    ("bidi-override-in-name", {"client_name": "App \u202eelgoog"}, "client_name"),
    ("nul-in-name", {"client_name": "App\x00"}, "client_name"),
    ("no-scope", {"scope": []}, "scope"),
    ("unknown-scope", {"scope": ["openid", "admin"]}, "scope"),
    ("unknown-type", {"app_type": "first_party"}, "app_type"),
    ("unknown-auth-method", {"token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"),
    ("none-auth-method-for-web-app", {"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
]


def field_error(html, name):
    match = re.search(rf'<p class="field-error" id="{name}-error" role="alert">(.*?)</p>', html, re.DOTALL)
    return match.group(1).strip() if match else None


@pytest.mark.parametrize("fields, field", [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_metadata_is_a_field_error_and_nothing_is_saved(browser, fields, field):
    before = snapshot()
    response = post_form(browser, "/developers/clients/new", {**VALID, **fields})
    assert response.status_code == 200
    html = text(response)
    assert field_error(html, field), html[html.find("<form"):][:3000]
    assert len(re.findall(r'class="field-error"', html)) == 1  # only the field at fault
    assert snapshot() == before
    assert "<script>" not in html[html.find("<main"):]


@pytest.mark.parametrize("fields, field", [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_metadata_in_an_edit_changes_nothing(browser, fields, field):
    client = my_client(browser)
    before = snapshot()
    response = post_form(browser, f"/developers/clients/{client.client_id}", {**VALID, **fields})
    assert response.status_code == 200
    assert field_error(text(response), field)
    assert snapshot() == before


def test_every_bad_line_is_named(browser):
    response = post_form(browser, "/developers/clients/new", {
        **VALID, "redirect_uris": "https://rp.example/ok\njavascript:alert(1)\nhttp://evil.example/cb"})
    error = field_error(text(response), "redirect_uris")
    assert "Nem használható: „javascript:alert(1)”" in error
    assert "Nem használható: „http://evil.example/cb”" in error
    assert "rp.example/ok" not in error


def test_a_private_scheme_and_loopback_are_fine_for_a_native_app(browser):
    response = post_form(browser, "/developers/clients/new", {
        **VALID, "app_type": "native", "redirect_uris": "com.example.app:/cb\nhttp://127.0.0.1/cb\nhttp://[::1]/cb"})
    assert response.status_code == 303


def test_a_megabyte_is_refused_before_anything_reads_it(browser):
    before = snapshot()
    response = post_form(browser, "/developers/clients/new", {**VALID, "client_name": "x" * (1024 * 1024)})
    assert response.status_code == 413
    assert "A beküldött adatok túl nagyok" in text(response)
    assert snapshot() == before


def test_html_in_the_name_is_shown_as_text(browser):
    evil = "<script>alert('x')</script>\"'&<b>"
    response = post_form(browser, "/developers/clients/new", {**VALID, "client_name": evil})
    client_id = location(response).split("/")[3]
    browser.get(location(response))
    for url in ("/developers", f"/developers/clients/{client_id}", f"/developers/clients/{client_id}/delete"):
        html = text(browser.get(url))
        assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


# --- the secret, once ------------------------------------------------------------------------------------
def session_of(app, browser):
    """What the signed session cookie of ``browser`` says (anyone holding it can read this)."""
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_the_secret_is_never_shown_again(app, browser):
    response = post_form(browser, "/developers/clients/new", VALID)
    secret_url = location(response)
    client_id = secret_url.split("/")[3]
    assert secret_url == f"/developers/clients/{client_id}/secret"
    assert "developers_new_secret" in session_of(app, browser)  # waiting for its page ...
    first = browser.get(secret_url)
    secret = SECRET_VALUE.search(text(first)).group(1)
    assert "developers_new_secret" not in session_of(app, browser)  # ... and taken by it
    for url in (secret_url, "/developers", f"/developers/clients/{client_id}", f"/developers/clients/{client_id}/delete",
                "/developers/clients/new", "/login/done", "/"):
        response = browser.get(url, follow_redirects=True)
        assert secret not in text(response), url
    assert secret not in str(snapshot()) and secret not in str([e.details for e in AuditEvent.query])


def test_the_secret_waits_sealed_in_the_session_cookie(app, browser):
    response = post_form(browser, "/developers/clients/new", VALID)
    kept = session_of(app, browser)
    secret = SECRET_VALUE.search(text(browser.get(location(response)))).group(1)
    assert secret not in str(kept)


def test_a_secret_page_opened_later_shows_nothing(browser, clock):
    response = post_form(browser, "/developers/clients/new", VALID)
    clock.advance(601)
    late = browser.get(location(response))
    assert location(late) == location(response).removesuffix("/secret")
    assert not SECRET_VALUE.search(text(browser.get(location(late))))


def test_the_secret_is_for_its_own_client_page_only(browser):
    first = my_client(browser)
    response = post_form(browser, "/developers/clients/new", {**VALID, "client_name": "Második"})
    wrong = browser.get(f"/developers/clients/{first.client_id}/secret")
    assert location(wrong) == f"/developers/clients/{first.client_id}"
    assert SECRET_VALUE.search(text(browser.get(location(response))))  # still there for its own page


def test_the_secret_of_another_browser_is_not_shown(app, browser):
    response = post_form(browser, "/developers/clients/new", VALID)
    thief = new_browser(app)
    log_in(thief, "dev@acme", PASSWORD, phone=DEV_PHONE)  # the same developer, another browser
    stolen = thief.get(location(response))
    assert stolen.status_code == 303 and not SECRET_VALUE.search(text(thief.get(location(stolen))))


# --- what only the operator decides ------------------------------------------------------------------------
OPERATOR_FIELDS = {"first_party": "y", "resource_server": "true", "grant_types": "client_credentials",
                   "owner_sub": "someone-else", "owner_kind": "account", "client_id": "chosen-id",
                   "client_secret": "chosen-secret", "disabled": "y", "jwks_uri": "https://evil.example/jwks",
                   "id_token_signed_response_alg": "none"}


def test_posting_operator_fields_sets_none_of_them(browser):
    response = post_form(browser, "/developers/clients/new", {**VALID, **OPERATOR_FIELDS})
    client_id = location(response).split("/")[3]
    assert client_id != "chosen-id"
    client = db.session.query(OAuthClient).filter_by(client_id=client_id).one()
    assert not client.first_party and not client.resource_server and not client.disabled
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.owner_kind == "business" and client.owner_sub != "someone-else"
    assert client.jwks_uri is None and client.id_token_signed_response_alg is None
    assert not client.check_client_secret("chosen-secret")


def test_an_edit_cannot_set_them_either(browser):
    client = my_client(browser)
    response = post_form(browser, f"/developers/clients/{client.client_id}", {**VALID, **OPERATOR_FIELDS})
    assert response.status_code == 303
    db.session.expire_all()
    assert not client.first_party and not client.resource_server and not client.disabled
    assert client.grant_types == ["authorization_code", "refresh_token"] and client.jwks_uri is None


def test_an_edit_keeps_what_the_operator_decided(browser):
    client = my_client(browser)
    client.first_party = True
    db.session.commit()
    post_form(browser, f"/developers/clients/{client.client_id}", {**VALID, "client_name": "Átnevezve"})
    db.session.expire_all()
    assert client.client_name == "Átnevezve" and client.first_party


def test_a_crafted_grace_is_refused(browser):
    client = my_client(browser)
    before = snapshot()
    for grace in ("-1", "99999999", "x", "2592001"):
        response = send(browser, "POST", f"/developers/clients/{client.client_id}/rotate-secret", {"grace": grace})
        assert response.status_code == 200
        assert field_error(text(response), "grace") == "Válasszon a felsoroltak közül."
    assert snapshot() == before
