"""What every journey shares: its server-side state row, its steps and
allowed transitions, and the context it runs in.

A journey knows nothing of HTTP, pages or OAuth. Its context carries the
services, the settings, the client IP and a *binding*: the browser
(``browser:<id>``) or the OAuth client (``client:<client_id>``) that started it
and alone may continue it. ``return_to`` is the channel's note of where to go
when the journey ends; the journey stores it and never reads it.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from sqlalchemy.orm.attributes import set_committed_value

from idp.errors import IdpError
from idp.extensions import db
from idp.models.flow import FlowState


class FlowError(IdpError):
    """The flow cannot go on: unknown, expired, bound elsewhere, or out of order."""

    message = _l("A belépési folyamat lejárt vagy érvénytelen. Kérjük, kezdje újra.")


def browser_binding(browser_id):
    return f"browser:{browser_id}"


def client_binding(client_id):
    return f"client:{client_id}"


@dataclass
class FlowContext:
    services: object
    config: dict
    ip: str
    binding: str

    @property
    def clock(self):
        return self.services.clock


class Flow:
    KIND = ""
    #: step -> the steps it may move to
    TRANSITIONS: dict = {}

    def __init__(self, state: FlowState, ctx: FlowContext):
        self.state = state
        self.ctx = ctx

    @classmethod
    def create(cls, ctx, *, first_step, return_to=None, **fields):
        now = ctx.clock.now()
        # 256 random bits: the id is a first-party app's auth_session too
        # (draft-ietf-oauth-first-party-apps §5.3.1).
        state = FlowState(id=secrets.token_urlsafe(32), kind=cls.KIND, step=first_step, binding=ctx.binding,
                          return_to=return_to, amr=[], data={}, created_at=now,
                          expires_at=now + timedelta(seconds=int(ctx.config["LOGIN_FLOW_TTL"])), **fields)
        db.session.add(state)
        return cls(state, ctx)

    @classmethod
    def load(cls, ctx, flow_id):
        """The flow, if it exists, is of this kind, alive, and bound to ``ctx.binding``."""
        if not isinstance(flow_id, str) or not flow_id or len(flow_id) > 64:
            raise FlowError()
        state = db.session.get(FlowState, flow_id)
        if (state is None or state.kind != cls.KIND or state.finished_at is not None
                or state.expires_at <= ctx.clock.now()
                or not secrets.compare_digest(state.binding, ctx.binding or "")):
            raise FlowError()
        return cls(state, ctx)

    @property
    def id(self):
        return self.state.id

    @property
    def step(self):
        return self.state.step

    @property
    def return_to(self):
        return self.state.return_to

    @property
    def channel_data(self):
        """What the channel keeps with the journey (a first-party grant: the
        granted scope); the journey never reads it."""
        return dict((self.state.data or {}).get("channel_data") or {})

    def keep_channel_data(self, **values):
        self.state.data = {**(self.state.data or {}), "channel_data": {**self.channel_data, **values}}

    def expect(self, *steps):
        if self.state.step not in steps:
            raise FlowError()

    def goto(self, step):
        if step not in self.TRANSITIONS.get(self.state.step, ()):
            raise FlowError()
        self.state.step = step

    def finish(self):
        self.state.finished_at = self.ctx.clock.now()

    def consume(self):
        """Take the journey's end once: one atomic UPDATE, so of two parallel
        requests that both saw it done only one goes on (the other: FlowError)."""
        now = self.ctx.clock.now()
        claimed = (FlowState.query.filter(FlowState.id == self.state.id, FlowState.finished_at.is_(None))
                   .update({FlowState.finished_at: now}, synchronize_session=False))
        if not claimed:
            raise FlowError()
        set_committed_value(self.state, "finished_at", now)


def load_journey(ctx, flow_id, journeys):
    """The journey ``flow_id`` names, whichever of the ``journeys`` classes it
    is, bound to ``ctx.binding`` (``FlowError`` otherwise)."""
    if not isinstance(flow_id, str) or not flow_id or len(flow_id) > 64:
        raise FlowError()
    state = db.session.get(FlowState, flow_id)
    journey = {cls.KIND: cls for cls in journeys}.get(state.kind) if state is not None else None
    if journey is None:
        raise FlowError()
    return journey.load(ctx, flow_id)
