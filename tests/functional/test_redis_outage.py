"""Issue 12 §3: with ``IDP_REDIS_URL`` set, Redis going away mid-flight never lets a password
through uncounted. A password try fails closed - a short 503 page on the login pages, OAuth
``temporarily_unavailable`` on the first-party grant - and so does sending an SMS code (its
limits live in Redis too). A code already sent counts its wrong tries in the database (five,
then it is dead), so it can still be entered. When Redis is back on the same port (a restart
without persistence: its counters are gone) the node counts again by itself.

The Redis is the test's own ``redis-server``, stopped and started again for real."""

import pytest

from idp.models.otp import OtpChallenge
from idp.models.session import LoginSession
from idp.services import get_services
from tests.conftest import free_port
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import last_code
from tests.login_helpers import other_code
from tests.login_helpers import outbox
from tests.login_helpers import resend
from tests.login_helpers import start_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import text
from tests.outages import RedisServer

PASSWORD = "Helyes-jelszo-2024!"
WRONG_PASSWORD = "Rossz-jelszo-2024!"
PHONE = "+36301234567"
BUSINESS_GRANT = "urn:telekom:oauth:grant-type:business-password"
UNAVAILABLE_PAGE = "A szolgáltatás átmenetileg nem érhető el"


@pytest.fixture
def redis_server():
    server = RedisServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def node(make_app, redis_server):
    app = make_app(REDIS_URL=redis_server.url)
    with app.app_context():
        make_login_user(make_company(slug="acme"), username="anna", phone=PHONE)
        yield app


def password_grant(browser, client_id, password):
    return browser.post("/oauth/token", data={"grant_type": BUSINESS_GRANT, "username": "anna@acme",
                                              "password": password, "scope": "openid", "client_id": client_id})


def assert_unavailable_page(response):
    assert response.status_code == 503 and response.mimetype == "text/html", text(response)[:300]
    assert UNAVAILABLE_PAGE in text(response)
    assert response.headers["Retry-After"]


def test_password_tries_fail_closed_while_redis_is_away_and_count_again_when_it_is_back(node, redis_server):
    client_id = make_client(first_party=True, public=True)[0].client_id
    browser = node.test_client()
    fid = start_login(browser, "anna@acme")

    redis_server.stop()
    assert_unavailable_page(submit_password(browser, fid, PASSWORD))
    grant = password_grant(browser, client_id, PASSWORD)
    assert grant.status_code == 503 and grant.get_json()["error"] == "temporarily_unavailable"
    assert grant.headers["Retry-After"]
    assert LoginSession.query.count() == 0 and outbox("sms") == []

    redis_server.start()  # the same port, every counter forgotten
    wrong = submit_password(browser, fid, WRONG_PASSWORD)
    assert wrong.status_code == 200 and "/login/sms" not in wrong.headers.get("Location", "")
    assert get_services().counters.get("pw:id:anna@acme")[0] == 1  # counted in Redis again
    right = submit_password(browser, fid, PASSWORD)
    assert right.status_code == 302 and "/login/sms" in right.headers["Location"]
    grant = password_grant(browser, client_id, PASSWORD)
    assert grant.status_code == 400 and grant.get_json()["error"] == "sms_otp_required"


def test_a_code_already_sent_counts_its_tries_in_the_database_while_redis_is_away(node, redis_server):
    browser = node.test_client()
    fid = start_login(browser, "anna@acme")
    assert "/login/sms" in submit_password(browser, fid, PASSWORD).headers["Location"]
    code = last_code(PHONE)

    redis_server.stop()
    assert_unavailable_page(resend(browser, fid))  # a new SMS needs its limits: refused
    assert len(outbox("sms")) == 1
    wrong = submit_code(browser, fid, other_code(code))
    assert wrong.status_code == 200 and OtpChallenge.query.one().attempts == 1
    done = submit_code(browser, fid, code)
    assert done.status_code == 302 and LoginSession.query.count() == 1
    redis_server.start()
