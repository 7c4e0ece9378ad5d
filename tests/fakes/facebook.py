"""``FakeFacebook``: Facebook Login played by a real HTTP server on a loopback port - the
login dialog (``GET /dialog/oauth``, a page with a "Folytatás mint <név>" button a browser
can click), the token endpoint (``/oauth/access_token``) and the Graph API ``/me`` - with
Facebook's answers and checks, and switches each test sets (``identity``, ``cancel``,
``wrong_state``, ``token_status``, ``me_status``, ...). It records every request it gets.

``make_app(**fake_facebook.config)`` points an app at it (development allows http to a
loopback host). Without a browser, ``fake.login(url)`` plays the user on the dialog and
returns the URL Facebook sends the browser back to.
"""

import hashlib
import hmac
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask import jsonify
from flask import redirect
from flask import render_template_string
from flask import request
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

CLIENT_ID = "1234567890123456"
DEFAULT_IDENTITY = {"id": "10220000000000001", "name": "Kovács Anna", "email": "kovacs.anna@example.com"}
TOKEN_LIFETIME = 5183944  # what Facebook answers: about 60 days

DIALOG = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>Facebook</title></head>
<body><main>
  <h1>Facebook</h1>
  <p>{{ asks }}</p>
  <form method="post" action="/dialog/oauth/confirm">
    {% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
    <button type="submit" name="decision" value="allow">{{ allow }}</button>
    <button type="submit" name="decision" value="deny">{{ deny }}</button>
  </form>
</main></body></html>
"""
TEXTS = {
    "hu": {"asks": "Az alkalmazás hozzáférést kér a nevedhez és az e-mail-címedhez.",
           "allow": "Folytatás mint {name}", "allow_anonymous": "Folytatás", "deny": "Mégse"},
    "en": {"asks": "The app asks for your name and email address.",
           "allow": "Continue as {name}", "allow_anonymous": "Continue", "deny": "Cancel"},
}


@dataclass
class RecordedRequest:
    endpoint: str  # "dialog", "confirm", "token" or "me"
    method: str
    args: dict
    form: dict
    headers: dict

    @property
    def values(self):
        """Query and form parameters together (Facebook reads both)."""
        return {**self.args, **self.form}


@dataclass
class Grant:
    """What the user agreed to in the dialog: a code, and then a token, stand for it."""

    client_id: str
    redirect_uri: str
    identity: dict
    scopes: set = field(default_factory=set)
    used: bool = False


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class FakeFacebook:
    def __init__(self, client_id=CLIENT_ID, client_secret=None):
        self.client_id = client_id
        self.client_secret = client_secret or "fake-facebook-secret-" + secrets.token_hex(8)
        # --- what each test may change --------------------------------------------
        self.identity = dict(DEFAULT_IDENTITY)  # a None or missing field is left out of /me
        self.auto = False  # the dialog redirects back at once instead of showing its page
        self.cancel = False  # the user cancels: the dialog answers error=access_denied
        self.wrong_state = False  # the dialog comes back with a state of its own
        self.token_status = 200  # anything else: a Graph API error body with this status
        self.me_status = 200
        self.token_body = None  # a raw text answered instead (with token_status), e.g. "<html>"
        self.me_body = None
        self.token_delay = 0.0  # seconds before answering (timeouts)
        self.me_delay = 0.0
        # --- what it saw --------------------------------------------------------------
        self.requests = []
        self._grants = {}  # code -> Grant
        self._tokens = {}  # access token -> Grant
        self._lock = threading.Lock()

        sock = socket.create_server(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._build_app(), threaded=True,
                                   request_handler=_QuietHandler, fd=sock.fileno())
        sock.close()  # the server has its own duplicate of it
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    # --- life -------------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- for the tests ----------------------------------------------------------------
    @property
    def authorize_url(self):
        return self.url + "/dialog/oauth"

    @property
    def token_url(self):
        return self.url + "/oauth/access_token"

    @property
    def userinfo_url(self):
        return self.url + "/me"

    @property
    def config(self):
        """The app settings that use this stand-in: ``make_app(**fake_facebook.config)``."""
        return {"FACEBOOK_CLIENT_ID": self.client_id, "FACEBOOK_CLIENT_SECRET": self.client_secret,
                "FACEBOOK_AUTHORIZE_URL": self.authorize_url, "FACEBOOK_TOKEN_URL": self.token_url,
                "FACEBOOK_USERINFO_URL": self.userinfo_url}

    def requests_to(self, endpoint):
        return [recorded for recorded in self.requests if recorded.endpoint == endpoint]

    def issue_code(self, redirect_uri, scope="email public_profile"):
        """A code as if the current ``identity`` had just agreed in the dialog."""
        return self._new_code(self.client_id, redirect_uri, scope)

    def login(self, authorization_url, allow=True):
        """Play the user on the dialog (its page, or ``auto``): returns the URL the browser is
        sent back to (``redirect_uri`` with ``code`` and ``state``, or with the error)."""
        response = requests.get(authorization_url, allow_redirects=False, timeout=5)
        if response.status_code == 200:
            params = dict(parse_qsl(urlsplit(authorization_url).query))
            response = requests.post(self.url + "/dialog/oauth/confirm", allow_redirects=False, timeout=5,
                                     data={**params, "decision": "allow" if allow else "deny"})
        assert response.status_code == 302, (response.status_code, response.text)
        return response.headers["Location"]

    # --- the server ---------------------------------------------------------------------
    def _build_app(self):
        app = Flask(__name__)
        app.add_url_rule("/dialog/oauth", "dialog", self._dialog)
        app.add_url_rule("/dialog/oauth/confirm", "confirm", self._confirm, methods=["POST"])
        app.add_url_rule("/oauth/access_token", "token", self._token, methods=["GET", "POST"])
        app.add_url_rule("/me", "me", self._me)
        return app

    def _record(self, endpoint):
        self.requests.append(RecordedRequest(endpoint, request.method, request.args.to_dict(),
                                             request.form.to_dict(), dict(request.headers)))

    def _dialog(self):
        self._record("dialog")
        params = request.args
        if params.get("client_id") != self.client_id:
            return "<h1>Invalid App ID</h1>", 400
        if not params.get("redirect_uri"):
            return "<h1>redirect_uri is missing</h1>", 400
        if self.auto:
            return self._back(params, allow=True)
        lang = request.accept_languages.best_match(["hu", "en"], default="hu")
        texts, name = TEXTS[lang], self.identity.get("name")
        allow = texts["allow"].format(name=name) if name else texts["allow_anonymous"]
        fields = {key: params[key] for key in ("client_id", "redirect_uri", "state", "scope", "response_type")
                  if key in params}
        return render_template_string(DIALOG, lang=lang, asks=texts["asks"], allow=allow, deny=texts["deny"],
                                      fields=fields)

    def _confirm(self):
        self._record("confirm")
        if request.form.get("client_id") != self.client_id:
            return "<h1>Invalid App ID</h1>", 400
        return self._back(request.form, allow=request.form.get("decision") == "allow")

    def _back(self, params, allow):
        """Facebook's redirect back to the app."""
        if allow and not self.cancel:
            answer = {"code": self._new_code(params["client_id"], params["redirect_uri"], params.get("scope", ""))}
        else:
            answer = {"error": "access_denied", "error_code": "200", "error_description": "Permissions error",
                      "error_reason": "user_denied"}
        if params.get("state"):
            answer["state"] = "not-" + params["state"] if self.wrong_state else params["state"]
        uri = params["redirect_uri"]
        return redirect(uri + ("&" if "?" in uri else "?") + urlencode(answer), 302)

    def _new_code(self, client_id, redirect_uri, scope):
        code = "AQ" + secrets.token_urlsafe(32)
        scopes = set(scope.replace(",", " ").split()) | {"public_profile"}
        with self._lock:
            self._grants[code] = Grant(client_id, redirect_uri, dict(self.identity), scopes)
        return code

    def _token(self):
        self._record("token")
        time.sleep(self.token_delay)
        if self.token_body is not None:
            return self.token_body, self.token_status, {"Content-Type": "text/html"}
        if self.token_status != 200:
            return _graph_error(self.token_status, "An unexpected error has occurred. Please retry your request "
                                                   "later.", 2)
        params = request.values
        if params.get("client_id") != self.client_id:
            return _graph_error(400, "Error validating application. Invalid application ID.", 101)
        if params.get("client_secret") != self.client_secret:
            return _graph_error(400, "Error validating client secret.", 1)
        with self._lock:
            grant = self._grants.get(params.get("code", ""))
            if grant is None:
                return _graph_error(400, "Invalid verification code format.", 100)
            if grant.used:
                return _graph_error(400, "This authorization code has been used.", 100, subcode=36009)
            if grant.redirect_uri != params.get("redirect_uri") or grant.client_id != self.client_id:
                return _graph_error(400, "Error validating verification code. Please make sure your redirect_uri "
                                         "is identical to the one you used in the OAuth dialog request", 100,
                                    subcode=36008)
            grant.used = True
            access_token = "EAA" + secrets.token_urlsafe(48)
            self._tokens[access_token] = grant
        return jsonify(access_token=access_token, token_type="bearer", expires_in=TOKEN_LIFETIME)

    def _me(self):
        self._record("me")
        time.sleep(self.me_delay)
        if self.me_body is not None:
            return self.me_body, self.me_status, {"Content-Type": "text/html"}
        if self.me_status != 200:
            return _graph_error(self.me_status, "An unexpected error has occurred. Please retry your request "
                                                "later.", 2)
        header = request.headers.get("Authorization", "")
        access_token = header[7:] if header.lower().startswith("bearer ") else request.args.get("access_token")
        grant = self._tokens.get(access_token or "")
        if grant is None:
            return _graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        proof = request.args.get("appsecret_proof")
        expected = hmac.new(self.client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
        if proof is not None and not hmac.compare_digest(proof, expected):
            return _graph_error(400, "Invalid appsecret_proof provided in the API argument", 100)
        fields = request.args.get("fields", "id,name").split(",")
        answer = {name: grant.identity[name] for name in fields
                  if grant.identity.get(name) is not None and (name != "email" or "email" in grant.scopes)}
        return jsonify(answer)


def _graph_error(status, message, code, subcode=None):
    """An error as the Graph API answers it."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": secrets.token_hex(6)}
    if subcode:
        error["error_subcode"] = subcode
    return jsonify(error=error), status


@pytest.fixture
def fake_facebook():
    """A running ``FakeFacebook``; ``make_app(**fake_facebook.config)`` uses it."""
    with FakeFacebook() as fake:
        yield fake
