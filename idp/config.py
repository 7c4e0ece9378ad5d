"""Configuration loading and the production safety checks (DESIGN.md §5)."""

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from idp import settings
from idp.errors import ConfigurationError

OUTBOX_BACKENDS = {"outbox"}

#: Secrets and credentials are taken from ``IDP_*`` verbatim: ``from_prefixed_env``
#: parses values as JSON, which would turn an all-digit secret into an int (and
#: Flask's session signer then fails on every request).
VERBATIM_SETTINGS = ("SECRET_KEY", "SMS_GATEWAY_TOKEN", "MAIL_USERNAME", "MAIL_PASSWORD",
                     "FACEBOOK_CLIENT_ID", "FACEBOOK_CLIENT_SECRET")


def load_config(app, overrides=None):
    """Defaults → ``IDP_CONFIG`` file → ``IDP_*`` environment → ``overrides``."""
    app.config.from_object(settings)
    config_file = os.environ.get("IDP_CONFIG")
    if config_file:
        _load_file(app, Path(config_file))
    app.config.from_prefixed_env("IDP")
    for name in VERBATIM_SETTINGS:
        if "IDP_" + name in os.environ:
            app.config[name] = os.environ["IDP_" + name]
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "idp.db")
    if not app.config.get("KEYS_DIR"):
        app.config["KEYS_DIR"] = str(Path(app.root_path).parent / "keys")
    app.config["ISSUER"] = str(app.config["ISSUER"]).rstrip("/")
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if app.config["ISSUER"].startswith("https://"):
        # Served over TLS: the session cookie never travels in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    validate_config(app.config)


def _load_file(app, path):
    if not path.is_file():
        raise ConfigurationError(f"IDP_CONFIG names {path}, which is not a readable file.")
    if path.suffix == ".py":
        app.config.from_pyfile(str(path.resolve()))
    elif path.suffix == ".json":
        app.config.from_file(str(path.resolve()), load=json.load)
    elif path.suffix == ".toml":
        app.config.from_file(str(path.resolve()), load=tomllib.load, text=False)
    else:
        raise ConfigurationError(f"IDP_CONFIG must end in .py, .json or .toml, not {path.name}.")


def validate_config(config):
    """Refuse settings that are unsafe or meaningless; one clear sentence each."""
    env = config.get("ENV")
    if env not in ("development", "production"):
        raise ConfigurationError("IDP_ENV must be 'development' or 'production'.")
    issuer = urlsplit(config["ISSUER"])
    if issuer.scheme not in ("http", "https") or not issuer.hostname or issuer.query or issuer.fragment:
        raise ConfigurationError("IDP_ISSUER must be an absolute http(s) URL without query or fragment.")
    if env != "production":
        return
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == settings.DEVELOPMENT_SECRET_KEY:
        raise ConfigurationError("Production needs its own secret: set IDP_SECRET_KEY to a long random value.")
    if len(str(config["SECRET_KEY"])) < 32:
        raise ConfigurationError("IDP_SECRET_KEY must be at least 32 characters in production.")
    if config.get("SMS_BACKEND") in OUTBOX_BACKENDS:
        raise ConfigurationError("Production cannot send SMS to the development outbox: set IDP_SMS_BACKEND=http.")
    if config.get("MAIL_BACKEND") in OUTBOX_BACKENDS:
        raise ConfigurationError("Production cannot send email to the development outbox: set IDP_MAIL_BACKEND=smtp.")
    if issuer.scheme == "http" and not _is_loopback(issuer.hostname):
        raise ConfigurationError("Production needs an https:// IDP_ISSUER (plain http is allowed only on loopback).")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
