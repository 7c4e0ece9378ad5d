"""The instance config file (``config.toml`` in the instance folder), where
``make run`` records the issuer it serves: read by the real app under
``IDP_CONFIG`` and ``IDP_*``, never by apps built with explicit settings."""

import os

import pytest

from idp import create_app
from idp.config import record_instance_setting
from idp.config import record_issuer
from idp.errors import ConfigurationError


@pytest.fixture(autouse=True)
def installation(tmp_path, monkeypatch):
    """No IDP_* setting of the machine leaks in; the instance folder and keys live in tmp_path."""
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("IDP_KEYS_DIR", str(tmp_path / "keys"))
    return tmp_path / "instance"


def record(installation, issuer):
    record_instance_setting(installation / "config.toml", "ISSUER", issuer)


def test_the_real_app_reads_the_recorded_issuer_and_keeps_its_database_beside_it(installation):
    record(installation, "http://127.0.0.1:8123")
    app = create_app()
    assert app.config["ISSUER"] == "http://127.0.0.1:8123"
    assert app.instance_path == str(installation.resolve())
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{installation.resolve() / 'idp.db'}"


def test_idp_config_and_idp_issuer_override_the_instance_file(installation, tmp_path, monkeypatch):
    record(installation, "http://127.0.0.1:8123")
    record_instance_setting(installation / "config.toml", "SMS_SENDER_NAME", "Instance")
    (tmp_path / "idp.toml").write_text('ISSUER = "https://file.example"\n')
    monkeypatch.setenv("IDP_CONFIG", str(tmp_path / "idp.toml"))
    app = create_app()
    assert app.config["ISSUER"] == "https://file.example"
    assert app.config["SMS_SENDER_NAME"] == "Instance"  # what the file above does not set stays
    monkeypatch.setenv("IDP_ISSUER", "https://env.example")
    assert create_app().config["ISSUER"] == "https://env.example"


def test_an_app_built_with_explicit_settings_ignores_the_instance_file(installation, tmp_path):
    record(installation, "http://127.0.0.1:8123")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}"})
    assert app.config["ISSUER"] == "http://127.0.0.1:5000"


def test_recording_replaces_the_setting_and_keeps_the_other_lines(installation):
    path = installation / "config.toml"
    installation.mkdir()
    path.write_text('# mine\nSMS_SENDER_NAME = "Mine"\nISSUER = "http://127.0.0.1:5000"\n')
    app = create_app()
    assert record_issuer(app, "http://127.0.0.1:8000/") == ("http://127.0.0.1:8000", path.resolve())
    assert path.read_text() == '# mine\nSMS_SENDER_NAME = "Mine"\nISSUER = "http://127.0.0.1:8000"\n'
    assert create_app().config["SMS_SENDER_NAME"] == "Mine"


def test_an_unreadable_instance_file_is_a_configuration_error(installation):
    installation.mkdir()
    (installation / "config.toml").write_text("ISSUER = http://unquoted\n")
    with pytest.raises(ConfigurationError, match="config.toml cannot be read"):
        create_app()
