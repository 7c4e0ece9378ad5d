"""The Prometheus metrics (issue 12 §5): requests by endpoint and status, their
latency, logins by method and outcome, SMS sent and refused, tokens issued by
grant.

The domain counts come from the signals of ``idp.services.signals``, each from
the one place the fact happens: logins from the audit log (every login journey,
page or grant, records ``login.succeeded`` / ``login.failed`` / ``login.locked``
there), SMS sent from its ``otp.sent`` event, refusals from the throttles,
tokens from where they are stored. An audit event is counted when it is
recorded, in its caller's transaction.

Label values come from fixed sets, never from the raw request (a path, a
client's method name), so no caller can make the series grow without bound.

Under gunicorn every worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR``
set (``gunicorn.conf.py`` sets it) prometheus-client keeps the values in files
there and ``/metrics`` adds up every worker's (``idp.observability.exposition``).
"""

import functools
import logging

from prometheus_client import Counter
from prometheus_client import Histogram

from idp.services.signals import audit_recorded
from idp.services.signals import sms_refused
from idp.services.signals import token_issued

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("idp_http_requests", "HTTP requests answered, by endpoint (URL rule), method and status.",
                        ["endpoint", "method", "status"])
HTTP_LATENCY = Histogram("idp_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint and method.",
                         ["endpoint", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOGINS = Counter("idp_logins", "Logins finished, by method (the RFC 8176 factors a success used, or the factor "
                 "that failed) and outcome (succeeded, failed, locked).", ["method", "outcome"])
SMS_SENT = Counter("idp_sms_sent", "One-time codes sent by SMS, by purpose.", ["purpose"])
SMS_THROTTLED = Counter("idp_sms_throttled", "SMS refused by a throttle before sending, by reason "
                        "(cooldown, principal, ip, budget).", ["reason"])
TOKENS_ISSUED = Counter("idp_tokens_issued", "Token responses issued, by grant type.", ["grant_type"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Factors of RFC 8176 that name a login method; "mfa" only says there were two.
FACTORS = ("fed", "otp", "pwd", "sms")
#: ``login.failed`` reasons → the factor that failed.
FAILED_FACTOR = {"password": "pwd", "password_expired": "pwd", "disabled": "pwd", "code_dead": "sms"}
PURPOSES = frozenset({"login", "phone_login", "password_reset", "account_signup", "account_contact"})
REFUSALS = frozenset({"cooldown", "principal", "ip", "budget"})


def observe_request(endpoint, method, status, seconds):
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_LATENCY.labels(endpoint, method).observe(seconds)


def never_raises(receiver):
    """A metric that cannot be written (a full disk under the multiprocess directory)
    must not fail the login or the token it counts."""

    @functools.wraps(receiver)
    def guarded(*args, **kwargs):
        try:
            receiver(*args, **kwargs)
        except Exception:
            log.warning("metrics: %s failed", receiver.__name__, exc_info=True)

    return guarded


def login_method(amr):
    factors = [factor for factor in FACTORS if factor in (amr or ())]
    return "+".join(factors) or "other"


@audit_recorded.connect
@never_raises
def count_audit_event(event, details=None, **_):
    details = details or {}
    if event == "login.succeeded":
        LOGINS.labels(login_method(details.get("amr")), "succeeded").inc()
    elif event == "login.failed":
        LOGINS.labels(FAILED_FACTOR.get(details.get("reason"), "other"), "failed").inc()
    elif event == "login.locked":
        LOGINS.labels("pwd", "locked").inc()
    elif event == "otp.sent" and details.get("channel") == "sms":
        purpose = details.get("purpose")
        SMS_SENT.labels(purpose if purpose in PURPOSES else "other").inc()


@sms_refused.connect
@never_raises
def count_sms_refusal(_, reason=None, **__):
    SMS_THROTTLED.labels(reason if reason in REFUSALS else "other").inc()


@token_issued.connect
@never_raises
def count_token(grant_type, **_):
    TOKENS_ISSUED.labels(str(grant_type)).inc()
