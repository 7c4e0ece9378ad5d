"""A business login as a browser does it, over HTTP with ``requests``:
authorize → identifier → password → SMS code → (first login: new password, the
Telekom-account offer answered "Később") → back at the relying party with a
code → the code exchanged at the token endpoint.

Every page is fetched before its form is posted (the CSRF token comes from the
page, as in a browser), redirects are followed by hand so the code can be taken
from the one to the relying party. The SMS code is read from the SMS gateway
stub (``bench.sms_gateway``). Used to seed the run (each user's first login) and
by the login load (``bench.login_load``).
"""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

CSRF = re.compile(r'name="(csrf_token|later-csrf_token)" type="hidden" value="([^"]+)"')
WEBOTP_CODE = re.compile(r"#(\d{4,8})\s*$")
MAX_STEPS = 16
TIMEOUT = 30


class LoginError(RuntimeError):
    pass


@dataclass
class Party:
    """The relying party: a confidential, first-party client of the IdP."""
    base: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str


@dataclass
class User:
    identifier: str
    phone: str  # E.164, as the SMS gateway sees it
    password: str
    new_password: str = ""  # set when ``password`` is the temporary one


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_query(party, challenge):
    """The authorization request's query, without ``state`` and ``nonce``."""
    return urlencode({"response_type": "code", "client_id": party.client_id, "redirect_uri": party.redirect_uri,
                      "scope": party.scope, "code_challenge": challenge, "code_challenge_method": "S256"})


class Browser:
    def __init__(self, party, sms_url):
        self.party, self.sms_url = party, sms_url
        self.session = requests.Session()

    def log_in(self, user):
        """The whole login; returns the token response (a dict)."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        url = (f"{self.party.base}/oauth/authorize?{authorize_query(self.party, challenge)}"
               f"&state={state}&nonce={secrets.token_urlsafe(8)}")
        code = self.code_for(url, user)
        response = requests.post(f"{self.party.base}/oauth/token", timeout=TIMEOUT,
                                 auth=(self.party.client_id, self.party.client_secret),
                                 data={"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": self.party.redirect_uri, "code_verifier": verifier})
        if response.status_code != 200:
            raise LoginError(f"token endpoint: {response.status_code} {response.text[:200]}")
        return response.json()

    def code_for(self, url, user):
        response = self.session.get(url, allow_redirects=False, timeout=TIMEOUT)
        for _ in range(MAX_STEPS):
            location = response.headers.get("Location")
            if response.status_code in (301, 302, 303) and location:
                if location.startswith(self.party.redirect_uri):
                    return self.code_in(location)
                response = self.session.get(urljoin(self.party.base, location), allow_redirects=False,
                                            timeout=TIMEOUT)
                continue
            if response.status_code != 200:
                raise LoginError(f"{urlsplit(response.url).path}: {response.status_code} {response.text[:200]}")
            response = self.session.post(response.url, data=self.answer(response, user), allow_redirects=False,
                                         timeout=TIMEOUT)
        raise LoginError(f"no code after {MAX_STEPS} steps")

    def answer(self, page, user):
        """The form a person would send on this page."""
        path, tokens = urlsplit(page.url).path, dict(CSRF.findall(page.text))
        if path == "/account/offer":
            return {"later-csrf_token": tokens["later-csrf_token"], "later-submit": "Később"}
        fields = {"/login": lambda: {"identifier": user.identifier},
                  "/login/password": lambda: {"password": user.password},
                  "/login/sms": lambda: {"code": self.sms_code(user)},
                  "/login/new-password": lambda: self.new_password(user)}
        if path not in fields or "csrf_token" not in tokens:
            raise LoginError(f"unexpected page {path}: {page.text[:300]}")
        return {"csrf_token": tokens["csrf_token"], **fields[path]()}

    @staticmethod
    def new_password(user):
        user.password = user.new_password  # from now on the permanent one
        return {"password": user.new_password, "repeat": user.new_password}

    def sms_code(self, user):
        response = requests.get(self.sms_url, params={"to": user.phone}, timeout=TIMEOUT)
        if response.status_code != 200:
            raise LoginError(f"no SMS for {user.phone}")
        return WEBOTP_CODE.search(response.json()["text"]).group(1)

    @staticmethod
    def code_in(location):
        query = parse_qs(urlsplit(location).query)
        if "code" not in query:
            raise LoginError(f"the relying party got no code: {location}")
        return query["code"][0]
