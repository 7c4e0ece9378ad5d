"""Configuration loading and the production safety checks (DESIGN.md §5)."""

import ipaddress
import json
import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from idp import settings
from idp.errors import ConfigurationError

OUTBOX_BACKENDS = {"outbox"}

#: The installation's own settings, in the instance folder (``make run`` records ``ISSUER`` there).
INSTANCE_CONFIG = "config.toml"
INSTANCE_CONFIG_HEADER = ("# This installation's settings (README \"Configuration\"). `make run` and\n"
                          "# `idp issuer URL` record ISSUER here; IDP_CONFIG and IDP_* override it.")

#: Secrets and credentials are taken from ``IDP_*`` verbatim: ``from_prefixed_env``
#: parses values as JSON, which would turn an all-digit secret into an int (and
#: Flask's session signer then fails on every request).
VERBATIM_SETTINGS = ("SECRET_KEY", "SMS_GATEWAY_TOKEN", "MAIL_USERNAME", "MAIL_PASSWORD",
                     "FACEBOOK_CLIENT_ID", "FACEBOOK_CLIENT_SECRET", "METRICS_TOKEN")


def load_config(app, overrides=None):
    """Defaults → instance config file → ``IDP_CONFIG`` file → ``IDP_*`` environment → ``overrides``.

    The instance config file (``config.toml`` in the instance folder, where ``make run``
    records the issuer it serves) belongs to the installation, so only the real app
    reads it: ``create_app()`` without ``overrides``. Tests build apps with explicit
    settings and never pick up a developer's instance folder (as in the Flask tutorial).
    """
    app.instance_path = str(instance_folder(app))
    app.config.from_object(settings)
    if overrides is None and instance_config_file(app).is_file():
        _load_file(app, instance_config_file(app))
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
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    if not app.config.get("KEYS_DIR"):
        app.config["KEYS_DIR"] = str(Path(app.root_path).parent / "keys")
    app.config["ISSUER"] = str(app.config["ISSUER"]).rstrip("/")
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if app.config["ISSUER"].startswith("https://"):
        # Served over TLS: the session cookie never travels in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    validate_config(app.config)


#: Pool arguments of SQLAlchemy's engine and the settings (``IDP_DB_*``) that give them.
POOL_SETTINGS = {"pool_size": "DB_POOL_SIZE", "max_overflow": "DB_MAX_OVERFLOW",
                 "pool_timeout": "DB_POOL_TIMEOUT", "pool_recycle": "DB_POOL_RECYCLE"}


def engine_options(config):
    """``SQLALCHEMY_ENGINE_OPTIONS`` with ``pool_pre_ping`` and, for a database server, the
    ``DB_POOL_*`` sizes; a key the options name themselves wins. SQLite is a file of this
    process: SQLAlchemy's own pool for it is right, and its memory databases take no sizes."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    try:
        backend = make_url(str(config["SQLALCHEMY_DATABASE_URI"])).get_backend_name()
    except ArgumentError:
        raise ConfigurationError("IDP_SQLALCHEMY_DATABASE_URI is not a database URL, e.g. "
                                 "postgresql+psycopg://idp@db/idp.") from None
    if backend != "sqlite":
        for option, setting in POOL_SETTINGS.items():
            options.setdefault(option, int(config[setting]))
    return options


# --- the instance folder --------------------------------------------------------------
def instance_folder(app):
    """``IDP_INSTANCE_PATH``, else Flask's instance folder (``instance/`` beside the
    project in a checkout): the SQLite database and the instance config file."""
    return Path(os.environ.get("IDP_INSTANCE_PATH") or app.instance_path).resolve()


def instance_config_file(app):
    return instance_folder(app) / INSTANCE_CONFIG


def record_issuer(app, url):
    """Record ``url`` as this installation's ``ISSUER`` (what ``make run`` serves);
    returns the issuer as recorded and the file."""
    issuer = str(url).strip().rstrip("/")
    check_issuer(issuer, "The issuer")
    path = instance_config_file(app)
    record_instance_setting(path, "ISSUER", issuer)
    return issuer, path


def record_instance_setting(path, name, value):
    """Set ``NAME = value`` in the TOML file ``path``, keeping its other lines."""
    line = f"{name} = {json.dumps(value)}"  # a JSON string is a valid TOML basic string
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
    lines = path.read_text("utf-8").splitlines() if path.is_file() else [INSTANCE_CONFIG_HEADER]
    if any(pattern.match(existing) for existing in lines):
        lines = [line if pattern.match(existing) else existing for existing in lines]
    else:
        lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")


def _load_file(app, path):
    if not path.is_file():
        raise ConfigurationError(f"IDP_CONFIG names {path}, which is not a readable file.")
    try:
        if path.suffix == ".py":
            app.config.from_pyfile(str(path.resolve()))
        elif path.suffix == ".json":
            app.config.from_file(str(path.resolve()), load=json.load)
        elif path.suffix == ".toml":
            app.config.from_file(str(path.resolve()), load=tomllib.load, text=False)
        else:
            raise ConfigurationError(f"IDP_CONFIG must end in .py, .json or .toml, not {path.name}.")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigurationError(f"{path} cannot be read: {error}.") from None


def validate_config(config):
    """Refuse settings that are unsafe or meaningless; one clear sentence each."""
    env = config.get("ENV")
    if env not in ("development", "production"):
        raise ConfigurationError("IDP_ENV must be 'development' or 'production'.")
    issuer = check_issuer(config["ISSUER"])
    check_facebook(config, production=env == "production")
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


def check_issuer(value, name="IDP_ISSUER"):
    """The issuer's form in any environment; returns it parsed."""
    try:
        issuer = urlsplit(str(value))
        hostname = issuer.hostname
    except ValueError:
        hostname = None
    if hostname is None or issuer.scheme not in ("http", "https") or issuer.query or issuer.fragment:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL without query or fragment, "
                                 f"not {str(value)!r}.")
    return issuer


FACEBOOK_URLS = ("FACEBOOK_AUTHORIZE_URL", "FACEBOOK_TOKEN_URL", "FACEBOOK_USERINFO_URL")


def check_facebook(config, production):
    """The Facebook app's id and secret come together; its endpoints are https (the app
    secret, the codes and the tokens travel to them), except a loopback stand-in in
    development."""
    client_id, secret = config.get("FACEBOOK_CLIENT_ID"), config.get("FACEBOOK_CLIENT_SECRET")
    if bool(client_id) != bool(secret):
        given, missing = (("ID", "SECRET") if client_id else ("SECRET", "ID"))
        raise ConfigurationError(f"IDP_FACEBOOK_CLIENT_{given} is set without IDP_FACEBOOK_CLIENT_{missing}: "
                                 "set both for Facebook login, or neither.")
    for name in FACEBOOK_URLS:
        try:
            url = urlsplit(str(config.get(name) or ""))
            hostname = url.hostname
        except ValueError:
            hostname = None
        if hostname is None or url.scheme not in ("http", "https") or url.fragment:
            raise ConfigurationError(f"IDP_{name} must be an absolute https:// URL without fragment, "
                                     f"not {str(config.get(name))!r}.")
        if url.scheme == "http" and (production or not _is_loopback(hostname)):
            where = "in production" if production else "except to a loopback test stand-in"
            raise ConfigurationError(f"IDP_{name} must be an https:// URL {where}, not {str(config.get(name))!r}.")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
