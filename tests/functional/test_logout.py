"""RP-Initiated Logout 1.0 (``/oauth/logout``) and Back-Channel Logout 1.0:
the hint, the registered post-logout redirect URI only, ``state``, the
confirmation page without a hint, and logout tokens sent to the clients of
the ended session - in the background, retried, never blocking the logout."""

import base64
import json
import threading
from urllib.parse import urlencode

import pytest
from joserfc import jws
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwk import OctKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from idp.extensions import db
from idp.models.registration import LogoutNotification
from idp.services import get_services
from tests.conftest import free_port
from tests.factories import make_client
from tests.factories import make_user
from tests.login_helpers import csrf_token
from tests.login_helpers import text
from tests.oauth_helpers import tokens_for

APP = "https://app.example"
AFTER_LOGOUT = APP + "/logged-out"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """A relying party's back-channel logout endpoint: a real local HTTP server."""

    def __init__(self, status=200, hold=False):
        self.status, self.tokens = status, []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.arrived = threading.Event()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/backchannel"
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ, start_response):
        request = Request(environ)
        self.tokens.append(request.form.get("logout_token"))
        self.arrived.set()
        self.release.wait(10)
        return Response(status=self.status)(environ, start_response)

    def stop(self):
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def user(app):
    return make_user()


def rp(backchannel=None, **extra):
    return make_client(first_party=True, post_logout_redirect_uris=[AFTER_LOGOUT], backchannel_logout_uri=backchannel,
                       **extra)


def logged_in_tokens(client, principal, app_client, scope="openid"):
    rp_, secret = app_client
    return tokens_for(client, rp_, secret, principal, scope=scope)


def logout(client, **params):
    return client.get("/oauth/logout?" + urlencode({k: v for k, v in params.items() if v is not None}))


def still_logged_in(client):
    return "Bejelentkezve" in text(client.get("/login/done"))


def decode(client, token):
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json()),
                      algorithms=["RS256", "ES256"])


# --- discovery ------------------------------------------------------------------------------------
def test_discovery_advertises_logout(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["end_session_endpoint"] == "http://localhost/oauth/logout"
    assert doc["backchannel_logout_supported"] is True and doc["backchannel_logout_session_supported"] is True


# --- RP-initiated logout --------------------------------------------------------------------------
def test_a_valid_hint_logs_out_at_once_and_goes_back_with_the_state(client, user):
    app_client = rp()
    tokens = logged_in_tokens(client, user, app_client)
    assert still_logged_in(client)
    response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=AFTER_LOGOUT, state="xyz")
    assert response.status_code == 303
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=xyz"
    assert not still_logged_in(client)
    # The session-bound refresh token ended with the session.
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            auth=(app_client[0].client_id, app_client[1]))
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_an_expired_hint_is_still_accepted(client, clock, user):
    tokens = logged_in_tokens(client, user, rp())
    clock.advance(3600)  # the ID token expired after 600 s; the login session lives on
    response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=AFTER_LOGOUT)
    assert response.status_code == 303 and response.headers["Location"] == AFTER_LOGOUT


def test_without_a_hint_a_confirmation_page_asks_first(client, user):
    app_client = rp()
    logged_in_tokens(client, user, app_client)
    page = logout(client, client_id=app_client[0].client_id, post_logout_redirect_uri=AFTER_LOGOUT, state="s1")
    assert page.status_code == 200 and "Kijelentkezik?" in text(page)
    assert still_logged_in(client)
    refused = client.post("/oauth/logout/confirm", data={"post_logout_redirect_uri": AFTER_LOGOUT,
                                                         "client_id": app_client[0].client_id})
    assert refused.status_code == 400 and still_logged_in(client)  # no CSRF token
    response = client.post("/oauth/logout/confirm", data={
        "csrf_token": csrf_token(text(page)), "post_logout_redirect_uri": AFTER_LOGOUT,
        "client_id": app_client[0].client_id, "state": "s1"})
    assert response.status_code == 303 and response.headers["Location"] == AFTER_LOGOUT + "?state=s1"
    assert not still_logged_in(client)


def test_the_confirmation_cannot_be_bent_to_another_redirect(client, user):
    app_client = rp()
    logged_in_tokens(client, user, app_client)
    page = logout(client, client_id=app_client[0].client_id)
    response = client.post("/oauth/logout/confirm", data={
        "csrf_token": csrf_token(text(page)), "post_logout_redirect_uri": "https://evil.example/",
        "client_id": app_client[0].client_id})
    assert response.status_code == 400 and "Location" not in response.headers
    assert still_logged_in(client)


def test_nobody_logged_in_still_goes_back(client, user):
    app_client = rp()
    response = logout(client, client_id=app_client[0].client_id, post_logout_redirect_uri=AFTER_LOGOUT, state="a")
    assert response.status_code == 303 and response.headers["Location"] == AFTER_LOGOUT + "?state=a"
    assert logout(client).status_code == 200  # no client, nobody: a page that says so


def forged_hint(client, tokens, case):
    head, payload, _ = tokens["id_token"].split(".")
    claims = json.loads(jws.extract_compact(tokens["id_token"].encode()).payload)
    public = client.get("/jwks.json").get_json()["keys"][0]
    return {
        "bad-signature": lambda: f"{head}.{payload}.{'A' * 342}",
        "alg-none": lambda: ".".join([base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("="), payload,
                                      ""]),
        "hs256-with-the-public-key": lambda: jwt.encode({"alg": "HS256"}, claims,
                                                        OctKey.import_key(json.dumps(public).encode()),
                                                        algorithms=["HS256"]),
        "access-token": lambda: tokens["access_token"],
        "garbage": lambda: "not-a-jwt",
    }[case]()


@pytest.mark.parametrize("case", ["bad-signature", "alg-none", "hs256-with-the-public-key", "access-token",
                                  "garbage"])
def test_a_forged_hint_is_refused_and_nothing_happens(client, user, case):
    tokens = logged_in_tokens(client, user, rp())
    response = logout(client, id_token_hint=forged_hint(client, tokens, case),
                      post_logout_redirect_uri=AFTER_LOGOUT)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "Hibás kijelentkezési kérés" in text(response)
    assert still_logged_in(client)


@pytest.mark.parametrize("uri", [AFTER_LOGOUT + "/x", APP + "/", "https://evil.example/logged-out",
                                 AFTER_LOGOUT + "?next=https://evil.example"],
                         ids=["suffix", "other-path", "other-host", "query"])
def test_only_a_registered_post_logout_redirect_uri(client, user, uri):
    tokens = logged_in_tokens(client, user, rp())
    response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri)
    assert response.status_code == 400 and "Location" not in response.headers
    assert still_logged_in(client)


def test_a_redirect_needs_a_known_client(client, user):
    logged_in_tokens(client, user, rp())
    assert logout(client, post_logout_redirect_uri=AFTER_LOGOUT).status_code == 400
    assert logout(client, client_id="nobody", post_logout_redirect_uri=AFTER_LOGOUT).status_code == 400


def test_a_client_id_that_is_not_the_hints_audience_is_refused(client, user):
    tokens = logged_in_tokens(client, user, rp())
    other, _ = rp()
    response = logout(client, id_token_hint=tokens["id_token"], client_id=other.client_id)
    assert response.status_code == 400 and still_logged_in(client)


def test_the_hint_of_somebody_else_asks_first(app, client, user):
    app_client = rp()
    someone = make_user()
    elsewhere = app.test_client()
    their_tokens = logged_in_tokens(elsewhere, someone, app_client)
    logged_in_tokens(client, user, app_client)
    page = logout(client, id_token_hint=their_tokens["id_token"], post_logout_redirect_uri=AFTER_LOGOUT)
    assert page.status_code == 200 and "Kijelentkezik?" in text(page)
    assert still_logged_in(client)


def test_ui_locales_picks_the_language(client, user):
    app_client = rp()
    logged_in_tokens(client, user, app_client)
    page = logout(client, client_id=app_client[0].client_id, ui_locales="en-GB")
    assert "Log out?" in text(page)


# --- back-channel logout --------------------------------------------------------------------------------
def test_every_client_of_the_session_with_a_backchannel_uri_gets_a_logout_token(app, client, user, receiver):
    with_channel, without = rp(backchannel=receiver.url), rp()
    tokens = logged_in_tokens(client, user, with_channel)
    logged_in_tokens(client, user, without)  # the same login session (SSO)
    sid = decode(client, tokens["id_token"]).claims["sid"]
    response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=AFTER_LOGOUT)
    assert response.status_code == 303
    assert receiver.arrived.wait(10)
    [token] = receiver.tokens
    decoded = decode(client, token)
    assert decoded.header["typ"] == "logout+jwt"
    claims = decoded.claims
    assert claims["iss"] == "http://localhost" and claims["aud"] == with_channel[0].client_id
    assert claims["sub"] == user.sub and claims["sid"] == sid and claims["events"] == {EVENT: {}}
    assert "nonce" not in claims and claims["jti"] and claims["exp"] > claims["iat"]
    wait_until_delivered()
    assert LogoutNotification.query.count() == 1  # the other client has no back-channel URI


def wait_until_delivered(timeout=10):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if LogoutNotification.query.filter(LogoutNotification.delivered_at.isnot(None)).count():
            return
        time.sleep(0.02)
    raise AssertionError("not delivered")


def test_the_logout_does_not_wait_for_the_relying_party(client, user):
    slow = Receiver(hold=True)  # answers only when the test lets it
    try:
        tokens = logged_in_tokens(client, user, rp(backchannel=slow.url))
        response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=AFTER_LOGOUT)
        assert response.status_code == 303  # answered while the relying party still holds its request
        assert slow.arrived.wait(10) and not slow.release.is_set()
    finally:
        slow.stop()


def test_a_failed_delivery_is_retried_with_back_off(make_app, clock):
    failing = Receiver(status=500)
    app = make_app(BACKCHANNEL_LOGOUT_ASYNC=False)
    try:
        with app.app_context():
            client, principal = app.test_client(), make_user()
            tokens = logged_in_tokens(client, principal, rp(backchannel=failing.url))
            logout(client, id_token_hint=tokens["id_token"])
            [row] = LogoutNotification.query.all()
            assert (row.attempts, row.delivered_at, row.last_error) == (1, None, "HTTP 500")
            backchannel = get_services().backchannel
            assert backchannel.deliver_due() == (0, 0)  # not due yet: 30 s later
            failing.status = 200
            clock.advance(30)
            assert backchannel.deliver_due() == (1, 0)
            db.session.refresh(row)
            assert row.attempts == 2 and row.delivered_at is not None
            assert len(failing.tokens) == 2 and failing.tokens[0] == failing.tokens[1]
    finally:
        failing.stop()


def test_delivery_is_given_up_after_the_last_retry(make_app, clock):
    failing = Receiver(status=503)
    app = make_app(BACKCHANNEL_LOGOUT_ASYNC=False, BACKCHANNEL_RETRY_DELAYS=[10])
    try:
        with app.app_context():
            client, principal = app.test_client(), make_user()
            tokens = logged_in_tokens(client, principal, rp(backchannel=failing.url))
            logout(client, id_token_hint=tokens["id_token"])
            clock.advance(10)
            get_services().backchannel.deliver_due()
            [row] = LogoutNotification.query.all()
            assert row.attempts == 2 and row.given_up_at is not None
            clock.advance(3600)
            assert get_services().backchannel.deliver_due() == (0, 0)
    finally:
        failing.stop()


def test_a_password_reset_that_ends_every_session_notifies_too(make_app):
    receiver = Receiver()
    app = make_app(BACKCHANNEL_LOGOUT_ASYNC=False)
    try:
        with app.app_context():
            client, principal = app.test_client(), make_user()
            logged_in_tokens(client, principal, rp(backchannel=receiver.url))
            get_services().sessions.end_all(principal)
            db.session.commit()
            assert get_services().backchannel.deliver_due() == (1, 0)
            assert decode(client, receiver.tokens[0]).claims["sub"] == principal.sub
    finally:
        receiver.stop()


def test_the_cli_sends_what_is_due(make_app, clock):
    receiver = Receiver(status=500)
    app = make_app(BACKCHANNEL_LOGOUT_ASYNC=False)
    try:
        with app.app_context():
            client, principal = app.test_client(), make_user()
            tokens = logged_in_tokens(client, principal, rp(backchannel=receiver.url))
            logout(client, id_token_hint=tokens["id_token"])
            receiver.status = 200
            clock.advance(30)
            result = app.test_cli_runner().invoke(args=["idp", "logout", "deliver", "--json"])
            assert json.loads(result.output) == {"delivered": 1, "failed": 0, "pending": 0}
    finally:
        receiver.stop()


def test_the_logout_pages_survive_hostile_parameters(client, user):
    logged_in_tokens(client, user, rp())
    for params in ({"id_token_hint": "a\r\nb"}, {"state": "x" * 5000}, {"post_logout_redirect_uri": "javascript:alert(1)"},
                   {"client_id": "\x00"}, {"ui_locales": "<script>"}):
        response = client.get("/oauth/logout?" + urlencode(params))
        assert response.status_code in (200, 400), params
        assert "<script>" not in text(response)
        assert "Location" not in response.headers
    assert still_logged_in(client)
