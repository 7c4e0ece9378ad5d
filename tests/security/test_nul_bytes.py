"""NUL bytes: never a 500 (PostgreSQL refuses them in any string), always a
clear answer - 400 for protocol parameters, a field error on the pages."""

import base64

import pytest

from tests.login_helpers import admin_browser
from tests.login_helpers import post_form
from tests.factories import make_company_with_admin

ADMIN_PHONE = "+36301000009"


@pytest.mark.parametrize("method, path, kwargs", [
    ("post", "/oauth/token", {"data": {"grant_type": "authorization_code", "code": "a\x00b"}}),
    ("post", "/oauth/introspect", {"data": {"token": "t\x00"}}),
    ("post", "/oauth/revoke", {"data": {"token": "t\x00", "client_id": "x"}}),
    ("get", "/oauth/userinfo", {"headers": {"Authorization": "Bearer a\x00b"}}),
    ("get", "/login?interaction=a%00b", {}),
    ("get", "/admin/users?q=%00", {}),
], ids=["token-code", "introspect", "revoke", "userinfo", "login-interaction", "admin-search"])
def test_protocol_and_query_parameters_get_400(client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 400
    if path.startswith("/oauth/"):
        assert response.get_json()["error"] == "invalid_request"


def test_a_client_id_hidden_in_basic_auth_is_just_unknown(client):
    credentials = base64.b64encode(b"id\x00:pw").decode()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": "Basic " + credentials})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_page_fields_say_it_at_the_field(client):
    response = post_form(client, "/login", {"identifier": "admin\x00@acme"})
    assert response.status_code == 200
    assert "Érvénytelen karaktert tartalmaz." in response.get_data(as_text=True)


def test_admin_forms_refuse_it_and_store_nothing(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone=ADMIN_PHONE)
    browser = admin_browser(app, "admin@acme", phone=ADMIN_PHONE)
    from idp.models.company import BusinessUser

    before = BusinessUser.query.count()
    response = post_form(browser, "/admin/users/new", {"username": "bela", "email": "bela\x00@acme.example",
                                                       "phone": "301234570", "display_name": "B\x00"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("Érvénytelen karaktert tartalmaz.") == 2
    assert BusinessUser.query.count() == before
