"""A relying party with a "Bejelentkezés Telekommal" button: a small portal that
shows the person's company, permissions and subscriptions.

- Login: Authlib's Flask client, registered from the IdP's discovery document;
  code flow with PKCE (S256) and a nonce. Authlib validates the ID token
  (signature, iss, aud, exp, iat, nonce, at_hash); the portal checks the
  callback's RFC 9207 ``iss``.
- Its login sessions live in this process's memory; the signed cookie holds
  only a random id, so a session can be ended where no browser is present.
- RP-Initiated Logout 1.0: "Kijelentkezés" ends the local session and sends the
  browser to the ``end_session_endpoint`` with ``id_token_hint``,
  ``post_logout_redirect_uri`` and ``state``; ``/logged-out`` checks the state.
- Back-Channel Logout 1.0: ``POST /backchannel-logout`` verifies the logout
  token (§2.6), ends the local sessions of its ``sid`` (§2.7), answers 200 or 400 (§2.8).

Register it as a confidential third-party client (README, "An example relying
party"), then, beside ``make run``:

    python examples/portal/app.py --issuer http://127.0.0.1:5000 --client-id ID --client-secret SECRET

``PORTAL_ISSUER``, ``PORTAL_CLIENT_ID``, ``PORTAL_CLIENT_SECRET``, ``PORTAL_BASE_URL``
do the same and keep the secret out of the process list. Memory means one process:
a real deployment keeps its sessions in a shared store (Redis, a database), so
that whichever node receives a logout token can end them.
"""

import argparse
import json
import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

HERE = Path(__file__).resolve().parent
SCOPE = "openid profile company permissions subscriptions"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGORITHMS = ["RS256", "ES256"]  # asymmetric only; never "none", never a MAC keyed with a public key
LOGOUT_TOKEN_TYPES = ("logout+jwt", "application/logout+jwt", "jwt")
LEEWAY = 60
JWKS_REFRESH_SECONDS = 10  # a token naming an unknown key re-reads the JWKS at most this often
SESSION_TTL = 8 * 3600
SESSION_KEY = "portal_session_id"


class LocalSessions:
    """The portal's login sessions: random id -> the ID token and its claims.
    ``end_matching`` is what the back channel calls."""

    def __init__(self, ttl=SESSION_TTL, clock=time.time):
        self.ttl, self.clock = ttl, clock
        self._sessions = {}
        self._lock = threading.Lock()

    def start(self, id_token, claims):
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            self._sessions = {k: v for k, v in self._sessions.items() if v["expires_at"] > now}
            self._sessions[session_id] = {"id_token": id_token, "claims": dict(claims),
                                          "expires_at": now + self.ttl}
        return session_id

    def get(self, session_id):
        with self._lock:
            record = self._sessions.get(session_id) if isinstance(session_id, str) else None
            return record if record and record["expires_at"] > self.clock() else None

    def end(self, session_id):
        """The ended session's record, or None when there was none."""
        with self._lock:
            return self._sessions.pop(session_id, None) if isinstance(session_id, str) else None

    def end_matching(self, iss, sid=None, sub=None):
        """§2.7: the sessions of ``sid`` at ``iss`` (whose ``sub`` agrees, when
        given), or every session of ``sub`` when there is no ``sid``."""
        def matches(claims):
            if claims.get("iss") != iss:
                return False
            if sid is not None:
                return claims.get("sid") == sid and sub in (None, claims.get("sub"))
            return claims.get("sub") == sub

        with self._lock:
            ended = [k for k, v in self._sessions.items() if matches(v["claims"])]
            for session_id in ended:
                del self._sessions[session_id]
        return len(ended)

    def __len__(self):
        with self._lock:
            return len(self._sessions)


class SeenTokens:
    """The ``jti`` of every logout token accepted, kept until it expires (§2.6 step 8)."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self._seen = {}
        self._lock = threading.Lock()

    def first_time(self, jti, exp):
        with self._lock:
            now = self.clock()
            self._seen = {k: v for k, v in self._seen.items() if v + LEEWAY > now}
            if jti in self._seen:
                return False
            self._seen[jti] = exp
            return True


class InvalidLogoutToken(Exception):
    pass


class LogoutTokenVerifier:
    """Back-Channel Logout 1.0 §2.6, step by step (the token is never encrypted here)."""

    def __init__(self, provider, client_id, seen, clock=time.time):
        self.provider, self.client_id, self.seen, self.clock = provider, client_id, seen, clock
        self._refreshed_at = float("-inf")

    def keys(self, refresh=False):
        # Re-read on an unknown kid (a rotation), but not for every forged token that names one.
        refresh = refresh and self.clock() - self._refreshed_at >= JWKS_REFRESH_SECONDS
        if refresh:
            self._refreshed_at = self.clock()
        return KeySet.import_key_set(self.provider.fetch_jwk_set(force=refresh))

    def decode(self, token, metadata):
        """Steps 2 and 3: the signature against the IdP's JWKS, with an ID token's algorithms."""
        allowed = [alg for alg in metadata.get("id_token_signing_alg_values_supported", ["RS256"]) if alg in ALGORITHMS]
        registry = JWSRegistry(algorithms=allowed)
        try:
            try:
                return jwt.decode(token, self.keys(), registry=registry)
            except InvalidKeyIdError:
                return jwt.decode(token, self.keys(refresh=True), registry=registry)
        except (JoseError, ValueError, TypeError) as error:
            raise InvalidLogoutToken(f"bad signature or format ({type(error).__name__})") from None

    def verify(self, token):
        """The logout token's claims, or ``InvalidLogoutToken``."""
        if not isinstance(token, str) or not token:
            raise InvalidLogoutToken("logout_token is missing")
        metadata = self.provider.load_server_metadata()
        decoded = self.decode(token, metadata)
        # Explicit typing (§2.4): a token typed as another kind (an access token's "at+jwt")
        # is refused; an untyped one - or "JWT", which many libraries write and which names no
        # kind - is told apart from an ID token by the events claim and the missing nonce.
        typ = decoded.header.get("typ")
        if typ is not None and str(typ).lower() not in LOGOUT_TOKEN_TYPES:
            raise InvalidLogoutToken("not a logout token (typ)")
        claims = decoded.claims
        try:  # step 4: iss, aud, iat and exp as for an ID token; jti is required (§2.4)
            jwt.JWTClaimsRegistry(now=int(self.clock()), leeway=LEEWAY, iss={"essential": True,
                                  "value": metadata["issuer"]}, aud={"essential": True, "value": self.client_id},
                                  iat={"essential": True}, exp={"essential": True},
                                  jti={"essential": True}).validate(claims)
        except JoseError as error:
            raise InvalidLogoutToken(f"claims: {error}") from None
        sub, sid = claims.get("sub"), claims.get("sid")
        if (sub is None and sid is None) or not all(v is None or (isinstance(v, str) and v) for v in (sub, sid)):
            raise InvalidLogoutToken("sub or sid required")  # step 5
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
            raise InvalidLogoutToken("not a back-channel logout event")  # step 6
        if "nonce" in claims:
            raise InvalidLogoutToken("a logout token has no nonce")  # step 7
        if not self.seen.first_time(claims["jti"], claims["exp"]):
            raise InvalidLogoutToken("jti seen before")  # step 8, last: a refused token uses up no jti
        return claims


def no_store(response, status=200):
    """§2.8: the answer to the back channel is never cached."""
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def create_app(issuer, client_id, client_secret, base_url):
    """The portal, a client of ``issuer`` serving at ``base_url`` (its redirect
    URIs are ``base_url`` + ``/callback``, ``/logged-out``, ``/backchannel-logout``)."""
    issuer, base_url = issuer.rstrip("/"), base_url.rstrip("/")
    app = Flask(__name__, root_path=str(HERE))
    app.config.update(
        SECRET_KEY=os.environ.get("PORTAL_SECRET_KEY") or secrets.token_urlsafe(32),
        # Cookies ignore ports: beside the IdP on 127.0.0.1 the portal's needs a name of its own.
        SESSION_COOKIE_NAME="portal_session", SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"))
    oauth = OAuth(app)
    telekom = oauth.register(
        "telekom", client_id=client_id, client_secret=client_secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"})
    sessions, seen = LocalSessions(), SeenTokens()
    verifier = LogoutTokenVerifier(telekom, client_id, seen)
    app.extensions["portal"] = {"sessions": sessions, "seen": seen, "verifier": verifier, "client": telekom}
    content_policy = (f"default-src 'none'; style-src 'self'; img-src 'self'; "
                      f"form-action 'self' {issuer}; frame-ancestors 'none'; base-uri 'none'")

    def provider_metadata():
        metadata = telekom.load_server_metadata()
        if metadata.get("issuer") != issuer:  # OpenID Connect Discovery 1.0 §4.3
            raise AuthlibBaseError(error="issuer_mismatch", description="discovery names another issuer")
        return metadata

    def message(title, text, status=200):
        return render_template("message.html", title=title, text=text), status

    def current():
        record = sessions.get(session.get(SESSION_KEY))
        if record is None:
            session.pop(SESSION_KEY, None)  # ended here, at the IdP (back channel), or expired
        return record

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", content_policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/")
    def home():
        record = current()
        claims = record["claims"] if record else None
        raw = json.dumps(claims, indent=2, ensure_ascii=False, sort_keys=True) if claims else None
        return render_template("home.html", claims=claims, raw=raw)

    @app.get("/login")
    def login():
        try:
            provider_metadata()
            return telekom.authorize_redirect(base_url + "/callback")
        except (AuthlibBaseError, OSError, ValueError):
            app.logger.exception("the IdP's discovery document could not be used")
            return message("A belépés most nem érhető el", "Az azonosító szolgáltató nem válaszol. "
                                                           "Kérjük, próbálja újra később.", 502)

    @app.get("/callback")
    def callback():
        try:
            metadata = provider_metadata()
            if (metadata.get("authorization_response_iss_parameter_supported") or "iss" in request.args) and \
                    request.args.get("iss") != issuer:  # RFC 9207: a response of another server (mix-up)
                raise AuthlibBaseError(error="invalid_issuer", description="iss of the response")
            token = telekom.authorize_access_token()  # state, PKCE; the ID token with its nonce
            if not token.get("userinfo"):
                raise AuthlibBaseError(error="invalid_token", description="no ID token")
        except (AuthlibBaseError, JoseError, OSError, ValueError) as error:
            app.logger.info("login failed: %s", error)
            return message("A bejelentkezés nem sikerült", "Kérjük, kezdje újra a bejelentkezést.", 400)
        sessions.end(session.pop(SESSION_KEY, None))
        session[SESSION_KEY] = sessions.start(token["id_token"], token["userinfo"])
        return redirect(url_for("home"), 303)

    @app.post("/logout")  # a cross-site form carries no SameSite=Lax cookie: nobody to log out
    def logout():
        record = sessions.end(session.pop(SESSION_KEY, None))
        if record is None:
            return redirect(url_for("home"), 303)
        return telekom.logout_redirect(post_logout_redirect_uri=base_url + "/logged-out",
                                       id_token_hint=record["id_token"])

    @app.get("/logged-out")
    def logged_out():
        try:
            telekom.validate_logout_response()
        except AuthlibBaseError:
            return message("Ismeretlen kijelentkezés", "Ez a válasz nem ennek a böngészőnek a "
                                                       "kijelentkezéséhez tartozik.", 400)
        return message("Kijelentkezett", "Kijelentkezett a portálból és a Telekom Belépésből is.")

    @app.post("/backchannel-logout")
    def backchannel_logout():
        try:
            claims = verifier.verify(request.form.get("logout_token"))
        except InvalidLogoutToken as error:
            app.logger.warning("logout token refused: %s", error)
            return no_store(jsonify(error="invalid_request", error_description=str(error)), 400)
        except (AuthlibBaseError, OSError):  # the IdP's keys cannot be read now: it sends again later
            app.logger.exception("logout token not verified")
            return no_store(jsonify(error="temporarily_unavailable"), 503)
        ended = sessions.end_matching(claims["iss"], claims.get("sid"), claims.get("sub"))
        app.logger.info("back-channel logout: %s session(s) ended", ended)
        return no_store(app.response_class(status=200))

    return app


def settings_from(argv, environ):
    """``create_app``'s arguments from the command line, else the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", default=environ.get("PORTAL_ISSUER", "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", default=environ.get("PORTAL_CLIENT_ID"))
    parser.add_argument("--client-secret", default=environ.get("PORTAL_CLIENT_SECRET"))
    parser.add_argument("--base-url", default=environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5001"))
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error("give --client-id and --client-secret (or PORTAL_CLIENT_ID and PORTAL_CLIENT_SECRET)")
    return {"issuer": args.issuer, "client_id": args.client_id, "client_secret": args.client_secret,
            "base_url": args.base_url}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_from(sys.argv[1:], os.environ)
    where = urlsplit(settings["base_url"])
    create_app(**settings).run(host=where.hostname, port=where.port or 80, threaded=True)
