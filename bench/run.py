"""``make bench``: the IdP's production setup on loopback under load, and in the
same run its yardsticks - argon2id's verify rate, a bare Flask app under the same
gunicorn settings, panva's oidc-provider - written as one Markdown table to
``bench/results/<UTC time>.md`` and ``bench/results/latest.md`` (bench/README.md).

    .venv/bin/python -m bench.run [--gunicorn-args "--workers 2"] [--only idp] [--profile client_credentials]

Whatever happens - failure, Ctrl-C, SIGTERM - the servers it started are ended,
and the ``idp_bench`` database and Redis database 13 are emptied.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import psutil

from bench import environment
from bench import machine
from bench import peer_phases
from bench import report
from bench import seed as seeding
from bench.idp_phases import IdpPhases
from bench.notes import methodology
from bench.notes import server_log_lines
from bench.processes import ROOT
from bench.processes import Processes
from bench.processes import gunicorn_argv
from bench.processes import gunicorn_settings
from bench.profiling import FORMATS
from bench.profiling import Profiler
from bench.wrk import Load

RESULTS = ROOT / "bench" / "results"
QUIET_CORES = 0.2
QUIET_SAMPLE = 10.0
SYSTEMS = ("argon2", "flask", "node", "idp")
PHASES = ("discovery", "jwks", "client_credentials", "introspection", "userinfo", "authorize", "code", "refresh",
          "login")


@dataclass
class Ports:
    idp: int
    flask: int
    node: int
    sms: int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per endpoint (10)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds before each (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--users", type=int, default=8, help="users logging in at once in the login load (8)")
    parser.add_argument("--gunicorn-args", default=os.environ.get("BENCH_GUNICORN_ARGS", ""),
                        help="added to `gunicorn -c gunicorn.conf.py`, e.g. \"--workers 2 --worker-class gthread\" "
                             "(also $BENCH_GUNICORN_ARGS; gunicorn itself reads $GUNICORN_CMD_ARGS)")
    parser.add_argument("--only", default=",".join(SYSTEMS), help=f"systems to measure ({','.join(SYSTEMS)})")
    parser.add_argument("--profile", default="", help=f"IdP phases to profile with py-spy ({','.join(PHASES)})")
    parser.add_argument("--profile-format", choices=sorted(FORMATS), default="flamegraph",
                        help="py-spy's output: flamegraph (.svg), speedscope (.json) or raw collapsed stacks (.txt)")
    parser.add_argument("--port-base", type=int, default=8100, help="four loopback ports from here (8100)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the machine to be quiet (others' work under "
                             f"{QUIET_CORES} cores for {QUIET_SAMPLE:g} s)")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    args.profile = {name.strip() for name in args.profile.split(",") if name.strip()}
    unknown = (args.only - set(SYSTEMS)) | (args.profile - set(PHASES))
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    return args


def say(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def wait_until_quiet(limit):
    """On a shared machine (a test suite beside the benchmark halves every figure), wait for a
    moment without other work, at most ``limit`` seconds; then measure anyway."""
    deadline = time.monotonic() + limit
    while True:
        busy = psutil.cpu_percent(interval=QUIET_SAMPLE) / 100 * psutil.cpu_count()
        if busy < QUIET_CORES:
            return say(f"the machine is quiet ({busy:.2f} cores busy)")
        if time.monotonic() >= deadline:
            return say(f"the machine is still busy ({busy:.2f} cores); measuring anyway")
        say(f"waiting for a quiet machine ({busy:.2f} cores busy)")


def _terminate(signum, frame):
    say("terminated")
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C ends the run cleanly even when started from a shell that ignores SIGINT (`&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.wait_quiet:
        wait_until_quiet(args.wait_quiet)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    processes = Processes(workdir)
    try:
        path = run(args, workdir, processes, started)
        say(f"results: {path.relative_to(ROOT)} (and bench/results/latest.md)")
        return 0
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        processes.stop_all()
        if args.keep:
            say(f"kept the database {environment.DATABASE} and {workdir}")
        else:
            environment.drop_database()
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir, processes, started):
    load = Load(duration=args.duration, warmup=args.warmup, connections=args.connections, threads=args.threads)
    base = args.port_base
    ports = Ports(idp=base, flask=base + 1, node=base + 2, sms=base + 3)
    server_env = environment.server_environment(workdir, ports)
    env = environment.process_environment(server_env)
    extra = shlex.split(args.gunicorn_args)
    gunicorn = gunicorn_settings(extra, env)
    gunicorn["source"] = "; ".join(["gunicorn.conf.py"]
                                   + ([f"GUNICORN_CMD_ARGS={env['GUNICORN_CMD_ARGS']}"]
                                      if env.get("GUNICORN_CMD_ARGS") else [])
                                   + ([f"bench --gunicorn-args {args.gunicorn_args}"] if extra else []))
    say(f"gunicorn: {gunicorn['workers']} × {gunicorn['worker_class']} ({gunicorn['source']}); work dir {workdir}")
    stamp = started.strftime("%Y-%m-%dT%H-%M-%SZ")
    profiler = Profiler(args.profile, RESULTS, stamp, args.profile_format)
    rows = []
    if "argon2" in args.only:
        say("argon2id verify rate")
        rows.append(peer_phases.argon2_row(gunicorn["workers"], seconds=5))
    if "flask" in args.only:
        say("bare Flask")
        process = processes.start("bare-flask", gunicorn_argv("bench.bare_flask:app", ports.flask, extra), env,
                                  f"http://127.0.0.1:{ports.flask}/")
        rows += peer_phases.bare_flask_rows(f"http://127.0.0.1:{ports.flask}", process.pid, load)
        processes.stop("bare-flask")
    if "node" in args.only:
        say("oidc-provider")
        node_env = {**os.environ, "PORT": str(ports.node), "NODE_ENV": "production"}
        process = processes.start("oidc-provider", ["node", "bench/node/server.js"], node_env,
                                  f"http://127.0.0.1:{ports.node}/.well-known/openid-configuration")
        rows += peer_phases.node_rows(f"http://127.0.0.1:{ports.node}", process.pid, load, workdir)
        processes.stop("oidc-provider")
    if "idp" in args.only:
        rows += measure_idp(args, load, ports, server_env, env, extra, workdir, processes, profiler)
    document = report.render(rows, machine.describe(), gunicorn, load, environment.described_settings(server_env),
                             server_log_lines(processes), methodology(args, profiler), started)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stamp}.md"
    path.write_text(document, "utf-8")
    (RESULTS / "latest.md").write_text(document, "utf-8")
    (workdir / "rows.json").write_text(json.dumps([row.__dict__ for row in rows], indent=1))
    return path


def measure_idp(args, load, ports, server_env, env, extra, workdir, processes, profiler):
    say(f"IdP: fresh database {environment.DATABASE}, seeding with the idp command")
    environment.create_database()
    issuer = server_env["IDP_ISSUER"]
    seed = seeding.create(environment.process_environment(environment.seeding_environment(server_env)), issuer,
                          args.users)
    processes.start("sms-gateway", [sys.executable, "-m", "bench.sms_gateway", str(ports.sms),
                                    server_env["IDP_SMS_GATEWAY_TOKEN"]], env, f"http://127.0.0.1:{ports.sms}/last")
    process = processes.start("idp", gunicorn_argv("wsgi:app", ports.idp, extra), env, issuer + "/healthz")
    say("IdP: first logins (temporary → permanent passwords)")
    sms_url = f"http://127.0.0.1:{ports.sms}/last"
    seeding.first_logins(seed, sms_url)
    rows = IdpPhases(issuer, process.pid, seed, sms_url, load, workdir, profiler, say).run()
    processes.stop("idp")
    processes.stop("sms-gateway")
    return rows


if __name__ == "__main__":
    sys.exit(main())
