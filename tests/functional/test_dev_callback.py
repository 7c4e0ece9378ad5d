"""The development callback page of the demo relying party."""

import pytest


@pytest.mark.parametrize("state, client_id, verifier", [
    ("demo", "client_id=demo-portal", "code_verifier=demo-verifier-"),
    ("xyz", "client_id=CLIENT_ID", "code_verifier=CODE_VERIFIER"),
], ids=["demo-request", "another-client"])
def test_callback_shows_how_to_exchange_the_code(client, state, client_id, verifier):
    html = client.get(f"/dev/callback?code=abc&state={state}&iss=http://localhost").get_data(as_text=True)
    assert client_id in html and verifier in html and "code=abc" in html


def test_callback_escapes_what_it_shows(client):
    html = client.get("/dev/callback?error=%3Cscript%3E&error_description=x").get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_callback_is_not_there_in_production(make_app):
    app = make_app(ENV="production", SECRET_KEY="s" * 40, SMS_BACKEND="http",
                   SMS_GATEWAY_URL="https://sms.example/send", MAIL_BACKEND="smtp")
    assert app.test_client().get("/dev/callback?code=abc").status_code == 404
