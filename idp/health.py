"""Liveness and readiness probes.

``/healthz``: the process answers. ``/readyz``: it can serve, so the load
balancer may send it traffic - the database answers, and Redis too when
``IDP_REDIS_URL`` is set. Not ready is HTTP 503 naming the part that failed,
``{"status": "unavailable", "database": "ok", "redis": "unreachable"}``; the
detail goes to the log, never to the caller.

A probe never hangs: each store is asked in a thread of its own and given
``IDP_READINESS_TIMEOUT`` seconds (a database host that drops packets would
otherwise hold the worker for minutes). A check still stuck from an earlier
probe is not started again: that store is reported unreachable until it
returns, so stuck threads cannot pile up.
"""

import logging
import threading
import time

import redis
from flask import Blueprint
from flask import current_app
from flask import jsonify
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text

from idp.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

_stuck = {}  # (part, target) → the thread of a check that outlived its probe
_stuck_lock = threading.Lock()


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    config = current_app.config
    checks = {"database": (str(db.engine.url), database_check(db.engine))}
    if config.get("REDIS_URL"):
        checks["redis"] = (config["REDIS_URL"], redis_check(config["REDIS_URL"], float(config["READINESS_TIMEOUT"])))
    states = run_checks(checks, float(config["READINESS_TIMEOUT"]))
    ready = all(state == "ok" for state in states.values())
    response = jsonify(status="ok" if ready else "unavailable", **states)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ready else 503


def database_check(engine):
    def check():
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def redis_check(url, timeout):
    def check():
        # A client of its own: short timeouts and no retries, whatever the counters' client uses.
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                      retry=Retry(NoBackoff(), 0))
        try:
            client.ping()
        finally:
            client.close()

    return check


def run_checks(checks, timeout):
    """``{part: "ok" | "unreachable"}`` for ``{part: (target, check)}``, within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    running = {part: _start(part, target, check) for part, (target, check) in checks.items()}
    states = {}
    for part, (thread, outcome) in running.items():
        if thread is None:
            log.warning("readiness: the %s has not answered an earlier probe yet", part)
            states[part] = "unreachable"
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            with _stuck_lock:
                _stuck[(part, checks[part][0])] = thread
            log.warning("readiness: the %s did not answer within %s s", part, timeout)
            states[part] = "unreachable"
        elif "error" in outcome:
            log.warning("readiness: the %s is unreachable: %s", part, summary(outcome["error"]))
            states[part] = "unreachable"
        else:
            states[part] = "ok"
    return states


def _start(part, target, check):
    """``(thread, outcome)`` of ``check`` started now, or ``(None, None)`` while one is stuck."""
    with _stuck_lock:
        earlier = _stuck.get((part, target))
        if earlier is not None and earlier.is_alive():
            return None, None
        _stuck.pop((part, target), None)
    outcome = {}

    def run():
        try:
            check()
        except Exception as error:  # any driver error means "not ready"
            outcome["error"] = error

    thread = threading.Thread(target=run, name=f"readyz-{part}", daemon=True)
    thread.start()
    return thread, outcome


def summary(error):
    """The error's class and first line: not the SQL and parameters SQLAlchemy appends."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"
