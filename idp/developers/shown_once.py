"""A new client secret is shown exactly once (RFC 7591 §3.2.1); the database
keeps only its hash. The view that makes one keeps it here and redirects
(Post/Redirect/Get) to the page that shows it, which takes it out again: a
reload, the back button or a second tab find nothing.

It waits in the browser's session, which is a signed - not encrypted - cookie
that whoever holds it can read, so it travels sealed (AES-GCM under a key
derived from ``SECRET_KEY``), bound to its client, for a few minutes at most.
Any node can open it: nothing is kept in process memory (DESIGN.md §5).
"""

import base64
import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from flask import session

from idp.services import get_services

SESSION_KEY = "developers_new_secret"
TTL = 600  # seconds: the redirect is followed at once; a page opened later shows nothing
PURPOSE = b"idp-developers-secret-shown-once"


def _cipher():
    key = hmac.new(str(current_app.secret_key).encode(), PURPOSE, hashlib.sha256).digest()
    return AESGCM(key)


#: Why there is a new secret: the page says so.
REGISTERED, ROTATED, REPLACED = "registered", "rotated", "replaced"


def keep(client_id, secret, why=REGISTERED):
    """Keep ``secret`` of ``client_id`` for the next page of this browser (one at a time)."""
    payload = json.dumps({"secret": secret, "why": why,
                          "until": get_services().clock.timestamp() + TTL}).encode()
    nonce = os.urandom(12)
    sealed = _cipher().encrypt(nonce, payload, client_id.encode())
    session[SESSION_KEY] = {"client_id": client_id, "sealed": base64.urlsafe_b64encode(nonce + sealed).decode()}


def take(client_id):
    """``{"secret", "why"}`` kept for ``client_id``, removed from the session;
    None when there is none (already shown, expired, or another client's)."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("client_id") != client_id:
        return None
    session.pop(SESSION_KEY)
    try:
        raw = base64.urlsafe_b64decode(kept.get("sealed") or "")
        payload = json.loads(_cipher().decrypt(raw[:12], raw[12:], client_id.encode()))
    except (ValueError, TypeError, InvalidTag):
        return None
    if payload.get("until", 0) < get_services().clock.timestamp():
        return None
    return {"secret": payload["secret"], "why": payload["why"]}
