"""Each process's connection pool (issue 12 §2): ``pool_pre_ping`` always, the ``IDP_DB_POOL_*``
sizes for a database server, and ``IDP_SQLALCHEMY_ENGINE_OPTIONS`` winning where it names a key."""

import os

import pytest
from flask import Flask

from idp.config import load_config
from idp.errors import ConfigurationError

POSTGRES_URI = "postgresql+psycopg://idp@db/idp"
DEFAULT_POOL = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5, "pool_timeout": 10, "pool_recycle": 1800}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)


def engine_options(tmp_path, **overrides):
    app = Flask("idp")
    load_config(app, {"KEYS_DIR": str(tmp_path / "keys"), **overrides})
    return app.config["SQLALCHEMY_ENGINE_OPTIONS"]


@pytest.mark.parametrize("environment,overrides,expected", [
    pytest.param({}, {}, DEFAULT_POOL, id="defaults"),
    pytest.param({"IDP_DB_POOL_SIZE": "2", "IDP_DB_MAX_OVERFLOW": "0", "IDP_DB_POOL_TIMEOUT": "3",
                  "IDP_DB_POOL_RECYCLE": "600"}, {},
                 {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 0, "pool_timeout": 3, "pool_recycle": 600},
                 id="IDP_DB_POOL_*"),
    pytest.param({"IDP_SQLALCHEMY_ENGINE_OPTIONS": '{"pool_size": 20, "echo": false}'}, {},
                 {**DEFAULT_POOL, "pool_size": 20, "echo": False}, id="engine options as JSON win"),
    pytest.param({}, {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}}},
                 {**DEFAULT_POOL, "connect_args": {"connect_timeout": 3}}, id="pre-ping kept beside other options"),
])
def test_a_database_server_gets_a_sized_pool(monkeypatch, tmp_path, environment, overrides, expected):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert engine_options(tmp_path, SQLALCHEMY_DATABASE_URI=POSTGRES_URI, **overrides) == expected


def test_sqlite_keeps_sqlalchemys_own_pool(tmp_path):
    assert engine_options(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'idp.db'}") == {
        "pool_pre_ping": True}


def test_the_defaults_are_never_changed_in_place(tmp_path):
    from idp import settings

    engine_options(tmp_path, SQLALCHEMY_DATABASE_URI=POSTGRES_URI)
    assert settings.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}


def test_a_database_uri_that_is_not_one_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="IDP_SQLALCHEMY_DATABASE_URI"):
        engine_options(tmp_path, SQLALCHEMY_DATABASE_URI="not a url")
