"""Client lookups from memory, seen changed by every node at once.

A token request looks its client up before anything else; through the ORM that
was a quarter of its time (issue 12). Clients change rarely - a developer edits
one, an operator disables one - and a change must be seen at once by every node
and worker: an old secret or a disabled client must not keep working anywhere.

So each process keeps the clients it has loaded, tagged with a *generation*: a
counter in Redis that every committed change of a client increases (an
SQLAlchemy ``after_commit`` hook, so no code path that changes a client can
forget it). A lookup reads the counter (one Redis GET) and uses its copy only
when it was loaded under the same generation. The counter is read before the
database is, so a change committed in between makes the copy stale at once.

Without Redis there is nothing every process can see, so there is no cache and
every lookup goes to the database - correct on any number of nodes, only
slower. Should Redis fail, lookups fall back to the database too; a copy older
than ``MAX_AGE`` is never used, which bounds how long a change whose increment
Redis missed can go unseen.
"""

import logging
import time

import redis
from flask import current_app
from flask import has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import make_transient_to_detached

from idp.extensions import db
from idp.models.client import OAuthClient

log = logging.getLogger(__name__)

GENERATION_KEY = "idp:clients:generation:"  # + the issuer: the nodes of one deployment share it
CHANGED = "idp_clients_changed"  # flag in Session.info: this transaction changed a client


def load_client(client_id):
    """The enabled client ``client_id`` from the database (None if unknown or disabled)."""
    return OAuthClient.query.filter_by(client_id=client_id, disabled=False).one_or_none()


class DatabaseClients:
    """No cache: every lookup asks the database (no Redis configured)."""

    def lookup(self, client_id):
        return load_client(client_id)

    def changed(self):
        """Nothing to tell anyone: every process reads the database."""


class CachedClients:
    """Clients kept per process, valid while Redis's generation is unchanged."""

    MAX_AGE = 60.0  # seconds; the backstop should Redis miss an increment
    MAX_ENTRIES = 4096  # a flood of distinct valid ids empties the cache instead of growing it

    def __init__(self, redis_client, issuer):
        self.redis = redis_client
        self.key = GENERATION_KEY + issuer
        self.entries = {}  # client_id -> (generation, loaded at, detached OAuthClient)

    @classmethod
    def from_url(cls, url, issuer):
        return cls(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1), issuer)

    def generation(self):
        try:
            return int(self.redis.get(self.key) or 0)
        except (RedisError, OSError) as error:
            log.warning("client cache: Redis unreachable (%s); reading clients from the database", error)
            return None

    def lookup(self, client_id):
        generation = self.generation()
        if generation is None:
            return load_client(client_id)
        entry = self.entries.get(client_id)
        if entry is not None and entry[0] == generation and time.monotonic() - entry[1] < self.MAX_AGE:
            # A session-local copy marked loaded and clean: no query, and a change made to it is
            # flushed like any loaded object's (SQLAlchemy's pattern for cached objects).
            return db.session.merge(entry[2], load=False)
        client = load_client(client_id)
        if client is None:
            self.entries.pop(client_id, None)
            return None
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        kept = OAuthClient(**{column.key: getattr(client, column.key) for column in OAuthClient.__table__.columns})
        make_transient_to_detached(kept)  # a copy of the loaded row, in no session: merge() takes it as is
        self.entries[client_id] = (generation, time.monotonic(), kept)
        return client

    def changed(self):
        """A client changed (committed): every process's copies are stale."""
        self.entries.clear()
        try:
            self.redis.incr(self.key)
        except (RedisError, OSError) as error:  # MAX_AGE bounds how long the others miss it
            log.error("client cache: could not tell the other nodes that a client changed (%s); "
                      "their copies expire within %d s", error, self.MAX_AGE)


def client_lookup_from_config(config):
    url = config.get("REDIS_URL")
    return CachedClients.from_url(url, config["ISSUER"]) if url else DatabaseClients()


# --- noticing every change of a client ------------------------------------------------------------
def _touches_clients(instances):
    return any(isinstance(instance, OAuthClient) for instance in instances)


@event.listens_for(Session, "before_flush")
def _note_changed_clients(session, _flush_context, _instances):
    if _touches_clients(session.new) or _touches_clients(session.dirty) or _touches_clients(session.deleted):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state):
    if (state.is_update or state.is_delete) and any(m.class_ is OAuthClient for m in state.all_mappers):
        state.session.info[CHANGED] = True


@event.listens_for(Session, "after_commit")
def _announce_changed_clients(session):
    if session.info.pop(CHANGED, False) and has_app_context():
        current_app.extensions["idp"].clients.changed()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_changes(session):
    session.info.pop(CHANGED, None)
