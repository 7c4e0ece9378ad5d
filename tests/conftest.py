"""Fixtures: a migrated database per test (a copy of one migrated template, see
``tests/databases.py``), signing keys per test (a copy of one generated set), a frozen clock,
the Flask test client, a live server on a loopback port, and the login seam.

``make test`` runs the suite in parallel (pytest-xdist, one worker per core): each worker has
its own template, PostgreSQL databases and compiled Jinja templates; the browser tests all run
in one worker, with one Chromium (``pytest_xdist_make_scheduler`` below)."""

import os
import secrets
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Blueprint
from flask import redirect
from flask import request
from jinja2 import BytecodeCache
from werkzeug.serving import make_server

from idp import create_app
from idp.extensions import db
from idp.models.principal import find_principal
from idp.flows.result import LoginResult
from idp.oidc.interactions import complete_login
from idp.services import get_services
from idp.services.clock import FrozenClock
from idp.services.keys import KeyStore
from tests.databases import POSTGRES
from tests.databases import POSTGRES_SERVER
from tests.databases import PostgresPool
from tests.databases import postgres as _postgres
from tests.databases import unsynced_sqlite
from tests.login_helpers import Browser
from tests.fakes.facebook import fake_facebook  # noqa: F401

ARTIFACTS = Path(__file__).parent / "artifacts"

test_login = Blueprint("test_login", __name__)


@test_login.route("/test/login")
def login_through_seam():
    """Test-only stand-in for a login page: finishes the paused request as the
    principal named in the query, through the real seam."""
    principal = find_principal(request.args["kind"], request.args["sub"])
    result = LoginResult(principal=principal, amr=tuple(request.args.get("amr", "pwd sms").split()),
                         acr=request.args.get("acr", "urn:telekom:acr:2fa"),
                         auth_time=get_services().clock.timestamp())
    return redirect(complete_login(request.args["interaction"], result))


#: argon2id parameters of the apps ``make_app`` builds: half a millisecond a hash instead of 18 ms,
#: which every app pays at start (its dummy hash) and at every password it sets or checks. A test
#: that passes a ``PASSWORD_HASH_*`` setting, or is marked ``production_password_hash``, gets the
#: production defaults of ``idp/settings.py`` for the others.
FAST_PASSWORD_HASH = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 1024}


class TemplateCode(BytecodeCache):
    """Jinja's compiled templates, shared by the apps of this test process. Each app has its own
    Jinja environment and would parse and compile every template it renders again: a fifth of
    an admin test's time. A bucket carries its source's checksum: an edited template is compiled
    again."""

    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = TemplateCode()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``pytest -n N`` (``make test``) hands the tests out to the workers one at a time, except
    the browser tests: they all go to one worker, which starts Chromium once while the others
    never do; and the tests of one module of ``tests/integration/`` go to one worker, which
    starts that module's gunicorn nodes once. (An ``xdist_group`` mark with ``--dist
    loadgroup`` would say the same, but pytest-xdist 3.8 ignores those marks under pytest 9.2:
    pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetupInOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            if nodeid.startswith("tests/browser/"):
                return "tests/browser/"
            if nodeid.startswith("tests/integration/"):
                return nodeid.split("::", 1)[0]
            return nodeid

    return SharedSetupInOneWorker(config, log)


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory):
    """One migrated database and one key set, copied into every test."""
    base = tmp_path_factory.mktemp("template")
    if POSTGRES:
        name = f"idp_template_{os.getpid()}"
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres(f'CREATE DATABASE "{name}"')
        uri = POSTGRES_SERVER + name
    else:
        uri = f"sqlite:///{base / 'idp.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "KEYS_DIR": str(base / "keys"),
                      "ISSUER": "http://localhost"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    KeyStore(base / "keys", FrozenClock()).ensure()
    yield base
    if POSTGRES:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_pool(template_dir):
    """This test process's ``PostgresPool`` (None on SQLite)."""
    if not POSTGRES:
        yield None
        return
    pool = PostgresPool(f"idp_template_{os.getpid()}")
    yield pool
    pool.close()


def copy_database(template_dir, target):
    """A database of its own: a file copy (SQLite) or a template copy (PostgreSQL, which the
    caller drops). ``make_app`` takes its PostgreSQL databases from ``postgres_pool``."""
    if not POSTGRES:
        shutil.copy(template_dir / "idp.db", target / "idp.db")
        return f"sqlite:///{target / 'idp.db'}", {"connect_args": {"timeout": 15}}
    name = f"idp_test_{os.getpid()}_{secrets.token_hex(4)}"
    _postgres(f'CREATE DATABASE "{name}" TEMPLATE "idp_template_{os.getpid()}"')
    return POSTGRES_SERVER + name, {"pool_pre_ping": True}


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture
def make_app(template_dir, postgres_pool, tmp_path, clock, request):
    """Build an app on its own copy of the migrated database and of the keys."""
    created = []
    databases = []
    fast_hash = request.node.get_closest_marker("production_password_hash") is None

    def factory(issuer="http://localhost", services=None, **config):
        target = tmp_path / f"app{len(created)}"
        target.mkdir()
        if postgres_pool is None:
            uri, engine_options = copy_database(template_dir, target)
        else:
            databases.append(postgres_pool.take())
            uri, engine_options = POSTGRES_SERVER + databases[-1], {"pool_pre_ping": True}
        shutil.copytree(template_dir / "keys", target / "keys")
        settings = {"SQLALCHEMY_DATABASE_URI": uri, "KEYS_DIR": str(target / "keys"), "ISSUER": issuer,
                    "SQLALCHEMY_ENGINE_OPTIONS": engine_options}
        if fast_hash and not any(name.startswith("PASSWORD_HASH_") for name in config):
            settings.update(FAST_PASSWORD_HASH)
        settings.update(config)
        services = {"clock": clock, **(services or {})}
        app = create_app(settings, services=services)
        app.register_blueprint(test_login)
        app.test_client_class = Browser
        app.jinja_env.bytecode_cache = TEMPLATE_CODE
        with app.app_context():
            if db.engine.dialect.name == "sqlite":
                sa.event.listen(db.engine, "connect", unsynced_sqlite)
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for name in databases:
        postgres_pool.give_back(name)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    def __init__(self, app, port, sock=None):
        """Serve ``app`` on ``port``, or on ``sock``, a socket already listening on it."""
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        fd = None if sock is None else sock.fileno()
        self._server = make_server("127.0.0.1", port, app, threaded=True, fd=fd)
        if sock is not None:
            sock.close()  # the server has its own duplicate of it
        # A short poll: ``shutdown()`` waits for the loop to look (0.5 s by default, every test).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(5)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket():
    """A loopback socket listening on a port of its own: unlike ``free_port()``, nobody else
    (another test worker, an outgoing connection) can take the port before the server has it."""
    return socket.create_server(("127.0.0.1", 0))


@pytest.fixture
def live_server(make_app):
    sock = listening_socket()
    port = sock.getsockname()[1]
    app = make_app(issuer=f"http://127.0.0.1:{port}")
    server = LiveServer(app, port, sock).start()  # connections wait in the listen backlog
    with app.app_context():
        yield server
    server.stop()


def interaction_from(location):
    """The interaction id of a redirect to a login page."""
    return parse_qs(urlsplit(location).query)["interaction"][0]


def login_url(location, principal, amr="pwd sms", acr="urn:telekom:acr:2fa"):
    """Where a test browser goes to finish the login the authorize endpoint asked for."""
    from urllib.parse import urlencode

    return "/test/login?" + urlencode({"interaction": interaction_from(location), "kind": principal.kind,
                                       "sub": principal.sub, "amr": amr, "acr": acr})
