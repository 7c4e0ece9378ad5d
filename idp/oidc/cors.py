"""CORS for single-page apps on the endpoints a browser app calls itself:
token, userinfo and revocation (discovery and JWKS are open to every origin).

As Keycloak's "web origins": an origin is allowed when it is the origin of one
of the client's registered redirect URIs. A preflight carries no credentials,
so it is answered for an origin registered by any enabled client; the actual
response - errors included, so the app can read them - names the origin only
when it belongs to the client the request is about (the authenticated or
claimed ``client_id``, or the access token's client at userinfo). When a
request names no known client, the origin must still be one some client
registered.
"""

import base64
import binascii
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import g
from flask import request

from idp.models.client import OAuthClient
from idp.services import get_services

CORS_METHODS = {"/oauth/token": "POST", "/oauth/revoke": "POST", "/oauth/userinfo": "GET, POST"}
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "WWW-Authenticate, Retry-After"
PREFLIGHT_MAX_AGE = "600"


def web_origin(uri):
    """``scheme://host[:port]`` of an http(s) URI, or None (private-use schemes have no origin)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def client_origins(client):
    return {o for o in map(web_origin, client.redirect_uris or []) if o}


def any_client_origin(origin):
    rows = OAuthClient.query.with_entities(OAuthClient.redirect_uris).filter_by(disabled=False)
    return any(origin in {web_origin(u) for u in (uris or [])} for (uris,) in rows)


def claimed_client_id():
    """The client this request is about: set by a view (userinfo), posted, or in Basic auth."""
    if g.get("cors_client_id"):
        return g.cors_client_id
    if request.mimetype == "application/x-www-form-urlencoded" and request.form.get("client_id"):
        return request.form["client_id"]
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            user = base64.b64decode(header[6:], validate=True).decode("utf-8").split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote(user)
    return None


def origin_allowed(origin, preflight):
    if not preflight:
        client_id = claimed_client_id()
        client = (get_services().clients.lookup(client_id)
                  if isinstance(client_id, str) and 0 < len(client_id) <= 64 else None)
        if client is not None:
            return origin in client_origins(client)
    return any_client_origin(origin)


def add_cors_headers(response):
    origin = request.headers.get("Origin")
    methods = CORS_METHODS.get(request.path)
    if methods is None:
        return response
    response.vary.add("Origin")
    preflight = request.method == "OPTIONS"
    if not origin or len(origin) > 300 or not origin_allowed(origin, preflight):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def install_cors(app):
    app.after_request(add_cors_headers)
