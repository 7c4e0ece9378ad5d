"""Outages the failure tests cause on purpose, for real: a Redis server of their own that they
stop and start again on the same port, and a PostgreSQL database that stops taking
connections and then takes them again (issue 12 §3, §6)."""

import secrets
import shutil
import subprocess
import time

import pytest
import redis
import sqlalchemy as sa

from tests.databases import POSTGRES_SERVER
from tests.databases import postgres


class RedisServer:
    """``redis-server`` on a loopback port, without persistence (``--save ''``): a restart
    forgets every counter, as a Redis without a disk would."""

    def __init__(self, port):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    @staticmethod
    def binary():
        found = shutil.which("redis-server")
        if found is None:
            pytest.skip("redis-server is not installed (make redis installs it)")
        return found

    def start(self):
        self.process = subprocess.Popen(
            [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def postgres_reachable():
    engine = sa.create_engine(POSTGRES_SERVER + "postgres", poolclass=sa.pool.NullPool,
                              connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def new_postgres_database(template=None):
    """A database of its own (a copy of ``template`` when given); its name and URI."""
    name = f"idp_outage_{secrets.token_hex(4)}"
    postgres(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name, POSTGRES_SERVER + name


def refuse_connections(name):
    """The database goes away for its clients: no new connection is accepted and the open
    ones are cut, as when the server restarts or a failover is under way."""
    postgres(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    postgres(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


def accept_connections(name):
    postgres(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def drop_database(name):
    accept_connections(name)
    postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
