"""What the figures were measured on: the machine, the software, the commit."""

import os
import platform
import subprocess
import sys

import psycopg
import redis

from bench.environment import PG_ADMIN_URL
from bench.environment import REDIS_URL
from bench.processes import ROOT


def _run(*argv):
    try:
        completed = subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return (completed.stdout or completed.stderr).strip()


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def postgres_version():
    with psycopg.connect(PG_ADMIN_URL) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def redis_version():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return client.info("server")["redis_version"]
    finally:
        client.close()


def wrk_version():
    """``wrk debian/4.1.0-3+b2 [epoll] Copyright …`` → ``wrk 4.1.0-3+b2``."""
    words = _run("wrk", "--version").split()
    return f"wrk {words[1].split('/')[-1]}" if len(words) > 1 else "wrk"


def describe():
    commit = _run("git", "rev-parse", "--short=12", "HEAD")
    dirty = bool(_run("git", "status", "--porcelain", "--untracked-files=no", "--", "idp", "gunicorn.conf.py",
                      "wsgi.py", "setup.cfg"))
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "node": _run("node", "--version"),
        "wrk": wrk_version(),
        "postgresql": postgres_version(),
        "redis": redis_version(),
        "commit": commit + (" with uncommitted changes to the product" if dirty else ""),
    }
