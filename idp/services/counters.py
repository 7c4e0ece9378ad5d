"""Counters behind the throttles of DESIGN.md §4a: wrong passwords per
identifier and per IP, SMS per principal, per IP and per day, resend cooldowns.

A counter is a fixed window: the first hit starts it, ``hit`` returns the
count atomically (two parallel hits never read the same number), and the
window ends ``window`` seconds after it started. Time comes from the clock
service, so tests move it instead of sleeping. Backends: Redis (shared by all
nodes, production) and process memory (a single development process).
"""

import math
import threading


class MemoryCounters:
    """Counters in this process; atomic under a lock."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._data = {}  # key -> [count, expires_at]

    def hit(self, key, window, amount=1):
        now = self.clock.now().timestamp()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[1] <= now:
                entry = self._data[key] = [0, now + window]
            entry[0] += amount
            return entry[0]

    def get(self, key):
        """``(count, seconds until the window ends)``; ``(0, 0)`` when none."""
        now = self.clock.now().timestamp()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[1] <= now:
                return 0, 0
            return entry[0], math.ceil(entry[1] - now)

    def set(self, key, count, window):
        now = self.clock.now().timestamp()
        with self._lock:
            self._data[key] = [count, now + window]

    def reset(self, key):
        with self._lock:
            self._data.pop(key, None)


class RedisCounters:
    """Counters in Redis. The window's end is stored beside the count (using
    our clock, not Redis's), and Redis expires the keys a little later."""

    SCRIPT = """
    local ends = tonumber(redis.call('HGET', KEYS[1], 'ends') or '0')
    local now = tonumber(ARGV[1])
    if ends <= now then
      redis.call('HSET', KEYS[1], 'count', 0, 'ends', now + tonumber(ARGV[2]))
      redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
    end
    return redis.call('HINCRBY', KEYS[1], 'count', tonumber(ARGV[3]))
    """

    def __init__(self, client, clock, prefix="idp:throttle:"):
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self._hit = client.register_script(self.SCRIPT)

    #: Seconds to connect and to wait for an answer: a Redis that went away (or a network that
    #: drops packets) costs a login at most this, then a 503 (``idp.unavailable``), never a
    #: request hanging for minutes. ``?socket_timeout=…&socket_connect_timeout=…`` in the URL win.
    TIMEOUT = 2

    @classmethod
    def from_url(cls, url, clock):
        import redis

        return cls(redis.Redis.from_url(url, socket_connect_timeout=cls.TIMEOUT, socket_timeout=cls.TIMEOUT), clock)

    def hit(self, key, window, amount=1):
        now = self.clock.now().timestamp()
        return int(self._hit(keys=[self.prefix + key], args=[now, window, amount]))

    def get(self, key):
        now = self.clock.now().timestamp()
        count, ends = self.client.hmget(self.prefix + key, "count", "ends")
        if count is None or ends is None or float(ends) <= now:
            return 0, 0
        return int(count), math.ceil(float(ends) - now)

    def set(self, key, count, window):
        now = self.clock.now().timestamp()
        name = self.prefix + key
        with self.client.pipeline() as pipe:
            pipe.hset(name, mapping={"count": count, "ends": now + window})
            pipe.expire(name, math.ceil(window) + 60)
            pipe.execute()

    def reset(self, key):
        self.client.delete(self.prefix + key)
