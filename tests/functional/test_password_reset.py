""""Nem tudom a jelszavam" (MISSION.md 6): email or phone, a one-time code by
that channel, a new password twice; success signs the user out everywhere and
is audited; an unknown identifier sees the same pages and nothing is sent."""

import re

import pytest

from idp.extensions import db
from idp.models.company import BusinessUser
from idp.models.flow import FlowState
from idp.models.otp import OtpChallenge
from idp.services import get_services
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_login_user
from tests.login_helpers import past_the_offer
from tests.login_helpers import audit_events
from tests.login_helpers import authorize
from tests.login_helpers import exchange_code
from tests.login_helpers import flow_id
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import outbox
from tests.login_helpers import post_anyway
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import strip_volatile
from tests.login_helpers import submit_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
NEW_PASSWORD = "piros paprika füzér"
PHONE = "+36301234567"
EMAIL = "anna@acme.example"
MASKED_PHONE = "+36 30 *** **67"
MASKED_EMAIL = "a***@a***.example"


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def anna(app):
    company = make_company(slug="acme", name="Acme Kft.")
    return make_login_user(company=company, username="anna", phone=PHONE, email=EMAIL)


def start_reset(client, identifier):
    """The reset start page → the channel page; returns the reset flow id."""
    response = post_form(client, "/login/password-reset", {"identifier": identifier})
    assert response.status_code == 302, text(response)
    assert "/login/password-reset/choose?flow=" in response.headers["Location"]
    return flow_id(response.headers["Location"])


def choose(client, rid, channel):
    response = post_form(client, f"/login/password-reset/choose?flow={rid}", {"channel": channel})
    assert response.status_code == 302, text(response)
    assert response.headers["Location"].endswith(f"/login/password-reset/code?flow={rid}")
    return response


def enter_code(client, rid, code):
    return post_form(client, f"/login/password-reset/code?flow={rid}", {"code": code})


def set_new(client, rid, password, repeat=None):
    return post_form(client, f"/login/password-reset/new?flow={rid}",
                     {"password": password, "repeat": password if repeat is None else repeat})


def reset_password(client, identifier, channel, destination, password=NEW_PASSWORD):
    rid = start_reset(client, identifier)
    choose(client, rid, channel)
    response = enter_code(client, rid, last_code(destination))
    assert response.headers["Location"].endswith(f"/login/password-reset/new?flow={rid}")
    return set_new(client, rid, password)


def test_forgot_link_on_the_password_page_prefills_the_identifier(client, anna):
    fid = start_login(client, "anna@acme")
    html = text(client.get(f"/login/password-reset?flow={fid}"))
    assert re.search(r'<input[^>]*name="identifier"[^>]*value="anna@acme"', html)
    assert "Nem tudom a jelszavam" in html


def test_choose_page_offers_email_and_phone_both_masked(client, anna):
    rid = start_reset(client, "Anna@ACME ")
    html = text(client.get(f"/login/password-reset/choose?flow={rid}"))
    assert MASKED_EMAIL in html and MASKED_PHONE in html
    assert EMAIL not in html and "1234567" not in html
    assert re.search(r'<input[^>]*name="channel"[^>]*value="email"', html)
    assert re.search(r'<input[^>]*name="channel"[^>]*value="sms"', html)


@pytest.mark.parametrize(("channel", "destination", "masked"), [
    pytest.param("email", EMAIL, MASKED_EMAIL, id="email"),
    pytest.param("sms", PHONE, MASKED_PHONE, id="sms"),
])
def test_reset_by_either_channel_sets_the_new_password_and_is_audited(client, anna, channel, destination, masked):
    rid = start_reset(client, "anna@acme")
    choose(client, rid, channel)
    [message] = outbox()
    assert message.channel == channel and message.to == destination
    if channel == "sms":
        assert "díjmentes" in message.body and message.body.splitlines()[-1] == f"@localhost #{last_code()}"
    else:
        assert message.subject and last_code() in message.body
    html = text(client.get(f"/login/password-reset/code?flow={rid}"))
    assert masked in html and 'autocomplete="one-time-code"' in html
    response = enter_code(client, rid, last_code(destination))
    html = text(client.get(response.headers["Location"]))
    assert html.count('autocomplete="new-password"') == 2

    response = set_new(client, rid, NEW_PASSWORD)
    assert response.status_code == 200
    assert "Az új jelszava beállítva" in text(response)
    [event] = audit_events("password.reset")
    assert event.subject == anna.sub and event.company_id == anna.company_id
    assert len(audit_events("otp.sent", subject=anna.sub)) == 1
    db.session.expire_all()
    user = db.session.get(BusinessUser, anna.id)
    assert user.password_temporary is False and user.password_changed_at is not None
    assert NEW_PASSWORD not in user.password_hash

    other = new_browser(client.application)
    response = submit_password(other, start_login(other, "anna@acme"), PASSWORD)
    assert response.status_code == 200 and "Hibás azonosító vagy jelszó." in text(response)
    assert "/login/sms" in submit_password(other, start_login(other, "anna@acme"), NEW_PASSWORD).headers["Location"]
    # The finished reset flow cannot be replayed.
    response = post_anyway(client, f"/login/password-reset/new?flow={rid}",
                           {"password": "egy masik jo jelszo 77", "repeat": "egy masik jo jelszo 77"})
    assert response.status_code == 400 and "Kezdje újra" in text(response)


@pytest.mark.parametrize(("channel", "label", "not_label"), [
    pytest.param("email", "E-mailben kapott kód", "SMS-ben kapott kód", id="email"),
    pytest.param("sms", "SMS-ben kapott kód", "E-mailben kapott kód", id="sms"),
])
def test_code_field_is_labelled_by_the_chosen_channel(client, anna, channel, label, not_label):
    rid = start_reset(client, "anna@acme")
    choose(client, rid, channel)
    html = text(client.get(f"/login/password-reset/code?flow={rid}"))
    assert f'<label for="code">{label}</label>' in html and not_label not in html
    # A wrong code re-renders the page: still the chosen channel's label.
    html = text(enter_code(client, rid, "000000" if last_code() != "000000" else "111111"))
    assert "Hibás kód" in html and f'<label for="code">{label}</label>' in html


def test_code_field_is_labelled_by_the_chosen_channel_in_english(client, anna):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    rid = start_reset(client, "anna@acme")
    choose(client, rid, "email")
    html = text(client.get(f"/login/password-reset/code?flow={rid}"))
    assert '<label for="code">Code received by email</label>' in html


def test_reset_ends_every_session_and_refresh_token_of_the_user(app, client, anna):
    rp, secret = make_client(first_party=True)
    resource_server, rs_secret = make_client(name="RS", grant_types=["client_credentials"], redirect_uris=[],
                                             resource_server=True)
    response, verifier = authorize(client, rp, scope="openid profile")
    response = post_form(client, response.headers["Location"], {"identifier": "anna@acme"})
    fid = flow_id(response.headers["Location"])
    submit_password(client, fid, PASSWORD)
    response = past_the_offer(client, post_form(client, f"/login/sms?flow={fid}", {"code": last_code(PHONE)}))
    response = client.get(response.headers["Location"])
    tokens = exchange_code(client, rp, response.headers["Location"], verifier, secret=secret)
    assert tokens["refresh_token"]

    def introspect(token, by=(resource_server.client_id, rs_secret)):
        return client.post("/oauth/introspect", data={"token": token}, auth=by).get_json()

    assert introspect(tokens["access_token"])["active"] is True
    assert introspect(tokens["refresh_token"], by=(rp.client_id, secret))["active"] is True
    assert "Bejelentkezve: anna@acme" in text(client.get("/login/done"))

    other = new_browser(app)
    assert reset_password(other, "anna@acme", "email", EMAIL).status_code == 200

    assert introspect(tokens["access_token"]) == {"active": False}
    assert introspect(tokens["refresh_token"], by=(rp.client_id, secret)) == {"active": False}
    response = client.post("/oauth/token", auth=(rp.client_id, secret),
                           data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    # The browser that was logged in is not any more.
    assert "Bejelentkezve" not in text(client.get("/login/done"))
    response, _ = authorize(client, rp, scope="openid", prompt="none")
    assert "error=login_required" in response.headers["Location"]


def masks_of(html):
    return (re.search(r"[a-z]\*\*\*@[a-z]\*\*\*\.[a-z]+", html).group(0),
            re.search(r"\+36 \d\d \*\*\* \*\*\d\d", html).group(0))


@pytest.mark.parametrize("identifier", [
    pytest.param("nobody@acme", id="unknown-user"),
    pytest.param("anna@nosuchco", id="unknown-company"),
    pytest.param("gone@acme", id="deleted-user"),
])
def test_unknown_identifier_sees_the_same_pages_gets_nothing_and_no_code_works(app, client, anna, identifier):
    make_login_user(company=anna.company, username="gone", deleted_at=get_services().clock.now())
    known = new_browser(app)
    known_html = text(known.get(f"/login/password-reset/choose?flow={start_reset(known, 'anna@acme')}"))
    rid = start_reset(client, identifier)
    html = text(client.get(f"/login/password-reset/choose?flow={rid}"))
    email_mask, phone_mask = masks_of(html)
    assert (strip_volatile(html).replace(identifier, "ID").replace(email_mask, "E").replace(phone_mask, "P")
            == strip_volatile(known_html).replace("anna@acme", "ID").replace(MASKED_EMAIL, "E")
            .replace(MASKED_PHONE, "P"))
    # Stable: the same identifier always gets the same made-up addresses.
    again = text(client.get(f"/login/password-reset/choose?flow={start_reset(client, identifier)}"))
    assert masks_of(again) == (email_mask, phone_mask)

    choose(client, rid, "email")
    assert email_mask in text(client.get(f"/login/password-reset/code?flow={rid}"))
    assert outbox() == [] and audit_events("otp.sent") == []
    # Even the right code of its challenge (reissued here, since none was sent) leads nowhere.
    state = db.session.get(FlowState, rid)
    code = get_services().otp.reissue(db.session.get(OtpChallenge, state.otp_challenge_id)).code
    db.session.commit()
    response = enter_code(client, rid, code)
    assert response.status_code == 400
    assert "/password-reset/new" not in response.headers.get("Location", "")
    assert client.get(f"/login/password-reset/new?flow={rid}").status_code == 400
    assert audit_events("password.reset") == []

    rid = start_reset(client, identifier)
    choose(client, rid, "sms")
    assert outbox() == []


def test_disabled_user_gets_no_reset_code(client, anna):
    anna.disabled = True
    db.session.commit()
    rid = start_reset(client, "anna@acme")
    choose(client, rid, "sms")
    assert outbox() == []


def test_five_wrong_codes_kill_the_reset_code(client, anna):
    rid = start_reset(client, "anna@acme")
    choose(client, rid, "email")
    right = last_code(EMAIL)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for left in (4, 3, 2, 1):
        response = enter_code(client, rid, wrong)
        assert response.status_code == 200 and f"Még {left} próbálkozása maradt" in text(response)
    response = enter_code(client, rid, wrong)
    assert response.status_code == 400 and "túl sokszor" in text(response)
    response = post_anyway(client, f"/login/password-reset/code?flow={rid}", {"code": right})
    assert response.status_code == 400
    assert audit_events("password.reset") == []


def test_reset_code_dies_after_five_minutes(client, anna, clock):
    rid = start_reset(client, "anna@acme")
    choose(client, rid, "email")
    clock.advance(301)
    response = enter_code(client, rid, last_code(EMAIL))
    assert response.status_code == 400 and "lejárt" in text(response)


LONG = "hosszu-jelszo-" * 10  # 140 characters


@pytest.mark.parametrize(("password", "repeat", "message"), [
    pytest.param("rövid jelsz", None, "legalább 12 karakter", id="11-chars"),
    pytest.param(LONG[:129], None, "legfeljebb 128 karakter", id="129-chars"),
    pytest.param("anna@acme", None, "legalább 12 karakter", id="identifier-short"),
    pytest.param("Anna@Acme123", None, "nem lehet a felhasználónév", id="identifier-itself"),
    pytest.param("annaannaanna", None, None, id="username-repeated-is-fine"),
    pytest.param("jelszo123456", None, "túl gyakori", id="common-hungarian"),
    pytest.param("Password1234", None, "túl gyakori", id="common-case-insensitive"),
    pytest.param(NEW_PASSWORD, NEW_PASSWORD + " ", "A két jelszó nem egyezik.", id="mismatch"),
    pytest.param(LONG[:128], None, None, id="128-chars-ok"),
    pytest.param("kék ég alatt", None, None, id="12-chars-ok"),
])
def test_new_password_policy(client, anna, password, repeat, message):
    rid = start_reset(client, "anna@acme")
    choose(client, rid, "email")
    enter_code(client, rid, last_code(EMAIL))
    response = set_new(client, rid, password, repeat)
    if message is None:
        assert response.status_code == 200 and "Az új jelszava beállítva" in text(response)
        assert log_in(new_browser(client.application), "anna@acme", password, PHONE).headers[
            "Location"].endswith("/login/done")
    else:
        assert response.status_code == 200 and message in text(response)
        assert audit_events("password.reset") == []
        db.session.expire_all()
        assert get_services().passwords.verify(db.session.get(BusinessUser, anna.id).password_hash, PASSWORD)


def test_reset_lifts_the_lock_of_the_identifier(make_app):
    app = make_app(PASSWORD_LOCK_AFTER=3, PASSWORD_DELAY_AFTER=10)
    with app.app_context():
        company = make_company(slug="acme")
        make_login_user(company=company, username="anna", phone=PHONE, email=EMAIL)
        client = new_browser(app)
        fid = start_login(client, "anna@acme")
        for _ in range(3):
            submit_password(client, fid, "not the password at all")
        response = submit_password(client, fid, PASSWORD)
        assert response.status_code == 429 and "zároltuk" in text(response)
        assert reset_password(client, "anna@acme", "email", EMAIL).status_code == 200
        assert "/login/sms" in submit_password(client, start_login(client, "anna@acme"),
                                               NEW_PASSWORD).headers["Location"]
