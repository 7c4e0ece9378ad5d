"""HTTP glue of ``/oauth/register`` (RFC 7591) and ``/oauth/register/<client_id>``
(RFC 7592): the protocol is in ``endpoints``; this module routes and commits.

The bodies are JSON, which the request guard (``idp.oidc.guard``) leaves to
``metadata.read_document``; their errors are JSON (``idp.errors.API_PREFIXES``), a body over
``MAX_CONTENT_LENGTH`` included (413)."""

from flask import Blueprint

from idp.extensions import csrf
from idp.extensions import db
from idp.oidc.server import authorization
from idp.registration.endpoints import ClientConfigurationEndpoint
from idp.registration.endpoints import ClientRegistrationEndpoint

bp = Blueprint("registration", __name__)
csrf.exempt(bp)  # bearer-token APIs: no cookies, no CSRF

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.route("/oauth/register", methods=["POST"])
def register():
    return _committed(ClientRegistrationEndpoint.ENDPOINT_NAME)


@bp.route("/oauth/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def configure(client_id):
    return _committed(ClientConfigurationEndpoint.ENDPOINT_NAME)


def _committed(endpoint):
    """Keep what a successful call wrote (201, 200, 204); drop anything a refused one
    began - the use of an initial access token included, also when the refusal is an
    HTTP error (a body over ``MAX_CONTENT_LENGTH``: 413)."""
    try:
        response = authorization.create_endpoint_response(endpoint)
    except Exception:
        db.session.rollback()
        raise
    if response.status_code < 300:
        db.session.commit()
    else:
        db.session.rollback()
    response.headers.update(NO_STORE)
    return response
