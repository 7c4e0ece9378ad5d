"""``idp client …`` (DESIGN.md §5): create, list, show, update, rotate-secret,
disable, enable and delete, each with ``--json``; refusals as ``{"error": …}``.
In-process through Click's test runner against the test's database; the
protocol effects (tokens dying, a disabled client refused) through the test client."""

import base64
import json
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.session import Consent
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from idp.services import get_services
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_user
from tests.login_helpers import audit_events

REDIRECT_URI = "https://rp.example/cb"


def idp(app, *args):
    """Run ``idp ARGS`` in-process; returns Click's result."""
    result = app.test_cli_runner().invoke(args=["idp", *args])
    db.session.expire_all()  # the command committed in its own session
    return result


def ok_json(app, *args):
    result = idp(app, *args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    return json.loads(result.stdout)  # exactly one document: json.loads refuses anything after it


def refused_json(app, *args, needle="", exit_code=1):
    """``--json`` refusals: one ``{"error": …}`` document on stdout, the same sentence on stderr."""
    result = idp(app, *args, "--json")
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    document = json.loads(result.stdout)
    assert list(document) == ["error"] and needle in document["error"], document
    assert result.stderr.strip().endswith(document["error"]) or exit_code == 2, result.stderr
    return document["error"]


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def anna(app):
    return make_user(make_company(slug="acme"), username="anna", email="anna@acme.example", phone="+36301234567")


@pytest.fixture
def rp(app):
    return make_client(name="Számlázó", first_party=True)


@pytest.fixture
def introspector(app):
    """An API of ours: may introspect any token."""
    return make_client(name="API", grant_types=["client_credentials"], redirect_uris=[], resource_server=True)


def authorize(browser, rp_client, principal):
    """A logged-in authorization request; returns (response, verifier)."""
    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": rp_client.client_id, "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "s", "nonce": secrets.token_urlsafe(8),
              "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    response = browser.get("/oauth/authorize?" + urlencode(params))
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path.startswith("/login"):
        response = browser.get(browser.get(login_url(response.headers["Location"], principal)).headers["Location"])
    return response, verifier


def code_of(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def exchange(browser, rp, code, verifier):
    rp_client, secret = rp
    return browser.post("/oauth/token", headers=basic(rp_client.client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})


def tokens_for(browser, rp, principal):
    response, verifier = authorize(browser, rp[0], principal)
    tokens = exchange(browser, rp, code_of(response), verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return tokens.get_json()


def active(browser, introspector, token):
    client, secret = introspector
    response = browser.post("/oauth/introspect", data={"token": token}, headers=basic(client.client_id, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["active"]


def refresh(browser, rp, refresh_token):
    return browser.post("/oauth/token", headers=basic(rp[0].client_id, rp[1]),
                        data={"grant_type": "refresh_token", "refresh_token": refresh_token})


# --- create, list, show ------------------------------------------------------------------------
def test_create_resource_server_is_shown_by_create_show_and_list(app):
    created = ok_json(app, "client", "create", "--name", "Számla API", "--grant-type", "client_credentials",
                      "--resource-server")
    client_id = created["client_id"]
    assert created["resource_server"] is True and created["client_secret"]
    assert OAuthClient.query.filter_by(client_id=client_id).one().resource_server is True

    shown = ok_json(app, "client", "show", client_id)
    assert "client_secret" not in shown  # stored hashed: shown only when made
    assert {k: v for k, v in created.items() if k != "client_secret"} == shown
    assert shown["grant_types"] == ["client_credentials"] and shown["disabled"] is False
    listed = ok_json(app, "client", "list")
    assert [c["client_id"] for c in listed] == [client_id] and listed[0] == shown
    web = ok_json(app, "client", "create", "--name", "Web", "--redirect-uri", REDIRECT_URI)
    assert web["resource_server"] is False
    [event] = audit_events("client.registered", subject=client_id)
    assert event.actor == "cli" and event.details["resource_server"] is True


def test_list_and_show_without_json_print_lines(app, rp):
    listed = idp(app, "client", "list")
    assert listed.exit_code == 0 and rp[0].client_id in listed.stdout and "Számlázó" in listed.stdout
    assert "confidential, first-party" in listed.stdout
    shown = idp(app, "client", "show", rp[0].client_id)
    assert f"redirect_uris: {REDIRECT_URI}" in shown.stdout and rp[1] not in shown.stdout


# --- update --------------------------------------------------------------------------------------
def test_update_changes_only_what_is_given_and_is_audited(app, rp):
    client_id = rp[0].client_id
    document = ok_json(app, "client", "update", client_id, "--name", "Új név", "--redirect-uri",
                       "https://rp.example/a", "--redirect-uri", "https://rp.example/b", "--resource-server",
                       "--no-first-party")
    assert document["client_name"] == "Új név"
    assert document["redirect_uris"] == ["https://rp.example/a", "https://rp.example/b"]
    assert (document["resource_server"], document["first_party"]) == (True, False)
    assert "client_secret" not in document
    client = OAuthClient.query.filter_by(client_id=client_id).one()
    assert client.check_client_secret(rp[1])  # the secret stays
    assert client.grant_types == ["authorization_code", "refresh_token"] and client.scope == rp[0].scope
    [event] = audit_events("client.updated", subject=client_id)
    assert event.actor == "cli"
    assert event.details["changed"] == ["client_name", "first_party", "redirect_uris", "resource_server"]


@pytest.mark.parametrize("args, needle", [
    (["--redirect-uri", "http://evil.example/cb"], "https"),
    (["--redirect-uri", "https://rp.example/cb#frag"], "fragment"),
    (["--redirect-uri", ""], "needs at least one redirect URI"),
    (["--scope", "openid bogus"], "Unknown scope(s): bogus"),
    (["--name", " "], "client name"),
    (["--auth-method", "none", "--grant-type", "client_credentials"], "public client cannot"),
    (["--auth-method", "private_key_jwt"], "private_key_jwt needs jwks"),
    (["--jwks-uri", "http://keys.example/jwks"], "https"),
], ids=["plain-http", "fragment", "no-redirect-uri", "unknown-scope", "blank-name", "public-credentials",
        "jwt-without-keys", "http-jwks-uri"])
def test_update_follows_the_registration_rules(app, rp, args, needle):
    before = json.dumps(ok_json(app, "client", "show", rp[0].client_id))
    refused_json(app, "client", "update", rp[0].client_id, *args, needle=needle)
    assert json.dumps(ok_json(app, "client", "show", rp[0].client_id)) == before
    assert audit_events("client.updated") == []


def test_update_to_a_secret_method_makes_a_secret_and_to_none_drops_it(app):
    public = ok_json(app, "client", "create", "--public", "--name", "App", "--redirect-uri", REDIRECT_URI)
    assert public["client_secret"] is None
    confidential = ok_json(app, "client", "update", public["client_id"], "--auth-method", "client_secret_post")
    client = OAuthClient.query.filter_by(client_id=public["client_id"]).one()
    assert client.check_client_secret(confidential["client_secret"])
    ok_json(app, "client", "update", public["client_id"], "--auth-method", "none")
    assert OAuthClient.query.filter_by(client_id=public["client_id"]).one().client_secret_hash is None


def test_update_empties_a_list_with_an_empty_value(app):
    created = ok_json(app, "client", "create", "--name", "Web", "--redirect-uri", REDIRECT_URI,
                      "--post-logout-redirect-uri", "https://rp.example/bye")
    updated = ok_json(app, "client", "update", created["client_id"], "--post-logout-redirect-uri", "")
    assert updated["post_logout_redirect_uris"] == [] and updated["redirect_uris"] == [REDIRECT_URI]


# --- rotate-secret -------------------------------------------------------------------------------
def test_rotate_secret_shows_the_new_one_once_and_the_old_one_stops_working(app, client, rp):
    rotated = ok_json(app, "client", "rotate-secret", rp[0].client_id, "--grace", "0")
    assert set(rotated) == {"client_id", "client_secret", "previous_secret_valid_until"}
    assert rotated["client_secret"] != rp[1] and rotated["previous_secret_valid_until"] is None
    grant = {"grant_type": "client_credentials"}
    old = client.post("/oauth/token", data=grant, headers=basic(rp[0].client_id, rp[1]))
    assert old.status_code == 401 and old.get_json()["error"] == "invalid_client"
    stored = OAuthClient.query.filter_by(client_id=rp[0].client_id).one()
    assert stored.check_client_secret(rotated["client_secret"])
    assert rotated["client_secret"] not in json.dumps(ok_json(app, "client", "show", rp[0].client_id))
    assert len(audit_events("client.secret_rotated", subject=rp[0].client_id)) == 1


def test_the_old_secret_keeps_working_for_the_grace_period(app, client, rp, clock):
    rotated = ok_json(app, "client", "rotate-secret", rp[0].client_id, "--grace", "3600")
    assert rotated["previous_secret_valid_until"].endswith("Z")
    grant = {"grant_type": "client_credentials"}
    for secret in (rp[1], rotated["client_secret"]):
        assert client.post("/oauth/token", data=grant, headers=basic(rp[0].client_id, secret)).status_code != 401
    clock.advance(3601)
    assert client.post("/oauth/token", data=grant, headers=basic(rp[0].client_id, rp[1])).status_code == 401
    assert client.post("/oauth/token", data=grant,
                       headers=basic(rp[0].client_id, rotated["client_secret"])).status_code != 401


def test_rotate_secret_of_a_public_client_is_refused(app):
    public = ok_json(app, "client", "create", "--public", "--name", "App", "--redirect-uri", REDIRECT_URI)
    refused_json(app, "client", "rotate-secret", public["client_id"], needle="public client")


# --- disable, enable, delete: the client's tokens die ----------------------------------------------
def test_delete_revokes_every_token_and_code_and_removes_the_client(app, client, rp, anna, introspector):
    tokens = tokens_for(client, rp, anna)
    authorize(client, rp[0], anna)  # a code the client has not exchanged yet
    assert AuthorizationCode.query.filter_by(client_id=rp[0].client_id, used_at=None).count() == 1
    db.session.add(Consent(client_id=rp[0].client_id, principal_kind=anna.kind, subject=anna.sub, scope="openid",
                           updated_at=get_services().clock.now()))  # as a third-party client would have
    db.session.commit()
    assert active(client, introspector, tokens["access_token"])

    document = ok_json(app, "client", "delete", rp[0].client_id)

    assert document == {"client_id": rp[0].client_id, "deleted": True, "tokens_revoked": 1}
    assert OAuthClient.query.filter_by(client_id=rp[0].client_id).count() == 0
    assert not active(client, introspector, tokens["access_token"])
    assert not active(client, introspector, tokens["refresh_token"])
    assert refresh(client, rp, tokens["refresh_token"]).status_code in (400, 401)
    assert AuthorizationCode.query.filter_by(client_id=rp[0].client_id).count() == 0
    assert Consent.query.filter_by(client_id=rp[0].client_id).count() == 0
    assert Token.query.filter_by(client_id=rp[0].client_id, access_revoked_at=None).count() == 0
    [event] = audit_events("client.deleted", subject=rp[0].client_id)
    assert event.actor == "cli" and event.details == {"name": "Számlázó", "tokens_revoked": 1}
    refused_json(app, "client", "show", rp[0].client_id, needle="No client")


def test_disable_refuses_the_client_everywhere_and_its_tokens_stay_dead_after_enable(
        app, client, rp, anna, introspector):
    tokens = tokens_for(client, rp, anna)
    response, verifier = authorize(client, rp[0], anna)
    code = code_of(response)

    assert ok_json(app, "client", "disable", rp[0].client_id) == {
        "client_id": rp[0].client_id, "disabled": True, "tokens_revoked": 1}

    assert not active(client, introspector, tokens["access_token"])
    assert refresh(client, rp, tokens["refresh_token"]).get_json()["error"] in ("invalid_client", "invalid_grant")
    assert exchange(client, rp, code, verifier).get_json()["error"] == "invalid_client"
    refused, _ = authorize(client, rp[0], anna)
    assert refused.status_code == 400  # an unknown client: an error page, never a redirect
    assert "Location" not in refused.headers

    assert ok_json(app, "client", "enable", rp[0].client_id) == {"client_id": rp[0].client_id, "disabled": False}
    assert exchange(client, rp, code, verifier).get_json()["error"] == "invalid_grant"  # the code died
    assert refresh(client, rp, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert not active(client, introspector, tokens["access_token"])
    assert tokens_for(client, rp, anna)["access_token"]  # enabled again: new logins work
    assert [e.event for e in audit_events("client.disabled") + audit_events("client.enabled")] == [
        "client.disabled", "client.enabled"]


@pytest.mark.parametrize("command", ["show", "update", "rotate-secret", "disable", "enable", "delete"])
def test_an_unknown_client_is_one_json_error(app, command):
    extra = ["--name", "X"] if command == "update" else []
    refused_json(app, "client", command, "no-such-client", *extra, needle="No client with the client_id")


# --- --json errors everywhere, no duplicate group --------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (["client", "create", "--name", "X", "--redirect-uri", "http://evil.example/cb"], "https"),
    (["user", "disable", "nobody@acme"], "No user"),
    (["company", "set-sms", "nosuchco", "off"], "No company"),
    (["phone", "remove", "301234567"], "is not registered"),
], ids=["client-create", "admin-user", "admin-company", "admin-phone"])
def test_json_errors_are_one_document_with_a_non_zero_exit(app, args, needle):
    refused_json(app, *args, needle=needle)


@pytest.mark.parametrize("args, needle", [
    (["client", "create", "--name", "X", "--auth-method", "bogus"], "--auth-method"),
    (["client", "create"], "--name"),
    (["client", "frobnicate"], "frobnicate"),
], ids=["bad-choice", "missing-option", "unknown-command"])
def test_usage_errors_with_json_are_one_document_too(app, args, needle):
    refused_json(app, *args, needle=needle, exit_code=2)


def test_errors_without_json_print_nothing_on_stdout(app):
    result = idp(app, "client", "show", "no-such-client")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "idp: No client with the client_id 'no-such-client'.\n"

