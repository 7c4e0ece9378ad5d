"""The authorization endpoint through the Flask test client: request
validation (page vs. redirect errors), login decisions (prompt, max_age,
acr_values, login_hint), the interaction binding to one browser, and consent.

Every redirect back to the client carries ``iss`` (RFC 9207) and the ``state``."""

import re
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from idp.extensions import db
from idp.models.session import Consent
from tests.conftest import interaction_from
from tests.conftest import login_url
from tests.factories import make_client
from tests.factories import make_user

ISSUER = "http://localhost"
REDIRECT_URI = "https://rp.example/cb"
ACR_1FA = "urn:telekom:acr:1fa"
ACR_2FA = "urn:telekom:acr:2fa"


# --- helpers -------------------------------------------------------------------

def auth_params(rp, **overrides):
    """A valid code+PKCE request for ``rp``; ``None`` in overrides drops a parameter."""
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "st-" + secrets.token_urlsafe(6),
        "nonce": "n-" + secrets.token_urlsafe(8),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(browser, params):
    return browser.get("/oauth/authorize?" + urlencode(params))


def query_of(location):
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def callback_params(response, state):
    """Assert a redirect to the client's callback with ``iss`` and ``state``; return its query."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert query["iss"] == ISSUER
    assert query["state"] == state
    return query


def assert_code(response, state):
    query = callback_params(response, state)
    assert "error" not in query, query
    assert len(query["code"]) >= 20
    return query["code"]


def assert_error_redirect(response, state, error):
    query = callback_params(response, state)
    assert query["error"] == error, query
    assert "code" not in query
    return query


def assert_error_page(response):
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Hibás belépési kérés" in page
    assert "rp.example" not in page  # no link back to an unproven redirect URI
    return page


def assert_login_page(response, path="/login"):
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.path == path, location
    assert not parts.netloc or parts.netloc == "localhost"
    assert interaction_from(location)
    return location


def sign_in(browser, location, user, **login):
    """Finish the login the endpoint asked for; return the response of the resumed request."""
    response = browser.get(login_url(location, user, **login))
    assert response.status_code == 302
    resume = response.headers["Location"]
    assert urlsplit(resume).path.startswith("/oauth/authorize/resume/")
    return browser.get(resume)


def logged_in(browser, rp, user, **login):
    """A browser session for ``user``: one full authorization that ends in a code."""
    params = auth_params(rp)
    location = assert_login_page(authorize(browser, params))
    assert_code(sign_in(browser, location, user, **login), params["state"])


def csrf_token(page):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def user(app):
    return make_user(permissions=["invoices.view"])


@pytest.fixture
def rp(app):
    return make_client(first_party=True)[0]


@pytest.fixture
def third_party(app):
    return make_client(name="Harmadik Fél Számlázó", first_party=False)[0]


@pytest.fixture
def public_rp(app):
    return make_client(public=True, first_party=True)[0]


# --- errors shown as a page, never redirected ------------------------------------

PAGE_ERRORS = [
    ("unknown-client", lambda rp: auth_params(rp, client_id="no-such-client")),
    ("missing-client-id", lambda rp: auth_params(rp, client_id=None)),
    ("empty-client-id", lambda rp: auth_params(rp, client_id="")),
    ("oversized-client-id", lambda rp: auth_params(rp, client_id="c" * 100)),
    ("unregistered-redirect-uri", lambda rp: auth_params(rp, redirect_uri="https://evil.example/cb")),
    ("redirect-uri-path-suffix", lambda rp: auth_params(rp, redirect_uri=REDIRECT_URI + "/x")),
    ("redirect-uri-extra-query", lambda rp: auth_params(rp, redirect_uri=REDIRECT_URI + "?next=x")),
    ("redirect-uri-other-scheme", lambda rp: auth_params(rp, redirect_uri="http://rp.example/cb")),
    ("redirect-uri-case", lambda rp: auth_params(rp, redirect_uri="https://RP.example/cb")),
    ("redirect-uri-trailing-slash", lambda rp: auth_params(rp, redirect_uri=REDIRECT_URI + "/")),
    ("missing-redirect-uri-openid", lambda rp: auth_params(rp, redirect_uri=None)),
    ("oversized-client-id-2k", lambda rp: auth_params(rp, client_id="c" * 3000)),
    ("oversized-redirect-uri", lambda rp: auth_params(rp, redirect_uri=REDIRECT_URI + "?" + "r" * 3000)),
]


@pytest.mark.parametrize("build", [b for _, b in PAGE_ERRORS], ids=[i for i, _ in PAGE_ERRORS])
def test_unproven_client_or_redirect_uri_gets_an_error_page(client, rp, build):
    response = authorize(client, build(rp))
    assert_error_page(response)


@pytest.mark.parametrize("param", ["client_id", "redirect_uri"])
def test_repeated_client_or_redirect_uri_is_refused_without_redirect(client, rp, param):
    params = auth_params(rp)
    pairs = list(params.items()) + [(param, params[param] if param != "client_id" else "other")]
    response = client.get("/oauth/authorize?" + urlencode(pairs))
    assert_error_page(response)


# RFC 6749 §4.1.2.1: once the client and its redirect URI are proven, a
# malformed request goes back to the client as invalid_request; a state that
# is itself malformed is not echoed.
MALFORMED_OF_A_PROVEN_CLIENT = [
    ("repeated-response-type", lambda p: [*p.items(), ("response_type", "code")], True),
    ("repeated-scope", lambda p: [*p.items(), ("scope", "openid")], True),
    ("repeated-state", lambda p: [*p.items(), ("state", "again")], False),
    ("oversized-state", lambda p: {**p, "state": "s" * 10_000}, False),
    ("oversized-nonce", lambda p: {**p, "nonce": "n" * 10_000}, True),
    ("oversized-parameter-name", lambda p: {**p, "x" * 200: "1"}, True),
    ("crlf-in-state", lambda p: {**p, "state": "a\r\nSet-Cookie: x=1"}, False),
    ("crlf-in-scope", lambda p: {**p, "scope": "openid\r\nprofile"}, True),
    ("tab-in-nonce", lambda p: {**p, "nonce": "a\tb"}, True),
]


@pytest.mark.parametrize("build,echoes_state", [(b, e) for _, b, e in MALFORMED_OF_A_PROVEN_CLIENT],
                         ids=[i for i, _, _ in MALFORMED_OF_A_PROVEN_CLIENT])
def test_malformed_request_of_a_proven_client_is_redirected(client, rp, build, echoes_state):
    params = auth_params(rp)
    response = client.get("/oauth/authorize?" + urlencode(build(params)))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    query = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert query["error"] == "invalid_request" and "code" not in query
    assert query["iss"] == "http://localhost"
    assert query.get("state") == (params["state"] if echoes_state else None)


def test_error_page_for_unknown_client_with_post(client, rp):
    response = client.post("/oauth/authorize", data=auth_params(rp, client_id="nope"))
    assert_error_page(response)


def test_disabled_client_gets_an_error_page(client, rp):
    rp.disabled = True
    db.session.commit()
    assert_error_page(authorize(client, auth_params(rp)))


def test_missing_redirect_uri_without_openid_uses_the_single_registered_one(client, rp, user):
    params = auth_params(rp, redirect_uri=None, scope="profile")
    location = assert_login_page(authorize(client, params))
    assert_code(sign_in(client, location, user), params["state"])


# --- errors redirected to the (proven) client -----------------------------------

REDIRECT_ERRORS = [
    ("response-type-token", {"response_type": "token"}, "unsupported_response_type"),
    ("response-type-id-token", {"response_type": "id_token"}, "unsupported_response_type"),
    ("response-type-hybrid", {"response_type": "code id_token"}, "unsupported_response_type"),
    ("unknown-scope", {"scope": "openid admin"}, "invalid_scope"),
    ("pkce-method-plain", {"code_challenge_method": "plain"}, "invalid_request"),
    ("pkce-method-missing", {"code_challenge_method": None}, "invalid_request"),
    ("pkce-method-unknown", {"code_challenge_method": "S512"}, "invalid_request"),
    ("pkce-challenge-too-short", {"code_challenge": "abc"}, "invalid_request"),
    ("request-object", {"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ("request-uri", {"request_uri": "https://rp.example/req.jwt"}, "request_uri_not_supported"),
    ("prompt-none-login", {"prompt": "none login"}, "invalid_request"),
    ("prompt-none-consent", {"prompt": "none consent"}, "invalid_request"),
    ("prompt-unknown", {"prompt": "sometimes"}, "invalid_request"),
    ("max-age-negative", {"max_age": "-1"}, "invalid_request"),
    ("max-age-not-a-number", {"max_age": "soon"}, "invalid_request"),
    ("response-mode-fragment", {"response_mode": "fragment"}, "invalid_request"),
    ("response-mode-form-post", {"response_mode": "form_post"}, "invalid_request"),
]


@pytest.mark.parametrize("overrides,error", [(o, e) for _, o, e in REDIRECT_ERRORS],
                         ids=[i for i, _, _ in REDIRECT_ERRORS])
def test_invalid_request_of_a_proven_client_is_redirected(client, rp, overrides, error):
    params = auth_params(rp, **overrides)
    response = authorize(client, params)
    query = assert_error_redirect(response, params["state"], error)
    assert query.get("error_description")


@pytest.mark.parametrize("overrides", [{"code_challenge": None, "code_challenge_method": None},
                                       {"code_challenge_method": "plain"}],
                         ids=["no-challenge", "plain"])
def test_public_client_must_use_s256_pkce(client, public_rp, overrides):
    params = auth_params(public_rp, **overrides)
    assert_error_redirect(authorize(client, params), params["state"], "invalid_request")


def test_error_redirect_without_state_has_no_state(client, rp):
    params = auth_params(rp, state=None, scope="openid bogus")
    response = authorize(client, params)
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_scope"
    assert query["iss"] == ISSUER
    assert "state" not in query


def test_error_redirect_keeps_the_redirect_uris_own_query(make_app):
    app = make_app()
    with app.app_context():
        rp = make_client(redirect_uris=["https://rp.example/cb?tenant=7"], first_party=True)[0]
        params = auth_params(rp, redirect_uri="https://rp.example/cb?tenant=7", response_type="token")
        response = authorize(app.test_client(), params)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://rp.example/cb?")
    query = query_of(location)
    assert query["tenant"] == "7"
    assert query["error"] == "unsupported_response_type"
    assert query["iss"] == ISSUER


def test_reused_nonce_is_refused(client, rp, user):
    logged_in(client, rp, user)
    params = auth_params(rp, nonce="same-nonce")
    assert_code(authorize(client, params), params["state"])
    again = auth_params(rp, nonce="same-nonce")
    assert_error_redirect(authorize(client, again), again["state"], "invalid_request")


# --- login decisions -------------------------------------------------------------

def test_first_request_goes_to_login_then_returns_a_code(client, rp, user):
    params = auth_params(rp)
    response = authorize(client, params)
    location = assert_login_page(response)
    assert "Set-Cookie" in response.headers
    assert_code(sign_in(client, location, user), params["state"])


@pytest.mark.parametrize("state", ["a b&c=d/é?#", "x" * 1000, "Zm9v+/=="], ids=["special", "long", "base64"])
def test_state_is_echoed_exactly(client, rp, user, state):
    logged_in(client, rp, user)
    params = auth_params(rp, state=state)
    assert_code(authorize(client, params), state)


def test_authorization_request_by_post_works_too(client, rp, user):
    params = auth_params(rp)
    location = assert_login_page(client.post("/oauth/authorize", data=params))
    assert_code(sign_in(client, location, user), params["state"])


def test_prompt_none_without_session_is_login_required(client, rp):
    params = auth_params(rp, prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "login_required")


def test_prompt_none_with_session_issues_the_code_without_a_page(client, rp, user):
    logged_in(client, rp, user)
    params = auth_params(rp, prompt="none")
    assert_code(authorize(client, params), params["state"])


def test_session_reuse_without_prompt_issues_the_code_directly(client, rp, user):
    logged_in(client, rp, user)
    params = auth_params(rp)
    assert_code(authorize(client, params), params["state"])


@pytest.mark.parametrize("prompt", ["login", "select_account", "login consent"])
def test_prompt_login_with_session_sends_to_login_again(client, rp, user, prompt):
    logged_in(client, rp, user)
    params = auth_params(rp, prompt=prompt)
    location = assert_login_page(authorize(client, params))
    # The fresh login satisfies the request: no loop back to the login page.
    response = sign_in(client, location, user)
    if "consent" in prompt:
        assert urlsplit(response.headers["Location"]).path.startswith("/oauth/consent/")
    else:
        assert_code(response, params["state"])


MAX_AGE_CASES = [
    ("zero", "0", 0, "login"),
    ("zero-after-a-second", "0", 1, "login"),
    ("exceeded", "300", 301, "login"),
    ("exactly-reached", "300", 300, "code"),
    ("not-exceeded", "300", 100, "code"),
    ("large", "86400", 3600, "code"),
]


@pytest.mark.parametrize("max_age,elapsed,outcome", [c[1:] for c in MAX_AGE_CASES],
                         ids=[c[0] for c in MAX_AGE_CASES])
def test_max_age(client, clock, rp, user, max_age, elapsed, outcome):
    logged_in(client, rp, user)
    clock.advance(elapsed)
    params = auth_params(rp, max_age=max_age)
    response = authorize(client, params)
    if outcome == "login":
        location = assert_login_page(response)
        assert_code(sign_in(client, location, user), params["state"])
    else:
        assert_code(response, params["state"])


def test_max_age_exceeded_with_prompt_none_is_login_required(client, clock, rp, user):
    logged_in(client, rp, user)
    clock.advance(120)
    params = auth_params(rp, max_age="60", prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "login_required")


ACR_CASES = [
    ("2fa-wanted-1fa-session", f"{ACR_2FA}", ACR_1FA, "login"),
    ("2fa-among-others-1fa-session", f"{ACR_1FA} {ACR_2FA}", ACR_1FA, "login"),
    ("2fa-wanted-2fa-session", ACR_2FA, ACR_2FA, "code"),
    ("1fa-wanted-1fa-session", ACR_1FA, ACR_1FA, "code"),
]


@pytest.mark.parametrize("acr_values,session_acr,outcome", [c[1:] for c in ACR_CASES],
                         ids=[c[0] for c in ACR_CASES])
def test_acr_values(client, rp, user, acr_values, session_acr, outcome):
    logged_in(client, rp, user, acr=session_acr, amr="pwd")
    params = auth_params(rp, acr_values=acr_values)
    response = authorize(client, params)
    if outcome == "login":
        location = assert_login_page(response)
        assert_code(sign_in(client, location, user), params["state"])
    else:
        assert_code(response, params["state"])


def test_acr_2fa_with_1fa_session_and_prompt_none_is_login_required(client, rp, user):
    logged_in(client, rp, user, acr=ACR_1FA, amr="pwd")
    params = auth_params(rp, acr_values=ACR_2FA, prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "login_required")


LOGIN_HINT_CASES = [
    ("none", None, "/login"),
    ("national-mobile", "301234567", "/login/phone"),
    ("e164", "+36301234567", "/login/phone"),
    ("spaced", "+36 30 123 4567", "/login/phone"),
    ("business-identifier", "anna@acme", "/login"),
    ("email", "anna@example.com", "/login"),
    ("letters", "anna", "/login"),
]


@pytest.mark.parametrize("hint,path", [c[1:] for c in LOGIN_HINT_CASES], ids=[c[0] for c in LOGIN_HINT_CASES])
def test_login_hint_picks_the_login_page(client, rp, hint, path):
    params = auth_params(rp, login_hint=hint)
    location = assert_login_page(authorize(client, params), path)
    assert "login_hint" not in query_of(location)  # the hint stays server-side


def test_ended_login_session_needs_login_again(client, rp, user):
    logged_in(client, rp, user)
    from idp.models.session import LoginSession

    for login in LoginSession.query.all():
        login.ended_at = login.created_at
    db.session.commit()
    params = auth_params(rp, prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "login_required")


def test_disabled_user_session_needs_login_again(client, rp, user):
    logged_in(client, rp, user)
    user.disabled = True
    db.session.commit()
    params = auth_params(rp, prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "login_required")


# --- the interaction belongs to one browser ------------------------------------

def test_resume_link_from_another_browser_is_refused(app, client, rp, user):
    params = auth_params(rp)
    location = assert_login_page(authorize(client, params))
    response = client.get(login_url(location, user))
    resume = response.headers["Location"]
    thief = app.test_client()
    stolen = thief.get(resume)
    assert_error_page(stolen)
    assert "lejárt vagy érvénytelen" in stolen.get_data(as_text=True)
    # The rightful browser still finishes its request.
    assert_code(client.get(resume), params["state"])


def test_interaction_paused_in_another_browser_cannot_be_resumed(app, client, rp, user):
    params = auth_params(rp)
    location = assert_login_page(authorize(client, params))
    interaction = interaction_from(location)
    other = app.test_client()
    assert_error_page(other.get(f"/oauth/authorize/resume/{interaction}"))
    assert_error_page(other.get(f"/oauth/consent/{interaction}"))


@pytest.mark.parametrize("overrides", [{"prompt": "login"}, {"max_age": "0"}, {"acr_values": ACR_2FA}],
                         ids=["prompt-login", "max-age-0", "acr-2fa"])
def test_resume_without_the_new_login_goes_back_to_login(client, rp, user, overrides):
    """Skipping the login page and resuming at once must not yield a code from the old session."""
    logged_in(client, rp, user, acr=ACR_1FA, amr="pwd")
    params = auth_params(rp, **overrides)
    interaction = interaction_from(assert_login_page(authorize(client, params)))
    assert_login_page(client.get(f"/oauth/authorize/resume/{interaction}"))
    # Nor can the consent page be used as a shortcut.
    response = client.get(f"/oauth/consent/{interaction}")
    assert_error_page(response)


@pytest.mark.parametrize("interaction", ["does-not-exist", "x" * 65, "%00"], ids=["unknown", "too-long", "nul"])
def test_unknown_interaction_is_an_error_page(client, interaction):
    assert_error_page(client.get(f"/oauth/authorize/resume/{interaction}"))
    assert_error_page(client.get(f"/oauth/consent/{interaction}"))


def test_finished_interaction_cannot_be_resumed_again(client, rp, user):
    params = auth_params(rp)
    location = assert_login_page(authorize(client, params))
    resume = client.get(login_url(location, user)).headers["Location"]
    assert_code(client.get(resume), params["state"])
    assert_error_page(client.get(resume))


def test_expired_interaction_cannot_be_resumed(client, clock, rp, user):
    params = auth_params(rp)
    location = assert_login_page(authorize(client, params))
    resume = client.get(login_url(location, user)).headers["Location"]
    clock.advance(15 * 60 + 1)
    assert_error_page(client.get(resume))


# --- consent ---------------------------------------------------------------------

def consent_page(browser, response):
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert urlsplit(location).path.startswith("/oauth/consent/"), location
    assert urlsplit(location).path.removeprefix("/oauth/consent/")
    page = browser.get(location)
    assert page.status_code == 200
    return location, page.get_data(as_text=True)


def to_consent(browser, rp, user, **overrides):
    params = auth_params(rp, **overrides)
    location = assert_login_page(authorize(browser, params))
    consent_url, page = consent_page(browser, sign_in(browser, location, user))
    return params, consent_url, page


def test_third_party_client_shows_consent_page(client, third_party, user):
    _, _, page = to_consent(client, third_party, user, scope="openid profile email")
    assert "Harmadik Fél Számlázó" in page
    assert user.identifier in page
    for label in ("Név és felhasználónév", "E-mail-cím"):
        assert label in page
    assert "Telefonszám" not in page  # not asked for


@pytest.mark.parametrize("button,value", [("allow", "Engedélyezem"), ("deny", "Elutasítom")])
def test_consent_decision(client, third_party, user, button, value):
    params, consent_url, page = to_consent(client, third_party, user)
    response = client.post(consent_url, data={"csrf_token": csrf_token(page), button: value})
    if button == "deny":
        assert_error_redirect(response, params["state"], "access_denied")
        assert Consent.query.count() == 0
    else:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path.startswith("/oauth/authorize/resume/")
        assert_code(client.get(response.headers["Location"]), params["state"])
        row = Consent.query.one()
        assert (row.client_id, row.subject) == (third_party.client_id, user.sub)
        assert set(row.scope.split()) == {"openid", "profile"}


@pytest.mark.parametrize("data", [{"allow": "Engedélyezem"}, {"allow": "Engedélyezem", "csrf_token": "forged"}],
                         ids=["no-token", "forged-token"])
def test_consent_post_needs_the_csrf_token(client, third_party, user, data):
    _, consent_url, _ = to_consent(client, third_party, user)
    response = client.post(consent_url, data=data)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert Consent.query.count() == 0


def test_consent_page_of_another_browser_is_refused(app, client, third_party, user):
    params, consent_url, _ = to_consent(client, third_party, user)
    # The other browser has a session and a valid CSRF token of its own. (Its own app
    # context: the `app` fixture's context is shared by every request otherwise, and
    # Flask-WTF caches the CSRF token in its `g`.)
    with app.app_context():
        other = app.test_client()
        _, own_consent_url, other_page = to_consent(other, third_party, make_user())
        assert_error_page(other.get(consent_url))
        response = other.post(consent_url, data={"csrf_token": csrf_token(other_page), "allow": "Engedélyezem"})
        assert_error_page(response)
        assert Consent.query.count() == 0
        # The token itself was good: the same POST to its own interaction works.
        response = other.post(own_consent_url, data={"csrf_token": csrf_token(other_page), "allow": "Engedélyezem"})
        assert urlsplit(response.headers["Location"]).path.startswith("/oauth/authorize/resume/")
    # The rightful browser can still decide.
    grant_consent(client, consent_url, client.get(consent_url).get_data(as_text=True), params["state"])


def test_consent_page_escapes_the_client_name(client, user):
    rp = make_client(name='Evil <script>alert(1)</script> "RP"', first_party=False)[0]
    _, _, page = to_consent(client, rp, user)
    assert "<script>alert(1)</script>" not in page
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_denied_consent_ends_the_interaction(client, third_party, user):
    params, consent_url, page = to_consent(client, third_party, user)
    token = csrf_token(page)
    assert_error_redirect(client.post(consent_url, data={"csrf_token": token, "deny": "Elutasítom"}),
                          params["state"], "access_denied")
    response = client.post(consent_url, data={"csrf_token": token, "allow": "Engedélyezem"})
    assert_error_page(response)
    assert Consent.query.count() == 0


def grant_consent(browser, consent_url, page, state):
    response = browser.post(consent_url, data={"csrf_token": csrf_token(page), "allow": "Engedélyezem"})
    return assert_code(browser.get(response.headers["Location"]), state)


def test_consent_is_remembered(client, third_party, user):
    params, consent_url, page = to_consent(client, third_party, user, scope="openid profile")
    grant_consent(client, consent_url, page, params["state"])
    again = auth_params(third_party, scope="openid profile")
    assert_code(authorize(client, again), again["state"])
    narrower = auth_params(third_party, scope="openid", prompt="none")
    assert_code(authorize(client, narrower), narrower["state"])


def test_wider_scope_asks_for_consent_again(client, third_party, user):
    params, consent_url, page = to_consent(client, third_party, user, scope="openid profile")
    grant_consent(client, consent_url, page, params["state"])
    wider = auth_params(third_party, scope="openid profile email")
    consent_url, page = consent_page(client, authorize(client, wider))
    assert "E-mail-cím" in page
    grant_consent(client, consent_url, page, wider["state"])
    assert set(Consent.query.one().scope.split()) == {"openid", "profile", "email"}


def test_prompt_consent_forces_the_page_again(client, third_party, user):
    params, consent_url, page = to_consent(client, third_party, user)
    grant_consent(client, consent_url, page, params["state"])
    again = auth_params(third_party, prompt="consent")
    consent_url, page = consent_page(client, authorize(client, again))
    grant_consent(client, consent_url, page, again["state"])


def test_prompt_consent_applies_to_first_party_clients_too(client, rp, user):
    logged_in(client, rp, user)
    params = auth_params(rp, prompt="consent")
    consent_url, page = consent_page(client, authorize(client, params))
    grant_consent(client, consent_url, page, params["state"])


def test_prompt_none_when_consent_is_needed_is_consent_required(client, rp, third_party, user):
    logged_in(client, rp, user)
    params = auth_params(third_party, prompt="none")
    assert_error_redirect(authorize(client, params), params["state"], "consent_required")


def test_first_party_client_needs_no_consent(client, rp, user):
    params = auth_params(rp, scope="openid profile email phone company permissions")
    location = assert_login_page(authorize(client, params))
    assert_code(sign_in(client, location, user), params["state"])
    assert Consent.query.count() == 0


def test_consent_of_one_user_does_not_cover_another(app, third_party, user):
    first = app.test_client()
    params, consent_url, page = to_consent(first, third_party, user)
    grant_consent(first, consent_url, page, params["state"])
    second = app.test_client()
    other = make_user()
    consent_page(second, sign_in(second, assert_login_page(authorize(second, auth_params(third_party))), other))
