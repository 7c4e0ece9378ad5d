"""Real production-style servers for the integration tests: gunicorn nodes of ``wsgi:app`` on
loopback ports, a PostgreSQL database of their own, an exclusive Redis database, and the ``idp``
console script run with the nodes' settings.

Several nodes built from one :class:`Installation` share everything a deployment shares (the
database, Redis, the keys directory, the secret key and the issuer), so a test can send one
request to one node and the next to another, as a load balancer would.

Startup is checked, not slept through: a node is ready when every one of its workers has
answered ``/readyz`` (the access log names the worker's pid), and a node that exits early fails
the test with its own log. Nodes run in their own process group, killed at teardown whatever
happened.

To talk to them: :class:`Browser` (one cookie jar, each request to the node the test names) and
:func:`every_worker` (repeat a request until every worker process of a node has answered it).
"""

import fcntl
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import redis
import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
#: The access log line of every request: the worker's pid first. Readiness and ``every_worker``
#: read it (``GunicornNode.workers_since``); given on the command line, it wins over gunicorn.conf.py.
ACCESS_LOG_FORMAT = '%(p)s %(s)s "%(r)s"'
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) ")


class NodeFailed(AssertionError):
    """A node exited or never became ready; the message carries the end of its log."""


def clean_env(**settings):
    """This process's environment without any ``IDP_*`` setting (a developer's or the test
    suite's own, e.g. ``IDP_TEST_DATABASE``) or metrics directory, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IDP_")}
    env.pop("FLASK_APP", None)
    # Each node's own Prometheus directory (gunicorn.conf.py makes one and empties it at start).
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(settings)
    return env


@contextmanager
def postgres_database(prefix="idp_nodes"):
    """A new, empty PostgreSQL database (127.0.0.1:5432, trust auth); its SQLAlchemy URI.
    Dropped at the end, with whatever is still connected to it."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_SERVER + "postgres", isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_SERVER + name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def exclusive_redis(db_number, host="127.0.0.1", port=6379, timeout=300):
    """``redis://`` URL of database ``db_number``, emptied, and held by this process alone.

    The throttle counters have fixed key names (``idp:throttle:pw:id:<identifier>``, per client
    IP ``127.0.0.1``), so two test runs on one machine (two checkouts, two CI jobs) sharing the
    database would count each other's failures and empty it under each other's feet. A file
    lock beside the system's temporary files makes the second run wait for the first."""
    lock_path = Path(tempfile.gettempdir()) / f"idp-tests-redis-{port}-{db_number}.lock"
    with open(lock_path, "w") as lock:
        _wait_for_lock(lock, lock_path, timeout)
        client = redis.Redis(host=host, port=port, db=db_number)
        try:
            client.flushdb()
            yield f"redis://{host}:{port}/{db_number}"
        finally:
            client.flushdb()
            client.close()
            fcntl.flock(lock, fcntl.LOCK_UN)


def _wait_for_lock(lock, path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise AssertionError(f"another test run has held {path} for {timeout}s") from None
            time.sleep(0.1)


def listening_socket():
    """A loopback socket already listening on a port of its own. gunicorn takes it over
    (``--bind fd://N``), so no other process can grab the port between choosing and binding."""
    return socket.create_server(("127.0.0.1", 0), backlog=128)


class Installation:
    """The settings every node and every ``idp`` command of one deployment share."""

    def __init__(self, base, database_uri, redis_url, issuer, **settings):
        self.base = Path(base)
        self.keys_dir = self.base / "keys"
        self.settings = {
            "ENV": "development",
            "ISSUER": issuer,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "REDIS_URL": redis_url,
            "KEYS_DIR": str(self.keys_dir),
            "SMS_BACKEND": "outbox",
            "MAIL_BACKEND": "outbox",
            **settings,
        }

    def env(self, **overrides):
        """The ``IDP_*`` environment of a node or a command (``overrides``: settings of this one)."""
        values = {**self.settings, **overrides}
        # The instance folder too: never the checkout's own instance/config.toml.
        return clean_env(IDP_INSTANCE_PATH=str(self.base / "instance"),
                         **{f"IDP_{name}": str(value) for name, value in values.items()})

    def app(self):
        """An app built in this process with the nodes' settings (to migrate and seed)."""
        from idp import create_app

        return create_app(dict(self.settings))

    def idp(self, *args, timeout=60, **overrides):
        """Run the ``idp`` console script as an operator would on a node; the completed process.
        A non-zero exit fails the test with the command's stderr."""
        result = subprocess.run([str(BIN / "idp"), *args], env=self.env(**overrides), cwd=self.base,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise AssertionError(f"idp {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result


class GunicornNode:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` with ``workers`` sync workers on ``sock``."""

    def __init__(self, name, installation, sock, workers=2):
        self.name = name
        self.installation = installation
        self.sock = sock
        self.workers = workers
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.log_path = installation.base / f"{name}.log"
        self.access_log_path = installation.base / f"{name}.access.log"
        self.process = None

    def __repr__(self):
        return f"<node {self.name} {self.url}>"

    def start(self):
        command = [str(BIN / "gunicorn"), "-c", str(REPO / "gunicorn.conf.py"), "wsgi:app",
                   "--bind", f"fd://{self.sock.fileno()}", "--workers", str(self.workers),
                   "--worker-class", "sync", "--graceful-timeout", "5",
                   "--access-logfile", str(self.access_log_path), "--access-logformat", ACCESS_LOG_FORMAT,
                   "--error-logfile", str(self.log_path)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.installation.env(), cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT, pass_fds=[self.sock.fileno()],
                                            start_new_session=True)
        return self

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def check_alive(self):
        if self.process.poll() is not None:
            raise NodeFailed(f"node {self.name} exited with status {self.process.returncode}:\n{self.log_tail()}")

    def wait_until_ready(self, timeout=30):
        """Until every worker has answered ``/readyz`` with 200. The socket listens from the
        start, so a request to a worker still importing the app would only wait in the queue; and
        a worker that cannot boot shows only in the log. Each round asks once per worker at the
        same instant (as :func:`every_worker` does, for the same reason)."""
        deadline = time.monotonic() + timeout
        mark = self.access_mark()
        with ThreadPoolExecutor(self.workers) as pool:
            while time.monotonic() < deadline:
                self.check_alive()
                list(pool.map(self._probe_readiness, range(self.workers)))
                ready = {pid for pid, status in self._access_lines(mark) if status == "200"}
                if len(ready) >= self.workers:
                    return self
                time.sleep(0.05)
        raise NodeFailed(f"node {self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def _probe_readiness(self, _):
        with suppress(requests.RequestException):
            requests.get(self.url + "/readyz", timeout=2)

    # --- which worker answered ----------------------------------------------------------------
    def access_mark(self):
        """A position in the access log; :meth:`workers_since` counts the requests after it."""
        try:
            return self.access_log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _access_lines(self, mark):
        try:
            with open(self.access_log_path, "rb") as log:
                log.seek(mark)
                lines = log.read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        return [match.groups() for match in map(ACCESS_LINE.match, lines) if match]

    def workers_since(self, mark, requests_made, timeout=5):
        """The pids of the workers that answered the ``requests_made`` requests sent to this node
        since ``mark``. A worker writes its access line just after the response, so the last
        one may still be on its way: wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self._access_lines(mark)
            if len(lines) >= requests_made or time.monotonic() > deadline:
                return {pid for pid, _ in lines}
            time.sleep(0.01)

    # --- teardown -------------------------------------------------------------------------
    def terminate(self):
        """SIGTERM to the node's process group: gunicorn's graceful stop."""
        if self.process is not None:
            self._signal(signal.SIGTERM)

    def stop(self):
        """Wait for the stop :meth:`terminate` began; SIGKILL the group if it lingers (or if the
        master died and left its workers behind)."""
        if self.process is not None:
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            self._signal(signal.SIGKILL)
            self.process.wait(5)
        self.sock.close()

    def _signal(self, number):
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)


@contextmanager
def cluster(base, database_uri, redis_url, names=("a", "b"), workers=2, prepare=None, **settings):
    """Nodes named ``names`` of one installation (``settings``: more of its ``IDP_*`` settings),
    the first one's URL being the issuer of all. ``prepare(installation)`` runs before any node
    starts (migrate, seed). Yields ``(installation, nodes)``; the nodes are stopped at the end,
    whatever happened."""
    sockets = [listening_socket() for _ in names]
    issuer = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    installation = Installation(base, database_uri, redis_url, issuer, **settings)
    nodes = [GunicornNode(name, installation, sock, workers) for name, sock in zip(names, sockets, strict=True)]
    try:
        if prepare is not None:
            prepare(installation)
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_until_ready()
        yield installation, nodes
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.stop()


# --- talking to the nodes ------------------------------------------------------------------------
#: The CSRF token of a form of the login pages (``later-csrf_token``: the account offer's "Később").
CSRF = re.compile(r'<input[^>]*name="((?:later-)?csrf_token)"[^>]*value="([^"]+)"')


def on(node, target, issuer):
    """``target`` (a path, or a URL of the issuer's, as the app writes them) on ``node``."""
    parts = urlsplit(target)
    if parts.netloc:
        assert f"{parts.scheme}://{parts.netloc}" == issuer, target
    return urlunsplit(urlsplit(node.url)[:2] + (parts.path, parts.query, ""))


class Browser:
    """One browser - one cookie jar - whose every request goes to the node the test names, as a
    load balancer without sticky sessions may send it. The app's redirects name the issuer or a
    path; either is sent to the node asked for. Cookies of ``127.0.0.1`` go to every port, as a
    browser sends one site's cookies to every node behind its name. Redirects are not followed."""

    def __init__(self, issuer, timeout=10):
        self.issuer = issuer
        self.timeout = timeout
        self.session = requests.Session()

    def get(self, node, target, **kwargs):
        return self.session.get(on(node, target, self.issuer), allow_redirects=False, timeout=self.timeout,
                                **kwargs)

    def post(self, node, target, data, **kwargs):
        return self.session.post(on(node, target, self.issuer), data=data, allow_redirects=False,
                                 timeout=self.timeout, **kwargs)

    def fill(self, page_node, post_node, target, fields):
        """GET the form on ``page_node``, POST it with that page's CSRF token on ``post_node``."""
        page = self.get(page_node, target)
        assert page.status_code == 200, (page.status_code, page.text[:2000])
        name, token = CSRF.search(page.text).groups()
        return self.post(post_node, target, {name: token, **fields})


def every_worker(node, request, rounds=20):
    """Send ``request(node)`` until every worker process of ``node`` has answered one (the access
    log names them); all the responses, for the test to judge every one.

    One request at a time would not do: a sync worker that has just answered takes the next
    connection before its idle sibling wakes up, so one worker can answer forty in a row. A
    round sends one request per worker at the same instant, and the busy ones leave the rest
    to the others."""
    mark = node.access_mark()
    responses = []
    with ThreadPoolExecutor(node.workers) as pool:
        for _ in range(rounds):
            responses += pool.map(lambda _: request(node), range(node.workers))
            if len(node.workers_since(mark, len(responses))) >= node.workers:
                return responses
    raise AssertionError(f"{len(responses)} requests to {node} did not reach all its {node.workers} workers")
