"""Configuration layering and the production safety checks (DESIGN.md §5)."""

import json
import os

import pytest
from flask import request

from idp import create_app
from idp import settings
from idp.errors import ConfigurationError

GOOD_SECRET = "s3cret-" + "x" * 40
SHORT_SECRET = "s" * 31  # one short of the 32 production needs


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No IDP_* setting of the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def storage(tmp_path):
    """Where every app of these tests keeps its database and keys."""
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'idp.db'}", "KEYS_DIR": str(tmp_path / "keys")}


def build(storage, **overrides):
    return create_app({**storage, **overrides})


def write_config(path, kind, values):
    if kind == "py":
        path.write_text("".join(f"{key} = {value!r}\n" for key, value in values.items()))
    elif kind == "json":
        path.write_text(json.dumps(values))
    else:
        lines = []
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")  # JSON strings/ints are valid TOML
        path.write_text("\n".join(lines) + "\n")
    return path


# --- layering ----------------------------------------------------------------------
def test_defaults_come_from_settings(storage):
    app = build(storage)
    assert app.config["ENV"] == "development"
    assert app.config["ACCESS_TOKEN_TTL"] == settings.ACCESS_TOKEN_TTL
    assert app.config["SMS_BACKEND"] == "outbox"
    assert app.config["PROXY_HOPS"] == 0
    assert app.config["ISSUER"] == settings.ISSUER
    assert app.config["SECRET_KEY"] == settings.DEVELOPMENT_SECRET_KEY


@pytest.mark.parametrize("kind", ["py", "json", "toml"])
def test_file_overrides_defaults_env_overrides_file_and_create_app_overrides_env(
        kind, tmp_path, storage, monkeypatch):
    config_file = write_config(tmp_path / f"idp.{kind}", kind, {
        "ACCESS_TOKEN_TTL": 111,
        "SMS_SENDER_NAME": "FromFile",
        "MAIL_PORT": 2525,
        "ISSUER": "https://file.example/",
        "lowercase_ignored": "x",
    })
    monkeypatch.setenv("IDP_CONFIG", str(config_file))
    monkeypatch.setenv("IDP_SMS_SENDER_NAME", "FromEnv")
    monkeypatch.setenv("IDP_MAIL_PORT", "2626")
    monkeypatch.setenv("IDP_REFRESH_TOKEN_TTL", "222")

    app = build(storage, MAIL_PORT=2727)

    assert app.config["ACCESS_TOKEN_TTL"] == 111  # file over default
    assert app.config["ISSUER"] == "https://file.example"  # file, trailing slash dropped
    assert app.config["SMS_SENDER_NAME"] == "FromEnv"  # environment over file
    assert app.config["REFRESH_TOKEN_TTL"] == 222  # environment over default, as an int
    assert app.config["MAIL_PORT"] == 2727  # create_app(config) over environment
    assert app.config["ID_TOKEN_TTL"] == settings.ID_TOKEN_TTL  # untouched default
    assert "lowercase_ignored" not in app.config


def test_file_alone_without_environment(tmp_path, storage, monkeypatch):
    monkeypatch.setenv("IDP_CONFIG", str(write_config(tmp_path / "c.json", "json", {"SMS_SENDER_NAME": "F"})))
    assert build(storage).config["SMS_SENDER_NAME"] == "F"


def test_issuer_from_the_environment_reaches_discovery(storage, monkeypatch):
    monkeypatch.setenv("IDP_ISSUER", "https://login.example.hu/")
    app = build(storage)
    doc = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == "https://login.example.hu"
    assert doc["token_endpoint"] == "https://login.example.hu/oauth/token"


@pytest.mark.parametrize(("filename", "content", "needle"), [
    pytest.param("missing.py", None, "IDP_CONFIG", id="missing-file"),
    pytest.param("idp.yaml", "ISSUER: x\n", "IDP_CONFIG", id="unknown-suffix"),
])
def test_unusable_config_file_is_a_configuration_error(tmp_path, storage, monkeypatch, filename, content, needle):
    path = tmp_path / filename
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("IDP_CONFIG", str(path))
    with pytest.raises(ConfigurationError) as caught:
        build(storage)
    assert needle in str(caught.value)


@pytest.mark.parametrize("name", ["SECRET_KEY", "SMS_GATEWAY_TOKEN", "MAIL_PASSWORD", "FACEBOOK_CLIENT_ID"])
def test_secrets_from_the_environment_stay_strings_even_when_they_look_like_json(storage, monkeypatch, name):
    value = "12345678901234567890123456789012345678"
    monkeypatch.setenv(f"IDP_{name}", value)
    if name == "FACEBOOK_CLIENT_ID":  # the id alone is refused: Facebook login needs both
        monkeypatch.setenv("IDP_FACEBOOK_CLIENT_SECRET", "0987654321")
    assert build(storage).config[name] == value


def test_numeric_secret_key_signs_sessions(storage, monkeypatch):
    from flask import session

    monkeypatch.setenv("IDP_SECRET_KEY", "98765432109876543210987654321098765")
    app = build(storage)

    @app.route("/_session")
    def set_session():
        session["seen"] = True
        return "ok"

    response = app.test_client().get("/_session")
    assert response.status_code == 200
    assert "idp_session=" in response.headers["Set-Cookie"]


# --- IDP_PROXY_HOPS ------------------------------------------------------------------
def remote_addr_seen(app):
    app.add_url_rule("/_whoami", "whoami", lambda: request.remote_addr or "")
    response = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"},
                                     environ_base={"REMOTE_ADDR": "10.0.0.1"})
    return response.get_data(as_text=True)


def test_proxy_hops_from_environment_is_an_int_and_trusts_one_proxy(storage, monkeypatch):
    monkeypatch.setenv("IDP_PROXY_HOPS", "1")
    app = build(storage)
    assert app.config["PROXY_HOPS"] == 1
    assert isinstance(app.config["PROXY_HOPS"], int)
    assert remote_addr_seen(app) == "203.0.113.7"


def test_without_proxy_hops_x_forwarded_for_is_ignored(storage):
    assert remote_addr_seen(build(storage)) == "10.0.0.1"


# --- production refusals -------------------------------------------------------------
PRODUCTION_ENV = {
    "IDP_ENV": "production",
    "IDP_SECRET_KEY": GOOD_SECRET,
    "IDP_ISSUER": "https://login.example.hu",
    "IDP_SMS_BACKEND": "http",
    "IDP_SMS_GATEWAY_URL": "https://sms.example/send",
    "IDP_MAIL_BACKEND": "smtp",
}


def set_env(monkeypatch, values):
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("change", "setting"), [
    pytest.param({"IDP_SECRET_KEY": None}, "IDP_SECRET_KEY", id="default-development-secret"),
    pytest.param({"IDP_SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY}, "IDP_SECRET_KEY",
                 id="development-secret-set-explicitly"),
    pytest.param({"IDP_SECRET_KEY": SHORT_SECRET}, "IDP_SECRET_KEY", id="short-secret"),
    pytest.param({"IDP_SMS_BACKEND": None}, "IDP_SMS_BACKEND", id="sms-outbox-by-default"),
    pytest.param({"IDP_SMS_BACKEND": "outbox"}, "IDP_SMS_BACKEND", id="sms-outbox"),
    pytest.param({"IDP_MAIL_BACKEND": "outbox"}, "IDP_MAIL_BACKEND", id="mail-outbox"),
    pytest.param({"IDP_MAIL_BACKEND": None}, "IDP_MAIL_BACKEND", id="mail-outbox-by-default"),
    pytest.param({"IDP_ISSUER": "http://login.example.hu"}, "IDP_ISSUER", id="http-public-issuer"),
    pytest.param({"IDP_ISSUER": "http://10.1.2.3:5000"}, "IDP_ISSUER", id="http-private-ip-issuer"),
    pytest.param({"IDP_ISSUER": None}, None, id="default-issuer-is-loopback-http-and-allowed"),
])
def test_production_refuses_unsafe_settings(storage, monkeypatch, change, setting):
    set_env(monkeypatch, {**PRODUCTION_ENV, **change})
    if setting is None:
        assert build(storage).config["ENV"] == "production"
        return
    with pytest.raises(ConfigurationError) as caught:
        build(storage)
    message = str(caught.value)
    assert setting in message, message
    assert "\n" not in message


@pytest.mark.parametrize("issuer", [
    pytest.param("http://127.0.0.1:8000", id="ipv4-loopback"),
    pytest.param("http://localhost:5000", id="localhost"),
    pytest.param("http://[::1]:5000", id="ipv6-loopback"),
    pytest.param("https://login.example.hu", id="https"),
])
def test_production_accepts_https_or_loopback_http_issuer(storage, monkeypatch, issuer):
    set_env(monkeypatch, {**PRODUCTION_ENV, "IDP_ISSUER": issuer})
    app = build(storage)
    assert app.config["ENV"] == "production"
    assert app.config["ISSUER"] == issuer
    assert app.config["SECRET_KEY"] == GOOD_SECRET


def test_production_secret_of_exactly_32_characters_is_enough(storage, monkeypatch):
    set_env(monkeypatch, {**PRODUCTION_ENV, "IDP_SECRET_KEY": "k" * 32})
    assert build(storage).config["SECRET_KEY"] == "k" * 32


def test_production_checks_apply_to_create_app_overrides_too(storage):
    with pytest.raises(ConfigurationError, match="IDP_SECRET_KEY"):
        build(storage, ENV="production", SMS_BACKEND="http", SMS_GATEWAY_URL="https://sms.example/send",
              MAIL_BACKEND="smtp", ISSUER="https://login.example.hu")


def test_development_accepts_what_production_refuses(storage, monkeypatch):
    set_env(monkeypatch, {"IDP_ISSUER": "http://idp.example.test"})
    app = build(storage)
    assert app.config["SECRET_KEY"] == settings.DEVELOPMENT_SECRET_KEY
    assert app.config["SMS_BACKEND"] == "outbox"


@pytest.mark.parametrize(("variable", "value", "setting"), [
    pytest.param("IDP_ENV", "staging", "IDP_ENV", id="unknown-env"),
    pytest.param("IDP_ISSUER", "login.example.hu", "IDP_ISSUER", id="relative-issuer"),
    pytest.param("IDP_ISSUER", "https://login.example.hu/?x=1", "IDP_ISSUER", id="issuer-with-query"),
    pytest.param("IDP_ISSUER", "https://login.example.hu/#f", "IDP_ISSUER", id="issuer-with-fragment"),
    pytest.param("IDP_SMS_BACKEND", "carrier-pigeon", "IDP_SMS_BACKEND", id="unknown-sms-backend"),
    pytest.param("IDP_MAIL_BACKEND", "fax", "IDP_MAIL_BACKEND", id="unknown-mail-backend"),
])
def test_meaningless_settings_are_refused_in_any_environment(storage, monkeypatch, variable, value, setting):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        build(storage)
    assert setting in str(caught.value)


def test_http_sms_backend_needs_a_gateway_url(storage, monkeypatch):
    set_env(monkeypatch, {**PRODUCTION_ENV, "IDP_SMS_GATEWAY_URL": None})
    with pytest.raises(ConfigurationError, match="IDP_SMS_GATEWAY_URL"):
        build(storage)


def test_https_issuer_makes_the_session_cookie_secure_and_sends_hsts(make_app):
    """Behind TLS the browser session never travels in clear text."""
    app = make_app(issuer="https://login.telekom.example")
    with app.app_context():
        response = app.test_client().get("/login")  # the CSRF token starts a session
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_loopback_http_issuer_keeps_cookies_usable_in_development(client):
    response = client.get("/login")
    assert "Secure" not in response.headers.get("Set-Cookie", "")
    assert "Strict-Transport-Security" not in response.headers
