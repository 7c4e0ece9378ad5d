"""What the observers know about the request being served: its id, when it
started, and who it was about (the client, the principal's ``sub``). One
object per request in ``flask.g``, made fresh by ``begin()``: ``g`` may
outlive a request (a test keeps an app context pushed), the facts never do.
"""

import time
from dataclasses import dataclass

from flask import g
from flask import has_request_context

from idp.observability.request_id import request_id_from


@dataclass
class RequestFacts:
    request_id: str
    started: float  # time.perf_counter(): a duration, not a time of day (not the clock service's)
    client_id: str | None = None
    sub: str | None = None


def begin(request):
    g.request_facts = RequestFacts(request_id=request_id_from(request.headers), started=time.perf_counter())
    return g.request_facts


def current():
    """The facts of the request being served, or None (outside a request, or before ``begin``)."""
    if not has_request_context():
        return None
    return g.get("request_facts")


def note(client_id=None, sub=None):
    """Remember who the request is about; the latest word wins (a login on a shared
    browser first finds the previous person's session, then starts its own)."""
    facts = current()
    if facts is None:
        return
    if client_id:
        facts.client_id = str(client_id)
    if sub:
        facts.sub = str(sub)
