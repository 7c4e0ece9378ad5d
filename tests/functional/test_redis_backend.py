"""With IDP_REDIS_URL set, both the throttle counters and Flask-Limiter keep
their state in Redis, so every app node sees the same limits."""

import redis

from idp.services.counters import RedisCounters
from tests.login_helpers import post_form

REDIS_URL = "redis://127.0.0.1:6379/14"


def test_two_app_nodes_share_the_limits(make_app):
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = {"REDIS_URL": REDIS_URL, "IP_PASSWORD_FAILURES_PER_HOUR": 2, "PASSWORD_DELAY_AFTER": 100}
    node_a, node_b = make_app(**settings), make_app(**settings)
    for node in (node_a, node_b):
        with node.app_context():
            from idp.companies import create_company
            from idp.services import get_services

            assert isinstance(get_services().counters, RedisCounters)
            create_company("acme", "Acme Kft.", "boss@acme.example", "301234567")
    statuses = []
    for node in (node_a, node_b, node_a):
        with node.app_context():
            client = node.test_client()
            response = post_form(client, "/login", {"identifier": "admin@acme"})
            response = post_form(client, response.headers["Location"], {"password": "not the password"})
            statuses.append(response.status_code)
    # Two failures from this IP on two different nodes: the third is refused.
    assert statuses == [200, 200, 429]
    keys = redis.Redis.from_url(REDIS_URL).keys("*")
    assert any(b"password-failures-ip" in k for k in keys)
    assert any(k.startswith(b"idp:throttle:pw:id:admin@acme") for k in keys)
    redis.Redis.from_url(REDIS_URL).flushdb()
