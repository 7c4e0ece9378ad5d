"""One measured phase = one row of the results table: a load against one endpoint
with the server's CPU and memory metered meanwhile (``bench.meter``)."""

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from dataclasses import field

from bench import wrk
from bench.meter import ClientMeter
from bench.meter import ServerMeter
from bench.processes import ROOT


@dataclass
class Row:
    system: str  # "IdP", "oidc-provider", "bare Flask", "argon2id"
    endpoint: str
    rate: float  # requests (or logins, or verifies) per second
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu: float | None = None  # cores
    worker_rss_mb: float | None = None
    worker_uss_mb: float | None = None
    client_cpu: float | None = None  # cores used by the load generator
    database_cpu: float | None = None  # cores of the PostgreSQL backends of the bench database
    other_cpu: float | None = None  # cores the rest of the machine kept busy meanwhile
    requests: int = 0
    failures: int = 0
    statuses: dict = field(default_factory=dict)
    note: str = ""


def basic(client_id, secret):
    """The ``Authorization`` header of ``client_secret_basic``, as a wrk script argument."""
    return "Authorization: Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def wrk_row(system, endpoint, server_pid, url, script, args=(), *, load, warmup_args=None, note=""):
    """Warm up, then measure ``url`` with ``bench/lua/<script>.lua``.

    ``warmup_args``: other script arguments for the warm-up (single-use values
    are not to be spent twice); ``False`` skips the warm-up.
    """
    if warmup_args is not False and load.warmup > 0:
        wrk.run(url, script, args if warmup_args is None else warmup_args, seconds=load.warmup, load=load)
    with ServerMeter(server_pid) as server, ClientMeter() as client:
        result = wrk.run(url, script, args, seconds=load.duration, load=load)
    if result.exhausted:
        note = (note + "; " if note else "") + f"single-use values ran out after {result.seconds:.1f} s"
    return metered(Row(system, endpoint, result.rate, result.p50_ms, result.p99_ms, requests=result.requests,
                       failures=result.failures, statuses=result.statuses, note=note), server, client), result


def script_row(system, endpoint, server_pid, module, args, env=None, note=""):
    """Run ``python -m bench.<module> ARGS`` (a load script that prints one JSON document)."""
    with ServerMeter(server_pid) as server, ClientMeter() as client:
        completed = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=ROOT, env=env,
                                   capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bench.{module} failed:\n{completed.stdout}\n{completed.stderr}")
    document = json.loads(completed.stdout.strip().splitlines()[-1])
    errors = document.get("errors") or []
    if errors:
        note = (note + "; " if note else "") + f"first error: {errors[0][:160]}"
    row = Row(system, endpoint, document["rate"], document.get("p50_ms"), document.get("p99_ms"),
              requests=document.get("count", 0), failures=document.get("failures", 0),
              statuses=document.get("statuses", {}), note=note)
    return metered(row, server, client), document


def metered(row, server, client):
    """``row`` with what the meters saw."""
    row.server_cpu, row.database_cpu = server.cpu_cores, server.database_cpu_cores
    row.worker_rss_mb, row.worker_uss_mb = server.worker_rss_mb, server.worker_uss_mb
    row.client_cpu = client.cpu_cores
    row.other_cpu = max(0.0, server.machine_cpu_cores - server.cpu_cores - server.database_cpu_cores
                        - client.cpu_cores)
    return row
