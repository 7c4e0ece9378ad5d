"""Client lookups from memory (idp.services.client_cache): a token request
finds its client without a query, and a client changed through one node - or
the CLI, or any code that commits a change - is seen by every other node at
the very next request."""

import base64
import secrets

import pytest
import sqlalchemy as sa

from idp import clients
from idp.extensions import db
from idp.models.client import OAuthClient
from idp.services import get_services
from idp.services.client_cache import CachedClients
from idp.services.client_cache import DatabaseClients
from tests.factories import make_client

REDIS_URL = "redis://127.0.0.1:6379/11"
TOKEN_URL = "/oauth/token"


@pytest.fixture
def nodes(make_app, tmp_path):
    """Two app nodes on one database and one Redis; the issuer (which names
    the deployment's counter in Redis) is this test's own."""
    issuer = f"http://127.0.0.1:{secrets.randbelow(20000) + 20000}"
    node_a = make_app(issuer=issuer, REDIS_URL=REDIS_URL)
    node_b = make_app(issuer=issuer, REDIS_URL=REDIS_URL,
                      SQLALCHEMY_DATABASE_URI=node_a.config["SQLALCHEMY_DATABASE_URI"],
                      KEYS_DIR=node_a.config["KEYS_DIR"])
    with node_a.app_context():
        client, secret = make_client(name="Cached", grant_types=["client_credentials"], scope="profile",
                                     redirect_uris=[])
        client_id = client.client_id
    return node_a, node_b, client_id, secret


def token_status(node, client_id, secret):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with node.app_context():
        response = node.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                           headers={"Authorization": f"Basic {basic}"})
        return response.status_code, response.get_json().get("error")


def client_queries(node, action):
    """How many statements reading ``oauth_clients`` ``action`` made on ``node``."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM oauth_clients" in statement:
            seen.append(statement)

    with node.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def change_on(node, client_id, change):
    with node.app_context():
        client = OAuthClient.query.filter_by(client_id=client_id).one()
        result = change(client)
        db.session.commit()
        return result


def test_with_redis_a_known_client_is_found_without_a_query(nodes):
    node_a, _, client_id, secret = nodes
    with node_a.app_context():
        assert isinstance(get_services().clients, CachedClients)
    assert client_queries(node_a, lambda: token_status(node_a, client_id, secret)) == 1
    assert client_queries(node_a, lambda: token_status(node_a, client_id, secret)) == 0
    assert token_status(node_a, client_id, secret) == (200, None)


def test_a_secret_rotated_on_one_node_is_refused_by_the_other_at_once(nodes):
    node_a, node_b, client_id, old = nodes
    assert token_status(node_a, client_id, old) == (200, None)  # node A keeps the client now
    new = change_on(node_b, client_id, lambda c: clients.rotate_secret(c, grace=0).client_secret)
    assert token_status(node_a, client_id, old) == (401, "invalid_client")
    assert token_status(node_a, client_id, new) == (200, None)


def test_the_grace_period_of_a_rotated_secret_is_decided_at_each_request(nodes, clock):
    node_a, node_b, client_id, old = nodes
    assert token_status(node_a, client_id, old) == (200, None)
    change_on(node_b, client_id, lambda c: clients.rotate_secret(c, grace=60))
    assert token_status(node_a, client_id, old) == (200, None)
    clock.advance(61)  # no change to the client: the cached copy still knows when the grace ends
    assert token_status(node_a, client_id, old) == (401, "invalid_client")


@pytest.mark.parametrize("change", ["disable", "delete", "bulk update"])
def test_a_client_disabled_or_deleted_on_one_node_is_refused_by_the_other_at_once(nodes, change):
    node_a, node_b, client_id, secret = nodes
    assert token_status(node_a, client_id, secret) == (200, None)
    if change == "disable":
        change_on(node_b, client_id, lambda c: clients.set_client_disabled(c, True))
    elif change == "delete":
        change_on(node_b, client_id, clients.delete_client)
    else:  # a bulk UPDATE, with no object in the session, is noticed as well
        with node_b.app_context():
            OAuthClient.query.filter_by(client_id=client_id).update({OAuthClient.disabled: True})
            db.session.commit()
    assert token_status(node_a, client_id, secret) == (401, "invalid_client")


def test_a_change_rolled_back_tells_nobody(nodes):
    node_a, node_b, client_id, secret = nodes
    token_status(node_a, client_id, secret)
    with node_a.app_context():
        cache = get_services().clients
        before = cache.generation()
    with node_b.app_context():
        OAuthClient.query.filter_by(client_id=client_id).one().client_name = "Never saved"
        db.session.flush()
        db.session.rollback()
    with node_a.app_context():
        assert cache.generation() == before
    assert client_queries(node_a, lambda: token_status(node_a, client_id, secret)) == 0


def test_with_redis_unreachable_clients_come_from_the_database(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with app.app_context():
        client, _ = make_client(name="No Redis", grant_types=["client_credentials"], scope="profile",
                                redirect_uris=[])
        cache = get_services().clients
        assert isinstance(cache, CachedClients)
        assert cache.lookup(client.client_id).client_id == client.client_id
        clients.set_client_disabled(client, True)
        db.session.commit()  # the increment fails (logged); the lookup still asks the database
        assert cache.lookup(client.client_id) is None


def test_without_redis_every_lookup_asks_the_database(app):
    client, secret = make_client(name="Plain", grant_types=["client_credentials"], scope="profile",
                                 redirect_uris=[])
    client_id = client.client_id
    assert isinstance(get_services().clients, DatabaseClients)
    assert client_queries(app, lambda: token_status(app, client_id, secret)) == 1
    assert client_queries(app, lambda: token_status(app, client_id, secret)) == 1


def test_a_flood_of_client_ids_does_not_grow_the_cache_without_bound(nodes):
    node_a, _, client_id, secret = nodes
    with node_a.app_context():
        cache = get_services().clients
        cache.MAX_ENTRIES = 3
        for n in range(5):
            make_client(name=f"C{n}", grant_types=["client_credentials"], scope="profile", redirect_uris=[])
        for row in OAuthClient.query.all():
            cache.lookup(row.client_id)
        assert len(cache.entries) <= 3
        unknown = "x" * 40
        assert cache.lookup(unknown) is None and unknown not in cache.entries
