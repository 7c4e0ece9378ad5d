"""Bad input and abuse of the Telekom account (issue 10, "Bad input and abuse"), each through the real
pages: Facebook's failures (a clear page, no half-made account), linking an identity or a Facebook
identity that belongs to another account, CSRF on every state-changing form, stale proofs,
Facebook never matched to an account by its email, strangers on the account pages, another
account's link id, contacts and codes of another account, enumeration through the create form, and
brute force on the account's password and codes under the business login's throttles."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models.account import AccountLink
from idp.models.account import AccountOfferSnooze
from idp.models.account import TelekomAccount
from idp.models.audit import AuditEvent
from idp.models.session import Consent
from idp.models.session import LoginSession
from idp.models.token import Token
from idp.phones import mask
from idp.services import get_services
from tests.conftest import interaction_from
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import ACCOUNT_PASSWORD
from tests.login_helpers import account_log_in
from tests.login_helpers import any_csrf_token
from tests.login_helpers import audit_events
from tests.login_helpers import authorize
from tests.login_helpers import csrf_token
from tests.login_helpers import facebook_round_trip
from tests.login_helpers import hrefs
from tests.login_helpers import last_code
from tests.login_helpers import link_identities
from tests.login_helpers import location
from tests.login_helpers import make_account
from tests.login_helpers import named_token
from tests.login_helpers import new_browser
from tests.login_helpers import other_code
from tests.login_helpers import outbox
from tests.login_helpers import path_of
from tests.login_helpers import post_form
from tests.login_helpers import signed_in_as
from tests.login_helpers import start_login
from tests.login_helpers import strip_volatile
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"  # the business users' (tests.factories)
WRONG = "Nem-ez-a-jelszo-2024"
ANNA_PHONE = "+36301234567"
ACCOUNT_PHONE = "+36309876543"
TTL = 600  # ACCOUNT_LINK_PROOF_TTL's default
VICTIM = "victim@example.com"
ATTACKER = "attacker@example.com"


@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.", sms_login_required=True)


@pytest.fixture
def anna(acme):
    return make_login_user(company=acme, username="anna", phone=ANNA_PHONE, email="anna@acme.example")


@pytest.fixture
def fb_app(make_app, fake_facebook):
    app = make_app(**fake_facebook.config)
    with app.app_context():
        yield app


def business_login(client, identifier="anna@acme", phone=ANNA_PHONE, query=""):
    fid = start_login(client, identifier, query)
    response = submit_password(client, fid, PASSWORD)
    if path_of(location(response)) == "/login/sms":
        response = submit_code(client, fid, last_code(phone))
    location(response)
    return response


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def fresh():
    db.session.expire_all()


def links():
    fresh()
    return sorted((link.account_id, link.principal_kind, link.subject) for link in AccountLink.query)


def accounts():
    fresh()
    return sorted((a.id, a.email_address, a.phone, a.email_confirmed, a.phone_confirmed, a.display_name,
                   a.password_hash, a.facebook_id) for a in TelekomAccount.query)


def snapshot():
    """Everything a state-changing account form could change."""
    fresh()
    return {"accounts": accounts(), "links": links(), "snoozes": AccountOfferSnooze.query.count(),
            "consents": Consent.query.count(), "audit": AuditEvent.query.count(), "outbox": len(outbox()),
            "sessions": sorted((s.id, s.ended_at is None) for s in LoginSession.query),
            "tokens": sorted((t.id, t.access_revoked_at is None, t.refresh_revoked_at is None)
                             for t in Token.query)}


def link_attempts(client):
    """From the logged-in account's page, prove ``anna@acme`` here; returns the confirm page's URL."""
    start = location(client.get("/account/link"))
    confirm = location(business_login(client, query="?" + urlsplit(start).query))
    assert confirm == "/account/link/confirm"
    return confirm


# ==================================================================================================
# Facebook's failures: a clear page, no half-made account
# ==================================================================================================
FACEBOOK_FAILURES = {
    "user-cancels": ({"cancel": True}, "A Facebook-belépést megszakította.", False),
    "wrong-state": ({"wrong_state": True}, "A Facebook-belépés most nem sikerült.", False),
    "token-endpoint-500": ({"token_status": 500}, "A Facebook-belépés most nem sikerült.", True),
    "token-endpoint-html": ({"token_body": "<html>oops</html>"}, "A Facebook-belépés most nem sikerült.", True),
    "me-500": ({"me_status": 500}, "A Facebook-belépés most nem sikerült.", True),
}


@pytest.mark.parametrize("failure", FACEBOOK_FAILURES)
def test_a_facebook_failure_shows_a_clear_page_and_makes_nothing(fb_app, fake_facebook, failure):
    switches, message, exchanged = FACEBOOK_FAILURES[failure]
    for name, value in switches.items():
        setattr(fake_facebook, name, value)
    rp, _ = make_client(first_party=True)
    browser = new_browser(fb_app)
    response, _ = authorize(browser, rp)
    interaction = interaction_from(location(response))
    before = len(AuditEvent.query.all())
    response = facebook_round_trip(browser, fake_facebook, f"/account/facebook?interaction={interaction}")
    assert response.status_code == 400
    html = text(response)
    assert message in html and "Vissza a belépéshez" in html
    assert any(path_of(h) == "/account/login" for h in hrefs(html))
    assert bool(fake_facebook.requests_to("token")) is exchanged  # a cancelled or forged answer is not exchanged
    assert TelekomAccount.query.count() == 0
    assert LoginSession.query.count() == 0 and signed_in_as(browser) is None
    assert audit_events("account.created") == [] and audit_events("login.succeeded") == []
    assert len(AuditEvent.query.all()) == before


def test_facebook_without_an_email_makes_no_account_by_itself(fb_app, fake_facebook):
    fake_facebook.identity = {"id": "10220000000000002", "name": "Nagy Béla", "email": None}
    browser = new_browser(fb_app)
    response = facebook_round_trip(browser, fake_facebook)
    assert response.status_code < 500
    if response.status_code == 302:
        page = browser.get(location(response))
        assert page.status_code in (200, 400)
    assert [r.values.get("fields") for r in fake_facebook.requests_to("me")] == ["id,name,email"]
    assert TelekomAccount.query.count() == 0
    assert signed_in_as(browser) is None


def test_the_callback_cannot_be_replayed_or_finished_in_another_browser(fb_app, fake_facebook):
    browser = new_browser(fb_app)
    back = fake_facebook.login(location(browser.get("/account/facebook")))
    thief = new_browser(fb_app)
    stolen = thief.get(back)
    assert stolen.status_code == 400 and "A Facebook-belépés most nem sikerült." in text(stolen)
    assert fake_facebook.requests_to("token") == []  # the code was not even exchanged
    assert signed_in_as(thief) is None
    new = location(browser.get(back))  # the browser that started it still can
    assert path_of(new) == "/account/facebook/new"
    replay = browser.get(back)
    assert replay.status_code == 400
    assert TelekomAccount.query.count() == 0


# ==================================================================================================
# Linking what belongs to another account
# ==================================================================================================
def test_an_identity_linked_to_another_account_is_not_linked_again(client, anna):
    owner = make_account(email=VICTIM)
    link_identities(owner, anna)
    make_account(email=ATTACKER)
    location(account_log_in(client, ATTACKER))
    confirm = link_attempts(client)
    before = len(outbox())
    response = post_form(client, confirm, {})
    assert response.status_code == 400
    assert "Ez az azonosító már egy másik Telekom fiókhoz tartozik." in text(response)
    assert links() == [(owner.id, "business", anna.sub)]
    assert audit_events("account.linked") == [] and len(outbox()) == before
    assert "anna@acme" not in text(client.get("/account"))


def test_a_facebook_identity_belongs_to_one_account_only(fb_app, fake_facebook):
    owner = make_account(email=VICTIM, facebook_id=fake_facebook.identity["id"])
    attacker = make_account(email=ATTACKER)
    browser = new_browser(fb_app)
    location(account_log_in(browser, ATTACKER))
    before = len(outbox())
    response = facebook_round_trip(browser, fake_facebook, "/account/facebook?add=1")
    assert response.status_code == 400
    assert "Ez a Facebook-fiók már egy másik Telekom fiókhoz tartozik." in text(response)
    fresh()
    assert db.session.get(TelekomAccount, attacker.id).facebook_id is None
    assert db.session.get(TelekomAccount, owner.id).facebook_id == fake_facebook.identity["id"]
    assert audit_events("account.linked") == [] and len(outbox()) == before
    assert signed_in_as(browser) == ATTACKER  # still the attacker's own login, not the owner's


@pytest.mark.parametrize("verified", [True, False])
def test_facebook_with_an_existing_accounts_email_never_links_or_logs_in_to_it(fb_app, fake_facebook, verified):
    owner = make_account(email=fake_facebook.identity["email"], email_confirmed=verified)
    browser = new_browser(fb_app)
    response = facebook_round_trip(browser, fake_facebook)
    new = location(response)
    assert path_of(new) == "/account/facebook/new"
    assert signed_in_as(browser) is None
    assert path_of(location(browser.get("/account"))) == "/account/login"
    location(post_form(browser, new, {}))  # "create an account with Facebook"

    fresh()
    created = TelekomAccount.query.filter(TelekomAccount.id != owner.id).one()
    assert created.facebook_id == fake_facebook.identity["id"]
    assert created.email_address is None  # the owner's address is not copied, let alone taken as verified
    mine = db.session.get(TelekomAccount, owner.id)
    assert mine.facebook_id is None and mine.email_confirmed is verified
    assert signed_in_as(browser) != owner.email_address
    assert audit_events("account.linked") == []


# ==================================================================================================
# CSRF: every state-changing form refuses a POST without this browser's valid token
# ==================================================================================================
@pytest.fixture
def account_world(client, anna):
    """An account logged in on ``client`` just now, linked to anna@acme and Facebook, with an
    application it granted; returns the URLs of its forms."""
    acct = make_account(email=VICTIM, phone=None, facebook_id="fb-1")
    link_identities(acct, anna)
    rp, _ = make_client(name="Harmadik app")
    db.session.add(Consent(client_id=rp.client_id, principal_kind="account", subject=acct.sub, scope="openid",
                           updated_at=get_services().clock.now()))
    db.session.commit()
    location(account_log_in(client, VICTIM))
    return {"unlink": f"/account/links/{AccountLink.query.one().id}/unlink", "facebook": "/account/facebook/unlink",
            "revoke": f"/account/applications/{rp.client_id}/revoke", "sign-out": "/account/sessions/end",
            "name": "/account/name", "contact": "/account/contact", "password": "/account/password"}


ACCOUNT_FORMS = {
    "unlink": {}, "facebook": {}, "revoke": {}, "sign-out": {},
    "name": {"name-name": "Betolakodó", "name-submit": "Mentés"},
    "contact": {"contact-value": "evil@example.com", "contact-submit": "Kód küldése"},
    "password": {"password-current": ACCOUNT_PASSWORD, "password-password": "Tamado-jelszo-2024!",
                 "password-repeat": "Tamado-jelszo-2024!", "password-submit": "Mentés"},
}


@pytest.mark.parametrize("token", ["none", "garbage", "another-browser"])
@pytest.mark.parametrize("form", ACCOUNT_FORMS)
def test_the_account_forms_refuse_a_post_without_a_valid_csrf_token(app, client, account_world, form, token):
    data = dict(ACCOUNT_FORMS[form])
    if token != "none":
        value = "garbage" if token == "garbage" else csrf_token(text(new_browser(app).get("/account/login")))
        data.update({"csrf_token": value, "name-csrf_token": value, "contact-csrf_token": value,
                     "password-csrf_token": value})
    before = snapshot()
    response = client.post(account_world[form], data=data)
    assert response.status_code == 400
    assert snapshot() == before
    assert client.get("/account").status_code == 200  # still logged in


@pytest.fixture
def offer_world(client, anna):
    """anna@acme logged in on ``client`` (offered an account) and an account proven in this browser."""
    make_account(email=VICTIM)
    offer = location(business_login(client))
    assert path_of(offer) == "/account/offer"
    proof = location(account_log_in(client, VICTIM, query="?link=/account/offer/link?next=/login/done"))
    assert path_of(proof) == "/account/offer/link"
    return {"later": offer, "link": proof, "complete": "/account/offer/complete?next=/login/done",
            "link-confirm": "/account/link/confirm"}


@pytest.mark.parametrize("token", ["none", "garbage", "another-browser"])
@pytest.mark.parametrize("form", ["later", "link", "complete", "link-confirm"])
def test_the_offer_and_link_forms_refuse_a_post_without_a_valid_csrf_token(app, client, offer_world, form, token):
    data = {"later-submit": "Később", "name-name": "X", "name-submit": "Mentés"}
    if token != "none":
        value = "garbage" if token == "garbage" else csrf_token(text(new_browser(app).get("/account/login")))
        data.update({"csrf_token": value, "later-csrf_token": value, "name-csrf_token": value})
    before = snapshot()
    response = client.post(offer_world[form], data=data)
    assert response.status_code == 400
    assert snapshot() == before
    # ... and the same form with this browser's token does work (the refusal was the token's)
    if form == "link":
        assert location(post_form(client, offer_world["link"], {})) == "/login/done"
        assert len(links()) == 1


def test_creating_an_account_from_facebook_needs_the_csrf_token(fb_app, fake_facebook):
    browser = new_browser(fb_app)
    new = location(facebook_round_trip(browser, fake_facebook))
    response = browser.post(new, data={})
    assert response.status_code == 400
    assert TelekomAccount.query.count() == 0


# ==================================================================================================
# Stale proofs do not link
# ==================================================================================================
@pytest.mark.parametrize("after_account_login, after_identity_login, linked", [
    (0, 0, True),
    (TTL - 5, 0, True),
    (TTL + 1, 0, False),  # the account's login is too old by the time the identity is proven
    (0, TTL + 1, False),  # both were proven, but too long ago
], ids=["fresh", "just-in-time", "account-proof-old", "both-old"])
def test_a_proof_older_than_the_ttl_does_not_link(client, clock, anna, after_account_login, after_identity_login,
                                                  linked):
    make_account(email=VICTIM)
    location(account_log_in(client, VICTIM))
    clock.advance(after_account_login)
    confirm = link_attempts(client)
    clock.advance(after_identity_login)
    response = post_form(client, confirm, {})
    if linked:
        assert location(response) == "/account"
        assert len(links()) == 1
    else:
        assert response.status_code == 400
        assert "újra be kell lépnie" in text(response)
        assert links() == [] and audit_events("account.linked") == []


def test_a_stale_account_proof_does_not_link_from_the_offer(client, clock, anna):
    make_account(email=VICTIM)
    location(business_login(client))
    confirm = location(account_log_in(client, VICTIM, query="?link=/account/offer/link?next=/login/done"))
    clock.advance(TTL + 1)
    token = csrf_token(text(client.get("/account/login")))
    response = client.post(confirm, data={"csrf_token": token})
    assert response.status_code in (302, 400)
    assert links() == [] and audit_events("account.linked") == []


def log_out(client):
    token = any_csrf_token(text(client.get("/login/done")))
    assert client.post("/login/logout", data={"csrf_token": token}).status_code == 303
    assert signed_in_as(client) is None


@pytest.mark.parametrize("first", ["business-user", "account"])
def test_a_previous_persons_login_on_a_shared_browser_proves_nothing_for_the_next(client, anna, first):
    """Person 1 logs in and out; person 2 then logs in on the same browser within the proof's
    lifetime. Person 2 has proven only their own side: no link to person 1's identity or account."""
    make_account(email=VICTIM)
    if first == "business-user":
        location(business_login(client))  # person 1: anna@acme ("Később" is not even needed)
        log_out(client)
        location(account_log_in(client, VICTIM))  # person 2: their own Telekom account
        confirm = "/account/link/confirm"
    else:
        location(account_log_in(client, VICTIM))  # person 1: their Telekom account
        log_out(client)
        offer = location(business_login(client))  # person 2: anna@acme, offered an account
        confirm = f"/account/offer/link?next={query(offer)['next']}"
    page = client.get(confirm)
    assert page.status_code != 200 or "Csatolom" not in text(page), "offers to link the previous person's side"
    client.post(confirm, data={"csrf_token": any_csrf_token(text(client.get("/login/done")))})
    assert links() == [] and audit_events("account.linked") == []


# ==================================================================================================
# Strangers and other accounts' objects
# ==================================================================================================
STRANGER_REQUESTS = [
    ("GET", "/account"), ("GET", "/account/link"), ("GET", "/account/link?kind=phone"),
    ("GET", "/account/link/confirm"), ("POST", "/account/link/confirm"), ("POST", "/account/name"),
    ("POST", "/account/contact"), ("POST", "/account/password"), ("POST", "/account/links/1/unlink"),
    ("POST", "/account/facebook/unlink"), ("POST", "/account/applications/x/revoke"),
    ("POST", "/account/sessions/end"),
]


@pytest.mark.parametrize("who", ["nobody", "business-user"])
@pytest.mark.parametrize("method, url", STRANGER_REQUESTS, ids=[f"{m} {u}" for m, u in STRANGER_REQUESTS])
def test_the_account_pages_send_a_stranger_to_the_account_login(client, anna, method, url, who):
    acct = make_account(email=VICTIM)
    link_identities(acct, anna)
    if who == "business-user":
        location(business_login(client))
        token = any_csrf_token(text(client.get("/login/done")))
    else:
        token = csrf_token(text(client.get("/account/login")))
    before = snapshot()
    response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
    target = location(response)
    assert response.status_code == 302 and path_of(target) == "/account/login"
    assert query(target)["next"] == (url if method == "GET" else "/account")
    assert snapshot() == before


@pytest.mark.parametrize("whose", ["another-account", "nonexistent"])
def test_another_accounts_link_id_is_not_found_and_nothing_changes(client, anna, whose):
    owner = make_account(email=VICTIM)
    link_identities(owner, anna)
    link_id = AccountLink.query.one().id if whose == "another-account" else 999999
    make_account(email=ATTACKER)
    location(account_log_in(client, ATTACKER))
    before = snapshot()
    response = client.post(f"/account/links/{link_id}/unlink",
                           data={"csrf_token": any_csrf_token(text(client.get("/account")))})
    assert response.status_code == 404
    assert snapshot() == before
    assert links() == [(owner.id, "business", anna.sub)]


def test_revoking_an_application_the_account_never_granted_is_not_found(client):
    make_account(email=ATTACKER)
    rp, _ = make_client()
    location(account_log_in(client, ATTACKER))
    response = client.post(f"/account/applications/{rp.client_id}/revoke",
                           data={"csrf_token": any_csrf_token(text(client.get("/account")))})
    assert response.status_code == 404


# ==================================================================================================
# Contacts and codes of another account
# ==================================================================================================
def start_contact_change(client, value):
    token = named_token(text(client.get("/account")), "contact-csrf_token")
    verify = location(client.post("/account/contact", data={"contact-csrf_token": token, "contact-value": value,
                                                            "contact-submit": "Kód küldése"}))
    assert path_of(verify) == "/account/contact/verify"
    return verify


@pytest.mark.parametrize("typed, e164", [(VICTIM, None), ("309876543", ACCOUNT_PHONE)], ids=["email", "phone"])
def test_an_email_or_phone_of_another_account_is_not_taken(client, typed, e164):
    owner = make_account(email=VICTIM, phone=ACCOUNT_PHONE)
    make_account(email=ATTACKER)
    location(account_log_in(client, ATTACKER))
    before = accounts()
    verify = start_contact_change(client, typed)
    # Even the person who controls the address (and so has the code) cannot move it to a second account.
    response = post_form(client, verify, {"code": last_code(e164 or VICTIM)})
    assert response.status_code == 400
    assert "Ez az elérhetőség már egy másik Telekom fiókhoz tartozik." in text(response)
    assert accounts() == before
    fresh()
    assert db.session.get(TelekomAccount, owner.id).email_address == VICTIM
    assert audit_events("account.contact_verified") == []


def test_a_code_of_another_account_verifies_nothing(app, client):
    make_account(email=VICTIM)
    make_account(email=ATTACKER)
    victim = new_browser(app)
    location(account_log_in(victim, VICTIM))
    location(account_log_in(client, ATTACKER))
    attacker_verify = start_contact_change(client, "new-attacker@example.com")
    victim_verify = start_contact_change(victim, "new-victim@example.com")
    victims_code, attackers_code = last_code("new-victim@example.com"), last_code("new-attacker@example.com")
    before = accounts()

    if victims_code != attackers_code:  # (one chance in a million that they are the same)
        response = post_form(client, attacker_verify, {"code": victims_code})
        assert response.status_code == 200 and "Hibás kód" in text(response)
    # The victim's journey is not the attacker's to continue, even with the right code.
    response = client.post(victim_verify, data={"csrf_token": any_csrf_token(text(client.get("/account"))),
                                                 "code": victims_code})
    assert location(response) == "/account"
    assert accounts() == before
    # Neither attempt spent the victim's code.
    assert location(post_form(victim, victim_verify, {"code": victims_code})) == "/account"
    assert TelekomAccount.query.filter_by(email_address="new-victim@example.com").one().email_confirmed


def test_a_signup_code_of_another_signup_creates_nothing(app, client):
    other = new_browser(app)
    mine = location(post_form(client, "/account/new", {"username": ATTACKER, "password": ACCOUNT_PASSWORD,
                                                       "repeat": ACCOUNT_PASSWORD}))
    theirs = location(post_form(other, "/account/new", {"username": VICTIM, "password": ACCOUNT_PASSWORD,
                                                        "repeat": ACCOUNT_PASSWORD}))
    their_code, my_code = last_code(VICTIM), last_code(ATTACKER)
    if their_code != my_code:
        assert "Hibás kód" in text(post_form(client, mine, {"code": their_code}))
    response = client.post(theirs, data={"csrf_token": csrf_token(text(client.get("/account/new"))),
                                         "code": their_code})
    assert response.status_code == 400  # not this browser's journey
    assert TelekomAccount.query.count() == 0
    assert location(post_form(other, theirs, {"code": their_code})) == "/account"
    assert [a[1] for a in accounts()] == [VICTIM]


# ==================================================================================================
# Enumeration through the create form: the same answer; the message explains
# ==================================================================================================
def verify_page(client, url, username):
    """The code page with what differs between two users (the address or masked number) taken out."""
    html = strip_volatile(text(client.get(url)))
    hint = mask(username) if username.startswith("+") else username
    return html.replace(hint, "HINT")


@pytest.mark.parametrize("taken, free, typed_taken, typed_free", [
    (VICTIM, "someone.new@example.com", VICTIM.upper(), "someone.new@example.com"),
    ("+36309876543", "+36309876544", "309876543", "30 987 6544"),
], ids=["email", "phone"])
def test_the_create_form_gives_the_same_answer_for_a_taken_username(app, monkeypatch, taken, free, typed_taken,
                                                                      typed_free):
    monkeypatch.setattr("idp.services.otp.new_code", lambda: "424242")  # every code is known to the test
    owner = make_account(email=taken if "@" in taken else None, phone=None if "@" in taken else taken)
    password_hash = owner.password_hash
    answers = {}
    for username, typed in ((taken, typed_taken), (free, typed_free)):
        browser = new_browser(app)
        response = post_form(browser, "/account/new", {"username": typed, "password": ACCOUNT_PASSWORD,
                                                       "repeat": ACCOUNT_PASSWORD})
        verify = location(response)
        assert path_of(verify) == "/account/new/verify"
        wrong = post_form(browser, verify, {"code": "000001"})
        answers[username] = (response.status_code, verify_page(browser, verify, username),
                             strip_volatile(text(wrong)).replace(mask(username) if "+" in username else username,
                                                                  "HINT"), browser, verify)
    assert answers[taken][:3] == answers[free][:3]

    [explanation] = outbox(to=taken)
    body = explanation.body
    assert "már" in body and "/account/login" in body  # it explains, and points to the login
    assert not re.search(r"\d{6}", body)  # and carries no code
    if "@" in taken:
        assert "már van fiókja" in explanation.subject
    [code_message] = outbox(to=free)
    assert "424242" in code_message.body

    # No code, not even the right one, creates a second account for the taken username.
    taken_browser, taken_verify = answers[taken][3:]
    response = post_form(taken_browser, taken_verify, {"code": "424242"})
    assert response.status_code == 400 and "/account/new" in text(response)
    fresh()
    assert TelekomAccount.query.count() == 1
    assert db.session.get(TelekomAccount, owner.id).password_hash == password_hash
    assert location(account_log_in(new_browser(app), typed_taken, phone=taken)) == "/account"
    free_browser, free_verify = answers[free][3:]
    assert location(post_form(free_browser, free_verify, {"code": "424242"})) == "/account"


def test_the_account_login_answers_an_unknown_username_like_a_wrong_password(app):
    make_account(email=VICTIM)
    unknown = post_form(new_browser(app), "/account/login", {"username": "nobody@example.com",
                                                             "password": ACCOUNT_PASSWORD})
    wrong = post_form(new_browser(app), "/account/login", {"username": VICTIM, "password": WRONG})
    assert unknown.status_code == wrong.status_code == 200
    assert "Hibás azonosító vagy jelszó." in text(unknown) and "Hibás azonosító vagy jelszó." in text(wrong)
    assert strip_volatile(text(unknown)).replace("nobody@example.com", "X") == \
        strip_volatile(text(wrong)).replace(VICTIM, "X")


# ==================================================================================================
# Brute force: the business login's throttles
# ==================================================================================================
def try_password(app, username, password):
    response = post_form(new_browser(app), "/account/login", {"username": username, "password": password})
    if response.status_code == 302:
        return "in"
    if response.status_code == 429:
        return "locked" if "zároltuk" in text(response) else "throttled"
    assert "Hibás azonosító vagy jelszó." in text(response), text(response)
    return "wrong"


@pytest.mark.parametrize("username", [VICTIM, "nobody@example.com"], ids=["existing", "unknown"])
def test_a_growing_delay_from_the_fifth_wrong_account_password(app, clock, username):
    make_account(email=VICTIM)
    for _ in range(5):
        assert try_password(app, username, WRONG) == "wrong"
    assert try_password(app, username, ACCOUNT_PASSWORD) == "throttled"
    clock.advance(1)
    assert try_password(app, username, ACCOUNT_PASSWORD) == ("in" if username == VICTIM else "wrong")


def test_the_twentieth_wrong_account_password_locks_it_for_fifteen_minutes(app, clock):
    make_account(email=VICTIM)
    for n in range(19):
        clock.advance(31)
        assert try_password(app, VICTIM, WRONG) == "wrong", n
    clock.advance(31)
    assert try_password(app, VICTIM, WRONG) == "locked"
    assert try_password(app, VICTIM, ACCOUNT_PASSWORD) == "locked"
    assert len(audit_events("login.locked")) == 1
    clock.advance(15 * 60)
    assert try_password(app, VICTIM, ACCOUNT_PASSWORD) == "in"


def test_wrong_passwords_per_ip_count_the_business_and_the_account_logins_together(make_app):
    app = make_app(IP_PASSWORD_FAILURES_PER_HOUR=3)
    with app.app_context():
        make_login_user(company=make_company(slug="acme"), username="anna", phone=ANNA_PHONE)
        make_account(email=VICTIM)
        browser = new_browser(app)
        for identifier in ("anna@acme", "bela@acme"):
            fid = start_login(browser, identifier)
            assert "Hibás azonosító vagy jelszó." in text(submit_password(browser, fid, WRONG))
        assert try_password(app, "someone@example.com", WRONG) == "wrong"
        assert try_password(app, VICTIM, ACCOUNT_PASSWORD) == "throttled"


def test_wrong_current_passwords_on_the_password_change_are_throttled_too(client, clock):
    make_account(email=VICTIM)
    location(account_log_in(client, VICTIM))

    def change(current):
        token = named_token(text(client.get("/account")), "password-csrf_token")
        return client.post("/account/password", data={
            "password-csrf_token": token, "password-current": current, "password-password": "Uj-fiok-jelszo-2025",
            "password-repeat": "Uj-fiok-jelszo-2025", "password-submit": "Mentés"})

    for _ in range(5):
        assert "A jelenlegi jelszó nem megfelelő." in text(change(WRONG))
    refused = change(ACCOUNT_PASSWORD)
    assert "Túl sok sikertelen próbálkozás" in text(refused)
    assert audit_events("password.changed") == []
    clock.advance(1)
    assert location(change(ACCOUNT_PASSWORD)) == "/account"


# --- five wrong codes kill the code, on every code page of the account ---------------------------------------
def at_login_sms(app, client):
    make_account(email=VICTIM, phone=ACCOUNT_PHONE)
    code_page = location(post_form(client, "/account/login", {"username": VICTIM, "password": ACCOUNT_PASSWORD}))
    assert path_of(code_page) == "/account/login/sms"
    return code_page, ACCOUNT_PHONE, lambda: signed_in_as(client) is None


def at_signup_code(app, client):
    code_page = location(post_form(client, "/account/new", {"username": VICTIM, "password": ACCOUNT_PASSWORD,
                                                            "repeat": ACCOUNT_PASSWORD}))
    return code_page, VICTIM, lambda: TelekomAccount.query.count() == 0


def at_contact_code(app, client):
    make_account(email=VICTIM)
    location(account_log_in(client, VICTIM))
    return (start_contact_change(client, "new@example.com"), "new@example.com",
            lambda: (fresh(), TelekomAccount.query.one().email_address == VICTIM)[1])


def at_chooser_sms(app, client):
    anna = make_login_user(company=make_company(slug="acme"), username="anna", phone=ANNA_PHONE)
    link_identities(make_account(email=VICTIM), anna)
    rp, _ = make_client(first_party=True)
    response, _ = authorize(client, rp, scope="openid company")
    interaction = interaction_from(location(response))
    choose = location(account_log_in(client, VICTIM, query=f"?interaction={interaction}"))
    code_page = location(post_form(client, choose, {"identity": anna.sub}))
    assert path_of(code_page) == "/account/choose/sms"
    return code_page, ANNA_PHONE, lambda: LoginSession.query.filter_by(subject=anna.sub).count() == 0


CODE_PAGES = {"login-sms": at_login_sms, "signup-code": at_signup_code, "contact-code": at_contact_code,
              "chooser-sms": at_chooser_sms}


@pytest.mark.parametrize("page", CODE_PAGES)
def test_the_fifth_wrong_code_kills_it(app, client, page):
    code_page, to, nothing_happened = CODE_PAGES[page](app, client)
    right = last_code(to)
    wrong = other_code(right)
    for left in (4, 3, 2, 1):
        response = post_form(client, code_page, {"code": wrong})
        assert response.status_code == 200 and f"Még {left} próbálkozása maradt" in text(response), left
    response = post_form(client, code_page, {"code": wrong})
    assert response.status_code == 400
    token = csrf_token(text(client.get("/account/login")))
    response = client.post(code_page, data={"csrf_token": token, "code": right})
    assert response.status_code in (302, 400)
    if response.status_code == 302:  # a dead journey starts again; it never logs in or stores anything
        assert path_of(location(response)) in ("/account", "/account/login")
    assert nothing_happened()


def test_the_login_sms_resend_waits_thirty_seconds(client, clock):
    make_account(email=VICTIM, phone=ACCOUNT_PHONE)
    code_page = location(post_form(client, "/account/login", {"username": VICTIM, "password": ACCOUNT_PASSWORD}))
    resend = code_page.replace("/account/login/sms", "/account/login/sms/resend")
    token = csrf_token(text(client.get(code_page)))
    refused = client.post(resend, data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 30
    assert len(outbox("sms")) == 1
    clock.advance(30)
    assert location(client.post(resend, data={"csrf_token": token})) == code_page
    assert len(outbox("sms")) == 2
    assert location(post_form(client, code_page, {"code": last_code(ACCOUNT_PHONE)})) == "/account"


def test_the_chooser_offers_only_the_linked_business_identities(client):
    acme = make_company(slug="acme")
    anna = make_login_user(company=acme, username="anna", phone=ANNA_PHONE)
    eve = make_login_user(company=acme, username="eve", phone="+36301112222")
    line = make_phone_line(company=acme, number="+36201234567")
    link_identities(make_account(email=VICTIM), anna, line)
    rp, _ = make_client(first_party=True)
    response, _ = authorize(client, rp, scope="openid company")
    interaction = interaction_from(location(response))
    choose = location(account_log_in(client, VICTIM, query=f"?interaction={interaction}"))
    for forged in (eve.sub, line.sub, "nobody"):
        response = post_form(client, choose, {"identity": forged})
        assert response.status_code == 200, forged
        assert "/account/choose" not in response.headers.get("Location", "")
    assert outbox("sms") == []
    assert LoginSession.query.filter(LoginSession.subject.in_([eve.sub, line.sub])).count() == 0
