"""Observability (issue 12 §5): JSON log lines with the request id, one line
per request, Prometheus metrics at ``/metrics``. ``/readyz`` is ``idp.health``.

``init_observability(app)`` wires it into the app. It is called first in
``create_app``, so its ``before_request`` runs before any other (every later
log line has the request id) and its ``after_request`` after all the others
(it sees the status and headers that leave).
"""

import time

from flask import request

from idp.observability import attribution
from idp.observability import request_facts
from idp.observability.access_log import log_request
from idp.observability.exposition import bp as metrics_bp
from idp.observability.exposition import check_metrics_settings
from idp.observability.logs import configure_logging
from idp.observability.metrics import observe_request
from idp.observability.request_id import HEADER


def init_observability(app):
    configure_logging(app)
    check_metrics_settings(app.config)
    app.before_request(begin_request)
    app.after_request(finish_request)
    app.register_blueprint(metrics_bp)


def begin_request():
    request_facts.begin(request)


def finish_request(response):
    facts = request_facts.current()
    if facts is None:  # a response made before any before_request ran
        return response
    seconds = time.perf_counter() - facts.started
    response.headers[HEADER] = facts.request_id
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    observe_request(endpoint, request.method, response.status_code, seconds)
    attribution.complete(facts, request)
    log_request(request, response.status_code, facts, seconds)
    return response
