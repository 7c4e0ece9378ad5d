"""The IdP's settings for a benchmark run, and its throwaway backends.

``IDP_ENV=production`` accepts an ``http://`` issuer on loopback (idp/config.py
``validate_config``), so the server under load runs with the production checks
on: its own secret, the HTTP SMS gateway (a stub of ours, ``bench.sms_gateway``)
and SMTP for mail (nothing mails during the run). The backends are the
production ones: a fresh PostgreSQL database ``idp_bench`` and Redis database
13, both emptied at the end, and keys in a temporary directory.

Seeding runs the ``idp`` command in development (:func:`seeding_environment`):
``idp company create`` and ``idp user create`` email a temporary password, which
only the development outbox lets a script read back.
"""

import os
import secrets

import psycopg
import redis

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "idp_bench"
DATABASE_URI = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/13"

#: Limits a login benchmark would hit at once (one client IP, a few users logging in
#: again and again). Raised, not switched off: the counters still run in Redis.
RAISED_THROTTLES = {
    "IDP_SMS_PER_PRINCIPAL_PER_HOUR": "1000000000",
    "IDP_SMS_PER_IP_PER_HOUR": "1000000000",
    "IDP_SMS_DAILY_BUDGET": "1000000000",
    "IDP_LOGIN_POSTS_PER_IP_PER_MINUTE": "1000000000",
}

#: Pre-minted authorization codes wait for the exchange phase; 60 s (the default) is
#: shorter than minting plus warm-up plus measuring. The lifetime costs nothing per request.
LONGER_CODE_TTL = {"IDP_AUTHORIZATION_CODE_TTL": "600"}


def server_environment(workdir, ports):
    """``IDP_*`` of the server under load (production checks on)."""
    return {
        "IDP_ENV": "production",
        "IDP_ISSUER": f"http://127.0.0.1:{ports.idp}",
        "IDP_SECRET_KEY": secrets.token_urlsafe(48),
        "IDP_SQLALCHEMY_DATABASE_URI": DATABASE_URI,
        "IDP_REDIS_URL": REDIS_URL,
        "IDP_KEYS_DIR": str(workdir / "keys"),
        "IDP_INSTANCE_PATH": str(workdir / "instance"),
        "IDP_SMS_BACKEND": "http",
        "IDP_SMS_GATEWAY_URL": f"http://127.0.0.1:{ports.sms}/send",
        "IDP_SMS_GATEWAY_TOKEN": secrets.token_urlsafe(16),
        "IDP_MAIL_BACKEND": "smtp",
        "IDP_MAIL_SERVER": "127.0.0.1",
        "IDP_MAIL_PORT": "2525",
        # gunicorn.conf.py's Prometheus multiprocess directory, inside the run's own.
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        **RAISED_THROTTLES,
        **LONGER_CODE_TTL,
    }


def seeding_environment(server_env):
    """The same database, keys and issuer, in development (outbox backends)."""
    env = {name: value for name, value in server_env.items()
           if not name.startswith(("IDP_SMS_", "IDP_MAIL_", "IDP_SECRET_KEY"))}
    env.update(IDP_ENV="development", IDP_SMS_BACKEND="outbox", IDP_MAIL_BACKEND="outbox")
    return env


def process_environment(extra):
    """This process's environment without any ``IDP_*`` of the caller's shell, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IDP_")}
    env.update(extra)
    return env


def create_database():
    """A fresh, empty ``idp_bench`` (dropped first if a killed run left one)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    flush_redis()


def drop_database():
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    flush_redis()


def flush_redis():
    """Redis database 13 holds only this benchmark's counters and rate limits."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def described_settings(server_env):
    """The settings for the results file, secrets replaced by what they are."""
    hidden = {"IDP_SECRET_KEY": "(48 random bytes)", "IDP_SMS_GATEWAY_TOKEN": "(random)"}
    return {name: hidden.get(name, value) for name, value in sorted(server_env.items())}
