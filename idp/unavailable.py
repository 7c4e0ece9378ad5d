"""What a request gets while a store it needs is away (issue 12 §6): the database
(PostgreSQL unreachable, a connection cut, the pool exhausted) or the Redis of the
throttle counters and Flask-Limiter.

People get a short page, programs ``{"error": "temporarily_unavailable"}`` (the RFC 6749
§4.1.2.1 code, used by the token, userinfo, introspection, revocation and registration
endpoints too), both with HTTP 503 and ``Retry-After`` - never a traceback. The request's
transaction is rolled back, so nothing half-done is kept.

Throttles fail closed: a password try that cannot be counted is refused, not let through
uncounted. Nothing needs a restart: the pool tests a connection before handing it out
(``pool_pre_ping``) and drops the ones a dead server left behind, and redis-py opens a
new connection at the next command, so the node serves again as soon as the store is back.
"""

import logging
from contextlib import suppress

from flask import jsonify
from flask import render_template
from flask import request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from idp.errors import wants_json
from idp.extensions import db

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait: long enough for a failover or a restart to show.
RETRY_AFTER = 5

DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)


def register_unavailable_handlers(app):
    for error_class in DATABASE_ERRORS + REDIS_ERRORS:
        app.register_error_handler(error_class, store_unavailable)


def store_unavailable(error):
    store = "Redis" if isinstance(error, REDIS_ERRORS) else "the database"
    log.warning("%s %s: %s is unavailable: %s", request.method, request.path, store, first_line(error))
    with suppress(SQLAlchemyError):  # a rollback over a dead connection only discards it
        db.session.rollback()
    headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    if wants_json():
        body = jsonify(error="temporarily_unavailable",
                       error_description="The service is temporarily unavailable, try again later")
        return body, 503, headers
    return render_template("unavailable.html"), 503, headers


def first_line(error):
    """The driver's own words, without the SQL and parameters SQLAlchemy appends."""
    detail = getattr(error, "orig", None) or error
    lines = str(detail).strip().splitlines()
    return lines[0] if lines else type(detail).__name__
