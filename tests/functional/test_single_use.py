"""Issue 12 §2: everything meant to be used once is taken by one atomic statement (a
conditional UPDATE whose row count decides), so of several requests presenting it at the
same instant - on one node or on several - exactly one goes on. Each case sends the same
request from four threads at once to a live server; on PostgreSQL
(``IDP_TEST_DATABASE=postgresql``) the losers wait on the winner's row lock and then find the
row taken. (The one-time codes and the journeys' ends have their own parallel tests:
``test_first_party_grants``, ``test_phone_login_abuse``, ``test_login_flow_integrity``.)"""

import threading
from urllib.parse import urlencode

import requests

from idp.extensions import db
from idp.models.registration import LogoutNotification
from idp.models.session import Consent
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import CSRF
from tests.login_helpers import audit_events
from tests.login_helpers import last_code
from tests.oauth_helpers import REDIRECT_URI
from tests.oauth_helpers import authorize_params
from tests.oauth_helpers import get_code
from tests.oauth_helpers import tokens_for

TIMES = 4


def at_once(call, times=TIMES):
    """``call()`` from ``times`` threads released together; the results."""
    barrier, results = threading.Barrier(times), []

    def run():
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == times
    return results


def copy_of(session):
    """Another connection of the same browser (its cookies)."""
    other = requests.Session()
    other.cookies.update(session.cookies)
    return other


def logged_in_browser(base, principal, rp, **params):
    """A real browser session logged in through the seam, paused at the resume of an
    authorization request of ``rp``; returns it and the resume URL."""
    browser = requests.Session()
    query = urlencode(authorize_params(rp, **params)[0])
    response = browser.get(f"{base}/oauth/authorize?{query}", allow_redirects=False, timeout=10)
    response = browser.get(base + login_url(response.headers["Location"], principal), allow_redirects=False,
                           timeout=10)
    assert "/oauth/authorize/resume/" in response.headers["Location"], response.headers["Location"]
    return browser, base + response.headers["Location"]


def outcome(replies):
    return sorted(r.status_code for r in replies), sorted(r.json().get("error", "") for r in replies)


def test_of_parallel_exchanges_of_one_code_exactly_one_gets_tokens(live_server):
    rp, secret = make_client(first_party=True)
    code, verifier = get_code(live_server.app.test_client(), rp, make_login_user())
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    auth = (rp.client_id, secret)
    replies = at_once(lambda: requests.post(live_server.url + "/oauth/token", data=data, auth=auth, timeout=30))
    assert outcome(replies) == ([200, 400, 400, 400], ["", "invalid_grant", "invalid_grant", "invalid_grant"])
    db.session.expire_all()
    # The replays revoke what the winner got (RFC 6749 §4.1.2): the code was presented twice.
    assert Token.query.one().access_revoked_at is not None


def test_of_parallel_refreshes_of_one_refresh_token_exactly_one_succeeds(live_server):
    rp, secret = make_client(first_party=True)
    tokens = tokens_for(live_server.app.test_client(), rp, secret, make_login_user())
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = (rp.client_id, secret)
    replies = at_once(lambda: requests.post(live_server.url + "/oauth/token", data=data, auth=auth, timeout=30))
    assert outcome(replies) == ([200, 400, 400, 400], ["", "invalid_grant", "invalid_grant", "invalid_grant"])
    db.session.expire_all()
    # A rotated refresh token presented again revokes its family (RFC 9700 §4.14.2).
    assert Token.query.count() == 2
    assert all(row.refresh_revoked_at is not None for row in Token.query)


def test_of_parallel_resumes_of_one_paused_request_exactly_one_issues_a_code(live_server):
    rp, _ = make_client(first_party=True)
    browser, resume = logged_in_browser(live_server.url, make_login_user(), rp)
    replies = at_once(lambda: copy_of(browser).get(resume, allow_redirects=False, timeout=30))
    # The others get the error page (the request is finished) or, when they read the request
    # before the winner's code was stored, the client's error redirect ("nonce was used before").
    codes = [r for r in replies if r.status_code == 302 and "code=" in r.headers["Location"]]
    assert len(codes) == 1 and all(r.status_code in (302, 400) for r in replies), [
        (r.status_code, r.headers.get("Location")) for r in replies]
    db.session.expire_all()
    assert AuthorizationCode.query.count() == 1


def test_parallel_posts_of_one_consent_form_remember_it_once(live_server):
    rp, _ = make_client(first_party=False)
    browser, resume = logged_in_browser(live_server.url, make_login_user(), rp, scope="openid profile")
    consent = browser.get(resume, allow_redirects=False, timeout=10).headers["Location"]
    consent_url = live_server.url + consent if consent.startswith("/") else consent
    token = CSRF.search(browser.get(consent_url, timeout=10).text).group(1)
    form = {"csrf_token": token, "allow": "Engedélyezem"}
    replies = at_once(lambda: copy_of(browser).post(consent_url, data=form, allow_redirects=False, timeout=30))
    assert [r.status_code for r in replies] == [302] * TIMES
    assert {r.headers["Location"] for r in replies} == {resume.removeprefix(live_server.url)}
    db.session.expire_all()
    assert Consent.query.count() == 1


def test_parallel_logouts_of_one_session_tell_its_clients_once(live_server):
    after = "https://app.example/logged-out"
    rp, _ = make_client(first_party=True, post_logout_redirect_uris=[after],
                             backchannel_logout_uri="http://127.0.0.1:9/backchannel")
    browser, resume = logged_in_browser(live_server.url, make_login_user(), rp)
    # The client got a code from this session: its end is the client's to hear of.
    assert "code=" in browser.get(resume, allow_redirects=False, timeout=10).headers["Location"]
    logout = live_server.url + "/oauth/logout?" + urlencode({"post_logout_redirect_uri": after,
                                                             "client_id": rp.client_id})
    # Without a hint the page asks first: the confirmation form is what is posted at once.
    token = CSRF.search(browser.get(logout, timeout=10).text).group(1)
    form = {"csrf_token": token, "post_logout_redirect_uri": after, "client_id": rp.client_id, "state": ""}
    replies = at_once(lambda: copy_of(browser).post(live_server.url + "/oauth/logout/confirm", data=form,
                                                    allow_redirects=False, timeout=30))
    assert [r.status_code for r in replies] == [303] * TIMES
    db.session.expire_all()
    assert LogoutNotification.query.count() == 1


def test_parallel_posts_of_one_new_password_form_set_it_once(live_server):
    """The code of a password reset proves one reset: one post sets the password and ends the
    person's sessions, the others find the journey over."""
    make_login_user(make_company(slug="acme"), username="anna", phone="+36301234567")
    base, browser = live_server.url + "/login/password-reset", requests.Session()
    token = CSRF.search(browser.get(base, timeout=10).text).group(1)

    def post(url, **data):
        response = browser.post(url, data={"csrf_token": token, **data}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:300]
        return live_server.url + response.headers["Location"]

    choose_url = post(base, identifier="anna@acme")
    code_url = post(choose_url, channel="sms")
    new_url = post(code_url, code=last_code("+36301234567"))
    form = {"csrf_token": token, "password": "piros paprika füzér", "repeat": "piros paprika füzér"}
    replies = at_once(lambda: copy_of(browser).post(new_url, data=form, allow_redirects=False, timeout=30))
    assert sorted(r.status_code for r in replies) == [200, 400, 400, 400]
    db.session.expire_all()
    assert len(audit_events("password.reset")) == 1
