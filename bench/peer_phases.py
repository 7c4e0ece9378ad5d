"""The rows the IdP is compared with, measured in the same run on the same machine:
argon2id's verify rate, a bare Flask "hello" under the same gunicorn settings,
and panva's oidc-provider (one Node process)."""


import requests

from bench import argon2_rate
from bench import wrk
from bench.measure import Row
from bench.measure import basic
from bench.measure import wrk_row

NODE_CC = ("bench-cc", "bench-cc-secret")
NODE_RP = ("bench-rp", "bench-rp-secret")



def argon2_row(processes, seconds):
    rate = argon2_rate.verify_rate(processes, seconds)
    return Row("argon2id", f"verify ({argon2_rate.parameters()}), {processes} process(es)", rate,
               requests=int(rate * seconds), note="the product's PasswordService, idp/settings.py parameters")


def bare_flask_rows(base, pid, load):
    row, _ = wrk_row("bare Flask", "GET / (\"hello\")", pid, base + "/", "get", load=load)
    return [row]


def node_rows(base, pid, load, workdir):
    rows = []
    for endpoint, path in (("discovery", "/.well-known/openid-configuration"), ("JWKS", "/jwks")):
        rows.append(wrk_row("oidc-provider", endpoint, pid, base + path, "get", load=load)[0])
    rows.append(wrk_row("oidc-provider", "client_credentials", pid, base + "/token", "post_form",
                        ["grant_type=client_credentials&scope=api", basic(*NODE_CC)], load=load)[0])
    # Minted just before each run: the in-memory adapter is an LRU of 1,000 entries, so tokens
    # minted before the warm-up would be pushed out by the warm-up's own rotations.
    body, auth = "grant_type=refresh_token&refresh_token={}", basic(*NODE_RP)
    warm = refresh_tokens(base, wrk.chain_count(load), workdir / "node-refresh-warmup")
    wrk.run(base + "/token", "refresh", [warm, str(load.threads), body, auth], seconds=load.warmup, load=load)
    measured = refresh_tokens(base, wrk.chain_count(load), workdir / "node-refresh-measured")
    rows.append(wrk_row("oidc-provider", "refresh → new ID token (rotating)", pid, base + "/token", "refresh",
                        [measured, str(load.threads), body, auth], load=load, warmup_args=False)[0])
    return rows


def refresh_tokens(base, count, path):
    tokens = requests.get(base + "/bench/refresh-tokens", params={"n": count}, timeout=30).json()
    path.write_text("\n".join(tokens) + "\n")
    return str(path)
