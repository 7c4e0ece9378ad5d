"""The prose of the results file: how each figure was obtained, and what the
servers logged that looks like trouble."""

import json
import os
import re

from bench.processes import ROOT

TROUBLE = re.compile(r"Traceback|\bERROR\b|\[ERROR\]|CRITICAL|WORKER TIMEOUT|server_error|Exception", re.IGNORECASE)
LOGS = ("idp", "bare-flask", "oidc-provider", "sms-gateway")


def oidc_provider_version():
    try:
        lock = json.loads((ROOT / "bench" / "node" / "package-lock.json").read_text())
        return lock["packages"]["node_modules/oidc-provider"]["version"]
    except (OSError, KeyError, ValueError):
        return "?"


def methodology(args, profiler):
    notes = [
        ("Closed loop (wrk): every connection sends its next request as soon as the answer arrived. gunicorn's "
         "sync worker closes the connection after each response, so against the IdP and bare Flask wrk opens a "
         "new TCP connection per request; Node keeps connections alive. Failures are socket errors and answers "
         "≥ 400."),
        ("CPU columns are in cores (1.00 = one core busy for the whole measured run; the machine has "
         f"{os.cpu_count()}). Server: CPU time (user + system) of the server's process tree - gunicorn master and "
         "workers, or the Node process. Database: the PostgreSQL backends connected to `idp_bench`. Load "
         "generator: wrk or the Python load script, on the same cores - what it takes, the server cannot have. "
         "Other: the rest of the machine meanwhile (other people's work, Redis, the SMS stub); near zero on a quiet "
         "machine. Worker RSS: the largest resident set of one worker (of the Node process), sampled every 0.25 s."),
        ("Bare Flask runs under the same `gunicorn -c gunicorn.conf.py`, whose `on_starting` builds the IdP app "
         "once in the master to check its settings: its workers, forked from that master, carry the IdP's "
         "modules too, so its RSS says little; its rate is the ceiling."),
        ("authorization_code: codes minted just before by /oauth/authorize for one logged-in browser (its session "
         "cookie; a first-party client, so no consent page), PKCE S256, each exchanged exactly once "
         "(bench/lua/single_use.lua). The authorize row is that minting."),
        ("Refresh: rotating, as a client does: each answer's new refresh token is the next request's "
         "(bench/lua/refresh.lua), starting from one fresh token per connection (IdP: from code exchanges; "
         "oidc-provider: minted through its models). Every answer carries a new RS256 ID token."),
        ("p99 at half the peak: bench/paced.py sends client_credentials requests on a fixed schedule at half the "
         "closed-loop peak measured just before (open loop, as wrk2 would; wrk2 is not in Debian), and measures "
         "each latency from the time the request was due, so a request that had to wait counts its wait "
         "(no coordinated omission). Python, one new connection per request, 64 sender threads."),
        (f"Full business login: {args.users} threads, each one user of company `bench` (SMS step on) logging in "
         "again and again with a fresh cookie jar: GET /oauth/authorize → login page → identifier → password page → "
         "password → SMS page → code → resume → relying party → POST /oauth/token (bench/browser.py, "
         "Python requests). The SMS goes out through the production HTTP gateway backend to a stub "
         "(bench/sms_gateway.py, its own process) and is read back from it. Counted: logins that ended inside "
         "the measured window."),
        ("argon2id: the product's PasswordService with the parameters of idp/settings.py, verifying in as many "
         "processes as gunicorn has workers - the ceiling for logins, which verify one password each."),
        (f"oidc-provider {oidc_provider_version()} (bench/node/package-lock.json), bench/node/server.js: default "
         "in-memory adapter (its grants and refresh tokens live in the process, no database), RS256 JWT access "
         "tokens through resourceIndicators (accessTokenFormat jwt), rotateRefreshToken true, NODE_ENV=production. "
         "It prints a warning that Node 20 is not a supported runtime of this major version."),
        ("IdP data: database `idp_bench` created fresh and migrated with `idp db upgrade`; clients, company and "
         "users made with `idp client create`, `idp company create`, `idp user create` (these commands run with "
         "development settings, so the temporary passwords can be read from the outbox with `idp outbox`); each "
         "user's first login through the pages sets a permanent password and answers the account offer "
         "\"Később\"."),
    ]
    if profiler.written:
        notes.append("Profiles (py-spy, the figures of a profiled phase are not comparable): "
                     + ", ".join(f"`{path.relative_to(ROOT)}`" for path in profiler.written))
    return notes


def server_log_lines(processes, limit=12):
    """Lines of the servers' logs that look like trouble, the first ``limit`` of them."""
    found, total = [], 0
    for name in LOGS:
        path = processes.log_path(name)
        if not path.exists():
            continue
        for line in path.read_text("utf-8", "replace").splitlines():
            if TROUBLE.search(line):
                total += 1
                if len(found) < limit:
                    found.append(f"    {name}: {line[:200]}")
    if not total:
        return ["No errors, tracebacks or worker timeouts in the servers' logs."]
    return [f"{total} line(s) of the servers' logs look like trouble; the first {len(found)}:", "", *found]
