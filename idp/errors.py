"""Errors in three layers (STYLE.md): domain exceptions raised by flows and
services, turned into form errors or pages by views, and ``OAuth2Error``
subclasses in grants. Internal detail goes to the log, never to the client.
"""

import logging
import math
import time

from flask import jsonify
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: Paths whose callers are programs: errors are JSON, not pages.
API_PREFIXES = ("/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/userinfo",
                "/oauth/register", "/oauth/otp", "/oauth/authorize-challenge", "/jwks.json",
                "/.well-known/", "/healthz", "/readyz", "/dev/outbox.json")


class ConfigurationError(Exception):
    """The configuration is unusable; the message says what to set."""


class IdpError(Exception):
    """Base of domain errors: ``message`` is safe to show to the user."""

    message = "The request could not be completed."


def safe_description(text, limit=200):
    """``text`` as an OAuth ``error_description`` may carry it (RFC 6749
    §5.2: printable ASCII without ``"`` and ``\\``): anything else becomes
    ``?``, and it is cut at ``limit`` characters. Authlib refuses to build an
    error from anything else, so every description that quotes input passes
    through here."""
    cleaned = "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in str(text))
    return cleaned[:limit]


def wants_json():
    return request.path.startswith(API_PREFIXES) or (
        request.accept_mimetypes.best == "application/json")


def register_error_handlers(app):
    @app.errorhandler(HTTPException)
    def http_error(error):
        if wants_json():
            body = {"error": _oauth_code(error.code), "error_description": error.name}
            response = jsonify(body)
        else:
            response = app.make_response(
                (render_template("error.html", status=error.code, error=error), error.code))
        response.status_code = error.code
        for key, value in error.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        if error.code == 429 and "Retry-After" not in response.headers:
            retry_after = _rate_limit_retry_after()
            if retry_after:
                response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return jsonify(error="server_error", error_description="Internal server error"), 500
        return render_template("error.html", status=500, error=None), 500


def _rate_limit_retry_after():
    """Seconds until the Flask-Limiter limit this request broke lets it through
    again. Flask-Limiter's windows run on wall time (``reset_at`` is an epoch),
    so this is the one place that reads it instead of the clock service."""
    from idp.extensions import limiter

    limit = limiter.current_limit
    if limit is None or not limit.breached:
        return None
    return max(1, math.ceil(limit.reset_at - time.time()))


def _oauth_code(status):
    return {400: "invalid_request", 401: "invalid_client", 403: "access_denied",
            404: "not_found", 405: "invalid_request", 413: "invalid_request",
            429: "too_many_requests"}.get(status, "server_error" if status >= 500 else "invalid_request")
