"""HTTP glue of the protocol endpoints (DESIGN.md §3). Protocol decisions live
in Authlib and ``idp.grants``; this module only adapts requests and commits."""

import hashlib
import json

from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request

from idp.oidc.server import authorization
from idp.extensions import csrf
from idp.extensions import db
from idp.oidc.server import require_oauth
from idp.oidc.authorize import error_page
from idp.oidc.authorize import process_authorization
from idp.grants.claims import user_claims
from idp.oidc.discovery import provider_metadata
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import load_interaction
from idp.oidc.server import StoredAuthorizationRequest
from idp.services import get_services

bp = Blueprint("oidc", __name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_json_error(error, description, status=400):
    response = jsonify(error=error, error_description=description.encode("ascii", "replace").decode())
    response.status_code = status
    response.headers.update(NO_STORE)
    return response


@bp.route("/.well-known/openid-configuration")
@bp.route("/.well-known/oauth-authorization-server")
def discovery():
    """The metadata follows the configuration only: serialised once per app."""
    cached = current_app.extensions.get("idp_discovery")
    if cached is None:
        body = json.dumps(provider_metadata(), sort_keys=True).encode()
        cached = current_app.extensions["idp_discovery"] = (body, hashlib.sha256(body).hexdigest()[:32])
    return public_document(*cached)


@bp.route("/jwks.json")
def jwks():
    return public_document(*get_services().keys.public_jwks_json())


def public_document(body, etag):
    """A public JSON document that caches and relying parties may keep for
    five minutes, and revalidate with its ETag (304 Not Modified)."""
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    return process_authorization(authorization.create_oauth2_request(None))


@bp.route("/oauth/authorize/resume/<interaction_id>")
def resume(interaction_id):
    try:
        interaction = load_interaction(interaction_id)
    except InteractionError as error:
        return error_page(error.message)
    return process_authorization(StoredAuthorizationRequest(interaction.params), interaction)


@bp.route("/oauth/token", methods=["POST"])
@csrf.exempt
def token():
    if request.mimetype != "application/x-www-form-urlencoded":
        return oauth_json_error("invalid_request", "Use application/x-www-form-urlencoded")
    if not request.form.get("grant_type"):
        return oauth_json_error("invalid_request", "Missing grant_type")
    return committed(authorization.create_token_response())


@bp.route("/oauth/revoke", methods=["POST"])
@csrf.exempt
def revoke():
    return committed(authorization.create_endpoint_response("revocation"))


@bp.route("/oauth/otp/resend", methods=["POST"])
@csrf.exempt
def otp_resend():
    """DESIGN.md §4.4: a fresh SMS code for a first-party grant's ``auth_session``."""
    return form_endpoint("otp_resend")


@bp.route("/oauth/authorize-challenge", methods=["POST"])
@csrf.exempt
def authorize_challenge():
    """draft-ietf-oauth-first-party-apps: the Authorization Challenge Endpoint."""
    return form_endpoint("authorization_challenge")


def form_endpoint(name):
    if request.mimetype != "application/x-www-form-urlencoded":
        return oauth_json_error("invalid_request", "Use application/x-www-form-urlencoded")
    return committed(authorization.create_endpoint_response(name))


@bp.route("/oauth/introspect", methods=["POST"])
@csrf.exempt
def introspect():
    return committed(authorization.create_endpoint_response("introspection"))


def committed(response):
    """Keep what a successful call wrote; drop anything half-written by a failed one."""
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    response.headers.update(NO_STORE)
    return response


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    token = require_oauth.acquire_token_or_respond(["openid"])
    if not hasattr(token, "get_user"):
        return token
    g.cors_client_id = token.client_id
    principal = token.get_user()
    if principal is None:
        # A client_credentials token: it has no end-user (RFC 6750 §3.1 invalid_token).
        return require_oauth.error_response(InvalidTokenError("The access token has no end-user"))
    response = jsonify(user_claims(principal, token.scope))
    response.headers.update(NO_STORE)
    return response

