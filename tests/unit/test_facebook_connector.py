"""The Facebook connector (idp/services/facebook.py) against FakeFacebook, a real HTTP
server on a loopback port: the dialog URL, the code exchange, /me, every failure as one
``FacebookError`` with its reason, no secret in the logs, and the settings' checks."""

import logging
import time
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from idp import settings
from idp.errors import ConfigurationError
from idp.errors import IdpError
from idp.services import get_services
from idp.services.facebook import FacebookConnector
from idp.services.facebook import FacebookError
from idp.services.facebook import FacebookIdentity
from tests.conftest import free_port

REDIRECT_URI = "http://localhost/account/facebook/callback"
DEFAULTS = {name: getattr(settings, name) for name in dir(settings) if name.startswith("FACEBOOK_")}
PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "production-secret-" + "p" * 40,
    "SMS_BACKEND": "http",
    "SMS_GATEWAY_URL": "https://sms.example/send",
    "MAIL_BACKEND": "smtp",
}


def connector(fake, timeout=5.0):
    return FacebookConnector(fake.client_id, fake.client_secret, fake.authorize_url, fake.token_url,
                             fake.userinfo_url, timeout=timeout)


def query(url):
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def code_from_dialog(fake, facebook, state="st-1"):
    """The code the dialog gives for the connector's own authorization URL."""
    back = query(fake.login(facebook.authorization_url(REDIRECT_URI, state)))
    assert back["state"] == state
    return back["code"]


# --- the dialog URL ----------------------------------------------------------------
def test_authorization_url_asks_the_dialog_for_a_code_with_email_and_public_profile(fake_facebook):
    url = connector(fake_facebook).authorization_url(REDIRECT_URI, "state-123")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake_facebook.authorize_url
    assert query(url) == {"client_id": fake_facebook.client_id, "redirect_uri": REDIRECT_URI,
                          "response_type": "code", "scope": "email public_profile", "state": "state-123"}
    assert fake_facebook.client_secret not in url


def test_authorization_url_defaults_to_facebooks_own_dialog():
    facebook = FacebookConnector.from_config({**DEFAULTS, "FACEBOOK_CLIENT_ID": "42", "FACEBOOK_CLIENT_SECRET": "s"})
    assert facebook.authorization_url(REDIRECT_URI, "x").startswith("https://www.facebook.com/v21.0/dialog/oauth?")
    assert facebook.token_url == "https://graph.facebook.com/v21.0/oauth/access_token"
    assert facebook.userinfo_url == "https://graph.facebook.com/me"


@pytest.mark.parametrize(("allow", "cancel", "expected"), [
    pytest.param(True, False, {"code", "state"}, id="continue"),
    pytest.param(False, False, {"error", "error_code", "error_description", "error_reason", "state"}, id="cancel-button"),
    pytest.param(True, True, {"error", "error_code", "error_description", "error_reason", "state"}, id="cancel-switch"),
])
def test_the_dialog_page_sends_the_browser_back_with_a_code_or_the_cancel_error(fake_facebook, allow, cancel,
                                                                                expected):
    fake_facebook.cancel = cancel
    url = connector(fake_facebook).authorization_url(REDIRECT_URI, "s-1")
    page = requests.get(url, headers={"Accept-Language": "hu-HU,hu;q=0.9"}, timeout=5)
    assert "Folytatás mint Kovács Anna" in page.text and "Mégse" in page.text

    back = fake_facebook.login(url, allow=allow)

    assert back.startswith(REDIRECT_URI + "?")
    assert set(query(back)) == expected
    assert query(back)["state"] == "s-1"
    if "error" in expected:
        assert query(back)["error"] == "access_denied"
        assert query(back)["error_reason"] == "user_denied"
        assert query(back)["error_description"] == "Permissions error"


def test_auto_mode_and_wrong_state(fake_facebook):
    fake_facebook.auto = True
    fake_facebook.wrong_state = True
    url = connector(fake_facebook).authorization_url(REDIRECT_URI, "mine")
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert query(response.headers["Location"])["state"] != "mine"
    assert [r.endpoint for r in fake_facebook.requests] == ["dialog"]


# --- the identity ------------------------------------------------------------------
def test_fetch_identity_exchanges_the_code_and_reads_me(fake_facebook):
    facebook = connector(fake_facebook)
    code = code_from_dialog(fake_facebook, facebook)

    identity = facebook.fetch_identity(code, REDIRECT_URI)

    assert identity == FacebookIdentity(id="10220000000000001", name="Kovács Anna", email="kovacs.anna@example.com")
    token, = fake_facebook.requests_to("token")
    assert token.method == "POST"
    assert token.form["client_id"] == fake_facebook.client_id
    assert token.form["client_secret"] == fake_facebook.client_secret
    assert token.form["code"] == code
    assert token.form["redirect_uri"] == REDIRECT_URI
    assert token.args == {}  # nothing secret in the URL
    me, = fake_facebook.requests_to("me")
    assert me.args["fields"] == "id,name,email"
    assert me.headers["Authorization"].startswith("Bearer ")
    assert "access_token" not in me.args
    assert "appsecret_proof" in me.args  # checked by the stand-in


def test_identity_is_frozen(fake_facebook):
    identity = connector(fake_facebook).fetch_identity(fake_facebook.issue_code(REDIRECT_URI), REDIRECT_URI)
    with pytest.raises(AttributeError):
        identity.id = "other"


@pytest.mark.parametrize("identity", [
    pytest.param({"id": "77", "name": "Béla", "email": None}, id="no-email"),
    pytest.param({"id": "77", "name": "Béla"}, id="email-left-out"),
])
def test_a_user_without_email_is_not_an_error(fake_facebook, identity):
    fake_facebook.identity = identity
    result = connector(fake_facebook).fetch_identity(fake_facebook.issue_code(REDIRECT_URI), REDIRECT_URI)
    assert result == FacebookIdentity(id="77", name="Béla", email=None)


def test_email_not_granted_in_the_dialog_is_none(fake_facebook):
    code = fake_facebook.issue_code(REDIRECT_URI, scope="public_profile")
    assert connector(fake_facebook).fetch_identity(code, REDIRECT_URI).email is None


# --- failures ----------------------------------------------------------------------
@pytest.mark.parametrize(("change", "reason"), [
    pytest.param({"token_status": 500}, "token", id="token-500"),
    pytest.param({"token_status": 503, "token_body": "<html>down</html>"}, "token", id="token-503-html"),
    pytest.param({"token_body": "<html>not json</html>"}, "invalid_response", id="token-invalid-json"),
    pytest.param({"token_body": "[1, 2]"}, "invalid_response", id="token-json-array"),
    pytest.param({"token_body": '{"token_type": "bearer"}'}, "invalid_response", id="token-without-access-token"),
    pytest.param({"me_status": 500}, "userinfo", id="me-500"),
    pytest.param({"me_status": 400}, "userinfo", id="me-400"),
    pytest.param({"me_body": "<html>not json</html>"}, "invalid_response", id="me-invalid-json"),
    pytest.param({"me_body": '["10220000000000001"]'}, "invalid_response", id="me-json-array"),
    pytest.param({"identity": {"name": "No Id", "email": "x@example.com"}}, "invalid_response", id="missing-id"),
    pytest.param({"identity": {"id": 10220000000000001, "name": "N"}}, "invalid_response", id="numeric-id"),
    pytest.param({"identity": {"id": "", "name": "N"}}, "invalid_response", id="empty-id"),
    pytest.param({"identity": {"id": "9" * 65}}, "invalid_response", id="overlong-id"),
    pytest.param({"identity": {"id": "1", "email": ["a@b.c"]}}, "invalid_response", id="email-not-a-string"),
])
def test_failures_are_one_facebook_error_with_a_reason(fake_facebook, change, reason):
    code = fake_facebook.issue_code(REDIRECT_URI)
    for name, value in change.items():
        setattr(fake_facebook, name, value)
    if "identity" in change:  # the identity belongs to the code: take one for the new identity
        code = fake_facebook.issue_code(REDIRECT_URI)

    with pytest.raises(FacebookError) as caught:
        connector(fake_facebook).fetch_identity(code, REDIRECT_URI)

    assert caught.value.reason == reason
    assert isinstance(caught.value, IdpError)


@pytest.mark.parametrize(("tamper", "reason"), [
    pytest.param("reused-code", "token", id="reused-code"),
    pytest.param("other-redirect-uri", "token", id="other-redirect-uri"),
    pytest.param("unknown-code", "token", id="unknown-code"),
    pytest.param("wrong-secret", "token", id="wrong-secret"),
])
def test_the_token_endpoint_refusing_the_exchange_is_a_token_error(fake_facebook, tamper, reason):
    facebook = connector(fake_facebook)
    code, redirect_uri = fake_facebook.issue_code(REDIRECT_URI), REDIRECT_URI
    if tamper == "reused-code":
        facebook.fetch_identity(code, redirect_uri)
    elif tamper == "other-redirect-uri":
        redirect_uri = "http://localhost/elsewhere"
    elif tamper == "unknown-code":
        code = "AQ-never-issued"
    else:
        facebook = FacebookConnector(fake_facebook.client_id, "wrong-secret", fake_facebook.authorize_url,
                                     fake_facebook.token_url, fake_facebook.userinfo_url)

    with pytest.raises(FacebookError) as caught:
        facebook.fetch_identity(code, redirect_uri)
    assert caught.value.reason == reason


def test_an_unreachable_facebook_is_a_network_error():
    closed = f"http://127.0.0.1:{free_port()}"
    facebook = FacebookConnector("1", "s", closed + "/dialog/oauth", closed + "/oauth/access_token", closed + "/me")
    with pytest.raises(FacebookError) as caught:
        facebook.fetch_identity("code", REDIRECT_URI)
    assert caught.value.reason == "network"


@pytest.mark.parametrize("delay", ["token_delay", "me_delay"])
def test_a_slow_facebook_times_out_as_a_network_error(fake_facebook, delay):
    setattr(fake_facebook, delay, 1.0)
    code = fake_facebook.issue_code(REDIRECT_URI)
    started = time.monotonic()
    with pytest.raises(FacebookError) as caught:
        connector(fake_facebook, timeout=0.2).fetch_identity(code, REDIRECT_URI)
    assert caught.value.reason == "network"
    assert time.monotonic() - started < 0.9


def test_the_default_timeout_is_short():
    assert FacebookConnector.from_config(DEFAULTS).timeout == 5.0


def test_an_unconfigured_connector_refuses_politely():
    facebook = FacebookConnector.from_config(DEFAULTS)
    assert facebook.configured is False
    for call in (lambda: facebook.authorization_url(REDIRECT_URI, "s"),
                 lambda: facebook.fetch_identity("code", REDIRECT_URI)):
        with pytest.raises(FacebookError) as caught:
            call()
        assert caught.value.reason == "not_configured"


# --- secrets stay out of the logs ------------------------------------------------------
def test_no_code_secret_or_token_in_logs_or_errors(fake_facebook, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    facebook = connector(fake_facebook)
    codes = [fake_facebook.issue_code(REDIRECT_URI) for _ in range(3)]
    errors = []

    facebook.fetch_identity(codes[0], REDIRECT_URI)
    for code, change in ((codes[0], {}), (codes[1], {"me_status": 500}), (codes[2], {"me_body": "oops"})):
        for name, value in change.items():
            setattr(fake_facebook, name, value)
        with pytest.raises(FacebookError) as caught:
            facebook.fetch_identity(code, REDIRECT_URI)
        errors.append(f"{caught.value} {caught.value!r}")

    tokens = [recorded.headers["Authorization"].split()[1] for recorded in fake_facebook.requests_to("me")]
    assert len(tokens) == 3
    assert "Facebook" in caplog.text  # the failures were logged ...
    for secret in [fake_facebook.client_secret, *codes, *tokens]:
        assert secret not in caplog.text  # ... without a secret
        assert not any(secret in error for error in errors)
    assert fake_facebook.client_secret not in repr(facebook)


# --- the service in the app, and its settings ---------------------------------------------
def test_the_app_builds_the_connector_from_its_settings(make_app, fake_facebook):
    app = make_app(**fake_facebook.config)
    facebook = get_services(app).facebook
    assert isinstance(facebook, FacebookConnector)
    assert facebook.configured is True
    assert facebook.fetch_identity(fake_facebook.issue_code(REDIRECT_URI), REDIRECT_URI).id == "10220000000000001"


def test_without_settings_the_service_is_there_but_not_configured(make_app):
    assert get_services(make_app()).facebook.configured is False


def test_create_app_services_overrides_facebook(make_app):
    stand_in = object()
    assert get_services(make_app(services={"facebook": stand_in})).facebook is stand_in


@pytest.mark.parametrize(("config", "needle"), [
    pytest.param({"FACEBOOK_CLIENT_ID": "42"}, "IDP_FACEBOOK_CLIENT_SECRET", id="id-without-secret"),
    pytest.param({"FACEBOOK_CLIENT_SECRET": "s"}, "IDP_FACEBOOK_CLIENT_ID", id="secret-without-id"),
    pytest.param({"FACEBOOK_TOKEN_URL": "http://graph.example.com/oauth/access_token"}, "IDP_FACEBOOK_TOKEN_URL",
                 id="http-public-host"),
    pytest.param({"FACEBOOK_USERINFO_URL": "graph.facebook.com/me"}, "IDP_FACEBOOK_USERINFO_URL", id="relative"),
    pytest.param({"FACEBOOK_AUTHORIZE_URL": "ftp://facebook.com/dialog"}, "IDP_FACEBOOK_AUTHORIZE_URL", id="ftp"),
])
def test_meaningless_facebook_settings_are_refused(make_app, config, needle):
    with pytest.raises(ConfigurationError) as caught:
        make_app(**config)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message


def test_production_refuses_http_facebook_urls_even_on_loopback(make_app, fake_facebook):
    with pytest.raises(ConfigurationError, match="IDP_FACEBOOK_AUTHORIZE_URL"):
        make_app(issuer="https://login.example.hu", **PRODUCTION, **fake_facebook.config)


def test_production_accepts_facebooks_own_https_urls(make_app):
    app = make_app(issuer="https://login.example.hu", **PRODUCTION, FACEBOOK_CLIENT_ID="42",
                   FACEBOOK_CLIENT_SECRET="app-secret")
    assert get_services(app).facebook.configured is True
