"""The Telekom account (issue 10, MISSION.md 9, DESIGN.md §2-§3), point by point, through the real
pages with the Flask test client (every redirect followed by hand): creating an account, the offer
after a business or phone login, logging in with the account (password, SMS by the risk rules,
Facebook against the local stand-in), the linking rules, the account chooser for a relying party
that needs a business identity, the account page, and the demo data. Relying-party journeys start
at ``/oauth/authorize`` with a first-party client and end with the code exchange and the ID
token's claims. (Subscriptions, point 5: ``test_subscriptions.py``.)"""

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models.account import AccountLink
from idp.models.account import AccountOfferSnooze
from idp.models.account import TelekomAccount
from idp.models.flow import FlowState
from idp.models.session import LoginSession
from idp.models.subscription import Subscription
from idp.models.token import Token
from idp.phones import mask
from idp.services import get_services
from idp.subscriptions import Owner
from idp.subscriptions import add_subscription
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
from tests.login_helpers import exchange_code
from tests.login_helpers import facebook_round_trip
from tests.login_helpers import hrefs
from tests.login_helpers import id_token_claims
from tests.login_helpers import last_code
from tests.login_helpers import link_identities
from tests.login_helpers import location
from tests.login_helpers import make_account
from tests.login_helpers import named_token
from tests.login_helpers import new_browser
from tests.login_helpers import outbox
from tests.login_helpers import path_of
from tests.login_helpers import post_form
from tests.login_helpers import request_sms
from tests.login_helpers import signed_in_as
from tests.login_helpers import start_login
from tests.login_helpers import start_phone_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"  # the business users' (tests.factories)
ANNA_PHONE = "+36301234567"
BELA_PHONE = "+36301234568"
LINE = "+36201234567"
ACCOUNT_PHONE = "+36309876543"
REDIRECT = "https://rp.example/cb"
ONE, TWO = "urn:telekom:acr:1fa", "urn:telekom:acr:2fa"
TTL = 600  # ACCOUNT_LINK_PROOF_TTL's default


# --- the world -------------------------------------------------------------------------------------
@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.", sms_login_required=True)


@pytest.fixture
def beta(app):
    return make_company(slug="beta", name="Beta Bt.", sms_login_required=False)


@pytest.fixture
def anna(acme):
    return make_login_user(company=acme, username="anna", phone=ANNA_PHONE, email="anna@acme.example",
                           permissions=["subscriptions.view"])


@pytest.fixture
def bela(beta):
    return make_login_user(company=beta, username="bela", phone=BELA_PHONE, email="bela@beta.example")


@pytest.fixture
def line(acme):
    return make_phone_line(company=acme, number=LINE, permissions=["subscriptions.view"])


@pytest.fixture
def rp(app):
    return make_client(first_party=True, name="Önkiszolgáló portál")


@pytest.fixture
def fb_app(make_app, fake_facebook):
    app = make_app(**fake_facebook.config)
    with app.app_context():
        yield app


# --- steps ---------------------------------------------------------------------------------------------
def rp_start(client, rp_client, **params):
    """``/oauth/authorize`` → the login page; returns ``(interaction id, PKCE verifier)``."""
    response, verifier = authorize(client, rp_client, **params)
    login_page = location(response)
    assert path_of(login_page) == "/login", login_page
    return interaction_from(login_page), verifier


def resumed(client, rp_pair, interaction, resume, verifier):
    """The paused request resumes at ``resume``: the code, its exchange, the ID token's claims."""
    rp_client, secret = rp_pair
    assert resume == f"/oauth/authorize/resume/{interaction}", resume
    callback = location(client.get(resume))
    assert callback.startswith(REDIRECT + "?code="), callback
    tokens = exchange_code(client, rp_client, callback, verifier, secret=secret)
    return id_token_claims(client, tokens["id_token"]), tokens


def business_login(client, identifier, phone, query=""):
    """``/login``: identifier, password, the SMS code when one is asked; returns the redirect after it."""
    fid = start_login(client, identifier, query)
    response = submit_password(client, fid, PASSWORD)
    if path_of(location(response)) == "/login/sms":
        response = submit_code(client, fid, last_code(phone))
    location(response)
    return response


def phone_login(client, number, query=""):
    """``/login/phone``: the E.164 ``number`` typed in 9 digits, "Kérem az SMS-t", the code; returns the
    redirect after it."""
    fid = start_phone_login(client, number[3:], query)
    location(request_sms(client, fid))
    response = submit_phone_code(client, fid, last_code(number))
    location(response)
    return response


def offer_links(html):
    """The offer's "create" and "log in to link" links."""
    links = hrefs(html)
    create = next(h for h in links if path_of(h) == "/account/new")
    log_in = next(h for h in links if path_of(h) == "/account/login")
    return create, log_in


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def press_later(client, offer_url):
    token = named_token(text(client.get(offer_url)), "later-csrf_token")
    return client.post(offer_url, data={"later-csrf_token": token, "later-submit": "Később"})


def post_account_page(client, url, data, prefix=None):
    """POST one of the account page's forms with this browser's CSRF token (``prefix`` for a prefixed form)."""
    html = text(client.get("/account"))
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    token = named_token(html, name) if prefix else any_csrf_token(html)
    return client.post(url, data={name: token, **data})


def shows(html, value):
    """The page shows ``value``: an email address as it is, an E.164 number either so or as
    ``+36 30 123 4567``."""
    from idp.phones import display

    return value in html or (value.startswith("+") and display(value) in html)


def account(**filters):
    db.session.expire_all()
    return TelekomAccount.query.filter_by(**filters).one_or_none()


def links_of(acct):
    db.session.expire_all()
    return sorted((link.principal_kind, link.subject) for link in AccountLink.query.filter_by(account_id=acct.id))


# ==================================================================================================
# 1. Creating an account: email or phone number as the username, a code before it is usable
# ==================================================================================================
@pytest.mark.parametrize("typed, stored, column, channel", [
    ("Kiss.Pal@Example.COM", "kiss.pal@example.com", "email_address", "email"),
    ("30 765 4321", "+36307654321", "phone", "sms"),
    ("06307654321", "+36307654321", "phone", "sms"),
], ids=["email", "phone-spaced", "phone-06"])
def test_an_account_is_created_only_by_the_code_sent_to_its_username(app, client, typed, stored, column, channel):
    response = post_form(client, "/account/new", {"username": typed, "name": "Kiss Pál",
                                                  "password": ACCOUNT_PASSWORD, "repeat": ACCOUNT_PASSWORD})
    verify = location(response)
    assert path_of(verify) == "/account/new/verify"
    [message] = outbox(channel)
    assert message.to == stored
    assert TelekomAccount.query.count() == 0  # nothing usable before the code

    stranger = new_browser(app)
    refused = post_form(stranger, "/account/login", {"username": typed, "password": ACCOUNT_PASSWORD})
    assert refused.status_code == 200 and "Hibás azonosító vagy jelszó." in text(refused)

    response = post_form(client, verify, {"code": last_code(stored)})
    assert location(response) == "/account"
    created = TelekomAccount.query.one()
    assert getattr(created, column) == stored
    assert (created.email_confirmed if channel == "email" else created.phone_confirmed) is True
    assert created.display_name == "Kiss Pál" and created.sub not in (stored, str(created.id))
    assert [e.subject for e in audit_events("account.created")] == [created.sub]
    page = client.get("/account")
    assert page.status_code == 200 and shows(text(page), stored)

    # The username and password now log in (a phone account on a new browser: with the SMS code).
    other = new_browser(app)
    response = account_log_in(other, typed, phone=stored)
    assert location(response) == "/account"
    assert signed_in_as(other) == stored


@pytest.mark.parametrize("username, password, repeat, message", [
    ("kiss.pal@example.com", "Rovid-1", "Rovid-1", "legalább 12 karakter"),
    ("kiss.pal@example.com", ACCOUNT_PASSWORD, ACCOUNT_PASSWORD + "x", "A két jelszó nem egyezik."),
    ("kiss.pal.janos@example.com", "kiss.pal.janos", "kiss.pal.janos", "nem lehet a felhasználónév"),
    ("kiss.pal@example.com", "123456789012", "123456789012", "túl gyakori"),
    ("nem-egy-email", ACCOUNT_PASSWORD, ACCOUNT_PASSWORD, "Adja meg az e-mail-címét vagy a mobilszámát"),
    ("1234", ACCOUNT_PASSWORD, ACCOUNT_PASSWORD, "Adja meg az e-mail-címét vagy a mobilszámát"),
], ids=["short", "repeat-differs", "the-username", "common", "not-an-address", "not-a-number"])
def test_the_create_form_applies_the_password_policy_and_sends_nothing(client, username, password, repeat, message):
    response = post_form(client, "/account/new", {"username": username, "password": password, "repeat": repeat})
    assert response.status_code == 200
    assert message in text(response)
    assert outbox() == []
    assert FlowState.query.filter_by(kind="account_signup").count() == 0
    assert TelekomAccount.query.count() == 0


def test_a_wrong_code_leaves_the_account_uncreated_and_the_right_one_then_works(client):
    response = post_form(client, "/account/new", {"username": "kiss.pal@example.com", "password": ACCOUNT_PASSWORD,
                                                  "repeat": ACCOUNT_PASSWORD})
    verify = location(response)
    right = last_code("kiss.pal@example.com")
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    response = post_form(client, verify, {"code": wrong})
    assert response.status_code == 200 and "Hibás kód" in text(response)
    assert TelekomAccount.query.count() == 0
    assert location(post_form(client, verify, {"code": right})) == "/account"
    assert TelekomAccount.query.count() == 1


# ==================================================================================================
# 2. The offer after a business or phone login; the relying party's request resumes whatever the choice
# ==================================================================================================
def choose_create(client, offer_html, identity_email):
    create, _ = offer_links(offer_html)
    form = client.get(create)
    assert f'value="{identity_email}"' in text(form)  # prefilled with the identity's email
    response = post_form(client, create, {"username": identity_email, "name": "Anna",
                                          "password": ACCOUNT_PASSWORD, "repeat": ACCOUNT_PASSWORD})
    return post_form(client, location(response), {"code": last_code(identity_email)})


def choose_existing(client, offer_html, identity_email):
    make_account(email="anna.otthon@example.com", name="Kovács Anna")
    _, log_in = offer_links(offer_html)
    return post_form(client, log_in, {"username": "anna.otthon@example.com", "password": ACCOUNT_PASSWORD})


@pytest.mark.parametrize("choice", ["create", "link", "later"])
def test_the_offer_after_a_business_login_and_the_request_resumes(client, rp, anna, choice):
    interaction, verifier = rp_start(client, rp[0], scope="openid profile")
    response = business_login(client, "anna@acme", ANNA_PHONE, f"?interaction={interaction}")
    resume = f"/oauth/authorize/resume/{interaction}"
    offer = location(response)
    assert path_of(offer) == "/account/offer" and query(offer) == {"next": resume}

    page = client.get(offer)
    assert page.status_code == 200
    html = text(page)
    assert "Minden előfizetése egy helyen" in html and "anna@acme" in html and "Később" in html
    create, log_in = offer_links(html)
    assert query(create) == {"prefill": "anna@acme.example", "link": f"/account/offer/link?next={resume}"}
    assert query(log_in) == {"link": f"/account/offer/link?next={resume}"}

    if choice == "later":
        response = press_later(client, offer)
    else:
        proven = (choose_create if choice == "create" else choose_existing)(client, html, "anna@acme.example")
        confirm = location(proven)
        assert confirm == f"/account/offer/link?next={resume}"
        confirm_page = client.get(confirm)
        assert confirm_page.status_code == 200 and "Csatolom" in text(confirm_page)
        assert AccountLink.query.count() == 0  # not before the person confirms
        response = post_form(client, confirm, {})

    claims, _ = resumed(client, rp, interaction, location(response), verifier)
    assert claims["sub"] == anna.sub and claims["preferred_username"] == "anna@acme"
    assert claims["amr"] == ["pwd", "sms", "mfa"] and claims["acr"] == TWO
    assert signed_in_as(client) == "anna@acme"  # proving the account did not change whose login this is
    if choice == "later":
        assert AccountLink.query.count() == 0 and AccountOfferSnooze.query.count() == 1
        assert audit_events("account.linked") == []
    else:
        linked = TelekomAccount.query.one()
        assert links_of(linked) == [("business", anna.sub)]
        [event] = audit_events("account.linked")
        assert event.subject == linked.sub
        mail = outbox("email", to=linked.email_address)[-1]
        assert "anna@acme" in mail.body and "csatoltuk" in mail.body


def test_the_offer_after_a_phone_login_is_prefilled_with_the_number(client, line):
    response = phone_login(client, LINE)
    offer = location(response)
    assert path_of(offer) == "/account/offer" and query(offer) == {"next": "/login/done"}
    create, _ = offer_links(text(client.get(offer)))
    assert query(create)["prefill"] == LINE

    form = client.get(create)
    assert f'value="{LINE}"' in text(form)
    response = post_form(client, create, {"username": LINE, "password": ACCOUNT_PASSWORD,
                                          "repeat": ACCOUNT_PASSWORD})
    response = post_form(client, location(response), {"code": last_code(LINE)})
    confirm = location(response)
    assert path_of(confirm) == "/account/offer/link"
    assert location(post_form(client, confirm, {})) == "/login/done"
    created = TelekomAccount.query.one()
    assert created.phone == LINE and created.phone_confirmed
    assert links_of(created) == [("phone", line.sub)]
    assert signed_in_as(client) == LINE


@pytest.mark.parametrize("days, asked", [(1, False), (2.9, False), (3, True), (30, True)])
def test_later_is_not_asked_again_for_the_configured_days(make_app, clock, days, asked):
    app = make_app(ACCOUNT_OFFER_SNOOZE_DAYS=3)
    with app.app_context():
        make_login_user(company=make_company(slug="beta", sms_login_required=False), username="bela")
        browser = new_browser(app)
        offer = location(business_login(browser, "bela@beta", None))
        assert path_of(offer) == "/account/offer"
        assert location(press_later(browser, offer)) == "/login/done"

        browser = new_browser(app)  # the next login, elsewhere
        assert location(business_login(browser, "bela@beta", None)) == "/login/done"  # not asked
        clock.advance(days=days)
        browser = new_browser(app)
        after = location(business_login(browser, "bela@beta", None))
        assert (path_of(after) == "/account/offer") is asked


def test_a_linked_and_complete_account_is_not_offered_again(client, anna):
    link_identities(make_account(email="anna.otthon@example.com"), anna)
    response = business_login(client, "anna@acme", ANNA_PHONE)
    assert location(response) == "/login/done"


def complete_name(client, offer, html, acct):
    token = named_token(html, "name-csrf_token")
    response = client.post(f"/account/offer/complete?{urlsplit(offer).query}",
                           data={"name-csrf_token": token, "name-name": "Kovács Anna", "name-submit": "Mentés"})
    return response


def complete_contact(value, to):
    def complete(client, offer, html, acct):
        token = named_token(html, "contact-csrf_token")
        response = client.post(f"/account/offer/complete?{urlsplit(offer).query}",
                               data={"contact-csrf_token": token, "contact-value": value,
                                     "contact-submit": "Kód küldése"})
        verify = location(response)
        assert path_of(verify) == "/account/contact/verify"
        return post_form(client, verify, {"code": last_code(to)})
    return complete


@pytest.mark.parametrize("fields, missing_field, complete, check", [
    ({"email": "anna.otthon@example.com", "name": None}, 'name="name-name"', complete_name,
     lambda a: a.display_name == "Kovács Anna"),
    ({"email": "anna.otthon@example.com", "email_confirmed": False}, 'name="contact-value"',
     complete_contact("anna.otthon@example.com", "anna.otthon@example.com"), lambda a: a.email_confirmed),
    ({"email": "anna.otthon@example.com", "phone": ACCOUNT_PHONE, "phone_confirmed": False}, 'name="contact-value"',
     complete_contact("309876543", ACCOUNT_PHONE), lambda a: a.phone_confirmed and a.phone == ACCOUNT_PHONE),
    ({"password": None, "facebook_id": "fb-1"}, 'name="contact-value"',
     complete_contact("anna.otthon@example.com", "anna.otthon@example.com"),
     lambda a: a.email_address == "anna.otthon@example.com" and a.email_confirmed),
], ids=["no-name", "unverified-email", "unverified-phone", "no-way-to-reach"])
def test_a_linked_account_that_lacks_data_is_asked_to_be_completed(client, rp, anna, fields, missing_field, complete,
                                                                   check):
    acct = make_account(**fields)
    link_identities(acct, anna)
    interaction, verifier = rp_start(client, rp[0])
    offer = location(business_login(client, "anna@acme", ANNA_PHONE, f"?interaction={interaction}"))
    assert path_of(offer) == "/account/offer"
    html = text(client.get(offer))
    assert "Egészítse ki a Telekom fiókját" in html and missing_field in html

    back = location(complete(client, offer, html, acct))
    assert back == offer  # the offer again: nothing is missing now, so it lets the request go on
    assert check(account(id=acct.id))
    resume = location(client.get(back))
    claims, _ = resumed(client, rp, interaction, resume, verifier)
    assert claims["sub"] == anna.sub


def test_later_on_the_complete_offer_also_resumes(client, rp, anna):
    link_identities(make_account(email="anna.otthon@example.com", name=None), anna)
    interaction, verifier = rp_start(client, rp[0])
    offer = location(business_login(client, "anna@acme", ANNA_PHONE, f"?interaction={interaction}"))
    claims, _ = resumed(client, rp, interaction, location(press_later(client, offer)), verifier)
    assert claims["sub"] == anna.sub
    assert account(email_address="anna.otthon@example.com").display_name is None


# ==================================================================================================
# 3. Logging in with the account: /account/login (linked from /login), SMS by the risk rules, Facebook
# ==================================================================================================
def test_the_business_login_page_links_to_the_account_login_with_the_request(client, rp, anna):
    interaction, _ = rp_start(client, rp[0])
    html = text(client.get(f"/login?interaction={interaction}"))
    assert f"/account/login?interaction={interaction}" in hrefs(html)
    assert "Belépés Telekom fiókkal" in html


@pytest.mark.parametrize("phone, phone_confirmed, known, mistyped, two_factors, sms", [
    (None, False, False, False, False, False),  # no phone: never an SMS
    (None, False, False, True, True, False),
    (ACCOUNT_PHONE, False, False, True, True, False),  # an unverified phone gets no code
    (ACCOUNT_PHONE, True, False, False, False, True),  # a new browser
    (ACCOUNT_PHONE, True, True, False, False, False),  # a known browser
    (ACCOUNT_PHONE, True, True, True, False, True),  # ... after a mistyped password
    (ACCOUNT_PHONE, True, True, False, True, True),  # ... the relying party wants two factors
], ids=["no-phone", "no-phone-all-risks", "unverified-phone", "new-browser", "known-browser", "mistyped",
        "acr-2fa"])
def test_the_sms_code_is_asked_by_the_risk_rules(client, clock, rp, phone, phone_confirmed, known, mistyped,
                                                 two_factors, sms):
    make_account(email="kiss.pal@example.com", phone=phone, phone_confirmed=phone_confirmed)
    if known:  # this browser logged in to the account before
        assert path_of(location(account_log_in(client, "kiss.pal@example.com", phone=ACCOUNT_PHONE))) == "/account"
        token = any_csrf_token(text(client.get("/account")))
        location(client.post("/login/logout", data={"csrf_token": token}))
        clock.advance(60)
    sent_before = len(outbox("sms"))
    query_string, landing = "", "/account"
    if two_factors:
        interaction, _ = rp_start(client, rp[0], acr_values=TWO)
        query_string, landing = f"?interaction={interaction}", f"/oauth/authorize/resume/{interaction}"
    if mistyped:
        wrong = post_form(client, "/account/login" + query_string,
                          {"username": "kiss.pal@example.com", "password": "Nem-ez-a-jelszo-2024"})
        assert "Hibás azonosító vagy jelszó." in text(wrong)
    response = post_form(client, "/account/login" + query_string,
                         {"username": "kiss.pal@example.com", "password": ACCOUNT_PASSWORD})
    if sms:
        code_page = location(response)
        assert path_of(code_page) == "/account/login/sms"
        assert [m.to for m in outbox("sms")[sent_before:]] == [ACCOUNT_PHONE]
        assert mask(ACCOUNT_PHONE) in text(client.get(code_page))  # the number, masked
        assert ACCOUNT_PHONE not in text(client.get(code_page))
        response = post_form(client, code_page, {"code": last_code(ACCOUNT_PHONE)})
    else:
        assert len(outbox("sms")) == sent_before
    assert location(response) == landing


@pytest.mark.parametrize("phone, amr, acr", [
    (None, ["pwd"], ONE),
    (ACCOUNT_PHONE, ["pwd", "sms", "mfa"], TWO),
], ids=["password", "password-and-sms"])
def test_an_account_login_for_a_relying_party_tells_how_in_amr(client, rp, phone, amr, acr):
    acct = make_account(email="kiss.pal@example.com", phone=phone)
    interaction, verifier = rp_start(client, rp[0], scope="openid profile email phone")
    response = account_log_in(client, "kiss.pal@example.com", query=f"?interaction={interaction}",
                              phone=ACCOUNT_PHONE)
    claims, _ = resumed(client, rp, interaction, location(response), verifier)
    assert claims["sub"] == acct.sub and claims["amr"] == amr and claims["acr"] == acr
    assert claims["email"] == "kiss.pal@example.com" and claims["email_verified"] is True
    assert "company" not in claims


@pytest.mark.parametrize("configured", [True, False])
def test_the_facebook_button_appears_only_when_configured(make_app, fake_facebook, configured):
    app = make_app(**(fake_facebook.config if configured else {}))
    with app.app_context():
        browser = new_browser(app)
        html = text(browser.get("/account/login"))
        assert ("Belépés Facebookkal" in html) is configured
        assert ("/account/facebook" in hrefs(html)) is configured
        start = browser.get("/account/facebook")
        if configured:
            dialog = location(start)
            assert dialog.startswith(fake_facebook.authorize_url)
            params = query(dialog)
            assert params["client_id"] == fake_facebook.client_id
            assert params["redirect_uri"] == "http://localhost/account/facebook/callback"
            assert params["state"] and "email" in params["scope"]
        else:
            assert start.status_code == 404


def test_facebook_first_creates_an_account_on_request_then_logs_it_in(fb_app, fake_facebook):
    browser = new_browser(fb_app)
    response = facebook_round_trip(browser, fake_facebook)
    new = location(response)
    assert path_of(new) == "/account/facebook/new"
    assert TelekomAccount.query.count() == 0  # nothing made before the person asks
    page = browser.get(new)
    assert page.status_code == 200 and "Kovács Anna" in text(page) and "Fiók létrehozása Facebookkal" in text(page)
    response = post_form(browser, new, {})
    location(response)
    created = TelekomAccount.query.one()
    assert created.facebook_id == fake_facebook.identity["id"] and created.display_name == "Kovács Anna"
    assert created.email_confirmed is False  # Facebook's email is never taken as verified
    assert created.password_hash is None
    assert signed_in_as(browser) == "kovacs.anna@example.com"
    assert browser.get("/account").status_code == 200
    # The connector spoke to the configured app: its id and secret at the token endpoint.
    [token_request] = fake_facebook.requests_to("token")
    assert token_request.values["client_id"] == fake_facebook.client_id
    assert token_request.values["client_secret"] == fake_facebook.client_secret

    again = new_browser(fb_app)
    response = facebook_round_trip(again, fake_facebook)
    assert path_of(location(response)) != "/account/facebook/new"
    assert TelekomAccount.query.count() == 1
    assert again.get("/account").status_code == 200
    assert signed_in_as(again) == "kovacs.anna@example.com" == created.email_address


def test_facebook_for_a_relying_party_says_fed(fb_app, fake_facebook):
    rp_pair = make_client(first_party=True)
    acct = make_account(email="anna.otthon@example.com", facebook_id=fake_facebook.identity["id"])
    browser = new_browser(fb_app)
    interaction, verifier = rp_start(browser, rp_pair[0])
    response = facebook_round_trip(browser, fake_facebook, f"/account/facebook?interaction={interaction}")
    claims, _ = resumed(browser, rp_pair, interaction, location(response), verifier)
    assert claims["sub"] == acct.sub and claims["amr"] == ["fed"] and claims["acr"] == ONE


# ==================================================================================================
# 4. Linking: both sides proven in this browser just now; never by matching emails; audited and emailed
# ==================================================================================================
@pytest.mark.parametrize("kind", ["business", "phone"])
def test_linking_from_the_account_page_takes_a_login_of_the_identity(client, anna, line, kind):
    acct = make_account(email="anna.otthon@example.com")
    assert location(account_log_in(client, "anna.otthon@example.com")) == "/account"
    start = location(client.get("/account/link" + ("?kind=phone" if kind == "phone" else "")))
    assert path_of(start) == ("/login/phone" if kind == "phone" else "/login")
    assert query(start) == {"link": "/account/link/confirm"}
    if kind == "phone":
        response = phone_login(client, LINE, "?" + urlsplit(start).query)
    else:
        response = business_login(client, "anna@acme", ANNA_PHONE, "?" + urlsplit(start).query)
    confirm = location(response)
    assert confirm == "/account/link/confirm"
    assert signed_in_as(client) == "anna.otthon@example.com"  # the identity's login only proved it
    page = client.get(confirm)
    assert page.status_code == 200 and shows(text(page), "anna@acme" if kind == "business" else LINE)
    assert AccountLink.query.count() == 0
    assert location(post_form(client, confirm, {})) == "/account"

    identity = anna if kind == "business" else line
    assert links_of(acct) == [(kind, identity.sub)]
    [event] = audit_events("account.linked")
    assert event.subject == acct.sub
    [mail] = [m for m in outbox("email", to="anna.otthon@example.com") if "csatoltuk" in m.body]
    assert identity.identifier in mail.body
    assert shows(text(client.get("/account")), identity.identifier)


def test_matching_emails_never_link(client, rp, anna):
    acct = make_account(email="anna@acme.example")  # the same address as the business user's, verified
    interaction, verifier = rp_start(client, rp[0])
    offer = location(business_login(client, "anna@acme", ANNA_PHONE, f"?interaction={interaction}"))
    assert path_of(offer) == "/account/offer"
    assert "Minden előfizetése egy helyen" in text(client.get(offer))  # "create one", not "yours is ..."
    resumed(client, rp, interaction, location(press_later(client, offer)), verifier)
    assert AccountLink.query.count() == 0
    other = new_browser(client.application)
    location(account_log_in(other, "anna@acme.example"))
    assert AccountLink.query.count() == 0
    assert links_of(acct) == []


@pytest.mark.parametrize("wait, unlinked", [(0, True), (TTL - 1, True), (TTL + 1, False)])
def test_unlinking_needs_a_recent_login_and_is_audited_and_emailed(client, clock, anna, wait, unlinked):
    acct = make_account(email="anna.otthon@example.com")
    link_identities(acct, anna)
    link_id = AccountLink.query.one().id
    location(account_log_in(client, "anna.otthon@example.com"))
    clock.advance(wait)
    response = post_account_page(client, f"/account/links/{link_id}/unlink", {})
    if unlinked:
        assert location(response) == "/account"
        assert links_of(acct) == []
        [event] = audit_events("account.unlinked")
        assert event.subject == acct.sub
        [mail] = [m for m in outbox("email", to="anna.otthon@example.com") if "leválasztottuk" in m.body]
        assert "anna@acme" in mail.body
        return
    relogin = location(response)
    assert path_of(relogin) == "/account/login" and query(relogin)["next"] == "/account"
    assert links_of(acct) == [("business", anna.sub)]
    assert audit_events("account.unlinked") == []
    # A fresh login of the account, and the same button works.
    location(account_log_in(client, "anna.otthon@example.com", query="?next=/account"))
    assert location(post_account_page(client, f"/account/links/{link_id}/unlink", {})) == "/account"
    assert links_of(acct) == []


def test_facebook_is_added_from_the_account_page_and_removed(fb_app, fake_facebook):
    acct = make_account(email="anna.otthon@example.com")
    browser = new_browser(fb_app)
    location(account_log_in(browser, "anna.otthon@example.com"))
    assert "/account/facebook?add=1" in hrefs(text(browser.get("/account")))
    response = facebook_round_trip(browser, fake_facebook, "/account/facebook?add=1")
    assert location(response) == "/account"
    assert account(id=acct.id).facebook_id == fake_facebook.identity["id"]
    [event] = audit_events("account.linked")
    assert event.subject == acct.sub
    assert any("Facebook" in m.body and "csatoltuk" in m.body for m in outbox("email", to=acct.email_address))
    assert "A Facebook-fiókot csatoltuk" in text(browser.get("/account"))

    assert location(post_account_page(browser, "/account/facebook/unlink", {})) == "/account"
    assert account(id=acct.id).facebook_id is None
    assert len(audit_events("account.unlinked")) == 1
    assert any("leválasztottuk" in m.body for m in outbox("email", to=acct.email_address))


def test_a_facebook_only_account_cannot_remove_its_only_way_in(fb_app, fake_facebook):
    acct = make_account(password=None, facebook_id=fake_facebook.identity["id"], name="Kovács Anna")
    browser = new_browser(fb_app)
    location(facebook_round_trip(browser, fake_facebook))
    response = post_account_page(browser, "/account/facebook/unlink", {})
    assert location(response) == "/account"
    assert "előbb adjon meg jelszót" in text(browser.get("/account"))
    assert account(id=acct.id).facebook_id == fake_facebook.identity["id"]


# ==================================================================================================
# 6. The account chooser: a relying party that needs a business identity gets one of the linked ones
# ==================================================================================================
@pytest.fixture
def chooser_world(anna, bela, line):
    """An account linked to anna@acme (SMS on), bela@beta (SMS off) and a phone line."""
    acct = make_account(email="anna.otthon@example.com")
    link_identities(acct, anna, bela, line)
    return acct


def at_the_chooser(client, rp_client, username="anna.otthon@example.com", phone=None, **params):
    interaction, verifier = rp_start(client, rp_client, scope="openid company subscriptions", **params)
    response = account_log_in(client, username, query=f"?interaction={interaction}", phone=phone)
    choose = location(response)
    assert path_of(choose) == "/account/choose", choose
    return interaction, verifier, choose


@pytest.mark.parametrize("who, account_phone, acr_values, sms_to, amr, acr", [
    ("bela", None, None, None, ["pwd"], ONE),
    ("anna", None, None, ANNA_PHONE, ["pwd", "sms", "mfa"], TWO),
    ("anna", ANNA_PHONE, None, None, ["pwd", "sms", "mfa"], TWO),  # the SMS of the account went to that phone
    ("anna", ACCOUNT_PHONE, None, ANNA_PHONE, ["pwd", "sms", "mfa"], TWO),  # another phone: anna's own SMS
    ("bela", None, TWO, BELA_PHONE, ["pwd", "sms", "mfa"], TWO),  # the relying party wants two factors
], ids=["no-sms-company", "sms-company", "sms-company-same-phone", "sms-company-other-phone", "acr-2fa"])
def test_the_chooser_obeys_the_companys_sms_rule_and_amr_tells_the_truth(client, rp, anna, bela, line, chooser_world,
                                                                         who, account_phone, acr_values, sms_to,
                                                                         amr, acr):
    if account_phone:
        chooser_world.phone, chooser_world.phone_confirmed = account_phone, True
        db.session.commit()
    extra = {"acr_values": acr_values} if acr_values else {}
    interaction, verifier, choose = at_the_chooser(client, rp[0], phone=account_phone, **extra)
    html = text(client.get(choose))
    assert "anna@acme – Acme Kft." in html and "bela@beta – Beta Bt." in html
    assert LINE not in html  # a phone line is no business identity
    sent_before = len(outbox("sms"))
    chosen = {"anna": anna, "bela": bela}[who]
    response = post_form(client, choose, {"identity": chosen.sub})
    if sms_to:
        code_page = location(response)
        assert path_of(code_page) == "/account/choose/sms"
        assert [m.to for m in outbox("sms")[sent_before:]] == [sms_to]
        response = post_form(client, code_page, {"code": last_code(sms_to)})
    else:
        assert len(outbox("sms")) == sent_before
    claims, _ = resumed(client, rp, interaction, location(response), verifier)
    assert claims["sub"] == chosen.sub
    assert claims["company"]["slug"] == chosen.company.slug and claims["company_role"] == "user"
    assert claims["amr"] == amr and claims["acr"] == acr
    assert isinstance(claims["subscriptions"], list)


@pytest.mark.parametrize("who, sms_to, amr, acr", [
    ("anna", ANNA_PHONE, ["fed", "sms", "mfa"], TWO),
    ("bela", None, ["fed"], ONE),
])
def test_the_chooser_after_facebook_says_fed(fb_app, fake_facebook, who, sms_to, amr, acr):
    rp_pair = make_client(first_party=True)
    anna = make_login_user(company=make_company(slug="acme", name="Acme Kft."), username="anna", phone=ANNA_PHONE)
    bela = make_login_user(company=make_company(slug="beta", sms_login_required=False), username="bela",
                           phone=BELA_PHONE)
    acct = make_account(email="anna.otthon@example.com", facebook_id=fake_facebook.identity["id"])
    link_identities(acct, anna, bela)
    browser = new_browser(fb_app)
    interaction, verifier = rp_start(browser, rp_pair[0], scope="openid company")
    choose = location(facebook_round_trip(browser, fake_facebook, f"/account/facebook?interaction={interaction}"))
    assert path_of(choose) == "/account/choose"
    chosen = {"anna": anna, "bela": bela}[who]
    response = post_form(browser, choose, {"identity": chosen.sub})
    if sms_to:
        response = post_form(browser, location(response), {"code": last_code(sms_to)})
    claims, _ = resumed(browser, rp_pair, interaction, location(response), verifier)
    assert claims["sub"] == chosen.sub and claims["amr"] == amr and claims["acr"] == acr


def test_an_account_without_a_business_identity_is_told_so(client, rp, line):
    link_identities(make_account(email="anna.otthon@example.com"), line)
    interaction, _ = rp_start(client, rp[0], scope="openid company")
    response = account_log_in(client, "anna.otthon@example.com", query=f"?interaction={interaction}")
    assert response.status_code == 400
    assert "nincs üzleti azonosító csatolva" in text(response)
    assert f"interaction={interaction}" in text(response)  # start again for the same request


def test_an_account_already_logged_in_is_still_asked_to_choose(client, rp, anna, bela, chooser_world):
    """The relying party "gets a Telekom-account login" also when the browser was already logged in."""
    location(account_log_in(client, "anna.otthon@example.com"))
    response, verifier = authorize(client, rp[0], scope="openid company")
    target = location(response)
    hops = [target]
    while path_of(target) != "/account/choose" and len(hops) < 4:  # the login page may send it on
        assert not target.startswith(REDIRECT), "a code for the Telekom account itself, without the chooser"
        target = location(client.get(target))
        hops.append(target)
    assert path_of(target) == "/account/choose", hops
    assert "bela@beta" in text(client.get(target))
    response = post_form(client, target, {"identity": bela.sub})
    interaction = next(query(h)["interaction"] for h in hops if "interaction" in query(h))
    claims, _ = resumed(client, rp, interaction, location(response), verifier)
    assert claims["sub"] == bela.sub and claims["company"]["slug"] == "beta"
    assert claims["amr"] == ["pwd"]  # the account's login, as it was


# ==================================================================================================
# 7. The account page
# ==================================================================================================
@pytest.fixture
def logged_in(client, anna, line):
    """anna.otthon@example.com (name, email and phone verified) logged in on ``client``; linked to anna@acme."""
    acct = make_account(email="anna.otthon@example.com", phone=ACCOUNT_PHONE, name="Kovács Anna")
    link_identities(acct, anna)
    location(account_log_in(client, "anna.otthon@example.com", phone=ACCOUNT_PHONE))
    return acct


def test_the_account_page_shows_profile_links_subscriptions_applications_and_sessions(client, rp, acme, anna,
                                                                                       logged_in):
    add_subscription(Owner.of(logged_in), "home", "Otthoni net – Pécs", "HOME-1", actor="test")
    add_subscription(Owner.of(acme), "business", "Acme flotta", "ACME-1", actor="test")
    interaction, verifier = rp_start(client, rp[0], prompt="login")
    resumed(client, rp, interaction, location(account_log_in(client, "anna.otthon@example.com",
                                                             query=f"?interaction={interaction}")), verifier)
    html = text(client.get("/account"))
    started = get_services().clock.now().strftime("%Y-%m-%d %H:%M")
    for shown in ("Kovács Anna", "anna.otthon@example.com", ACCOUNT_PHONE, "megerősítve",  # profile
                  "anna@acme", "Acme Kft.", "Leválasztás",  # linked identities
                  "Otthoni net – Pécs", "Acme flotta",  # subscriptions: its own and anna's
                  "Önkiszolgáló portál", "Hozzáférés visszavonása",  # the application it used
                  "Kijelentkezés mindenhol", started):  # its sessions
        assert shows(html, shown), shown
    assert "nincs megerősítve" not in html


def test_the_name_is_changed(client, logged_in):
    response = post_account_page(client, "/account/name", {"name-name": "Kovácsné Anna", "name-submit": "Mentés"},
                                 prefix="name")
    assert location(response) == "/account"
    assert account(id=logged_in.id).display_name == "Kovácsné Anna"


@pytest.mark.parametrize("typed, stored, column, channel", [
    ("Uj.Cim@Example.com", "uj.cim@example.com", "email_address", "email"),
    ("70 123 4567", "+36701234567", "phone", "sms"),
])
def test_email_and_phone_are_changed_with_a_code_sent_there(client, logged_in, typed, stored, column, channel):
    before = getattr(logged_in, column)
    response = post_account_page(client, "/account/contact", {"contact-value": typed, "contact-submit": "Kód"},
                                 prefix="contact")
    verify = location(response)
    assert path_of(verify) == "/account/contact/verify"
    assert outbox(channel)[-1].to == stored
    assert getattr(account(id=logged_in.id), column) == before  # not before the code
    code = last_code(stored)
    wrong = post_form(client, verify, {"code": f"{(int(code) + 1) % 1000000:06d}"})
    assert "Hibás kód" in text(wrong)
    assert getattr(account(id=logged_in.id), column) == before
    assert location(post_form(client, verify, {"code": code})) == "/account"
    changed = account(id=logged_in.id)
    assert getattr(changed, column) == stored
    assert (changed.email_confirmed if channel == "email" else changed.phone_confirmed) is True
    assert len(audit_events("account.contact_verified")) == 1


NEW_PASSWORD = "Uj-fiok-jelszo-2025-ok"


@pytest.mark.parametrize("current, password, repeat, message", [
    ("Rossz-jelenlegi-2024", NEW_PASSWORD, NEW_PASSWORD, "A jelenlegi jelszó nem megfelelő."),
    (ACCOUNT_PASSWORD, "rovid", "rovid", "legalább 12 karakter"),
    (ACCOUNT_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "A két jelszó nem egyezik."),
    (ACCOUNT_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, None),
], ids=["wrong-current", "policy", "repeat-differs", "changed"])
def test_the_password_change(app, client, logged_in, current, password, repeat, message):
    response = post_account_page(client, "/account/password", {
        "password-current": current, "password-password": password, "password-repeat": repeat,
        "password-submit": "Jelszó mentése"}, prefix="password")
    if message:
        assert response.status_code == 400 and message in text(response)
        assert audit_events("password.changed") == []
        still = ACCOUNT_PASSWORD
    else:
        assert location(response) == "/account"
        assert len(audit_events("password.changed")) == 1
        still = NEW_PASSWORD
    other = NEW_PASSWORD if still == ACCOUNT_PASSWORD else ACCOUNT_PASSWORD
    for password_tried, works in ((still, True), (other, False)):
        browser = new_browser(app)
        response = account_log_in(browser, "anna.otthon@example.com", password_tried, phone=ACCOUNT_PHONE)
        assert (response.status_code == 302) is works, password_tried


def test_revoking_an_application_revokes_its_tokens(client, logged_in):
    rp_pair = make_client(name="Harmadik app", first_party=True)
    interaction, verifier = rp_start(client, rp_pair[0], scope="openid offline_access", prompt="login")
    response = account_log_in(client, "anna.otthon@example.com", query=f"?interaction={interaction}")
    _, tokens = resumed(client, rp_pair, interaction, location(response), verifier)
    rp_client, secret = rp_pair
    assert client.get("/oauth/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).status_code \
        == 200
    assert "Harmadik app" in text(client.get("/account"))

    response = post_account_page(client, f"/account/applications/{rp_client.client_id}/revoke", {})
    assert location(response) == "/account"
    assert "Harmadik app" not in text(client.get("/account"))
    assert client.get("/oauth/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).status_code \
        == 401
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token":
                                                  tokens["refresh_token"]}, auth=(rp_client.client_id, secret))
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    [event] = audit_events("oauth.grant_revoked")
    assert event.subject == logged_in.sub


def test_sign_out_everywhere_ends_every_session_and_token(app, client, logged_in):
    elsewhere = new_browser(app)
    location(account_log_in(elsewhere, "anna.otthon@example.com", phone=ACCOUNT_PHONE))
    rp_pair = make_client(first_party=True)
    interaction, verifier = rp_start(elsewhere, rp_pair[0], prompt="login")
    _, tokens = resumed(elsewhere, rp_pair, interaction,
                        location(account_log_in(elsewhere, "anna.otthon@example.com",
                                                query=f"?interaction={interaction}", phone=ACCOUNT_PHONE)),
                        verifier)
    assert elsewhere.get("/account").status_code == 200

    response = post_account_page(client, "/account/sessions/end", {})
    assert response.status_code == 303 and location(response) == "/"
    for browser in (client, elsewhere):
        assert path_of(location(browser.get("/account"))) == "/account/login"
    db.session.expire_all()
    assert LoginSession.query.filter_by(subject=logged_in.sub, ended_at=None).count() == 0
    assert Token.query.filter_by(subject=logged_in.sub, refresh_revoked_at=None).count() == 0
    assert app.test_client().get("/oauth/userinfo", headers={
        "Authorization": "Bearer " + tokens["access_token"]}).status_code == 401
    assert len(audit_events("account.signed_out_everywhere")) == 1


# ==================================================================================================
# 8. idp demo: a demo account linked to anna@demo and the demo phone line, with a home subscription
# ==================================================================================================
def test_the_demo_account_is_linked_and_has_a_home_subscription(app):
    from idp.demo import DEMO_ACCOUNT
    from idp.models.company import BusinessUser
    from idp.models.company import PhoneLine

    for _ in range(2):  # idempotent
        result = app.test_cli_runner().invoke(args=["idp", "demo", "--json"])
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    demo = TelekomAccount.query.one()
    assert demo.email_address == DEMO_ACCOUNT["email"] and demo.email_confirmed
    anna_demo = BusinessUser.query.filter_by(username="anna").one()
    demo_line = PhoneLine.query.filter_by(number="+36301234567").one()
    assert links_of(demo) == sorted([("business", anna_demo.sub), ("phone", demo_line.sub)])
    [home] = Subscription.query.filter_by(account_id=demo.id).all()
    assert home.kind == "home"

    browser = new_browser(app)
    assert location(account_log_in(browser, DEMO_ACCOUNT["email"], DEMO_ACCOUNT["password"])) == "/account"
    html = text(browser.get("/account"))
    assert "anna@demo" in html and shows(html, "+36301234567") and home.label in html
