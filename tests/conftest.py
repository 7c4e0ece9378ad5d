"""Fixtures: a migrated database per test (a copy of one migrated template),
signing keys per test (a copy of one generated set), a frozen clock, the
Flask test client, a live server on a loopback port, and the login seam."""

import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Blueprint
from flask import redirect
from flask import request
from werkzeug.serving import make_server

from idp import create_app
from idp.extensions import db
from idp.models.principal import find_principal
from idp.flows.result import LoginResult
from idp.oidc.interactions import complete_login
from idp.services import get_services
from idp.services.clock import FrozenClock
from idp.services.keys import KeyStore
from tests.fakes.facebook import fake_facebook  # noqa: F401
from tests.login_helpers import Browser

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


#: ``IDP_TEST_DATABASE=postgresql`` runs the suite on PostgreSQL (127.0.0.1:5432):
#: one migrated template database, and a fresh copy of it for every test.
POSTGRES = os.environ.get("IDP_TEST_DATABASE") == "postgresql"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def _postgres(statement):
    engine = sa.create_engine(POSTGRES_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


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


def copy_database(template_dir, target):
    """This test's own database: a file copy (SQLite) or a template copy (PostgreSQL)."""
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
def make_app(template_dir, tmp_path, clock):
    """Build an app on this test's copy of the database and keys."""
    created = []

    def factory(issuer="http://localhost", services=None, **config):
        target = tmp_path / f"app{len(created)}"
        target.mkdir()
        uri, engine_options = copy_database(template_dir, target)
        shutil.copytree(template_dir / "keys", target / "keys")
        settings = {"SQLALCHEMY_DATABASE_URI": uri, "KEYS_DIR": str(target / "keys"), "ISSUER": issuer,
                    "SQLALCHEMY_ENGINE_OPTIONS": engine_options}
        settings.update(config)
        services = {"clock": clock, **(services or {})}
        app = create_app(settings, services=services)
        app.register_blueprint(test_login)
        app.test_client_class = Browser
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            url = db.engine.url
            db.session.remove()
            db.engine.dispose()
        if POSTGRES:
            _postgres(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    def __init__(self, app, port):
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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


@pytest.fixture
def live_server(make_app):
    port = free_port()
    app = make_app(issuer=f"http://127.0.0.1:{port}")
    server = LiveServer(app, port).start()
    time.sleep(0.05)
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
