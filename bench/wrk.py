"""Running ``wrk`` (Debian's) with one of the scripts in ``bench/lua/`` and reading
its figures: the script's ``done()`` prints them as one JSON line.

Every run is closed-loop: ``connections`` clients each send the next request as
soon as the previous answer arrived, for ``duration`` seconds, after a warm-up
run of the same kind whose figures are thrown away.
"""

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
MARK = "BENCH_JSON "


@dataclass
class Load:
    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 16
    threads: int = 2


@dataclass
class WrkResult:
    requests: int
    seconds: float
    statuses: dict
    errors: dict
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    exhausted: bool

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self):
        """Socket errors plus answers outside 2xx/3xx."""
        bad_statuses = sum(n for status, n in self.statuses.items() if int(status) >= 400)
        return bad_statuses + sum(n for kind, n in self.errors.items() if kind != "status")


def chain_count(load):
    """Refresh tokens a refresh run starts from: one per connection, and one more per wrk
    thread, since wrk asks the first thread's request() once before the run to check it
    (that token is never sent)."""
    return load.connections + load.threads


def script(name):
    """``common.lua`` followed by ``name``.lua, as one file wrk can load."""
    text = (LUA / "common.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix=f"bench-{name}-", delete=False) as handle:
        handle.write(text)
    return handle.name


def run(url, name, args=(), *, seconds, load):
    """One wrk run of ``seconds`` against ``url`` with script ``name``."""
    path = script(name)
    try:
        argv = ["wrk", "-t", str(load.threads), "-c", str(load.connections), "-d", f"{max(1, round(seconds))}s",
                "--timeout", "10s", "-s", path, url]
        if args:
            argv += ["--", *args]
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        Path(path).unlink(missing_ok=True)
    for line in completed.stdout.splitlines():
        if line.startswith(MARK):
            return parse(json.loads(line[len(MARK):]))
    raise RuntimeError(f"wrk gave no figures (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")


def parse(document):
    latency = document["latency_us"]
    return WrkResult(requests=document["requests"], seconds=document["duration_us"] / 1e6,
                     statuses=document["statuses"], errors=document["errors"],
                     p50_ms=latency["p50"] / 1000, p90_ms=latency["p90"] / 1000,
                     p99_ms=latency["p99"] / 1000, max_ms=latency["max"] / 1000,
                     exhausted=document["exhausted"])
