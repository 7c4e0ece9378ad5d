"""External effects behind small interfaces (DESIGN.md §1, STYLE.md "Services").

``build_services(app)`` creates every service from the app's configuration;
``create_app(services=...)`` replaces any of them (tests swap the clock, the SMS
gateway, the mailer, Facebook). They live in ``app.extensions["idp"]``; code reaches them
with :func:`get_services`.
"""

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.utils import import_string

from idp.errors import ConfigurationError
from idp.services.audit import DatabaseAuditLog
from idp.services.facebook import FacebookConnector
from idp.services.keys import KeyStore
from idp.services.otp import OtpService
from idp.services.passwords import PasswordService
from idp.services.counters import MemoryCounters
from idp.services.counters import RedisCounters
from idp.services.backchannel import BackchannelLogout
from idp.services.client_cache import client_lookup_from_config
from idp.services.sessions import LoginSessions
from idp.services.throttles import Throttles


@dataclass
class Services:
    clock: object
    sms: object
    mailer: object
    audit: object
    keys: object
    passwords: object = None
    otp: object = None
    counters: object = None
    throttles: object = None
    sessions: object = None
    backchannel: object = None
    facebook: object = None
    clients: object = None


SMS_BACKENDS = {
    "outbox": "idp.services.sms:OutboxSmsSender",
    "http": "idp.services.sms:HttpGatewaySmsSender",
}
MAIL_BACKENDS = {
    "outbox": "idp.services.mail:OutboxMailer",
    "smtp": "idp.services.mail:SmtpMailer",
}


def _backend(name, aliases, setting):
    path = aliases.get(name, name)
    try:
        return import_string(path.replace(":", "."))
    except ImportError:
        raise ConfigurationError(
            f"{setting}={name!r} is unknown: use one of {', '.join(sorted(aliases))}.") from None


def build_services(app, overrides=None):
    config = app.config
    overrides = dict(overrides or {})
    clock = overrides.pop("clock", None) or _backend(config["CLOCK_BACKEND"], {}, "IDP_CLOCK_BACKEND")()
    services = Services(
        clock=clock,
        sms=None,
        mailer=None,
        audit=DatabaseAuditLog(clock),
        keys=KeyStore(Path(config["KEYS_DIR"]), clock,
                      overlap=int(config["KEY_ROTATION_OVERLAP"]),
                      retire_after=int(config["KEY_RETIRE_AFTER"])),
    )
    if "sms" not in overrides:
        services.sms = _backend(config["SMS_BACKEND"], SMS_BACKENDS, "IDP_SMS_BACKEND").from_config(config, clock)
    if "mailer" not in overrides:
        services.mailer = _backend(config["MAIL_BACKEND"], MAIL_BACKENDS, "IDP_MAIL_BACKEND").from_config(config, clock)
    for name, service in overrides.items():
        if not hasattr(services, name):
            raise ValueError(f"Unknown service {name!r}")
        setattr(services, name, service)
    services.passwords = services.passwords or PasswordService.from_config(config)
    services.otp = services.otp or OtpService.from_config(config, services.clock)
    if services.counters is None:
        url = config.get("REDIS_URL")
        services.counters = RedisCounters.from_url(url, services.clock) if url else MemoryCounters(services.clock)
    services.throttles = services.throttles or Throttles(services.counters, config, services.audit)
    services.backchannel = services.backchannel or BackchannelLogout.from_config(config, services.clock,
                                                                                 services.keys)
    services.sessions = services.sessions or LoginSessions.from_config(config, services.clock,
                                                                       services.backchannel.session_ended)
    if services.facebook is None:
        services.facebook = FacebookConnector.from_config(config)
    services.clients = services.clients or client_lookup_from_config(config)
    return services


def get_services(app=None) -> Services:
    return (app or current_app).extensions["idp"]
