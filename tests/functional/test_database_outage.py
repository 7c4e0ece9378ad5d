"""Issue 12 §6: while the database is unreachable a node answers 503 - a short page for people,
OAuth ``temporarily_unavailable`` for programs, ``Retry-After`` on both, never a traceback - and
when the database is back the same node (same app, same connection pool) serves again without
a restart. Tested against a PostgreSQL database of the test's own that stops taking
connections (its open ones cut) and then takes them again."""

import os
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from flask_migrate import upgrade

from idp.extensions import db
from tests.databases import POSTGRES
from tests.factories import make_client
from tests.factories import make_login_user
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import token_request
from tests.oauth_helpers import tokens_for
from tests.outages import accept_connections
from tests.outages import drop_database
from tests.outages import new_postgres_database
from tests.outages import postgres_reachable
from tests.outages import refuse_connections


@pytest.fixture
def outage_app(make_app):
    """An app on a PostgreSQL database of its own (migrated), and that database's name."""
    if not postgres_reachable():
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432")
    name, uri = new_postgres_database(f"idp_template_{os.getpid()}" if POSTGRES else None)
    try:
        app = make_app(SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS={})
        with app.app_context():
            if not POSTGRES:  # no migrated PostgreSQL template in this run: migrate it here
                upgrade()
            yield app, name
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)


def ids_of(client):
    return SimpleNamespace(client_id=client.client_id)


def calls(browser, rp, service, service_secret, access_token):
    """A page (the authorization endpoint), the token endpoint and userinfo."""
    params, _ = authorize_params(rp)
    page = browser.get("/oauth/authorize?" + urlencode(params))
    token = token_request(browser, service, service_secret, {"grant_type": "client_credentials"})
    info = browser.get("/oauth/userinfo", headers={"Authorization": "Bearer " + access_token})
    return page, token, info


def test_a_node_answers_503_while_its_database_is_away_and_serves_again_when_it_is_back(outage_app):
    app, name = outage_app
    rp, rp_secret = make_client(first_party=True)
    service, service_secret = make_client(name="Számla", grant_types=["client_credentials"], redirect_uris=[])
    anna = make_login_user(username="anna")
    sub = anna.sub
    browser = app.test_client()
    access_token = tokens_for(browser, rp, rp_secret, anna)["access_token"]
    rp, service = ids_of(rp), ids_of(service)  # the rows cannot be read while the database is away
    engine, pool = db.engine, db.engine.pool

    refuse_connections(name)
    page, token, info = calls(browser, rp, service, service_secret, access_token)
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "A szolgáltatás átmenetileg nem érhető el" in page.get_data(as_text=True)
    for response in (token, info):
        assert response.status_code == 503 and response.mimetype == "application/json"
        assert response.get_json()["error"] == "temporarily_unavailable"
        assert response.headers["Cache-Control"] == "no-store"
    for response in (page, token, info):
        assert response.headers["Retry-After"] == "5"
        assert "Traceback" not in response.get_data(as_text=True)
    english = browser.get("/oauth/authorize?" + urlencode(authorize_params(rp)[0]),
                          headers={"Accept-Language": "en"})
    assert english.status_code == 503
    assert "The service is temporarily unavailable" in english.get_data(as_text=True)

    accept_connections(name)
    page, token, info = calls(browser, rp, service, service_secret, access_token)
    assert page.status_code == 302 and "code=" in page.headers["Location"]  # anna is still logged in
    assert token.status_code == 200 and token.get_json()["access_token"]
    assert info.status_code == 200 and info.get_json()["sub"] == sub
    assert db.engine is engine and db.engine.pool is pool  # the same node, no restart


def test_connections_the_server_cut_are_replaced_before_the_next_request_uses_them(outage_app):
    """Connections the server dropped while the pool kept them (a restart, a failover, an idle
    cut): ``pool_pre_ping`` notices and opens new ones, so no request sees the dead ones."""
    app, name = outage_app
    service, service_secret = make_client(name="Számla", grant_types=["client_credentials"], redirect_uris=[])
    browser = app.test_client()
    data = {"grant_type": "client_credentials"}
    assert token_request(browser, service, service_secret, data).status_code == 200
    refuse_connections(name)
    accept_connections(name)  # the open connections are gone, the database is back
    assert token_request(browser, service, service_secret, data).status_code == 200
