"""Many nodes, proven (issue 12, point 4; DESIGN.md §5: "any number of identical app nodes behind
a load balancer; nothing kept in process memory that another node needs").

Two real gunicorn nodes of ``wsgi:app`` (two sync workers each) on two loopback ports share one
PostgreSQL database, one Redis database, one keys directory, the secret key and the issuer (node
A's URL: the public base URL a load balancer would have). A test sends each request to the node
it names, as a load balancer may, and shows that nothing one node did is unknown to the other:
the browser login, the password throttles, single-use refresh tokens, key rotation, logout and
client changes.

"At once" is taken literally: after a change, *every* request fails or succeeds as it should,
until every worker process of the node has answered one (``every_worker``) - a cache in one
process that missed the change cannot hide behind its sibling.

The nodes always run on PostgreSQL, so ``make test-postgres`` skips this module (``make test``
runs it); its tests run in one pytest-xdist worker (``tests/conftest.py``), which starts the
nodes once.
"""

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from datetime import datetime
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from joserfc import jws
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.databases import POSTGRES
from tests.integration.servers import CSRF
from tests.integration.servers import Browser
from tests.integration.servers import cluster
from tests.integration.servers import every_worker
from tests.integration.servers import exclusive_redis
from tests.integration.servers import on
from tests.integration.servers import postgres_database

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(POSTGRES, reason="the nodes always run on PostgreSQL: `make test` runs this module once"),
]

#: A Redis database no other test uses (the counters' tests empty 14 and 15).
REDIS_DB = 12
REDIRECT_URI = "http://127.0.0.1:9/cb"
PASSWORD = "Helyes-jelszo-2024!"
#: A business user of company ``acme`` per test that logs in, so no test's login, logout or revoked
#: tokens (or SMS count, 5 an hour per user) reach another's.
ANNA = {"identifier": "anna@acme", "phone": "+36301234561"}
BENCE = {"identifier": "bence@acme", "phone": "+36301234562"}
CSABA = {"identifier": "csaba@acme", "phone": "+36301234563"}
DORA = {"identifier": "dora@acme", "phone": "+36301234564"}
#: Small throttles (DESIGN.md §4a), so a test reaches them: the 3rd wrong password of an
#: identifier starts a one-second delay, the 4th locks it.
THROTTLES = {"PASSWORD_DELAY_AFTER": 3, "PASSWORD_DELAY_MAX": 1, "PASSWORD_LOCK_AFTER": 4}
#: How long a rotated key waits before it signs (set for ``idp keys rotate`` only): long enough
#: to check every worker of both nodes before it signs (3 to 4 s after the rotation, as the
#: activation is stored in whole seconds), short enough to wait for.
ROTATION_OVERLAP = 4
TIMEOUT = 10


# --- the deployment -------------------------------------------------------------------------
class Deployment:
    """The installation, its nodes ``a`` and ``b``, and what was seeded before they started:
    ``web`` (the first-party web client), ``keys_service``, ``rotated_service`` and
    ``disabled_service`` (client_credentials clients), each ``(client_id, secret)``; and an
    ``initial_access_token`` for one dynamic registration."""

    def __init__(self, installation, nodes, seeded):
        self.installation = installation
        self.a, self.b = nodes
        self.nodes = nodes
        self.issuer = installation.settings["ISSUER"]
        self.engine = sa.create_engine(installation.settings["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
        self.__dict__.update(seeded)

    def scalar(self, sql, **params):
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()


def migrate_and_seed(seeded):
    """``prepare`` of the cluster: the schema, the signing keys and the test's rows, written
    through the product's own code by an app with the nodes' settings (in this process)."""

    def prepare(installation):
        from flask_migrate import upgrade

        from idp.extensions import db
        from idp.registration.tokens import issue_initial_access_token
        from idp.services import get_services
        from tests.factories import make_client
        from tests.factories import make_company
        from tests.factories import make_login_user

        app = installation.app()
        with app.app_context():
            upgrade()
            get_services().keys.ensure()
            company = make_company(slug="acme", name="Acme Kft.")
            for person in (ANNA, BENCE, CSABA, DORA):
                make_login_user(company=company, username=person["identifier"].split("@")[0], password=PASSWORD,
                                phone=person["phone"], email=person["identifier"].replace("@", ".") + "@example.com")
            web, web_secret = make_client(name="Portál", redirect_uris=[REDIRECT_URI], first_party=True,
                                          scope="openid profile offline_access")
            seeded["web"] = (web.client_id, web_secret)
            for name in ("keys_service", "rotated_service", "disabled_service"):
                service, secret = make_client(name=name, redirect_uris=[], grant_types=["client_credentials"])
                seeded[name] = (service.client_id, secret)
            seeded["initial_access_token"] = issue_initial_access_token(expires_in=3600, uses=1, actor="cli")[1]
            db.session.remove()
            db.engine.dispose()

    return prepare


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    seeded = {}
    base = tmp_path_factory.mktemp("two-nodes")
    with (postgres_database("idp_two_nodes") as database_uri, exclusive_redis(REDIS_DB) as redis_url,
          cluster(base, database_uri, redis_url, names=("a", "b"), workers=2, prepare=migrate_and_seed(seeded),
                  **THROTTLES) as (installation, nodes)):
        deployment = Deployment(installation, nodes, seeded)
        yield deployment
        deployment.engine.dispose()


@pytest.fixture(autouse=True)
def nodes_stay_up(deployment):
    """A node that died during a test fails it with the node's own log."""
    yield
    for node in deployment.nodes:
        node.check_alive()


# --- the steps of a relying party and a browser ---------------------------------------------
def redirect_of(response):
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    return response.headers["Location"]


def sms_code(node, phone):
    """The code of the newest SMS to ``phone`` in the development outbox, read through ``node``."""
    outbox = requests.get(node.url + "/dev/outbox.json", timeout=TIMEOUT).json()
    message = next(m for m in outbox if m["channel"] == "sms" and m["to"] == phone)
    return re.search(r"#(\d{6})\s*$", message["body"]).group(1)


def authorization_request(client_id, scope="openid profile", **extra):
    """``(query, verifier, nonce)`` of a code request with PKCE S256."""
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(12)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
                       "scope": scope, "state": "st", "nonce": nonce, "code_challenge": challenge,
                       "code_challenge_method": "S256", **extra})
    return "/oauth/authorize?" + query, verifier, nonce


def back_at_the_client(browser, location, nodes):
    """Follow the login's redirects (resuming the request, the Telekom account offer, which is
    answered "Később") to the client's redirect URI, each hop on the next of ``nodes``; the
    callback's query."""
    turn = 0
    for _ in range(8):
        if location.startswith(REDIRECT_URI):
            return parse_qs(urlsplit(location).query)
        node, other = nodes[turn % 2], nodes[(turn + 1) % 2]
        if urlsplit(location).path == "/account/offer":
            response = browser.fill(node, other, location, {"later-submit": "Később"})
            turn += 2
        else:
            response = browser.get(node, location)
            turn += 1
        location = redirect_of(response)
    raise AssertionError(f"the login did not come back to the client: {location}")


def exchange(node, client, code, verifier):
    """The token response for ``code`` on ``node`` (client_secret_basic)."""
    response = requests.post(node.url + "/oauth/token", auth=client, timeout=TIMEOUT,
                             data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                   "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return response.json()


def refresh(node, client, refresh_token):
    return requests.post(node.url + "/oauth/token", auth=client, timeout=TIMEOUT,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def userinfo(node, access_token):
    return requests.get(node.url + "/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=TIMEOUT)


def error_of(response):
    return response.status_code, response.json().get("error")


def log_in(deployment, browser, person, scope="openid profile"):
    """A whole business login for the web client, its requests alternating between the nodes:
    authorize on A, identifier and password pages on A posted to B, the SMS page on B posted to
    A, the redirects back alternating, the code exchanged on B. Returns ``(tokens, nonce)``."""
    a, b = deployment.a, deployment.b
    authorize, verifier, nonce = authorization_request(deployment.web[0], scope)
    location = redirect_of(browser.get(a, authorize))
    assert urlsplit(location).path == "/login", location
    password_page = redirect_of(browser.fill(a, b, location, {"identifier": person["identifier"]}))
    assert urlsplit(password_page).path == "/login/password", password_page
    sms_page = redirect_of(browser.fill(a, b, password_page, {"password": PASSWORD}))
    assert urlsplit(sms_page).path == "/login/sms", sms_page
    done = browser.fill(b, a, sms_page, {"code": sms_code(a, person["phone"])})
    callback = back_at_the_client(browser, redirect_of(done), (b, a))
    assert callback["state"] == ["st"] and callback["iss"] == [deployment.issuer], callback
    return exchange(b, deployment.web, callback["code"][0], verifier), nonce


def client_credentials(client):
    return lambda node: requests.post(node.url + "/oauth/token", auth=client, timeout=TIMEOUT,
                                      data={"grant_type": "client_credentials"})


def unverified(token):
    """``(header, claims)`` of a JWT, read without checking it (the tests check elsewhere)."""
    compact = jws.extract_compact(token.encode())
    return compact.protected, json.loads(compact.payload)


def signed_with(token_response):
    return unverified(token_response.json()["access_token"])[0]["kid"]


def published_kids(node):
    return {key["kid"] for key in requests.get(node.url + "/jwks.json", timeout=TIMEOUT).json()["keys"]}


# --- 1. the browser login ----------------------------------------------------------------------
def test_a_business_login_whose_requests_alternate_between_the_nodes(deployment):
    """The paused authorization request, the journey, the CSRF secret and the session are in
    the database and the signed cookie, so no step needs the node that served the one before."""
    a, b = deployment.a, deployment.b
    browser = Browser(deployment.issuer)
    tokens, nonce = log_in(deployment, browser, ANNA)

    keys = KeySet.import_key_set(requests.get(a.url + "/jwks.json", timeout=TIMEOUT).json())
    claims = jwt.decode(tokens["id_token"], keys).claims  # signed on B, verified with A's JWKS
    assert claims["iss"] == deployment.issuer and claims["aud"] == deployment.web[0]
    assert claims["nonce"] == nonce and claims["amr"] == ["pwd", "sms", "mfa"] and claims["sid"]
    info = userinfo(a, tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"] and info.json()["preferred_username"] == "anna@acme"
    # The login session started on A is this browser's on B too: no second login.
    again, _, _ = authorization_request(deployment.web[0], prompt="none")
    assert "code" in back_at_the_client(browser, redirect_of(browser.get(b, again)), (a, b))


# --- 2. password throttles ---------------------------------------------------------------------
def test_wrong_passwords_on_both_nodes_count_toward_one_delay_and_one_lock(deployment):
    """The counters are in Redis: failures alternated between the nodes add up, and the delay
    and the lock one node set hold on the other - even for the right password."""
    a, b = deployment.a, deployment.b
    browser = Browser(deployment.issuer)
    password_page = redirect_of(browser.fill(a, b, "/login", {"identifier": BENCE["identifier"]}))
    name, token = CSRF.search(browser.get(a, password_page).text).groups()

    def try_password(node, password):
        return browser.post(node, password_page, {name: token, "password": password})

    def shows(response, status, message):
        assert response.status_code == status and message in response.text, (response.status_code,
                                                                               response.text[:2000])

    for node in (a, b, a):  # the 3rd wrong password starts a one-second delay
        shows(try_password(node, "rossz-jelszo"), 200, "Hibás azonosító vagy jelszó.")
    delayed = try_password(b, PASSWORD)
    shows(delayed, 429, "Próbálja újra 1 másodperc múlva.")
    assert delayed.headers["Retry-After"] == "1"

    time.sleep(int(delayed.headers["Retry-After"]))
    shows(try_password(b, "rossz-jelszo"), 429, "zároltuk")  # the 4th locks the identifier
    locked = try_password(a, PASSWORD)
    shows(locked, 429, "zároltuk")
    assert int(locked.headers["Retry-After"]) > 60


# --- 3. one refresh token, two nodes, one instant ------------------------------------------------
def test_one_refresh_token_presented_to_both_nodes_at_once_is_honoured_once(deployment):
    """Rotation claims the token with one conditional UPDATE, so exactly one node issues new
    tokens; the other request is a reuse, and reuse revokes the whole family (RFC 9700
    §4.14.2, ``idp/grants/refresh_token.py``) - including what the winner just got."""
    a, b = deployment.a, deployment.b
    tokens, _ = log_in(deployment, Browser(deployment.issuer), CSABA)
    family = deployment.scalar("SELECT family FROM tokens WHERE jti = :jti",
                               jti=unverified(tokens["access_token"])[1]["jti"])
    barrier = threading.Barrier(2)
    answers = {}

    def present(node):
        barrier.wait()
        answers[node.name] = refresh(node, deployment.web, tokens["refresh_token"])

    threads = [threading.Thread(target=present, args=(node,)) for node in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)

    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [200, 400], {name: response.text for name, response in answers.items()}
    [winner] = [response.json() for response in answers.values() if response.status_code == 200]
    [loser] = [response for response in answers.values() if response.status_code == 400]
    assert loser.json()["error"] == "invalid_grant"
    assert deployment.scalar("SELECT count(*) FROM audit_events WHERE event = 'oauth.refresh_token_reused' "
                             "AND details->>'family' = :family", family=family) == 1
    for node in (a, b):
        assert error_of(refresh(node, deployment.web, winner["refresh_token"])) == (400, "invalid_grant")
        assert userinfo(node, winner["access_token"]).status_code == 401


# --- 4. key rotation ---------------------------------------------------------------------------
def test_keys_rotated_by_the_operator_are_published_and_then_used_by_both_nodes(deployment):
    """``idp keys rotate`` writes the shared keys directory; every worker of B re-reads it: the
    new key is in B's JWKS at once, signs nothing during the overlap, and signs everything on B
    (and A) once the overlap is over."""
    a, b = deployment.a, deployment.b
    service = client_credentials(deployment.keys_service)
    before = {signed_with(response) for node in (a, b) for response in every_worker(node, service)}
    assert len(before) == 1, before

    rotated = deployment.installation.idp("keys", "rotate", "--json", KEY_ROTATION_OVERLAP=ROTATION_OVERLAP)
    [new] = [key for key in json.loads(rotated.stdout) if key["alg"] == "RS256"]
    activates_at = datetime.fromisoformat(new["activates_at"]).timestamp()
    for node in (b, a):
        for kids in every_worker(node, published_kids):
            assert new["kid"] in kids and before <= kids, (node, new["kid"], kids)
        for response in every_worker(node, service):
            assert signed_with(response) in before, (node, "signed with the new key before its time")
    assert time.time() < activates_at, "the overlap ended before the checks: raise ROTATION_OVERLAP"

    time.sleep(activates_at - time.time() + 0.05)
    for node in (b, a):
        for response in every_worker(node, service):
            assert signed_with(response) == new["kid"], (node, "still signing with the old key")
    keys = KeySet.import_key_set(requests.get(a.url + "/jwks.json", timeout=TIMEOUT).json())
    assert jwt.decode(service(b).json()["access_token"], keys).header["kid"] == new["kid"]


# --- 5. logout -----------------------------------------------------------------------------------
def silent_authorization(browser, client_id, scope="openid"):
    """``prompt=none`` for ``client_id``, sent to a node: the callback's query (``code`` or ``error``)."""

    def send(node):
        request, _, _ = authorization_request(client_id, scope, prompt="none")
        response = browser.get(node, request)
        return parse_qs(urlsplit(redirect_of(response)).query)

    return send


def test_a_logout_on_one_node_ends_the_session_on_the_other(deployment):
    """The login session is a row: once A ends it, no worker of B knows the login any more -
    neither for this browser nor for a copy of its cookie from before the logout - and the
    refresh token bound to it is refused there, while an ``offline_access`` one outlives it
    (``Token.refresh_is_usable``, OIDC Core §11)."""
    a, b = deployment.a, deployment.b
    browser = Browser(deployment.issuer)
    tokens, _ = log_in(deployment, browser, DORA)
    offline_request, verifier, _ = authorization_request(deployment.web[0], "openid offline_access", prompt="none")
    callback = back_at_the_client(browser, redirect_of(browser.get(b, offline_request)), (a, b))
    offline = exchange(a, deployment.web, callback["code"][0], verifier)
    for callback in every_worker(b, silent_authorization(browser, deployment.web[0])):
        assert "code" in callback, callback  # every worker of B has seen the login alive
    stale = Browser(deployment.issuer)
    stale.session.cookies = browser.session.cookies.copy()

    logged_out = browser.get(a, "/oauth/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))
    assert logged_out.status_code == 200, logged_out.text[:2000]
    for who in (browser, stale):
        for callback in every_worker(b, silent_authorization(who, deployment.web[0])):
            assert callback.get("error") == ["login_required"], callback
    for response in every_worker(b, lambda node: refresh(node, deployment.web, tokens["refresh_token"])):
        assert error_of(response) == (400, "invalid_grant")
    assert refresh(b, deployment.web, offline["refresh_token"]).status_code == 200


# --- 6. client changes -----------------------------------------------------------------------------
def all_succeed(node, request):
    for response in every_worker(node, request):
        assert response.status_code == 200, (node, response.text)


def test_a_secret_rotated_by_the_operator_works_and_the_old_one_fails_on_the_next_request(deployment):
    """``idp client rotate-secret --grace 0``: no worker of either node may keep accepting the
    old secret, or refuse the new one, for even one request - every process's copy of the client
    (``idp.services.client_cache``) was loaded before the change and must not be used after it."""
    a, b = deployment.a, deployment.b
    client_id, old_secret = deployment.rotated_service
    for node in (a, b):
        all_succeed(node, client_credentials((client_id, old_secret)))

    rotated = deployment.installation.idp("client", "rotate-secret", client_id, "--grace", "0", "--json")
    new_secret = json.loads(rotated.stdout)["client_secret"]
    for node in (b, a):
        for response in every_worker(node, client_credentials((client_id, old_secret))):
            assert error_of(response) == (401, "invalid_client"), node
        all_succeed(node, client_credentials((client_id, new_secret)))


def test_a_client_disabled_by_the_operator_is_refused_by_both_nodes_on_the_next_request(deployment):
    a, b = deployment.a, deployment.b
    service = client_credentials(deployment.disabled_service)
    for node in (a, b):
        all_succeed(node, service)

    deployment.installation.idp("client", "disable", deployment.disabled_service[0])
    for node in (b, a):
        for response in every_worker(node, service):
            assert error_of(response) == (401, "invalid_client"), node


def bearer(registration):
    """RFC 7592 §3: the registration access token of the client's latest registration response."""
    return {"Authorization": f"Bearer {registration['registration_access_token']}"}


def test_a_client_changed_and_deleted_through_node_a_is_seen_by_node_b_at_once(deployment):
    """RFC 7591/7592 over HTTP: registered on B, its authentication method changed on A (every
    worker of B refuses the old method from the next request on), then deleted on A (every
    worker of B refuses it)."""
    a, b = deployment.a, deployment.b
    registered = requests.post(b.url + "/oauth/register", timeout=TIMEOUT,
                               headers={"Authorization": f"Bearer {deployment.initial_access_token}"},
                               json={"client_name": "Partner", "grant_types": ["client_credentials"]})
    assert registered.status_code == 201, registered.text
    document = registered.json()
    client = (document["client_id"], document["client_secret"])
    management = on(a, document["registration_client_uri"], deployment.issuer)

    def secret_in_the_body(node):
        return requests.post(node.url + "/oauth/token", timeout=TIMEOUT, data={
            "grant_type": "client_credentials", "client_id": client[0], "client_secret": client[1]})

    for node in (a, b):
        all_succeed(node, client_credentials(client))

    changed = requests.put(management, headers=bearer(document), timeout=TIMEOUT, json={
        "client_id": client[0], "client_name": "Partner", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post"})
    assert changed.status_code == 200, changed.text
    for response in every_worker(b, client_credentials(client)):
        assert error_of(response) == (401, "invalid_client")
    all_succeed(b, secret_in_the_body)

    deleted = requests.delete(management, headers=bearer(changed.json()), timeout=TIMEOUT)
    assert deleted.status_code == 204, deleted.text
    for response in every_worker(b, secret_in_the_body):
        # RFC 6749 §5.2: 401 is for credentials in the Authorization header; these were in the body.
        assert error_of(response) == (400, "invalid_client")
