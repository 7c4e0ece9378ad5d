"""Log in from a command line with the first-party grants (DESIGN.md §4) and
print the ID token's claims - what the company's own mobile and desktop apps
do without a browser.

    python examples/cli_login.py --issuer http://127.0.0.1:5000 --client-id CLIENT_ID admin@demo
    python examples/cli_login.py --issuer http://127.0.0.1:5000 --client-id CLIENT_ID --phone 301234567

The client must be first-party (``idp client create --first-party …``); a
confidential one also gives ``--client-secret``. The password is asked for
(never a command-line argument), then the SMS code when one is needed ("Nem
kaptam meg az SMS-t": type ``r`` to have it sent again). With ``make run``
every SMS lands in the development outbox, http://127.0.0.1:5000/dev/outbox.
"""

import argparse
import getpass
import json
import sys

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BUSINESS_PASSWORD = "urn:telekom:oauth:grant-type:business-password"
PHONE = "urn:telekom:oauth:grant-type:phone"
SMS_OTP = "urn:telekom:oauth:grant-type:sms-otp"


class LoginFailed(Exception):
    pass


class FirstPartyClient:
    def __init__(self, issuer, client_id, client_secret=None, http=None):
        self.http = http or requests.Session()
        self.metadata = self.http.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10).json()
        self.client_id, self.client_secret = client_id, client_secret

    def post(self, url, data):
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        if not self.client_secret:
            data = {**data, "client_id": self.client_id}
        return self.http.post(url, data=data, auth=auth, timeout=10)

    def token(self, data):
        response = self.post(self.metadata["token_endpoint"], data)
        return response.status_code, response.json()

    def resend(self, auth_session):
        url = self.metadata["issuer"] + "/oauth/otp/resend"
        response = self.post(url, {"auth_session": auth_session})
        return response.status_code, response.json(), response.headers.get("Retry-After")

    def id_token_claims(self, id_token):
        keys = KeySet.import_key_set(self.http.get(self.metadata["jwks_uri"], timeout=10).json())
        claims = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"]).claims
        if claims.get("iss") != self.metadata["issuer"] or claims.get("aud") != self.client_id:
            raise LoginFailed("the ID token is not for this client from this issuer")
        return claims


def log_in(client, first_request, ask_code, say):
    """Run the grants: the first request, then the SMS code until tokens come."""
    status, body = client.token(first_request)
    if status == 200:
        return body
    if body.get("error") != "sms_otp_required":
        raise LoginFailed(f"{body.get('error')}: {body.get('error_description', '')}")
    session = body["auth_session"]
    say(f"The SMS code went to {body['phone_hint']} ({body['otp_length']} digits, "
        f"valid for {body['expires_in']} s).")
    while True:
        code = ask_code().strip()
        if code.lower() == "r":
            resent, _, retry_after = client.resend(session)
            say("A new code was sent." if resent == 200 else f"Not yet: try again in {retry_after} s.")
            continue
        status, body = client.token({"grant_type": SMS_OTP, "auth_session": session, "otp": code})
        if status == 200:
            return body
        if not body.get("error_description", "").startswith("Wrong code"):
            raise LoginFailed(f"{body.get('error')}: {body.get('error_description', '')}")
        say(body["error_description"])


def main(argv=None, stdin=None, stdout=None):
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("username", nargs="?", help="admin@company or user@company")
    parser.add_argument("--phone", help="a mobile number (301234567) instead of a username")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret")
    parser.add_argument("--scope", default="openid profile company permissions")
    args = parser.parse_args(argv)
    if bool(args.username) == bool(args.phone):
        parser.error("give a username or --phone")

    def ask(prompt, secret=False):
        if secret and stdin.isatty():
            return getpass.getpass(prompt)
        stdout.write(prompt)
        stdout.flush()
        return stdin.readline().rstrip("\n")

    def say(line):
        stdout.write(line + "\n")
        stdout.flush()

    client = FirstPartyClient(args.issuer, args.client_id, args.client_secret)
    if args.phone:
        first = {"grant_type": PHONE, "phone_number": args.phone, "scope": args.scope}
    else:
        first = {"grant_type": BUSINESS_PASSWORD, "username": args.username,
                 "password": ask("Password: ", secret=True), "scope": args.scope}
    try:
        tokens = log_in(client, first, lambda: ask("SMS code (r: send it again): "), say)
        claims = client.id_token_claims(tokens["id_token"])
    except (LoginFailed, JoseError, KeyError) as error:
        say(f"Login failed: {error}")
        return 1
    say(json.dumps(claims, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
