"""Who a request was about, for its log line: the client (``client_id``) and
the principal (``sub``), each once it is known and never a credential.

Known from what the layers announce (``idp.services.signals``) - a finished
login, tokens issued, this browser's login session - and from Authlib's own
signal of an authenticated client; at the end of the request, from a bearer
token Authlib's resource protector accepted, or else from the client the
request named (HTTP Basic user name, ``client_id`` parameter), authenticated or
not. Only the ids are kept: a value that is not a short printable id is left
out rather than logged.
"""

from authlib.integrations.flask_oauth2 import client_authenticated
from flask import g
from werkzeug.exceptions import HTTPException

from idp.observability.request_facts import note
from idp.observability.request_id import printable_or_none
from idp.services.signals import audit_recorded
from idp.services.signals import login_session_found
from idp.services.signals import token_issued


@audit_recorded.connect
def note_login(event, subject=None, details=None, **_):
    if event == "login.succeeded":
        note(client_id=(details or {}).get("client_id"), sub=subject)


@login_session_found.connect
def note_browser_login(_, subject=None, **__):
    note(sub=subject)


@token_issued.connect
def note_token(_, client_id=None, subject=None, **__):
    note(client_id=client_id, sub=subject)


@client_authenticated.connect
def note_authenticated_client(_, client=None, **__):
    if client is not None:
        note(client_id=client.get_client_id())


def complete(facts, request):
    """Fill in what the signals did not tell: a bearer token's client and
    principal, else the client the request named."""
    token = g.get("authlib_server_oauth2_token")
    if token is not None:
        facts.client_id = facts.client_id or getattr(token, "client_id", None)
        facts.sub = facts.sub or getattr(token, "subject", None)
    if facts.client_id is None:
        facts.client_id = printable_or_none(named_client(request))


def named_client(request):
    """The HTTP Basic user name (RFC 6749 §2.3.1) or the ``client_id`` parameter."""
    authorization = request.authorization
    if authorization is not None and authorization.type == "basic":
        return authorization.username
    try:
        return request.values.get("client_id")
    except HTTPException:  # a body over MAX_CONTENT_LENGTH: nothing to read
        return None
