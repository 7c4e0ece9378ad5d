"""Issue 12 §6: a SIGTERM (a deploy, a scale-down) lets the request in hand finish. The real
thing: ``gunicorn -c gunicorn.conf.py wsgi:app`` on a loopback port, a phone login whose SMS
is on its way to the gateway - a local stand-in that holds the POST until the test lets it
go, so the request is certainly in flight - then SIGTERM to the master. The request ends with
its full answer, its work is committed, and the master exits 0 well within
``graceful_timeout``."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from idp.extensions import db
from idp.models.flow import FlowState
from tests.conftest import free_port
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_phone_line

ROOT = Path(__file__).resolve().parents[2]
PHONE_GRANT = "urn:telekom:oauth:grant-type:phone"


class HeldGateway:
    """An SMS gateway that answers only when released."""

    def __init__(self):
        self.arrived, self.release, self.texts = threading.Event(), threading.Event(), []
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/send"
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def app(self, environ, start_response):
        self.texts.append(Request(environ).get_json()["text"])
        self.arrived.set()
        self.release.wait(15)
        return Response('{"id": "1"}', mimetype="application/json")(environ, start_response)

    def stop(self):
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def gateway():
    held = HeldGateway()
    yield held
    held.stop()


def start_gunicorn(app, gateway, tmp_path):
    port = free_port()
    env = {**os.environ, "IDP_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
           "IDP_KEYS_DIR": app.config["KEYS_DIR"], "IDP_ISSUER": f"http://127.0.0.1:{port}",
           "IDP_INSTANCE_PATH": str(tmp_path / "instance"), "IDP_SMS_BACKEND": "http",
           "IDP_SMS_GATEWAY_URL": gateway.url, "IDP_SMS_GATEWAY_TOKEN": "gateway-token",
           "IDP_PASSWORD_HASH_TIME_COST": "1", "IDP_PASSWORD_HASH_MEMORY_COST": "1024"}
    log = (tmp_path / "gunicorn.log").open("w")
    master = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                               "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return master, base
        except requests.ConnectionError:
            pass
        if master.poll() is not None or time.monotonic() > deadline:
            master.kill()
            pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text())
        time.sleep(0.1)


def test_sigterm_lets_the_request_in_flight_finish_and_the_master_exits_0(app, gateway, tmp_path):
    make_phone_line(make_company(slug="acme"), number="+36201234567")
    client_id = make_client(first_party=True, public=True)[0].client_id
    db.session.remove()
    master, base = start_gunicorn(app, gateway, tmp_path)
    replies = []
    login = threading.Thread(target=lambda: replies.append(requests.post(base + "/oauth/token", data={
        "grant_type": PHONE_GRANT, "phone_number": "201234567", "scope": "openid", "client_id": client_id},
        timeout=30)))
    try:
        login.start()
        assert gateway.arrived.wait(15), "the SMS never reached the gateway"
        master.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert master.poll() is None  # waiting for the worker, whose request is still in hand
        gateway.release.set()
        login.join(15)
        assert master.wait(15) == 0, (tmp_path / "gunicorn.log").read_text()
    finally:
        if master.poll() is None:
            master.kill()
    [reply] = replies
    assert reply.status_code == 400 and reply.json()["error"] == "sms_otp_required", reply.text
    db.session.expire_all()
    flow = db.session.get(FlowState, reply.json()["auth_session"])
    assert flow is not None and flow.otp_challenge_id is not None  # its work was committed
    assert len(gateway.texts) == 1
