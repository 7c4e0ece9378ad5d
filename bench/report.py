"""The results file: one Markdown table of every row, the ratios issue 12 sets as
targets, and what was measured how, on what."""

from datetime import UTC
from datetime import datetime


def _num(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _find(rows, system, prefix):
    return next((row for row in rows if row.system == system and row.endpoint.startswith(prefix)), None)


def _ratio(numerator, denominator):
    if numerator is None or denominator is None or not denominator.rate:
        return None
    return numerator.rate / denominator.rate


def _failures(row):
    if not row.failures and all(str(status).startswith(("2", "3")) for status in row.statuses):
        return "0"
    bad = {status: n for status, n in row.statuses.items() if not str(status).startswith(("2", "3"))}
    return f"{row.failures:,}" + (f" ({', '.join(f'{s}: {n}' for s, n in sorted(bad.items()))})" if bad else "")


def _memory(row):
    if row.worker_rss_mb is None:
        return "—"
    return f"{row.worker_rss_mb:,.0f}" + (f" ({row.worker_uss_mb:,.0f})" if row.worker_uss_mb else "")


def table(rows):
    lines = [("| system | endpoint | req/s | p50 ms | p99 ms | server CPU | worker RSS (USS) MB | database CPU "
              "| load-generator CPU | other CPU | requests | failures | note |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        lines.append(f"| {row.system} | {row.endpoint} | {_num(row.rate)} | {_num(row.p50_ms, 1)} "
                     f"| {_num(row.p99_ms, 1)} | {_num(row.server_cpu, 2)} | {_memory(row)} "
                     f"| {_num(row.database_cpu, 2)} | {_num(row.client_cpu, 2)} | {_num(row.other_cpu, 2)} "
                     f"| {row.requests:,} | {_failures(row)} | {row.note} |")
    return lines


def ratios(rows):
    idp_rows = [row for row in rows if row.system == "IdP"]
    paced = _find(rows, "IdP", "client_credentials, paced")
    rss = max((row.worker_rss_mb for row in idp_rows if row.worker_rss_mb), default=None)
    checks = [
        ("client_credentials: IdP / oidc-provider",
         _ratio(_find(rows, "IdP", "client_credentials"), _find(rows, "oidc-provider", "client_credentials")),
         "≥ 1.0 (milestone 0.7)", lambda v: v >= 1.0),
        ("refresh → new ID token: IdP / oidc-provider",
         _ratio(_find(rows, "IdP", "refresh"), _find(rows, "oidc-provider", "refresh")),
         "≥ 1.0 (milestone 0.7)", lambda v: v >= 1.0),
        ("JWKS: IdP / bare Flask", _ratio(_find(rows, "IdP", "JWKS"), _find(rows, "bare Flask", "GET")),
         "≥ 0.9", lambda v: v >= 0.9),
        ("discovery: IdP / bare Flask", _ratio(_find(rows, "IdP", "discovery"), _find(rows, "bare Flask", "GET")),
         "≥ 0.9", lambda v: v >= 0.9),
        ("full business logins / argon2id verifies",
         _ratio(_find(rows, "IdP", "full business login"), _find(rows, "argon2id", "verify")),
         "≥ 0.8", lambda v: v >= 0.8),
    ]
    lines = ["| ratio | value | target | met |", "|---|---:|---|---|"]
    for name, value, target, met in checks:
        lines.append(f"| {name} | {_num(value, 2)} | {target} | {'—' if value is None else _yes(met(value))} |")
    p99 = paced.p99_ms if paced else None
    lines.append(f"| token endpoint p99 at half the peak ({paced.endpoint.split('(')[-1].rstrip(')') if paced else '—'})"
                 f" | {_num(p99, 1)} ms | < 50 ms | {'—' if p99 is None else _yes(p99 < 50)} |")
    lines.append(f"| worker RSS, largest in any IdP phase | {_num(rss)} MB | ≤ 120 MB "
                 f"| {'—' if rss is None else _yes(rss <= 120)} |")
    return lines


SETTINGS_NOTE = (
    "The production checks are on (`IDP_ENV=production`: its own secret, the HTTP SMS gateway backend, SMTP), "
    "on loopback, which production allows for an `http://` issuer. The SMS and login-post limits are raised, not "
    "switched off (their Redis counters still run), so that one client IP and a few users can log in without "
    "pause; codes live 600 s instead of 60 so that the pre-minted ones outlast minting and warm-up (a lifetime "
    "costs nothing per request). Everything else is `idp/settings.py`'s default.")
DISTURBED = 0.25  # cores of other work during a phase


def disturbance(rows):
    """A warning when other work on the machine ran during some phases."""
    busy = [row for row in rows if (row.other_cpu or 0) > DISTURBED]
    if not busy:
        return []
    names = ", ".join(f"{row.system} {row.endpoint.split(' (')[0]} ({row.other_cpu:.2f})" for row in busy)
    warning = (f"**Disturbed:** other processes kept more than {DISTURBED} cores busy during {len(busy)} "
               f"phase(s): {names}. Their figures are lower than this machine can do; run again on a quiet machine.")
    return [warning, ""]


def _yes(flag):
    return "yes" if flag else "**no**"


def render(rows, machine, gunicorn, load, settings, server_log, notes, started):
    workers = (f"{gunicorn['workers']} × {gunicorn['worker_class']} worker(s)"
               + (f", {gunicorn['threads']} threads each" if gunicorn["threads"] > 1 else "")
               + f" ({gunicorn['source']})")
    lines = [f"# Benchmark {started:%Y-%m-%d %H:%M} UTC", "",
             (f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, Linux "
              f"{machine['kernel']}; Python {machine['python']}, Node {machine['node']}, PostgreSQL "
              f"{machine['postgresql']}, Redis {machine['redis']}, {machine['wrk']}. Commit {machine['commit']}."), "",
             f"IdP and bare Flask: gunicorn, {workers}. oidc-provider: one Node process.",
             (f"Load: wrk, {load.threads} threads, {load.connections} connections, {load.duration:g} s after a "
              f"{load.warmup:g} s warm-up, on the same machine as the servers."), "",
             *disturbance(rows),
             "## Results", "", *table(rows), "",
             "## Ratios (issue 12 targets)", "", *ratios(rows), "",
             "## How it was measured", "", *[f"- {note}" for note in notes], "",
             "## IdP settings", "", SETTINGS_NOTE, "", "```", *[f"{name}={value}" for name, value in settings.items()],
             "```", "",
             "## Server log", "", *server_log, "",
             f"_Written by `make bench` (bench/run.py) at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC._", ""]
    return "\n".join(lines)
