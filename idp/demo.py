"""``idp demo``: seed demo data idempotently and explain how to try it.

The demo relying party is a public, first-party client (PKCE, no secret) whose
redirect URI is the development callback page ``/dev/callback``.
"""

import base64
import hashlib
from urllib.parse import urlencode

from idp.clients import register_client
from idp.extensions import db
from idp.models.client import OAuthClient

DEMO_CLIENT_ID = "demo-portal"
#: Fixed PKCE verifier of the demo client, so the printed URL and curl line match.
DEMO_CODE_VERIFIER = "demo-verifier-" + "x" * 40


def demo_code_challenge():
    digest = hashlib.sha256(DEMO_CODE_VERIFIER.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def demo_authorize_url(issuer):
    return issuer + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": issuer + "/dev/callback",
        "scope": "openid profile email phone company permissions", "state": "demo", "nonce": "demo-nonce",
        "code_challenge": demo_code_challenge(), "code_challenge_method": "S256"})


def ensure_demo_client(issuer):
    client = OAuthClient.query.filter_by(client_id=DEMO_CLIENT_ID).one_or_none()
    if client is None:
        client = register_client(
            name="Demo önkiszolgáló portál", client_id=DEMO_CLIENT_ID, public=True, first_party=True,
            redirect_uris=[issuer + "/dev/callback"]).client
    elif issuer + "/dev/callback" not in client.redirect_uris:
        client.redirect_uris = [*client.redirect_uris, issuer + "/dev/callback"]
        db.session.commit()
    return client


def seed_demo(app):
    issuer = app.config["ISSUER"]
    from idp.services import get_services

    get_services().keys.ensure()
    client = ensure_demo_client(issuer)
    document = {
        "issuer": issuer,
        "client": {"client_id": client.client_id, "redirect_uri": issuer + "/dev/callback", "public": True},
        "authorize_url": demo_authorize_url(issuer),
        "code_verifier": DEMO_CODE_VERIFIER,
        "outbox": issuer + "/dev/outbox",
    }
    lines = [
        f"Demo relying party: client_id={client.client_id} (public, PKCE S256, first-party)",
        "Start a login in the browser:",
        f"  {document['authorize_url']}",
        f"The code arrives at {issuer}/dev/callback, which shows how to exchange it.",
        f"Every SMS and email sent in development: {document['outbox']}",
    ]
    return document, lines
