"""Prometheus metrics at /metrics (issue 12 §5): requests by endpoint and
status, latency, logins by method and outcome, SMS sent and throttled, tokens
by grant; the text format parses; who may read it; and under gunicorn with two
workers one scrape adds up both."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from idp.errors import ConfigurationError
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import at_phone_code
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import phone_resend
from tests.login_helpers import start_login
from tests.login_helpers import submit_password
from tests.login_helpers import submit_phone_code
from tests.oauth_helpers import get_code
from tests.oauth_helpers import exchange
from tests.oauth_helpers import refresh
from tests.oauth_helpers import token_request
from tests.observability_helpers import metric

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Helyes-jelszo-2024!"
PHONE = "+36301234567"
LINE = "+36201234567"
PRODUCTION = {"ENV": "production", "SECRET_KEY": "production-secret-" + "p" * 40, "SMS_BACKEND": "http",
              "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms", "MAIL_BACKEND": "smtp"}
METRICS_TOKEN = "metrics-token-" + "m" * 32


@pytest.fixture
def browser(app):
    return new_browser(app)


@pytest.fixture
def acme(app):
    return make_company(slug="acme")


# --- the counts ---------------------------------------------------------------------------------
def test_requests_are_counted_by_url_rule_never_by_raw_path(browser):
    before = metric("idp_http_requests_total", endpoint="/healthz", method="GET", status="200")
    browser.get("/healthz")
    browser.get("/oauth/register/some-client-id-x")
    browser.get("/no/such/path-abc")

    assert metric("idp_http_requests_total", endpoint="/healthz", method="GET", status="200") == before + 1
    assert metric("idp_http_request_duration_seconds_count", endpoint="/healthz", method="GET") >= 1
    assert metric("idp_http_requests_total", endpoint="/oauth/register/<client_id>", method="GET", status="401") >= 1
    body = browser.get("/metrics").get_data(as_text=True)
    assert 'endpoint="unmatched"' in body
    assert "some-client-id-x" not in body and "path-abc" not in body


def test_logins_by_method_and_outcome(browser, app, acme):
    make_login_user(company=acme, username="anna", phone=PHONE)
    make_phone_line(acme, number=LINE)
    counts = {(m, o): metric("idp_logins_total", method=m, outcome=o)
              for m, o in (("pwd", "failed"), ("pwd+sms", "succeeded"), ("sms", "succeeded"))}

    submit_password(browser, start_login(browser, "anna@acme"), "Rossz-jelszo-2024!")
    log_in(new_browser(app), "anna@acme", PASSWORD, PHONE)
    phone = new_browser(app)
    submit_phone_code(phone, at_phone_code(phone, "201234567"), last_code(LINE))

    assert metric("idp_logins_total", method="pwd", outcome="failed") == counts["pwd", "failed"] + 1
    assert metric("idp_logins_total", method="pwd+sms", outcome="succeeded") == counts["pwd+sms", "succeeded"] + 1
    assert metric("idp_logins_total", method="sms", outcome="succeeded") == counts["sms", "succeeded"] + 1


def test_sms_sent_and_throttled(browser, acme, clock):
    make_phone_line(acme, number=LINE)
    sent, refused = metric("idp_sms_sent_total", purpose="phone_login"), metric("idp_sms_throttled_total",
                                                                               reason="cooldown")
    fid = at_phone_code(browser, "201234567")
    phone_resend(browser, fid)  # within the 30 s cooldown: refused
    clock.advance(31)
    phone_resend(browser, fid)

    assert metric("idp_sms_sent_total", purpose="phone_login") == sent + 2
    assert metric("idp_sms_throttled_total", reason="cooldown") == refused + 1


def test_tokens_by_grant(browser, acme):
    anna = make_login_user(company=acme, username="anna", phone=PHONE)
    rp, secret = make_client(first_party=True)
    service, service_secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    grants = ("authorization_code", "refresh_token", "client_credentials")
    before = {grant: metric("idp_tokens_issued_total", grant_type=grant) for grant in grants}

    code, verifier = get_code(browser, rp, anna, scope="openid offline_access")
    tokens = exchange(browser, rp, secret, code, verifier).get_json()
    assert refresh(browser, rp, secret, tokens["refresh_token"]).status_code == 200
    assert token_request(browser, service, service_secret, {"grant_type": "client_credentials"}).status_code == 200
    token_request(browser, service, "wrong secret", {"grant_type": "client_credentials"})

    assert {grant: metric("idp_tokens_issued_total", grant_type=grant) - before[grant] for grant in grants} == {
        "authorization_code": 1, "refresh_token": 1, "client_credentials": 1}


# --- the exposition -----------------------------------------------------------------------------
def test_metrics_text_format_parses(browser):
    browser.get("/healthz")
    response = browser.get("/metrics")

    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}
    for name in ("idp_http_requests", "idp_http_request_duration_seconds", "idp_logins", "idp_sms_sent",
                 "idp_sms_throttled", "idp_tokens_issued"):
        assert name in families, name
    assert families["idp_http_request_duration_seconds"].type == "histogram"
    assert any(sample.name == "idp_http_request_duration_seconds_bucket" and sample.labels["endpoint"] == "/healthz"
               for sample in families["idp_http_request_duration_seconds"].samples)


def test_openmetrics_when_the_scraper_asks_for_it(browser):
    response = browser.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.mimetype == "application/openmetrics-text"
    assert "idp_http_requests" in {family.name for family in openmetrics_families(response.get_data(as_text=True))}


@pytest.mark.parametrize(("settings", "authorization", "status"), [
    pytest.param({}, None, 200, id="development-open"),
    pytest.param(PRODUCTION, None, 404, id="production-without-token-is-off"),
    pytest.param({**PRODUCTION, "METRICS_TOKEN": METRICS_TOKEN}, None, 401, id="token-missing"),
    pytest.param({**PRODUCTION, "METRICS_TOKEN": METRICS_TOKEN}, "Bearer " + METRICS_TOKEN[:-1] + "x", 401,
                 id="token-wrong"),
    pytest.param({**PRODUCTION, "METRICS_TOKEN": METRICS_TOKEN}, "Basic " + METRICS_TOKEN, 401, id="not-bearer"),
    pytest.param({**PRODUCTION, "METRICS_TOKEN": METRICS_TOKEN}, "Bearer " + METRICS_TOKEN, 200, id="token-right"),
    pytest.param({"METRICS_TOKEN": "short"}, None, 401, id="development-with-token-asks-for-it"),
])
def test_who_may_read_the_metrics(make_app, settings, authorization, status):
    app = make_app(**settings)
    headers = {"Authorization": authorization} if authorization else {}
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == status
    assert ("idp_http_requests_total" in response.get_data(as_text=True)) == (status == 200)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_short_metrics_token_is_refused_in_production(make_app):
    with pytest.raises(ConfigurationError, match="IDP_METRICS_TOKEN"):
        make_app(**PRODUCTION, METRICS_TOKEN="too-short")


# --- gunicorn, two workers ----------------------------------------------------------------------
def test_one_scrape_adds_up_both_gunicorn_workers(tmp_path):
    """A request left half-sent holds one sync worker, so the next requests are the other's;
    the scrape, whichever worker answers it, counts them all."""
    metrics_dir = tmp_path / "metrics"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
    env.update(IDP_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'idp.db'}", IDP_KEYS_DIR=str(tmp_path / "keys"),
               IDP_LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([str(BIN / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "2", "wsgi:app"],
                                  cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        url = wait_until_serving(server, log_path)
        answered = 1  # the probe of wait_until_serving
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: idp\r\n")  # one worker now waits for the rest
            time.sleep(0.3)
            for _ in range(5):
                assert requests.get(url + "/healthz", timeout=5).status_code == 200
                answered += 1
            held.sendall(b"\r\n")
            assert held.recv(1024).startswith(b"HTTP/1.1 200")
            answered += 1
        body = requests.get(url + "/metrics", timeout=5).text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)

    [count] = [s.value for f in text_string_to_metric_families(body) for s in f.samples
               if s.name == "idp_http_requests_total" and s.labels["endpoint"] == "/healthz"]
    assert count == answered
    workers = {re.search(r"_(\d+)\.db$", p.name).group(1) for p in metrics_dir.glob("counter_*.db")}
    assert len(workers) == 2
    request_lines = [line for line in log_path.read_text().splitlines() if '"logger": "idp.request"' in line]
    assert len(request_lines) == answered + 1  # and the scrape's own


def wait_until_serving(server, log_path, timeout=10):
    """The URL gunicorn listens on, once a worker answers there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text())
        if match:
            try:
                if requests.get(match.group(1) + "/healthz", timeout=1).status_code == 200:
                    return match.group(1)
            except requests.ConnectionError:
                pass
        time.sleep(0.05)
    pytest.fail("gunicorn did not serve in time:\n" + log_path.read_text())
