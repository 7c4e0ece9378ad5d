"""The real ``idp`` console script (and ``flask --app wsgi``, gunicorn) as
subprocesses, against a SQLite file and a keys directory of their own."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from idp import create_app
from idp.extensions import db

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IDP = str(BIN / "idp")


def clean_env(**settings):
    """The test process's environment without any IDP_* setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.pop("FLASK_APP", None)
    env.update(settings)
    return env


class Installation:
    """One database file, keys directory and instance folder, shared by the
    commands of a test module (never the checkout's own ``instance/``)."""

    def __init__(self, base):
        self.base = base
        self.db_path = base / "idp.db"
        self.keys_dir = base / "keys"
        self.instance = base / "instance"
        self.env = clean_env(IDP_SQLALCHEMY_DATABASE_URI=f"sqlite:///{self.db_path}",
                             IDP_KEYS_DIR=str(self.keys_dir), IDP_INSTANCE_PATH=str(self.instance))

    def run(self, *args, env=None, cwd=None, timeout=60):
        return subprocess.run([IDP, *args], env=env or self.env, cwd=cwd or self.base,
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *args):
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result

    def query(self, sql, *params):
        with sqlite3.connect(self.db_path) as connection:
            return connection.execute(sql, params).fetchall()

    def app(self):
        """An app built with the same settings the commands use."""
        return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.db_path}",
                           "KEYS_DIR": str(self.keys_dir)})


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    installation = Installation(tmp_path_factory.mktemp("cli"))
    result = installation.run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    tables = {name for (name,) in installation.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"oauth_clients", "outbox_messages", "alembic_version"} <= tables
    return installation


def one_line_error(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_client_create_json_prints_one_document_and_stores_only_a_hash(install):
    result = install.ok("client", "create", "--json", "--name", "Számlázó RP",
                        "--redirect-uri", "https://rp.example/cb")

    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert document["client_name"] == "Számlázó RP"
    assert document["client_id"]
    secret = document["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert document["redirect_uris"] == ["https://rp.example/cb"]
    assert document["token_endpoint_auth_method"] == "client_secret_basic"
    assert document["grant_types"] == ["authorization_code", "refresh_token"]

    rows = install.query("SELECT * FROM oauth_clients WHERE client_id = ?", document["client_id"])
    assert len(rows) == 1
    (stored_hash, method), = install.query(
        "SELECT client_secret_hash, token_endpoint_auth_method FROM oauth_clients WHERE client_id = ?",
        document["client_id"])
    assert stored_hash and stored_hash != secret
    assert not any(secret in str(column) for column in rows[0])
    assert method == "client_secret_basic"


def test_client_create_public_has_no_secret(install):
    result = install.ok("client", "create", "--json", "--public", "--name", "Mobil app",
                        "--redirect-uri", "https://app.example/cb")
    document = json.loads(result.stdout)
    assert document["client_secret"] is None
    assert document["token_endpoint_auth_method"] == "none"
    (stored_hash, method), = install.query(
        "SELECT client_secret_hash, token_endpoint_auth_method FROM oauth_clients WHERE client_id = ?",
        document["client_id"])
    assert stored_hash is None
    assert method == "none"


@pytest.mark.parametrize("uri", [
    pytest.param("http://evil.example/cb", id="plain-http"),
    pytest.param("https://rp.example/cb#fragment", id="fragment"),
])
def test_client_create_with_invalid_redirect_uri_fails_cleanly(install, uri):
    name = f"Rejected {uri}"
    result = install.run("client", "create", "--json", "--name", name, "--redirect-uri", uri)

    line = one_line_error(result, uri)
    assert line.startswith("idp:")
    assert json.loads(result.stdout) == {"error": line.removeprefix("idp: ")}  # --json: the error is JSON too
    assert install.query("SELECT COUNT(*) FROM oauth_clients WHERE client_name = ?", name) == [(0,)]


def test_keys_rotate_json_and_jwks_lists_old_and_new(install):
    app = install.app()
    client = app.test_client()
    try:
        before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
        assert len(before) == 2

        result = install.ok("keys", "rotate", "--json")

        rotated = json.loads(result.stdout)
        assert sorted(k["alg"] for k in rotated) == ["ES256", "RS256"]
        new = {k["kid"] for k in rotated}
        assert not new & before
        assert all(k["activates_at"].endswith("Z") for k in rotated)
        after = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
        assert after == before | new
        for kid in new:
            assert (install.keys_dir / f"{kid}.pem").stat().st_mode & 0o077 == 0
    finally:
        with app.app_context():
            db.engine.dispose()


def test_outbox_json_prints_an_array_of_messages(install):
    app = install.app()
    with app.app_context():
        from idp.services import get_services

        get_services().sms.send("+36301234567", "CLI outbox kód 424242")
        db.session.commit()
        db.engine.dispose()

    result = install.ok("outbox", "--json")

    messages = json.loads(result.stdout)
    assert isinstance(messages, list)
    assert messages[0]["channel"] == "sms"
    assert messages[0]["to"] == "+36301234567"
    assert messages[0]["body"] == "CLI outbox kód 424242"
    assert set(messages[0]) == {"id", "channel", "to", "subject", "body", "created_at"}


def test_demo_twice_is_idempotent(install):
    first = json.loads(install.ok("demo", "--json").stdout)
    second = install.ok("demo")
    assert first["client"]["client_id"] in second.stdout
    assert install.query("SELECT COUNT(*) FROM oauth_clients WHERE client_id = ?",
                         first["client"]["client_id"]) == [(1,)]
    assert install.query("SELECT COUNT(*) FROM oauth_clients WHERE client_name LIKE 'Demo%'") == [(1,)]
    assert first["authorize_url"].startswith(first["issuer"] + "/oauth/authorize?")


def test_help_lists_every_group_once(install):
    result = install.ok("--help")
    commands = result.stdout.split("Commands:")[1].split()
    names = [word for word in commands if word in ("idp", "client", "company", "user", "phone", "keys", "db")]
    assert sorted(names) == ["client", "company", "db", "keys", "phone", "user"]  # no `idp idp` group
    assert install.run("idp", "client", "list").returncode != 0


def test_an_unmigrated_database_is_one_error_not_a_traceback(tmp_path):
    result = Installation(tmp_path).run("client", "list", "--json")
    line = one_line_error(result, "idp db upgrade")
    assert json.loads(result.stdout) == {"error": line.removeprefix("idp: ")}


# --- one issuer for the server, the CLI, emails and the demo ----------------------------------------
def test_the_recorded_issuer_reaches_emails_demo_and_every_command(tmp_path):
    """`make run` records the issuer it serves (`idp issuer URL`) in the instance
    config file; a later `idp` in another shell, without any IDP_ISSUER, uses it."""
    install = Installation(tmp_path)
    install.ok("db", "upgrade")
    recorded = json.loads(install.ok("issuer", "http://127.0.0.1:8123/", "--json").stdout)
    assert recorded == {"issuer": "http://127.0.0.1:8123", "recorded": "http://127.0.0.1:8123",
                        "instance_config": str(install.instance / "config.toml")}
    assert 'ISSUER = "http://127.0.0.1:8123"' in (install.instance / "config.toml").read_text()

    install.ok("company", "create", "acme", "--name", "Acme Kft.", "--admin-email", "boss@acme.example",
               "--admin-phone", "301234567")
    demo = json.loads(install.ok("demo", "--json").stdout)

    [(body,)] = install.query("SELECT body FROM outbox_messages WHERE \"to\" = 'boss@acme.example'")
    assert "Belépés: http://127.0.0.1:8123/login" in body
    assert demo["issuer"] == "http://127.0.0.1:8123"
    assert demo["client"]["redirect_uri"] == "http://127.0.0.1:8123/dev/callback"
    assert demo["authorize_url"].startswith("http://127.0.0.1:8123/oauth/authorize?")
    [(uris,)] = install.query("SELECT redirect_uris FROM oauth_clients WHERE client_id = 'demo-portal'")
    assert json.loads(uris) == ["http://127.0.0.1:8123/dev/callback"]
    assert install.ok("issuer").stdout == "http://127.0.0.1:8123\n"


def test_idp_issuer_in_the_environment_overrides_the_recorded_one(tmp_path):
    install = Installation(tmp_path)
    result = install.run("issuer", "http://127.0.0.1:8123",
                         env={**install.env, "IDP_ISSUER": "https://login.example.hu"})
    assert result.returncode == 0, result.stderr
    assert "the issuer in effect is https://login.example.hu" in result.stdout
    assert install.ok("issuer").stdout == "http://127.0.0.1:8123\n"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "http://127.0.0.1:8000/?q=1", "not a url"])
def test_idp_issuer_refuses_what_is_not_an_issuer(tmp_path, url):
    install = Installation(tmp_path)
    result = install.run("issuer", url, "--json")
    one_line_error(result, "The issuer must be an absolute http(s) URL", url)
    assert "error" in json.loads(result.stdout)
    assert not (install.instance / "config.toml").exists()


# --- production refuses the development secret ---------------------------------------
def run_until_exit(command, env, cwd, timeout=20):
    """Run ``command`` in its own process group; a hang is a failure, not a stuck test."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{command[0]} did not exit within {timeout}s:\n{stderr[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("command", "where"), [
    pytest.param([IDP, "client", "create", "--name", "X", "--redirect-uri", "https://rp.example/cb"], "tmp",
                 id="idp-cli"),
    pytest.param([str(BIN / "flask"), "--app", "wsgi", "idp", "outbox"], "repo", id="flask-cli"),
    pytest.param([str(BIN / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "2", "wsgi:app"], "repo",
                 id="gunicorn"),
    pytest.param([str(BIN / "gunicorn"), "--chdir", str(REPO), "--bind", "127.0.0.1:0", "wsgi:app"], "tmp",
                 id="gunicorn-without-project-config"),
])
def test_production_with_development_secret_exits_with_one_line(tmp_path, command, where):
    env = clean_env(IDP_ENV="production", IDP_ISSUER="https://login.example.hu",
                    IDP_SMS_BACKEND="http", IDP_SMS_GATEWAY_URL="https://sms.example/send",
                    IDP_MAIL_BACKEND="smtp",
                    IDP_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'idp.db'}",
                    IDP_KEYS_DIR=str(tmp_path / "keys"))

    result = run_until_exit(command, env, REPO if where == "repo" else tmp_path)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    mentions = [line for line in output.splitlines() if "IDP_SECRET_KEY" in line]
    assert len(mentions) == 1, output
    if "gunicorn" not in command[0]:
        one_line_error(result, "IDP_SECRET_KEY")
        assert result.stdout == ""
    assert not (tmp_path / "keys").exists()
