"""The one place where malformed input is turned away before any view runs.

- A NUL byte is never meant anywhere, and PostgreSQL refuses it in any string:
  a path, query string or ``Authorization`` header with one gets 400 on every
  path (the pages' form fields say it at the field instead, ``idp.forms``).
- Protocol parameters (``/oauth/*``, query and form) are opaque ASCII-ish
  tokens, URIs and identifiers: a control character (C0, DEL, C1) or the
  replacement character that invalid UTF-8 decodes to, a name longer than 128
  characters, a value over ``MAX_PARAM_LENGTH`` (four times that for the
  JWTs: assertions, hints, tokens) and a repeated parameter (RFC 6749 §3.1,
  §3.2) are ``invalid_request``.

The answer is the RFC's: JSON ``invalid_request`` from the endpoints programs
call; at the authorization endpoint, a redirect back to the client with
``invalid_request`` when the client and its redirect URI are themselves clean
and registered (RFC 6749 §4.1.2.1), otherwise the error page - never a redirect
to an unproven URI, never a 500.
"""

import re

from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from idp.errors import safe_description
from idp.oidc.server import authorization
from idp.oidc.authorize import AuthorizeError
from idp.oidc.authorize import redirect_error

#: C0 controls, DEL, C1 controls, and U+FFFD (what invalid UTF-8 decodes to).
BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ufffd]")
LONG_PARAMETERS = {"client_assertion", "id_token_hint", "token", "logout_token"}
#: The pages a browser reaches (their errors are pages, never a redirect to an unproven URI).
AUTHORIZE_PATHS = ("/oauth/authorize/", "/oauth/consent/")
PROTOCOL_PREFIX = "/oauth/"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def install_request_guard(app):
    app.before_request(refuse_malformed_input)


def refuse_malformed_input():
    if _has_nul():
        return _refuse("A parameter contains a NUL byte")
    if not request.path.startswith(PROTOCOL_PREFIX):
        return None
    problem = parameter_problem()
    return _refuse(problem) if problem else None


def _has_nul():
    values = [request.path, request.headers.get("Authorization", "")]
    values += [v for key in request.args for v in [key, *request.args.getlist(key)]]
    return any("\x00" in value for value in values)


def parameter_problem():
    """A plain sentence saying what is wrong with the protocol parameters, or None."""
    limit = int(current_app.config["MAX_PARAM_LENGTH"])
    for source in _sources():
        for key in source:
            values = source.getlist(key)
            if len(key) > 128 or BAD_CHARACTERS.search(key):
                return "A parameter name is malformed"
            if len(values) > 1:
                return f"The parameter {key} is repeated"
            if any(BAD_CHARACTERS.search(v) for v in values):
                return f"The parameter {key} contains control characters or invalid UTF-8"
            if any(len(v) > (4 * limit if key in LONG_PARAMETERS else limit) for v in values):
                return f"The parameter {key} is too long"
    return None


def _sources():
    yield request.args
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        yield request.form


def _refuse(description):
    description = safe_description(description)
    if request.path == "/oauth/authorize" or request.path.startswith(AUTHORIZE_PATHS):
        return _authorize_error(description)
    if request.path.startswith("/oauth/logout"):  # a page: never a redirect to an unproven URI
        return render_template("logout_error.html"), 400
    if not request.path.startswith(PROTOCOL_PREFIX):
        abort(400)
    response = jsonify(error="invalid_request", error_description=description)
    response.status_code = 400
    response.headers.update(NO_STORE)
    return response


def _authorize_error(description):
    """Back to the client only when its id and redirect URI are clean and
    registered; the state is echoed only when it is clean too."""
    values = request.values
    client_id, redirect_uri = values.get("client_id"), values.get("redirect_uri")
    clean = all(isinstance(v, str) and not BAD_CHARACTERS.search(v) and len(v) <= 2048
                and len(values.getlist(k)) == 1
                for k, v in (("client_id", client_id), ("redirect_uri", redirect_uri)))
    client = authorization.query_client(client_id) if clean and request.path == "/oauth/authorize" else None
    if client is None or not client.check_redirect_uri(redirect_uri):
        return render_template("authorize_error.html", message=None), 400
    state = values.get("state")
    if state is not None and (BAD_CHARACTERS.search(state) or len(values.getlist("state")) > 1
                              or len(state) > int(current_app.config["MAX_PARAM_LENGTH"])):
        state = None
    return redirect_error(AuthorizeError("invalid_request", description, redirect_uri), state)
