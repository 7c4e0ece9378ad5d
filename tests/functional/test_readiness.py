"""/readyz (issue 12 §5): ready when the database answers, and Redis too when
IDP_REDIS_URL is set; otherwise 503 naming the part that failed, as JSON and
never a traceback, and within IDP_READINESS_TIMEOUT even when a store accepts
the connection and then says nothing."""

import socket
import time

import pytest

from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def silent_server():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def ready(app):
    response = app.test_client().get("/readyz")
    assert response.mimetype == "application/json" and "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_ready_with_the_database(make_app):
    assert ready(make_app()) == (200, {"status": "ok", "database": "ok"})


def test_ready_with_the_database_and_redis(make_app):
    assert ready(make_app(REDIS_URL=REDIS_URL)) == (200, {"status": "ok", "database": "ok", "redis": "ok"})


def test_redis_on_a_closed_port_is_named(make_app, caplog):
    status, body = ready(make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    assert (status, body) == (503, {"status": "unavailable", "database": "ok", "redis": "unreachable"})
    assert "readiness: the redis is unreachable: ConnectionError" in caplog.text


@pytest.mark.parametrize("uri", [
    pytest.param("postgresql+psycopg://postgres@127.0.0.1:{port}/idp", id="postgresql-closed-port"),
    pytest.param("sqlite:////nonexistent-directory/idp.db", id="sqlite-no-such-directory"),
])
def test_a_broken_database_is_named(make_app, uri):
    app = make_app(SQLALCHEMY_DATABASE_URI=uri.format(port=free_port()), SQLALCHEMY_ENGINE_OPTIONS={})
    assert ready(app) == (503, {"status": "unavailable", "database": "unreachable"})


@pytest.mark.parametrize("store", ["database", "redis"])
def test_a_store_that_never_answers_cannot_hang_the_probe(make_app, silent_server, store):
    settings = {"READINESS_TIMEOUT": 0.5}
    if store == "database":
        settings.update(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/idp",
                        SQLALCHEMY_ENGINE_OPTIONS={})
    else:
        settings["REDIS_URL"] = f"redis://127.0.0.1:{silent_server}/0"
    app = make_app(**settings)

    for _ in range(2):  # the second finds the first one's check still waiting, and does not wait again
        started = time.monotonic()
        status, body = ready(app)
        assert time.monotonic() - started < 2
        assert status == 503 and body["status"] == "unavailable" and body[store] == "unreachable"
