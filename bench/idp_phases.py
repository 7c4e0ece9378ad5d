"""The IdP's rows: the production server (gunicorn, PostgreSQL, Redis) on loopback.

Order matters only where one phase feeds the next: the client_credentials peak
sets the paced rate (half of it) and how many authorization codes to mint; the
codes, minted through the real authorization endpoint by a logged-in browser,
are exchanged by the code phase, and a few of them yield the refresh tokens the
refresh phase starts its rotation chains from.
"""

import itertools
import json
import secrets
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import requests

from bench import wrk
from bench.browser import Browser
from bench.browser import authorize_query
from bench.browser import pkce_pair
from bench.measure import basic
from bench.measure import script_row
from bench.measure import wrk_row

MAX_MINTING_SECONDS = 40
REFRESH_BODY = "grant_type=refresh_token&refresh_token={}"


class IdpPhases:
    def __init__(self, base, pid, seed, sms_url, load, workdir, profiler, say=print):
        self.base, self.pid, self.seed, self.sms_url, self.say = base, pid, seed, sms_url, say
        self.load, self.workdir, self.profiler = load, Path(workdir), profiler
        self.rows = []
        self.cc_auth = basic(*seed.cc_client)
        self.rp_auth = basic(seed.party.client_id, seed.party.client_secret)

    def measure(self, phase, endpoint, path, script, args=(), **options):
        with self.profiler.around(phase, self.pid, self.load.warmup + self.load.duration + 2):
            row, result = wrk_row("IdP", endpoint, self.pid, self.base + path, script, args, load=self.load,
                                  **options)
        if self.profiler.wanted(phase):
            row.note = (row.note + "; " if row.note else "") + "profiled: py-spy was sampling"
        self.add(row)
        return row, result

    def add(self, row):
        self.rows.append(row)
        self.say(f"IdP {row.endpoint}: {row.rate:,.0f}/s, p99 {row.p99_ms or 0:.1f} ms, {row.failures} failures")

    def run(self):
        self.measure("discovery", "discovery", "/.well-known/openid-configuration", "get")
        self.measure("jwks", "JWKS", "/jwks.json", "get")
        cc, _ = self.measure("client_credentials", "client_credentials", "/oauth/token", "post_form",
                             ["grant_type=client_credentials", self.cc_auth])
        self.measure("introspection", "introspection (an access token)", "/oauth/introspect", "post_form",
                     ["token=" + self.client_token() + "&token_type_hint=access_token", self.cc_auth])
        user_token = next(iter(self.seed.user_tokens.values()))["access_token"]
        self.measure("userinfo", "userinfo", "/oauth/userinfo", "get", ["Authorization: Bearer " + user_token])
        self.paced(cc.rate / 2)
        codes, verifier = self.mint_codes(needed=int(cc.rate * (self.load.warmup + self.load.duration) * 1.3))
        chains = wrk.chain_count(self.load)
        refresh_files = self.refresh_token_files(codes[:2 * chains], verifier)
        self.exchange_codes(codes[2 * chains:], verifier, cc.rate)
        threads = str(self.load.threads)
        self.measure("refresh", "refresh → new ID token (rotating)", "/oauth/token", "refresh",
                     [refresh_files[1], threads, REFRESH_BODY, self.rp_auth],
                     warmup_args=[refresh_files[0], threads, REFRESH_BODY, self.rp_auth])
        self.logins()
        return self.rows

    def client_token(self):
        response = requests.post(self.base + "/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=self.seed.cc_client, timeout=30)
        response.raise_for_status()
        return response.json()["access_token"]

    def paced(self, rate):
        row, _ = script_row("IdP", f"client_credentials, paced at half the peak ({rate:.0f}/s)", self.pid, "paced",
                            [self.base + "/oauth/token", "--rate", f"{rate:.2f}", "--duration",
                             str(self.load.duration), "--body", "grant_type=client_credentials",
                             "--header", self.cc_auth],
                            note="open loop: latency from the scheduled send time")
        self.add(row)

    def mint_codes(self, needed):
        """Codes from the authorization endpoint for one logged-in browser (also a row: the
        authorization endpoint's own rate); more runs until there are ``needed`` + spare."""
        browser = Browser(self.seed.party, self.sms_url)
        browser.log_in(self.seed.users[0])
        cookie = "Cookie: " + "; ".join(f"{c.name}={c.value}" for c in browser.session.cookies)
        verifier, challenge = pkce_pair()
        query = authorize_query(self.seed.party, challenge)
        codes, batches = [], itertools.count()

        def mint(seconds=None, row=False):
            prefix = self.workdir / f"codes-{next(batches)}"
            args = [str(prefix), secrets.token_hex(4), query, cookie]
            if row:
                self.measure("authorize", "authorize (logged in, consent not needed) → code", "/oauth/authorize",
                             "authorize", args, warmup_args=False)
            else:
                wrk.run(self.base + "/oauth/authorize", "authorize", args, seconds=seconds, load=self.load)
            codes.extend(read_codes(prefix, self.load.threads))

        if self.load.warmup > 0:
            mint(self.load.warmup)  # the warm-up's codes are kept too
        mint(row=True)
        spent = self.load.warmup + self.load.duration
        while len(codes) < needed + 2 * wrk.chain_count(self.load) and spent < MAX_MINTING_SECONDS:
            mint(5)
            spent += 5
        return codes, verifier

    def refresh_token_files(self, codes, verifier):
        """Exchange a few codes in Python: their refresh tokens start the rotation chains
        (half for the warm-up, half for the measured run)."""
        tokens = []
        for code in codes:
            response = requests.post(self.base + "/oauth/token", auth=(self.seed.party.client_id,
                                                                       self.seed.party.client_secret),
                                     data={"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": self.seed.party.redirect_uri,
                                           "code_verifier": verifier}, timeout=30)
            response.raise_for_status()
            tokens.append(response.json()["refresh_token"])
        half = len(tokens) // 2
        return write_lines(self.workdir / "refresh-warmup", tokens[:half]), \
            write_lines(self.workdir / "refresh-measured", tokens[half:])

    def exchange_codes(self, codes, verifier, cc_rate):
        warm = min(len(codes) // 4, int(cc_rate * self.load.warmup * 1.3))
        body = ("grant_type=authorization_code&code={}&redirect_uri=" + quote(self.seed.party.redirect_uri, safe="")
                + "&code_verifier=" + verifier)
        threads = str(self.load.threads)
        self.measure("code", "authorization_code → tokens + ID token", "/oauth/token", "single_use",
                     [write_lines(self.workdir / "codes-measured", codes[warm:]), threads, body, self.rp_auth],
                     warmup_args=[write_lines(self.workdir / "codes-warmup", codes[:warm]), threads, body,
                                  self.rp_auth],
                     note=f"{len(codes) - warm} minted codes available")

    def logins(self):
        config = self.workdir / "logins.json"
        config.write_text(json.dumps({"party": asdict(self.seed.party), "sms_url": self.sms_url,
                                      "users": [asdict(user) for user in self.seed.users]}))
        with self.profiler.around("login", self.pid, self.load.warmup + self.load.duration + 2):
            row, _ = script_row("IdP", f"full business login ({len(self.seed.users)} users at once)", self.pid,
                                "login_load", [str(config), "--duration", str(self.load.duration),
                                               "--warmup", str(self.load.warmup)],
                                note="authorize → identifier → password → SMS → code → token; 9 requests each")
        self.add(row)


def read_codes(prefix, threads):
    codes = []
    for index in range(threads):
        path = Path(f"{prefix}.{index}")
        if path.exists():
            codes += [line for line in path.read_text().splitlines() if line]
    return codes


def write_lines(path, values):
    Path(path).write_text("\n".join(values) + "\n")
    return str(path)
