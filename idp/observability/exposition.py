"""``GET /metrics``: the Prometheus metrics, in the text format the scraper asks for.

Who may read it: with ``IDP_METRICS_TOKEN`` set, whoever sends it as a bearer
token (Prometheus: ``authorization: {credentials: …}``), from anywhere;
without it, anyone in development and nobody in production (404). Not "only
from loopback or private addresses": behind a reverse proxy on the same host,
or without ``IDP_PROXY_HOPS``, every request from the internet comes from such
an address. The metrics hold no secret, but they tell how busy the service is,
how many logins fail and which clients exist.

Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set) whichever worker answers adds
up the files of every worker, the ones that have exited included.
"""

import os
import secrets

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import request
from prometheus_client import REGISTRY
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from idp.errors import ConfigurationError

bp = Blueprint("metrics", __name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: A production token must not be guessable; as long as the secret key must be.
MIN_PRODUCTION_TOKEN_LENGTH = 32


def check_metrics_settings(config):
    token = config.get("METRICS_TOKEN")
    if token is not None and not isinstance(token, str):
        raise ConfigurationError("IDP_METRICS_TOKEN must be a string.")
    if token and config["ENV"] == "production" and len(token) < MIN_PRODUCTION_TOKEN_LENGTH:
        raise ConfigurationError(f"IDP_METRICS_TOKEN must be at least {MIN_PRODUCTION_TOKEN_LENGTH} characters "
                                 "in production.")
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        os.makedirs(directory, exist_ok=True)  # prometheus-client writes there at the first count


def bearer_is(token):
    given = request.authorization
    return (given is not None and given.type == "bearer" and given.token is not None
            and secrets.compare_digest(given.token.encode(), token.encode()))


def collected():
    """Every worker's metrics in multiprocess mode, else this process's."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


@bp.route("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token and current_app.config["ENV"] == "production":
        abort(404)
    if token and not bearer_is(token):
        return Response("A valid bearer token is needed.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"})
    encoder, content_type = choose_encoder(request.headers.get("Accept"))
    return Response(encoder(collected()), headers={"Content-Type": content_type, "Cache-Control": "no-store"})
