"""examples/portal/: a relying party with Authlib's Flask client, driven end to end
against a live IdP - login with consent, the claims page, RP-initiated logout,
and the back-channel logout ending the portal's own sessions - and its
back-channel endpoint refusing forged logout tokens (Back-Channel Logout 1.0 §2.6)."""

import base64
import copy
import html
import importlib.util
import json
import re
import time
from pathlib import Path
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jws
from joserfc import jwt
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from idp.extensions import db
from idp.models.registration import LogoutNotification
from idp.services import get_services
from idp.subscriptions import Owner
from idp.subscriptions import add_subscription
from tests.conftest import LiveServer
from tests.conftest import listening_socket
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portal" / "app.py"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOGIN_BUTTON = "Bejelentkezés Telekommal"


def load_example():
    spec = importlib.util.spec_from_file_location("portal_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Portal:
    def __init__(self, url, app, client):
        self.url, self.app, self.client = url, app, client
        self.sessions = app.extensions["portal"]["sessions"]


@pytest.fixture
def portal(live_server):
    """The example on a loopback port of its own, registered at the IdP as a
    confidential third-party client with its back-channel logout URI."""
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client, secret = make_client(name="Példa portál", first_party=False, redirect_uris=[url + "/callback"],
                                 post_logout_redirect_uris=[url + "/logged-out"],
                                 backchannel_logout_uri=url + "/backchannel-logout")
    app = load_example().create_app(live_server.url, client.client_id, secret, url)
    server = LiveServer(app, sock.getsockname()[1], sock).start()
    yield Portal(url, app, client)
    server.stop()


@pytest.fixture
def anna(live_server):
    company = make_company(slug="acme", name="Acme Kft.")
    add_subscription(Owner.of(company), "business", "Flotta – 25 vonal", "acme-fleet-1")
    return make_user(company=company, username="anna", permissions=["invoices.view", "subscriptions.view"])


def csrf(page_text):
    return CSRF.search(page_text).group(1)


def log_in(live_server, portal, user, browser=None, consent_shows=()):
    """Click "Bejelentkezés Telekommal", log in at the IdP (through the test seam),
    consent when asked, and land on the portal's home page."""
    browser = browser or requests.Session()
    page = browser.get(portal.url + "/login", timeout=10)
    if page.url.startswith(live_server.url + "/login?"):  # the IdP's login page: nobody logged in there yet
        page = browser.get(live_server.url + login_url(page.url, user), timeout=10)
    if "/oauth/consent/" in page.url:
        assert all(text in page.text for text in ("Példa portál", *consent_shows)), page.text[:500]
        page = browser.post(page.url, data={"csrf_token": csrf(page.text), "allow": "Engedélyezem"}, timeout=10)
    assert page.status_code == 200 and page.url == portal.url + "/", (page.url, page.text[:500])
    return browser, page


def copy_idp_cookie(browser):
    """A second portal session of the same IdP session (the same browser, the
    portal's cookie cleared): only the IdP's cookie goes along."""
    other = requests.Session()
    for cookie in browser.cookies:
        if cookie.name == "idp_session":
            other.cookies.set_cookie(copy.copy(cookie))
    return other


def logged_in_at_portal(browser, portal):
    return LOGIN_BUTTON not in browser.get(portal.url + "/", timeout=10).text


def logged_in_at_idp(browser, live_server):
    return "Bejelentkezve" in browser.get(live_server.url + "/login/done", timeout=10).text


def eventually(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def delivered_logout_tokens():
    db.session.rollback()  # see what the server's threads committed
    return LogoutNotification.query.filter(LogoutNotification.delivered_at.isnot(None)).count()


# --- end to end ---------------------------------------------------------------------------------
def test_login_consent_and_the_claims_page(live_server, portal, anna):
    browser, page = log_in(live_server, portal, anna, consent_shows=["Acme Kft.", "Flotta – 25 vonal"])
    assert "Üdvözöljük, anna@acme!" in page.text
    assert "Acme Kft." in page.text and "(felhasználó)" in page.text
    assert "invoices.view" in page.text and "subscriptions.view" in page.text
    assert "Flotta – 25 vonal" in page.text and "üzleti" in page.text
    raw = json.loads(html.unescape(re.search(r'<pre class="claims">(.*?)</pre>', page.text, re.DOTALL).group(1)))
    assert raw["sub"] == anna.sub and raw["iss"] == live_server.url and raw["aud"] == portal.client.client_id
    assert raw["company"]["slug"] == "acme" and raw["sid"] and raw["nonce"]
    assert "Kijelentkezés" in page.text and LOGIN_BUTTON not in page.text
    assert page.headers["Cache-Control"] == "no-store" and "script-src" not in page.headers["Content-Security-Policy"]
    assert "<script" not in page.text
    # The consent is remembered: a second login goes straight back (SSO, no consent page).
    _, again = log_in(live_server, portal, anna, copy_idp_cookie(browser))
    assert "Flotta – 25 vonal" in again.text


def test_logout_through_the_portal_ends_both_and_the_back_channel_ends_the_shared_session(
        live_server, portal, anna):
    first, _ = log_in(live_server, portal, anna)
    second, _ = log_in(live_server, portal, anna, copy_idp_cookie(first))  # SSO: the same sid
    assert len(portal.sessions) == 2 and logged_in_at_portal(second, portal)

    page = first.post(portal.url + "/logout", timeout=10)  # → /oauth/logout → back with the state
    assert page.status_code == 200 and urlsplit(page.url).path == "/logged-out", page.text[:300]
    assert "Kijelentkezett" in page.text
    assert [r.status_code for r in page.history] == [302, 303]
    end_session = urlsplit(page.history[0].headers["Location"])
    assert end_session.path == "/oauth/logout" and "id_token_hint=" in end_session.query
    assert "state=" in urlsplit(page.url).query
    assert not logged_in_at_idp(first, live_server)
    assert not logged_in_at_portal(first, portal)
    # The second portal session never asked to log out: only the logout token ends it.
    assert eventually(lambda: delivered_logout_tokens() == 1)
    assert not logged_in_at_portal(second, portal)
    assert len(portal.sessions) == 0


@pytest.mark.parametrize("how", ["idp-logout-button", "signed-out-everywhere"])
def test_a_session_ended_at_the_idp_ends_the_portal_session_of_that_sid_only(live_server, portal, anna, how):
    browser, _ = log_in(live_server, portal, anna)
    someone, _ = log_in(live_server, portal, make_user(company=anna.company, username="bela"))
    if how == "idp-logout-button":
        done = browser.get(live_server.url + "/login/done", timeout=10)
        browser.post(live_server.url + "/login/logout", data={"csrf_token": csrf(done.text)}, timeout=10)
    else:  # a password reset signs the person out everywhere
        get_services().sessions.end_all(anna)
        db.session.commit()
        assert get_services().backchannel.deliver_due() == (1, 0)
    assert not logged_in_at_idp(browser, live_server)
    assert eventually(lambda: not logged_in_at_portal(browser, portal))
    assert logged_in_at_portal(someone, portal) and len(portal.sessions) == 1


def test_a_logout_response_of_another_browser_is_refused(live_server, portal, anna):
    browser, _ = log_in(live_server, portal, anna)
    stranger = requests.Session()
    page = browser.post(portal.url + "/logout", allow_redirects=False, timeout=10)
    end_session = browser.get(page.headers["Location"], allow_redirects=False, timeout=10)
    back = end_session.headers["Location"]
    assert stranger.get(back, timeout=10).status_code == 400  # its state is not in this browser
    assert browser.get(back, timeout=10).status_code == 200
    assert browser.get(back, timeout=10).status_code == 400  # a state is good once


@pytest.mark.parametrize("query", ["code=x&state=forged", "error=access_denied&state=forged", ""],
                         ids=["forged-state", "error", "nothing"])
def test_a_callback_without_its_login_is_refused(live_server, portal, query):
    response = requests.get(portal.url + "/callback?" + query, timeout=10)
    assert response.status_code == 400 and "A bejelentkezés nem sikerült" in response.text


def callback_url(live_server, portal, user, browser):
    """Log in and consent, stopping where the IdP sends the browser back to the portal."""
    authorize = browser.get(portal.url + "/login", allow_redirects=False, timeout=10).headers["Location"]
    login_page = browser.get(authorize, allow_redirects=False, timeout=10).headers["Location"]
    consent = browser.get(live_server.url + login_url(login_page, user), timeout=10)
    resume = browser.post(consent.url, data={"csrf_token": csrf(consent.text), "allow": "Engedélyezem"},
                          allow_redirects=False, timeout=10).headers["Location"]
    return browser.get(urljoin(consent.url, resume), allow_redirects=False, timeout=10).headers["Location"]


def test_a_callback_naming_another_issuer_is_refused_before_its_code_is_used(live_server, portal, anna):
    browser = requests.Session()
    callback = callback_url(live_server, portal, anna, browser)
    assert callback.startswith(portal.url + "/callback?") and "iss=" in callback
    mixed_up = re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fevil.example", callback)
    assert browser.get(mixed_up, timeout=10).status_code == 400
    without = re.sub(r"&?iss=[^&]+", "", callback)
    assert browser.get(without, timeout=10).status_code == 400  # discovery promises iss (RFC 9207)
    assert len(portal.sessions) == 0
    # The code and the state were left alone: the genuine response still logs in.
    page = browser.get(callback, timeout=10)
    assert page.url == portal.url + "/" and "Acme Kft." in page.text


# --- the back-channel endpoint ------------------------------------------------------------------
#: (case, what the refusal names) - Back-Channel Logout 1.0 §2.6, a step each.
FORGERIES = [
    ("bad-signature", "BadSignatureError"),
    ("unknown-key", "InvalidKeyIdError"),  # after reading the JWKS again
    ("alg-none", "UnsupportedAlgorithmError"),
    ("hs256-with-the-public-key", "UnsupportedAlgorithmError"),
    ("wrong-aud", "'aud'"),
    ("wrong-iss", "'iss'"),
    ("expired", "expired"),
    ("issued-in-the-future", "issued in the future"),
    ("no-iat", "'iat'"),
    ("no-jti", "'jti'"),
    ("with-a-nonce", "nonce"),
    ("no-events", "event"),
    ("another-event", "event"),
    ("neither-sub-nor-sid", "sub or sid"),
    ("an-id-token", "'jti'"),
    ("typ-of-an-access-token", "typ"),
    ("garbage", "DecodeError"),
    ("empty", "missing"),
]


def sign(claims, header=None, key=None):
    key = key or get_services().keys.signing_key("RS256")
    header = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt", **(header or {})}
    return jwt.encode(header, claims, key)


def logout_claims(live_server, portal, **changes):
    now = get_services().clock.timestamp()
    claims = {"iss": live_server.url, "aud": portal.client.client_id, "iat": now, "exp": now + 120,
              "jti": f"jti-{time.monotonic_ns()}", "sub": "person-1", "sid": "sid-1", "events": {EVENT: {}}}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def forged(live_server, portal, case):
    claims = logout_claims(live_server, portal)
    other_key = RSAKey.generate_key(2048, parameters={"kid": get_services().keys.signing_key("RS256").kid})
    public = requests.get(live_server.url + "/jwks.json", timeout=10).json()["keys"][0]
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"logout+jwt"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return {
        "bad-signature": lambda: sign(claims, key=other_key),
        "unknown-key": lambda: sign(claims, header={"kid": "nobody"}, key=RSAKey.generate_key(2048)),
        "alg-none": lambda: f"{unsigned}.{payload}.",
        "hs256-with-the-public-key": lambda: jwt.encode(
            {"alg": "HS256", "typ": "logout+jwt"}, claims, OctKey.import_key(json.dumps(public).encode()),
            algorithms=["HS256"]),
        "wrong-aud": lambda: sign(logout_claims(live_server, portal, aud="another-client")),
        "wrong-iss": lambda: sign(logout_claims(live_server, portal, iss="https://evil.example")),
        "expired": lambda: sign(logout_claims(live_server, portal, iat=claims["iat"] - 600, exp=claims["iat"] - 300)),
        "issued-in-the-future": lambda: sign(logout_claims(live_server, portal, iat=claims["iat"] + 600)),
        "no-iat": lambda: sign(logout_claims(live_server, portal, iat=None)),
        "no-jti": lambda: sign(logout_claims(live_server, portal, jti=None)),
        "with-a-nonce": lambda: sign(logout_claims(live_server, portal, nonce="n-1")),
        "no-events": lambda: sign(logout_claims(live_server, portal, events=None)),
        "another-event": lambda: sign(logout_claims(live_server, portal, events={"urn:other": {}})),
        "neither-sub-nor-sid": lambda: sign(logout_claims(live_server, portal, sub=None, sid=None)),
        "an-id-token": lambda: id_token_for(portal),
        "typ-of-an-access-token": lambda: sign(claims, header={"typ": "at+jwt"}),
        "garbage": lambda: "not-a-jwt",
        "empty": lambda: "",
    }[case]()


def id_token_for(portal):
    """A real ID token of the IdP for the portal (with sid, without a nonce): no events claim."""
    from types import SimpleNamespace

    from idp.grants.id_token import build_id_token

    context = SimpleNamespace(sid="sid-1", auth_time=get_services().clock.timestamp(), acr=None, amr=["pwd"])
    return build_id_token(portal.client, make_user(), "openid", context)


def start_session(portal, live_server, sub="person-1", sid="sid-1"):
    return portal.sessions.start("id-token", {"iss": live_server.url, "sub": sub, "sid": sid})


def post_logout_token(portal, token):
    return portal.app.test_client().post("/backchannel-logout", data={"logout_token": token})


@pytest.mark.parametrize("case, reason", FORGERIES, ids=[case for case, _ in FORGERIES])
def test_a_forged_logout_token_is_refused_and_ends_nothing(live_server, portal, case, reason):
    session_id = start_session(portal, live_server)
    response = post_logout_token(portal, forged(live_server, portal, case))
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "invalid_request" and reason in body["error_description"]
    assert portal.sessions.get(session_id) is not None


def test_a_logout_token_works_once(live_server, portal):
    token = sign(logout_claims(live_server, portal))
    first, other = start_session(portal, live_server), start_session(portal, live_server, sid="sid-2")
    response = post_logout_token(portal, token)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert portal.sessions.get(first) is None and portal.sessions.get(other) is not None
    again = start_session(portal, live_server)
    replayed = post_logout_token(portal, token)
    assert replayed.status_code == 400 and replayed.get_json()["error"] == "invalid_request"
    assert portal.sessions.get(again) is not None


def test_without_a_logout_token_nothing_happens(live_server, portal):
    session_id = start_session(portal, live_server)
    response = portal.app.test_client().post("/backchannel-logout", data={})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert portal.sessions.get(session_id) is not None


@pytest.mark.parametrize("changes, ended", [
    ({}, {"a"}),
    ({"sub": None}, {"a"}),
    ({"sid": None}, {"a", "b"}),
    ({"sub": "someone-else"}, set()),
    ({"sid": "unknown-sid"}, set()),
    ({"aud": ["another-client", "CLIENT"]}, {"a"}),
], ids=["sid-and-sub", "sid-only", "sub-only-ends-all-of-them", "sid-of-another-person", "unknown-sid",
        "aud-list"])
def test_which_sessions_a_logout_token_ends(live_server, portal, changes, ended):
    sessions = {"a": start_session(portal, live_server), "b": start_session(portal, live_server, sid="sid-b"),
                "c": start_session(portal, live_server, sub="person-2", sid="sid-c")}
    if changes.get("aud"):
        changes = {**changes, "aud": [portal.client.client_id if a == "CLIENT" else a for a in changes["aud"]]}
    response = post_logout_token(portal, sign(logout_claims(live_server, portal, **changes)))
    assert response.status_code == 200  # an unknown session is nothing to do, not an error (§2.8)
    assert {name for name, sid in sessions.items() if portal.sessions.get(sid) is None} == ended


@pytest.mark.parametrize("typ", [None, "JWT", "application/logout+jwt"])
def test_a_logout_token_without_its_explicit_type_is_known_by_its_events_claim(live_server, portal, typ):
    session_id = start_session(portal, live_server)
    key = get_services().keys.signing_key("RS256")
    header = {"alg": "RS256", "kid": key.kid, **({"typ": typ} if typ else {})}
    token = jws.serialize_compact(header, json.dumps(logout_claims(live_server, portal)).encode(), key)
    assert post_logout_token(portal, token).status_code == 200
    assert portal.sessions.get(session_id) is None


def test_an_es256_logout_token_is_accepted(live_server, portal):
    session_id = start_session(portal, live_server)
    key = get_services().keys.signing_key("ES256")
    token = jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "logout+jwt"}, logout_claims(live_server, portal),
                       key)
    assert post_logout_token(portal, token).status_code == 200
    assert portal.sessions.get(session_id) is None


# --- starting it ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, environ, expected", [
    (["--issuer", "http://127.0.0.1:5000", "--client-id", "id", "--client-secret", "s"], {},
     {"issuer": "http://127.0.0.1:5000", "client_id": "id", "client_secret": "s",
      "base_url": "http://127.0.0.1:5001"}),
    ([], {"PORTAL_ISSUER": "https://login.example", "PORTAL_CLIENT_ID": "id", "PORTAL_CLIENT_SECRET": "s",
          "PORTAL_BASE_URL": "https://portal.example"},
     {"issuer": "https://login.example", "client_id": "id", "client_secret": "s",
      "base_url": "https://portal.example"}),
    (["--client-id", "cli"], {"PORTAL_CLIENT_ID": "env", "PORTAL_CLIENT_SECRET": "s"},
     {"issuer": "http://127.0.0.1:5000", "client_id": "cli", "client_secret": "s",
      "base_url": "http://127.0.0.1:5001"}),
], ids=["command-line", "environment", "command-line-wins"])
def test_settings_from_the_command_line_or_the_environment(argv, environ, expected):
    assert load_example().settings_from(argv, environ) == expected


def test_a_client_secret_is_required():
    with pytest.raises(SystemExit):
        load_example().settings_from(["--client-id", "id"], {})


def test_without_the_idp_the_portal_says_so(live_server):
    sock = listening_socket()  # listening, never answering: then closed, so nothing listens there
    nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    app = load_example().create_app(nowhere, "id", "secret", "http://127.0.0.1:9")
    client = app.test_client()
    assert client.get("/login").status_code == 502
    response = client.post("/backchannel-logout", data={"logout_token": "a.b.c"})
    assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
