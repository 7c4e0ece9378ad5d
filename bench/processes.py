"""Starting and ending the servers of a run: gunicorn (the IdP, the bare Flask
app), Node (oidc-provider) and the SMS gateway stub.

Each starts in a process group of its own and is registered here, so that
:meth:`Processes.stop_all` ends exactly what this run started - on success, on a
failure and on Ctrl-C alike (``bench.run`` calls it from ``finally``).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class StartError(RuntimeError):
    pass


class Processes:
    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.running = {}

    def start(self, name, argv, env, ready_url, cwd=ROOT, timeout=30):
        """Start ``argv``; return its Popen once ``ready_url`` answers (any HTTP status)."""
        with open(self.logdir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.running[name] = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StartError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            try:
                requests.get(ready_url, timeout=1)
                return process
            except requests.RequestException:
                time.sleep(0.1)
        raise StartError(f"{name} did not answer {ready_url} within {timeout} s:\n{self.log_tail(name)}")

    def stop(self, name, grace=10):
        """SIGTERM to the process group (gunicorn's graceful stop), SIGKILL after ``grace`` seconds."""
        process = self.running.pop(name, None)
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self):
        for name in list(self.running):
            self.stop(name)

    def log_path(self, name):
        return self.logdir / f"{name}.log"

    def log_tail(self, name, lines=30):
        path = self.log_path(name)
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def gunicorn_argv(app, port, extra_args):
    """The project's production command (``gunicorn -c gunicorn.conf.py wsgi:app``) on a loopback port."""
    return [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
            *extra_args, app]


def gunicorn_settings(extra_args, env):
    """Workers, worker class and threads that gunicorn will use, as gunicorn itself resolves
    them: ``gunicorn.conf.py``, then ``GUNICORN_CMD_ARGS``, then the command line."""
    code = ("import json, sys\n"
            "from gunicorn.app.wsgiapp import WSGIApplication\n"
            "sys.argv = ['gunicorn', *json.loads(sys.argv[1])]\n"
            "cfg = WSGIApplication().cfg\n"
            "print(json.dumps({'workers': cfg.workers, 'worker_class': cfg.worker_class_str,"
            " 'threads': cfg.threads, 'timeout': cfg.timeout, 'keepalive': cfg.keepalive}))\n")
    argv = ["-c", str(ROOT / "gunicorn.conf.py"), *extra_args, "wsgi:app"]
    output = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])
