"""Dynamic client registration (RFC 7591 at ``/oauth/register``) and its management
(RFC 7592 at ``/oauth/register/<client_id>``), protected by initial access tokens that
``idp client registration-token`` issues: the shape of every answer, the metadata under the
shared rules of ``idp.clients``, token uses and expiry, and the bad-input table - RFC error
codes, never a 500, nothing saved."""

import json
import threading
from datetime import timedelta

import pytest
import requests

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.client import OAuthClient
from idp.models.client import hash_secret
from idp.models.registration import RegistrationToken
from idp.models.token import Token
from idp.registration.tokens import iso
from idp.registration.tokens import issue_initial_access_token
from tests.factories import make_client
from tests.login_helpers import audit_events
from tests.oauth_helpers import basic
from tests.oauth_helpers import introspect
from tests.oauth_helpers import oauth_error

REGISTER = "/oauth/register"
RP = {"client_name": "Harmadik Fél Kft. számlázója", "redirect_uris": ["https://rp.example/cb"]}


def issue(uses=1, expires_in=3600, label="teszt"):
    return issue_initial_access_token(expires_in=expires_in, uses=uses, label=label, actor="cli")[1]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def register(client, token, body=None, **overrides):
    document = {**(RP if body is None else body), **overrides}
    return client.post(REGISTER, json={k: v for k, v in document.items() if v is not None},
                       headers=bearer(token) if token else {})


def registered(client, **overrides):
    """A dynamically registered client: the 201 document."""
    response = register(client, issue(), **overrides)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def path_of(document):
    return document["registration_client_uri"].removeprefix("http://localhost")


def manage(client, method, document, token=None, body=None, **kwargs):
    token = token or document["registration_access_token"]
    return client.open(path_of(document), method=method, json=body, headers=bearer(token), **kwargs)


def client_count():
    db.session.expire_all()
    return OAuthClient.query.count()


def uses_left():
    db.session.expire_all()
    return sorted(row.uses_left for row in RegistrationToken.query)


@pytest.fixture
def token(app):
    return issue()


# --- registering ----------------------------------------------------------------------------
def test_registration_answers_201_with_the_client_and_its_management_credentials(app, client, clock, token):
    response = register(client, token, scope="openid profile email")
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    client_id = body["client_id"]
    assert body == {
        "client_id": client_id, "client_secret": body["client_secret"], "client_id_issued_at": clock.timestamp(),
        "client_secret_expires_at": 0, "client_name": RP["client_name"], "redirect_uris": RP["redirect_uris"],
        "post_logout_redirect_uris": [], "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile email", "registration_access_token": body["registration_access_token"],
        "registration_client_uri": f"http://localhost/oauth/register/{client_id}"}
    stored = OAuthClient.query.filter_by(client_id=client_id).one()
    assert stored.check_client_secret(body["client_secret"])
    assert (stored.first_party, stored.resource_server, stored.owner_sub, stored.disabled) == (False, False, None,
                                                                                            False)


def test_the_registration_access_token_and_the_secret_are_stored_only_hashed(app, client, token):
    body = registered(client)
    stored = OAuthClient.query.filter_by(client_id=body["client_id"]).one()
    assert stored.registration_access_token_hash == hash_secret(body["registration_access_token"])
    row = {column.name: getattr(stored, column.key) for column in OAuthClient.__table__.columns}
    everything = json.dumps(row, default=str)
    assert body["registration_access_token"] not in everything and body["client_secret"] not in everything
    assert RegistrationToken.query.filter_by(token_hash=hash_secret(token)).one().label == "teszt"
    audited = json.dumps([(e.actor, e.subject, e.details) for e in AuditEvent.query], default=str)
    assert body["registration_access_token"] not in audited and token not in audited


def test_posted_operator_decisions_are_ignored(app, client, token):
    """Dynamically registered clients are third-party, owner-less, never resource servers."""
    body = register(client, token, first_party=True, resource_server=True, owner_sub="x", disabled=True,
                    client_secret="chosen-by-me", client_id="chosen-id").get_json()
    stored = OAuthClient.query.filter_by(client_id=body["client_id"]).one()
    assert body["client_id"] != "chosen-id" and body["client_secret"] != "chosen-by-me"
    assert (stored.first_party, stored.resource_server, stored.owner_sub, stored.disabled) == (False, False, None,
                                                                                            False)
    assert not {"first_party", "resource_server", "owner_sub", "disabled"} & set(body)


def test_a_public_client_gets_no_secret(app, client, token):
    body = registered(client, redirect_uris=["com.example.app:/cb", "http://127.0.0.1/cb"],
                      token_endpoint_auth_method="none")
    assert "client_secret" not in body and body["client_secret_expires_at"] == 0
    assert OAuthClient.query.filter_by(client_id=body["client_id"]).one().client_secret_hash is None


def test_registration_is_audited_with_the_initial_access_token_used(app, client):
    body = registered(client)
    [event] = audit_events("client.registered")
    assert (event.actor, event.subject) == ("dynamic_registration", body["client_id"])
    assert event.details["first_party"] is False
    [used] = audit_events("registration_token.used")
    assert used.subject == body["client_id"]
    assert (used.details["label"], used.details["uses_left"]) == ("teszt", 0)


def test_discovery_lists_the_registration_endpoint(client):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        assert client.get(path).get_json()["registration_endpoint"] == "http://localhost/oauth/register"


# --- reading, updating, deleting (RFC 7592) ---------------------------------------------------
FULL = {
    **RP, "post_logout_redirect_uris": ["https://rp.example/bye"], "grant_types": ["authorization_code"],
    "response_types": ["code"], "token_endpoint_auth_method": "client_secret_post", "scope": "openid email",
    "logo_uri": "https://rp.example/logo.png", "client_uri": "https://rp.example/",
    "policy_uri": "https://rp.example/privacy", "tos_uri": "https://rp.example/terms",
    "backchannel_logout_uri": "https://rp.example/backchannel", "id_token_signed_response_alg": "ES256",
    "jwks_uri": "https://rp.example/jwks.json"}


def test_the_metadata_round_trips_through_get(app, client):
    body = registered(client, **FULL)
    response = manage(client, "GET", body)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    read = response.get_json()
    assert read == {**FULL, "client_id": body["client_id"], "client_id_issued_at": body["client_id_issued_at"],
                    "client_secret_expires_at": 0, "registration_access_token": body["registration_access_token"],
                    "registration_client_uri": body["registration_client_uri"]}
    assert {k: v for k, v in body.items() if k != "client_secret"} == read


def test_put_replaces_the_metadata_and_rotates_the_registration_access_token(app, client):
    body = registered(client, **FULL)
    update = {**FULL, "client_id": body["client_id"], "client_name": "Új név",
              "redirect_uris": ["https://rp.example/new"], "logo_uri": None, "tos_uri": None}
    response = manage(client, "PUT", body, body={k: v for k, v in update.items() if v is not None})
    assert response.status_code == 200, response.get_data(as_text=True)
    updated = response.get_json()
    assert updated["client_name"] == "Új név" and updated["redirect_uris"] == ["https://rp.example/new"]
    assert "logo_uri" not in updated and "tos_uri" not in updated  # left out: deleted (RFC 7592 §2.2)
    assert updated["policy_uri"] == FULL["policy_uri"]
    assert "client_secret" not in updated  # still the same secret (stored hashed, not shown again)
    new_token = updated["registration_access_token"]
    assert new_token != body["registration_access_token"]
    oauth_error(manage(client, "GET", body), "invalid_token", 401)
    assert manage(client, "GET", body, token=new_token).get_json() == updated
    stored = OAuthClient.query.filter_by(client_id=body["client_id"]).one()
    assert stored.registration_access_token_hash == hash_secret(new_token)
    [event] = audit_events("client.updated")
    assert event.actor == body["client_id"] and "client_name" in event.details["changed"]


def test_put_without_client_id_is_a_full_replacement(app, client):
    """Omitted fields are deleted: the rules' defaults apply again."""
    body = registered(client, **FULL)
    response = manage(client, "PUT", body, body={"client_name": "Csak név",
                                                 "redirect_uris": ["https://rp.example/cb"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    updated = response.get_json()
    assert updated["grant_types"] == ["authorization_code", "refresh_token"]
    assert updated["token_endpoint_auth_method"] == "client_secret_basic"
    assert not {"logo_uri", "jwks_uri", "backchannel_logout_uri", "id_token_signed_response_alg"} & set(updated)
    assert updated["post_logout_redirect_uris"] == []


def test_put_to_another_auth_method_drops_or_issues_the_secret(app, client):
    body = registered(client)
    public = manage(client, "PUT", body, body={**RP, "token_endpoint_auth_method": "none"}).get_json()
    assert public["token_endpoint_auth_method"] == "none" and "client_secret" not in public
    assert OAuthClient.query.filter_by(client_id=body["client_id"]).one().client_secret_hash is None
    confidential = manage(client, "PUT", public, body={**RP, "token_endpoint_auth_method": "client_secret_basic"})
    secret = confidential.get_json()["client_secret"]
    db.session.expire_all()
    assert OAuthClient.query.filter_by(client_id=body["client_id"]).one().check_client_secret(secret)


@pytest.mark.parametrize(("change", "error"), [
    pytest.param({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", id="javascript"),
    pytest.param({"redirect_uris": ["http://rp.example/cb"]}, "invalid_redirect_uri", id="http"),
    pytest.param({"grant_types": ["password"]}, "invalid_client_metadata", id="grant"),
    pytest.param({"scope": "openid root"}, "invalid_client_metadata", id="scope"),
    pytest.param({"client_name": None}, "invalid_client_metadata", id="no-name"),
    pytest.param({"client_id": "someone-else"}, "invalid_request", id="client-id"),
    pytest.param({"client_secret": "not-the-secret"}, "invalid_request", id="client-secret"),
    pytest.param({"registration_access_token": "x"}, "invalid_request", id="server-field"),
    pytest.param({"client_id_issued_at": 1}, "invalid_request", id="issued-at"),
])
def test_put_is_judged_by_the_same_rules_and_changes_nothing_when_refused(app, client, change, error):
    body = registered(client, **FULL)
    update = {k: v for k, v in {**FULL, **change}.items() if v is not None}
    oauth_error(manage(client, "PUT", body, body=update), error)
    read = manage(client, "GET", body)  # the token was not rotated either
    assert read.status_code == 200
    assert {k: v for k, v in read.get_json().items() if k in FULL} == FULL


def test_put_with_the_matching_client_id_and_secret_is_accepted(app, client):
    body = registered(client)
    response = manage(client, "PUT", body, body={**RP, "client_id": body["client_id"],
                                                 "client_secret": body["client_secret"]})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_delete_removes_the_client_and_kills_its_tokens(app, client):
    body = registered(client, redirect_uris=None, grant_types=["client_credentials"], response_types=None)
    issued = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "openid"},
                         headers=basic(body["client_id"], body["client_secret"]))
    assert issued.status_code == 200, issued.get_data(as_text=True)
    access_token = issued.get_json()["access_token"]
    api, api_secret = make_client(name="API", redirect_uris=[], grant_types=["client_credentials"],
                                  resource_server=True)
    assert introspect(client, api, api_secret, access_token)["active"] is True

    response = manage(client, "DELETE", body)
    assert response.status_code == 204 and response.get_data() == b""
    assert OAuthClient.query.filter_by(client_id=body["client_id"]).count() == 0
    assert Token.query.filter_by(client_id=body["client_id"]).one().access_revoked_at is not None
    assert introspect(client, api, api_secret, access_token) == {"active": False}
    again = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers=basic(body["client_id"], body["client_secret"]))
    oauth_error(again, "invalid_client", 401)
    [event] = audit_events("client.deleted")
    assert event.actor == body["client_id"] and event.details["tokens_revoked"] == 1
    # The deleted client's token is refused like any wrong one.
    oauth_error(manage(client, "GET", body), "invalid_token", 401)


def test_a_disabled_client_cannot_manage_itself(app, client):
    from idp.clients import set_client_disabled

    body = registered(client)
    set_client_disabled(OAuthClient.query.filter_by(client_id=body["client_id"]).one(), True, actor="cli")
    for method in ("GET", "PUT", "DELETE"):
        oauth_error(manage(client, method, body, body=RP), "unauthorized_client", 403)
    assert client_count() == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_management_refuses_wrong_missing_and_other_clients_tokens_alike(app, client, method):
    mine, other = registered(client), registered(client)
    wrong = {
        "wrong": manage(client, method, mine, token="x" * 43, body=RP),
        "another client's": manage(client, method, mine, token=other["registration_access_token"], body=RP),
        "unknown client": client.open("/oauth/register/no-such-client", method=method, json=RP,
                                      headers=bearer(mine["registration_access_token"])),
        "initial access token": manage(client, method, mine, token=issue(), body=RP),
    }
    bodies = {name: oauth_error(response, "invalid_token", 401) for name, response in wrong.items()}
    assert len({json.dumps(b) for b in bodies.values()}) == 1  # never telling whether the client exists
    assert len({r.headers["WWW-Authenticate"] for r in wrong.values()}) == 1
    assert 'error="invalid_token"' in wrong["wrong"].headers["WWW-Authenticate"]
    for headers in ({}, basic(mine["client_id"], mine["client_secret"])):
        missing = client.open(path_of(mine), method=method, json=RP, headers=headers)
        oauth_error(missing, "invalid_token", 401)
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="registration"'  # RFC 6750 §3.1
    assert client_count() == 2
    assert manage(client, "GET", mine).get_json()["client_name"] == RP["client_name"]


# --- initial access tokens: uses, expiry, parallel use -----------------------------------------
def test_a_token_registers_as_many_clients_as_its_uses(app, client):
    token = issue(uses=2)
    assert [register(client, token).status_code for _ in range(3)] == [201, 201, 401]
    assert client_count() == 2


def test_a_refused_registration_does_not_use_up_the_token(app, client, token):
    oauth_error(register(client, token, redirect_uris=["javascript:alert(1)"]), "invalid_redirect_uri")
    assert uses_left() == [1]
    assert register(client, token).status_code == 201
    assert uses_left() == [0]


def test_an_expired_token_registers_nothing(app, client, clock):
    token = issue(expires_in=600)
    clock.advance(seconds=599)
    assert register(client, token).status_code == 201
    later = issue(expires_in=600)
    clock.advance(seconds=601)
    body = oauth_error(register(client, later), "invalid_token", 401)
    assert "expired" in body["error_description"]
    assert client_count() == 1


def test_parallel_registrations_with_a_single_use_token_exactly_one_succeeds(live_server):
    token = issue(uses=1)
    barrier, replies = threading.Barrier(4), []

    def submit(n):
        barrier.wait()
        replies.append(requests.post(live_server.url + REGISTER, json={**RP, "client_name": f"Párhuzamos {n}"},
                                     headers=bearer(token), timeout=30))

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status_code for r in replies) == [201, 401, 401, 401], [r.text for r in replies]
    assert client_count() == 1 and uses_left() == [0]


# --- the bad-input table -----------------------------------------------------------------------
NESTED = json.loads("[" * 50 + '"https://rp.example/cb"' + "]" * 50)
PRIVATE_JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "jpsQnnGQmL-YBIffH1136cLCN8-Gc_jqx7hYQ1Ci6Lw"}


@pytest.mark.parametrize(("overrides", "error"), [
    pytest.param({"redirect_uris": ["not a uri"]}, "invalid_redirect_uri", id="not-a-uri"),
    pytest.param({"redirect_uris": ["/cb"]}, "invalid_redirect_uri", id="relative"),
    pytest.param({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", id="javascript"),
    pytest.param({"redirect_uris": ["javascript://rp.example/%0aalert(1)"]}, "invalid_redirect_uri",
                 id="javascript-with-host"),
    pytest.param({"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}, "invalid_redirect_uri",
                 id="data"),
    pytest.param({"redirect_uris": ["http://rp.example/cb"]}, "invalid_redirect_uri", id="http-not-loopback"),
    pytest.param({"redirect_uris": ["https://rp.example/cb#frag"]}, "invalid_redirect_uri", id="fragment"),
    pytest.param({"redirect_uris": ["https://*.rp.example/cb"]}, "invalid_redirect_uri", id="wildcard"),
    pytest.param({"redirect_uris": ["https://user@rp.example/cb"]}, "invalid_redirect_uri", id="userinfo"),
    pytest.param({"redirect_uris": ["http://localhost/cb"]}, "invalid_redirect_uri", id="this-server"),
    pytest.param({"redirect_uris": ["https://rp.example/\u00e1"]}, "invalid_redirect_uri", id="non-ascii"),
    pytest.param({"redirect_uris": None}, "invalid_client_metadata", id="code-without-redirect-uri"),
    pytest.param({"redirect_uris": "https://rp.example/cb"}, "invalid_client_metadata", id="uris-not-an-array"),
    pytest.param({"redirect_uris": [5]}, "invalid_client_metadata", id="uri-not-a-string"),
    pytest.param({"redirect_uris": NESTED}, "invalid_client_metadata", id="nested-arrays"),
    pytest.param({"redirect_uris": [f"https://rp.example/{n}" for n in range(2000)]}, "invalid_client_metadata",
                 id="huge-array"),
    pytest.param({"post_logout_redirect_uris": ["javascript:alert(1)"]}, "invalid_client_metadata",
                 id="post-logout-javascript"),
    pytest.param({"logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", id="logo-javascript"),
    pytest.param({"logo_uri": "data:image/png;base64,iVBORw0KGgo="}, "invalid_client_metadata", id="logo-data"),
    pytest.param({"client_uri": "http://rp.example/"}, "invalid_client_metadata", id="homepage-http"),
    pytest.param({"tos_uri": {"href": "https://rp.example/"}}, "invalid_client_metadata", id="uri-an-object"),
    pytest.param({"jwks_uri": "ftp://rp.example/keys"}, "invalid_client_metadata", id="jwks-uri-ftp"),
    pytest.param({"backchannel_logout_uri": "https://rp.example/bc#x"}, "invalid_client_metadata",
                 id="backchannel-fragment"),
    pytest.param({"grant_types": ["password"]}, "invalid_client_metadata", id="grant-password"),
    pytest.param({"grant_types": ["implicit"]}, "invalid_client_metadata", id="grant-implicit"),
    pytest.param({"grant_types": ["urn:telekom:oauth:grant-type:business-password"]}, "invalid_client_metadata",
                 id="grant-first-party"),
    pytest.param({"grant_types": "authorization_code"}, "invalid_client_metadata", id="grants-not-an-array"),
    pytest.param({"response_types": ["token"]}, "invalid_client_metadata", id="response-token"),
    pytest.param({"response_types": ["code id_token"]}, "invalid_client_metadata", id="response-hybrid"),
    pytest.param({"response_types": ["code"], "grant_types": ["client_credentials"]}, "invalid_client_metadata",
                 id="response-code-without-its-grant"),
    pytest.param({"scope": "openid admin"}, "invalid_client_metadata", id="unknown-scope"),
    pytest.param({"scope": ["openid"]}, "invalid_client_metadata", id="scope-not-a-string"),
    pytest.param({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata",
                 id="unknown-auth-method"),
    pytest.param({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none",
                  "redirect_uris": None}, "invalid_client_metadata", id="public-client-credentials"),
    pytest.param({"jwks": None, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata",
                 id="private-key-jwt-without-keys"),
    pytest.param({"jwks": {"keys": [PRIVATE_JWK]}}, "invalid_client_metadata", id="jwks-private-key"),
    pytest.param({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "invalid_client_metadata",
                 id="jwks-symmetric"),
    pytest.param({"jwks": {"keys": "none"}}, "invalid_client_metadata", id="jwks-malformed"),
    pytest.param({"jwks": {"keys": [{"kty": "RSA", "n": "AQAB", "e": 5}]}}, "invalid_client_metadata",
                 id="jwks-bad-key"),
    pytest.param({"jwks": {"keys": [{k: v for k, v in PRIVATE_JWK.items() if k != "d"}]},
                  "jwks_uri": "https://rp.example/jwks"}, "invalid_client_metadata", id="jwks-and-jwks-uri"),
    pytest.param({"id_token_signed_response_alg": "none"}, "invalid_client_metadata", id="alg-none"),
    pytest.param({"client_name": None}, "invalid_client_metadata", id="no-name"),
    pytest.param({"client_name": 5}, "invalid_client_metadata", id="name-not-a-string"),
    pytest.param({"client_name": "x" * 201}, "invalid_client_metadata", id="name-too-long"),
    pytest.param({"client_name": "Bank\u0000"}, "invalid_client_metadata", id="name-nul"),
    pytest.param({"client_name": "Bank\u202e"}, "invalid_client_metadata", id="name-bidi-override"),
])
def test_invalid_metadata_is_refused_with_the_rfc_error_naming_the_field(app, client, token, overrides, error):
    field = next(iter(overrides))
    body = oauth_error(register(client, token, **overrides), error)
    assert field in body["error_description"] or (field == "redirect_uris" and "redirect URI" in
                                                   body["error_description"]), body
    assert client_count() == 0 and uses_left() == [1]
    assert audit_events("client.registered") == [] and audit_events("registration_token.used") == []


@pytest.mark.parametrize(("data", "content_type", "status"), [
    pytest.param(json.dumps({**RP, "padding": "x" * 1024 * 1024}), "application/json", 413, id="1MB-json"),
    pytest.param("client_name=A&redirect_uris=https://rp.example/cb", "application/x-www-form-urlencoded", 400,
                 id="form-encoded"),
    pytest.param("client_name=" + "A" * 1024 * 1024, "application/x-www-form-urlencoded", 413, id="1MB-form"),
    pytest.param(json.dumps(RP), "text/plain", 400, id="json-as-text"),
    pytest.param(json.dumps(RP), None, 400, id="no-content-type"),
    pytest.param("{", "application/json", 400, id="malformed"),
    pytest.param("", "application/json", 400, id="empty"),
    pytest.param(json.dumps([RP]), "application/json", 400, id="array"),
    pytest.param('"client_name"', "application/json", 400, id="string"),
    pytest.param("null", "application/json", 400, id="null"),
    pytest.param("[" * 60000, "application/json", 400, id="nested-deep"),
    pytest.param('{"client_name": NaN}', "application/json", 400, id="nan"),
    pytest.param('{"client_name": "A", "client_name": "B", "redirect_uris": ["https://rp.example/cb"]}',
                 "application/json", 400, id="repeated-member"),
    pytest.param(b'{"client_name": "\xff", "redirect_uris": ["https://rp.example/cb"]}', "application/json", 400,
                 id="invalid-utf8"),
    pytest.param("1" * 5000, "application/json", 400, id="huge-number"),
])
def test_a_body_that_is_not_a_json_object_is_refused(app, client, token, data, content_type, status):
    response = client.post(REGISTER, data=data, content_type=content_type, headers=bearer(token))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"
    assert client_count() == 0 and uses_left() == [1]


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="none"),
    pytest.param({"Authorization": "Bearer"}, id="empty"),
    pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong"),
    pytest.param({"Authorization": "Bearer " + "x" * 5000}, id="long"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic"),
])
def test_registration_without_a_valid_initial_access_token_is_invalid_token(app, client, token, headers):
    response = client.post(REGISTER, json=RP, headers=headers)
    oauth_error(response, "invalid_token", 401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="registration"')
    assert client_count() == 0 and uses_left() == [1]


def test_a_used_up_token_is_invalid_token(app, client, token):
    assert register(client, token).status_code == 201
    oauth_error(register(client, token, client_name="Második"), "invalid_token", 401)
    assert client_count() == 1


@pytest.mark.parametrize(("data", "content_type", "status"), [
    pytest.param(json.dumps({**RP, "padding": "x" * 1024 * 1024}), "application/json", 413, id="1MB-json"),
    pytest.param(json.dumps(RP), "text/plain", 400, id="json-as-text"),
    pytest.param("{", "application/json", 400, id="malformed"),
    pytest.param("[]", "application/json", 400, id="array"),
])
def test_a_bad_update_body_changes_nothing(app, client, data, content_type, status):
    body = registered(client)
    response = client.put(path_of(body), data=data, content_type=content_type,
                          headers=bearer(body["registration_access_token"]))
    assert response.status_code == status and response.get_json()["error"] == "invalid_request"
    assert manage(client, "GET", body).get_json()["client_name"] == RP["client_name"]


def test_other_methods_are_json_405_and_head_is_a_get(app, client):
    for method, path in (("GET", REGISTER), ("PATCH", REGISTER + "/abc"), ("POST", REGISTER + "/abc")):
        response = client.open(path, method=method)
        assert response.status_code == 405 and response.get_json()["error"] == "invalid_request"
    body = registered(client)
    assert manage(client, "HEAD", body).status_code == 200
    assert manage(client, "HEAD", body, token="wrong").status_code == 401


# --- the CLI ---------------------------------------------------------------------------------
def idp(app, *args):
    result = app.test_cli_runner().invoke(args=["idp", "client", "registration-token", *args])
    db.session.expire_all()
    return result


def test_cli_issues_a_token_once_and_stores_only_its_hash(app, client, clock):
    result = idp(app, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    token = document.pop("token")
    assert document == {"id": document["id"], "registration_endpoint": "http://localhost/oauth/register",
                        "label": None, "uses_left": 1, "created_at": iso(clock.now()),
                        "expires_at": iso(clock.now() + timedelta(days=1)), "usable": True}
    row = db.session.get(RegistrationToken, document["id"])
    assert row.token_hash == hash_secret(token) and row.uses_left == 1
    assert (row.expires_at - row.created_at).total_seconds() == 86400
    assert register(client, token).status_code == 201
    [event] = audit_events("registration_token.issued")
    assert event.actor == "cli" and event.details["uses_left"] == 1


def test_cli_uses_expiry_label_list_and_revoke(app, client, clock):
    issued = json.loads(idp(app, "--uses", "3", "--expires-in", "600", "--label", "partner X", "--json").stdout)
    assert (issued["uses_left"], issued["label"]) == (3, "partner X")
    assert register(client, issued["token"]).status_code == 201
    listed = json.loads(idp(app, "list", "--json").stdout)
    assert [(d["id"], d["uses_left"], d["usable"]) for d in listed] == [(issued["id"], 2, True)]
    assert "token" not in listed[0]
    assert issued["token"] not in idp(app, "list").stdout
    clock.advance(seconds=601)
    assert json.loads(idp(app, "list", "--json").stdout)[0]["usable"] is False
    revoked = idp(app, "revoke", str(issued["id"]), "--json")
    assert json.loads(revoked.stdout) == {"id": issued["id"], "revoked": True}
    assert RegistrationToken.query.count() == 0
    assert [e.details["label"] for e in audit_events("registration_token.revoked")] == ["partner X"]
    refused = idp(app, "revoke", str(issued["id"]), "--json")
    assert refused.exit_code == 1 and "No initial access token" in json.loads(refused.stdout)["error"]


def test_cli_revoked_token_registers_nothing(app, client):
    issued = json.loads(idp(app, "--uses", "5", "--json").stdout)
    idp(app, "revoke", str(issued["id"]))
    oauth_error(register(client, issued["token"]), "invalid_token", 401)


@pytest.mark.parametrize("args", [("--uses", "0"), ("--expires-in", "1"), ("--uses", "many")])
def test_cli_refuses_bad_options(app, args):
    result = idp(app, *args, "--json")
    assert result.exit_code == 2 and "error" in json.loads(result.stdout.splitlines()[0])
    assert RegistrationToken.query.count() == 0
