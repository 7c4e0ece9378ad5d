"""Services against real local servers (SMTP, HTTP gateway), the development
outbox, health probes, discovery and the JWKS."""

import json
import threading
from email import message_from_bytes
from email import policy
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from idp.extensions import db
from idp.services import get_services
from idp.services.mail import SmtpMailer
from idp.services.sms import DeliveryError
from idp.services.sms import HttpGatewaySmsSender
from tests.conftest import free_port

PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "production-secret-" + "p" * 40,
    "SMS_BACKEND": "http",
    "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
    "MAIL_BACKEND": "smtp",
}

#: DESIGN.md §2, the scopes-and-claims table.
DESIGN_CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
    "name", "preferred_username", "locale",
    "email", "email_verified",
    "phone_number", "phone_number_verified",
    "company", "company_role",
    "permissions",
    "subscriptions",
]
DESIGN_SCOPES = ["openid", "profile", "email", "phone", "company", "permissions", "subscriptions"]
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


# --- development outbox ------------------------------------------------------------
def test_outbox_senders_write_rows_shown_newest_first(app, client, clock):
    services = get_services()
    services.sms.send("+36301234567", "A kódja: 123456\n\n@localhost #123456")
    db.session.commit()
    clock.advance(5)
    services.mailer.send("anna@acme.example", "Jelszó visszaállítása", "Kattintson ide: <a>link</a>")
    db.session.commit()

    response = client.get("/dev/outbox.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    messages = response.get_json()
    assert isinstance(messages, list)
    assert len(messages) == 2
    email, sms = messages
    assert set(email) == {"id", "channel", "to", "subject", "body", "created_at"}
    assert set(sms) == {"id", "channel", "to", "subject", "body", "created_at"}
    assert email["id"] > sms["id"]
    assert email["channel"] == "email"
    assert email["to"] == "anna@acme.example"
    assert email["subject"] == "Jelszó visszaállítása"
    assert email["body"] == "Kattintson ide: <a>link</a>"
    assert sms["channel"] == "sms"
    assert sms["to"] == "+36301234567"
    assert sms["subject"] is None
    assert sms["body"].endswith("@localhost #123456")
    assert sms["created_at"].endswith("Z")
    assert email["created_at"] > sms["created_at"]


def test_outbox_html_lists_messages_escaped(app, client):
    get_services().sms.send("+36301234567", "kód <script>alert(1)</script>")
    get_services().mailer.send("bela@acme.example", "Üdvözöljük", "Szia Béla")
    db.session.commit()

    response = client.get("/dev/outbox")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "+36301234567" in html
    assert "bela@acme.example" in html
    assert "Üdvözöljük" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert html.index("bela@acme.example") < html.index("+36301234567")  # newest first


def test_empty_outbox_is_an_empty_array(app, client):
    response = client.get("/dev/outbox.json")
    assert response.status_code == 200
    assert response.get_json() == []


@pytest.mark.parametrize("path", ["/dev/outbox", "/dev/outbox.json"])
def test_outbox_is_404_in_production(make_app, path):
    app = make_app(issuer="https://login.example.hu", **PRODUCTION)
    with app.app_context():
        from idp.models.outbox import OutboxMessage

        db.session.add(OutboxMessage(channel="sms", to="+36301234567", body="secret code 111111",
                                     created_at=get_services(app).clock.now()))
        db.session.commit()
    response = app.test_client().get(path)
    assert response.status_code == 404
    assert b"111111" not in response.data


# --- SMTP --------------------------------------------------------------------------
class CollectingHandler:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_smtp_mailer_delivers_to_a_real_smtp_server(smtp_server):
    controller, handler = smtp_server
    mailer = SmtpMailer("127.0.0.1", controller.port, "Telekom Belépés <noreply@telekom.example>", timeout=5)

    mailer.send("anna@acme.example", "Jelszó visszaállítása – Telekom", "Szia Anna,\n\nőrző kód: 123456\n")

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "noreply@telekom.example"
    assert envelope.rcpt_tos == ["anna@acme.example"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["To"] == "anna@acme.example"
    assert message["Subject"] == "Jelszó visszaállítása – Telekom"
    assert message["From"].addresses[0].addr_spec == "noreply@telekom.example"
    assert message["Message-ID"].endswith("@telekom.example>")
    assert message.get_content().replace("\r\n", "\n") == "Szia Anna,\n\nőrző kód: 123456\n"


def test_smtp_mailer_from_config_uses_the_mail_settings(smtp_server):
    controller, handler = smtp_server
    mailer = SmtpMailer.from_config({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(controller.port),
                                     "MAIL_FROM": "IdP <idp@example.hu>"}, clock=None)
    mailer.send("x@example.hu", "S", "B")
    assert [e.rcpt_tos for e in handler.envelopes] == [["x@example.hu"]]
    assert handler.envelopes[0].mail_from == "idp@example.hu"


def test_smtp_mailer_against_a_closed_port_raises_delivery_error():
    mailer = SmtpMailer("127.0.0.1", free_port(), "noreply@telekom.example", timeout=2)
    with pytest.raises(DeliveryError):
        mailer.send("anna@acme.example", "S", "B")


# --- HTTP SMS gateway --------------------------------------------------------------
class Gateway:
    """A real HTTP server on a loopback port that records what it is sent."""

    def __init__(self, status=202):
        self.status = status
        self.requests = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append({"path": self.path, "headers": dict(self.headers),
                                         "body": self.rfile.read(length)})
                body = b'{"ok": true}'
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_http_gateway_posts_json_with_bearer_token():
    with Gateway() as gateway:
        sender = HttpGatewaySmsSender(gateway.url, "tok-123", "Telekom", timeout=5)
        sender.send("+36301234567", "A kódja: 123456\n\n@login.example.hu #123456")

    assert len(gateway.requests) == 1
    sent = gateway.requests[0]
    assert sent["path"] == "/v1/sms"
    assert sent["headers"]["Authorization"] == "Bearer tok-123"
    assert sent["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(sent["body"]) == {"to": "+36301234567", "from": "Telekom",
                                        "text": "A kódja: 123456\n\n@login.example.hu #123456"}


def test_http_gateway_from_config():
    with Gateway() as gateway:
        sender = HttpGatewaySmsSender.from_config(
            {"SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_TOKEN": "cfg-token", "SMS_SENDER_NAME": "TKOM"}, None)
        sender.send("+36201234567", "hi")
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer cfg-token"
    assert json.loads(gateway.requests[0]["body"])["from"] == "TKOM"


@pytest.mark.parametrize("status", [500, 401, 400])
def test_http_gateway_error_status_raises_delivery_error(status):
    with Gateway(status=status) as gateway:
        sender = HttpGatewaySmsSender(gateway.url, "tok", "Telekom", timeout=5)
        with pytest.raises(DeliveryError) as caught:
            sender.send("+36301234567", "A kódja: 654321")
    assert len(gateway.requests) == 1
    assert "654321" not in str(caught.value)


def test_http_gateway_unreachable_raises_delivery_error():
    sender = HttpGatewaySmsSender(f"http://127.0.0.1:{free_port()}/sms", "tok", "Telekom", timeout=2)
    with pytest.raises(DeliveryError):
        sender.send("+36301234567", "x")


def test_production_app_uses_the_real_backends(make_app):
    app = make_app(issuer="https://login.example.hu", **PRODUCTION)
    services = get_services(app)
    assert isinstance(services.sms, HttpGatewaySmsSender)
    assert services.sms.url == PRODUCTION["SMS_GATEWAY_URL"]
    assert isinstance(services.mailer, SmtpMailer)


# --- health ------------------------------------------------------------------------
def test_healthz_and_readyz_answer_200(client):
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "database": "ok"}


def test_readyz_is_503_with_json_when_the_database_is_unreachable(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://x@127.0.0.1:1/x",
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}})
    client = app.test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] != "ok"
    assert body["database"] != "ok"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no driver detail to the caller
    # Liveness does not depend on the database, and readiness keeps answering.
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


# --- discovery and JWKS -------------------------------------------------------------
ISSUER = "https://login.example.hu"


@pytest.fixture
def https_client(make_app):
    return make_app(issuer=ISSUER + "/").test_client()


def test_both_well_known_documents_are_identical_and_valid(https_client):
    oidc = https_client.get("/.well-known/openid-configuration")
    oauth = https_client.get("/.well-known/oauth-authorization-server")
    assert oidc.status_code == oauth.status_code == 200
    assert oidc.mimetype == "application/json"
    doc = oidc.get_json()
    assert oauth.get_json() == doc

    OpenIDProviderMetadata(doc).validate()
    AuthorizationServerMetadata(doc).validate()


def test_discovery_lists_the_design_contract(https_client):
    doc = https_client.get("/.well-known/openid-configuration").get_json()

    assert doc["issuer"] == ISSUER
    missing_claims = [c for c in DESIGN_CLAIMS if c not in doc["claims_supported"]]
    assert missing_claims == []
    missing_scopes = [s for s in DESIGN_SCOPES if s not in doc["scopes_supported"]]
    assert missing_scopes == []
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["jwks_uri"] == ISSUER + "/jwks.json"
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                 "revocation_endpoint", "introspection_endpoint"):
        assert doc[name].startswith(ISSUER + "/"), name
    assert "code" in doc["response_types_supported"]
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert "none" not in doc["id_token_signing_alg_values_supported"]


def test_jwks_keys_are_public_signing_keys_with_kid_and_alg(https_client):
    response = https_client.get("/jwks.json")
    assert response.status_code == 200
    keys = response.get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["kid"]
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key), key
    assert len({k["kid"] for k in keys}) == len(keys)


def test_jwks_lists_the_next_key_after_rotation(make_app):
    app = make_app()
    client = app.test_client()
    before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    new = get_services(app).keys.rotate()
    after = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    assert after == before | {e.kid for e in new}
    assert len(after) == 4
