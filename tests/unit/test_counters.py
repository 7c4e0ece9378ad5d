"""The throttle counters, on both backends: process memory and a real Redis
(127.0.0.1:6379, as on every machine here and in production)."""

import secrets
import threading

import pytest
import redis

from idp.services.clock import FrozenClock
from idp.services.counters import MemoryCounters
from idp.services.counters import RedisCounters

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory", "redis"])
def counters(request):
    clock = FrozenClock()
    if request.param == "memory":
        yield MemoryCounters(clock), clock
        return
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    store = RedisCounters(client, clock, prefix=f"test:{secrets.token_hex(4)}:")
    yield store, clock
    for key in client.scan_iter(store.prefix + "*"):
        client.delete(key)


def test_hits_count_up_within_the_window(counters):
    store, clock = counters
    assert [store.hit("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.get("k") == (3, 60)
    clock.advance(59)
    assert store.get("k") == (3, 1)


def test_the_window_ends_and_counting_restarts(counters):
    store, clock = counters
    store.hit("k", 60)
    clock.advance(60)
    assert store.get("k") == (0, 0)
    assert store.hit("k", 60) == 1


def test_set_and_reset(counters):
    store, clock = counters
    store.set("lock", 1, 900)
    assert store.get("lock") == (1, 900)
    store.reset("lock")
    assert store.get("lock") == (0, 0)


def test_negative_amount_gives_an_attempt_back(counters):
    store, _ = counters
    store.hit("k", 60)
    store.hit("k", 60)
    assert store.hit("k", 60, amount=-1) == 1


def test_parallel_hits_never_share_a_number(counters):
    store, _ = counters
    seen = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            value = store.hit("race", 60)
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 201))
