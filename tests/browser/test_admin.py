"""The admin area (MISSION.md 2, 3, 8, 11; DESIGN.md §3 ``/admin``) in a real
browser: the main admin logs in through ``/admin`` (temporary password, SMS,
new password), restricts a user's and a phone line's functions in
"Felhasználói jogok beállítása", and the relying parties' ID tokens then carry
only what is left; the admin creates, finds, disables and re-enables a user,
switches the SMS code off (only with the confirmation) and reads the audit
log; a delegated admin sees only what it may grant. Also the English pages and
a phone-sized screen. Every page is screenshotted into tests/artifacts/; no
page may log a console error or a CSP violation."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.outbox import OutboxMessage
from tests.browser.conftest import later_on_offer
from tests.browser.conftest import screenshot
from tests.browser.test_business_login import VERIFIER
from tests.browser.test_business_login import authorize_url
from tests.browser.test_business_login import continue_button
from tests.browser.test_business_login import new_page
from tests.browser.test_business_login import no_horizontal_scroll
from tests.browser.test_business_login import relying_party
from tests.browser.test_business_login import watch_console

pytestmark = pytest.mark.browser

ALL_FOR_ANNA = ["invoices.view", "invoices.pay", "usage.view"]
RESTRICTED = ["invoices.view", "usage.view"]
LINE = "301234567"
LINE_LABEL = "+36 30 123 4567"  # as the rights grid shows it
NEW_PASSWORD = "lila akác virágzik a kertben"
HU = {"identifier": "Azonosító", "password": "Jelszó", "next": "Tovább", "code": "SMS-ben kapott kód",
      "new": "Új jelszó", "repeat": "Új jelszó még egyszer", "save": "Jelszó mentése"}
EN = {"identifier": "Identifier", "password": "Password", "next": "Next", "code": "Code received by SMS",
      "new": "New password", "repeat": "New password again", "save": "Save password"}


# --- helpers -------------------------------------------------------------------
def newest(channel, to):
    db.session.rollback()  # read what the server committed
    message = (OutboxMessage.query.filter_by(channel=channel, to=to)
               .order_by(OutboxMessage.id.desc()).first())
    assert message is not None, f"no {channel} to {to} in the outbox"
    return message.body


def temporary_password(email):
    return re.search(r"(?:Ideiglenes jelszó|Temporary password): (\S+)", newest("email", email)).group(1)


def sms_code(phone):
    return re.search(r"#(\d{6})\s*$", newest("sms", "+36" + phone)).group(1)


def create_acme():
    from idp.companies import add_phone_line
    from idp.companies import create_company
    from idp.companies import create_user

    create_company("acme", "Acme Kft.", "boss@acme.example", "301111111")
    create_user("anna@acme", "anna@acme.example", "301111112", ALL_FOR_ANNA)
    add_phone_line(LINE, "acme", ALL_FOR_ANNA)


def first_login(page, identifier, email, phone, words=HU):
    """On the identifier page: identifier, emailed temporary password, SMS code, new password."""
    page.get_by_label(words["identifier"], exact=True).fill(identifier)
    continue_button(page, words["next"]).click()
    page.wait_for_url(re.compile(r"/login/password\?flow="))
    page.get_by_label(words["password"], exact=True).fill(temporary_password(email))
    continue_button(page, words["next"]).click()
    page.wait_for_url(re.compile(r"/login/sms\?flow="))
    page.get_by_label(words["code"], exact=True).fill(sms_code(phone))
    continue_button(page, words["next"]).click()
    page.wait_for_url(re.compile(r"/login/new-password\?flow="))
    page.get_by_label(words["new"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(words["repeat"], exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=words["save"]).click()


def admin_login(page, base, identifier="admin@acme", email="boss@acme.example", phone="301111111", words=HU):
    """``/admin`` sends a stranger to ``/login?next=/admin``; after the login it is back in the admin area."""
    page.goto(base + "/admin")
    page.wait_for_url(re.compile(r"/login\?next=/admin$"))
    first_login(page, identifier, email, phone, words)
    later_on_offer(page, "Later" if words is EN else "Később")
    page.wait_for_url(base + "/admin/users")


def menu(page):
    return page.get_by_role("navigation", name=re.compile("Adminisztráció|Administration"))


def current_menu_item(page):
    return menu(page).locator("[aria-current=page]").inner_text().strip()


def notice(page):
    return page.get_by_role("status").inner_text().strip()


def checkbox(page, who, label):
    return page.get_by_label(f"{who}: {label}", exact=True)


def assert_no_hungarian(page):
    """No untranslated admin text left on an English page."""
    text = page.locator("body").inner_text()
    leftovers = [w for w in ("Felhasználó", "jogok", "Keresés", "Mentés", "Napló", "Kijelentkezés",
                             "Számlák", "Még nem", "Telefonszám", "Állítsa", "mentettük") if w in text]
    assert leftovers == []


def fits_horizontally(page, locator):
    box = locator.bounding_box()
    return box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5


def id_token_claims(live_server, client, callback_url, state, nonce):
    """The relying party's part: code + PKCE verifier at the token endpoint, ID token against /jwks.json."""
    query = parse_qs(urlsplit(callback_url).query)
    assert query["state"] == [state]
    response = requests.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"][0], "client_id": client.client_id,
        "redirect_uri": live_server.url + "/dev/callback", "code_verifier": VERIFIER}, timeout=5)
    assert response.status_code == 200, response.text
    keys = KeySet.import_key_set(requests.get(live_server.url + "/jwks.json", timeout=5).json())
    claims = jwt.decode(response.json()["id_token"], keys).claims  # raises unless the signature verifies
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": live_server.url},
                          aud={"essential": True, "value": client.client_id},
                          nonce={"essential": True, "value": nonce}).validate(claims)
    return claims


def callback(live_server):
    return re.compile(re.escape(live_server.url + "/dev/callback?") + ".*code=")


# --- the main journey ------------------------------------------------------------
def test_main_admin_restricts_functions_and_relying_parties_see_it(live_server, chromium):
    create_acme()
    client = relying_party(live_server)
    context, page = new_page(chromium)
    try:
        problems = watch_console(page)
        admin_login(page, live_server.url)
        assert page.get_by_role("heading", name="Felhasználók", exact=True).is_visible()
        assert current_menu_item(page) == "Felhasználók"
        assert "admin@acme · Acme Kft." in page.locator("header .who").inner_text()
        rows = page.locator("main table tbody tr")
        assert rows.count() == 2
        assert "Főadminisztrátor" in rows.filter(has_text="admin@acme").inner_text()
        assert "Számlák befizetése" in rows.filter(has_text="anna@acme").inner_text()
        screenshot(page, "admin-01-users")

        menu(page).get_by_role("link", name="Felhasználói jogok beállítása").click()
        page.wait_for_url(live_server.url + "/admin/rights")
        assert current_menu_item(page) == "Felhasználói jogok beállítása"
        grid = page.locator("table.rights")
        assert grid.get_by_role("columnheader", name="Számlák befizetése").is_visible()
        assert "admin@acme" not in grid.inner_text()  # the main admin can use everything
        anna_pay = checkbox(page, "anna@acme", "Számlák befizetése")
        line_pay = checkbox(page, LINE_LABEL, "Számlák befizetése")
        assert anna_pay.is_checked() and line_pay.is_checked()
        assert checkbox(page, "anna@acme", "Rendelés leadása").is_visible()
        assert checkbox(page, LINE_LABEL, "Rendelés leadása").count() == 0  # not for phone lines
        screenshot(page, "admin-02-rights")

        anna_pay.uncheck()
        line_pay.uncheck()
        page.get_by_role("button", name="Mentés", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/rights")
        assert "A jogosultságokat mentettük" in notice(page)
        assert not checkbox(page, "anna@acme", "Számlák befizetése").is_checked()
        assert not checkbox(page, LINE_LABEL, "Számlák befizetése").is_checked()
        assert checkbox(page, "anna@acme", "Számlák megtekintése").is_checked()
        assert checkbox(page, LINE_LABEL, "Forgalom megtekintése").is_checked()
        screenshot(page, "admin-03-rights-saved")

        # A phone-sized screen: the grid scrolls inside its box, the page does not.
        page.set_viewport_size({"width": 390, "height": 844})
        assert no_horizontal_scroll(page)
        assert fits_horizontally(page, page.get_by_role("button", name="Mentés", exact=True))
        assert page.evaluate("(() => { const w = document.querySelector('.grid-wrap');"
                             " return w.scrollWidth > w.clientWidth && getComputedStyle(w).overflowX === 'auto'; })()")
        screenshot(page, "admin-mobile-02-rights")
        menu(page).get_by_role("link", name="Felhasználók", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/users")
        assert no_horizontal_scroll(page)
        assert fits_horizontally(page, page.get_by_role("link", name="Új felhasználó"))
        screenshot(page, "admin-mobile-01-users")
        assert problems == []
    finally:
        context.close()

    # Anna at a relying party, in a browser of her own.
    context, page = new_page(chromium)
    try:
        problems = watch_console(page)
        page.goto(authorize_url(live_server.url, client.client_id, scope="openid company permissions",
                                nonce="nonce-anna", state="st-anna"))
        page.wait_for_url(re.compile(r"/login\?interaction="))
        first_login(page, "anna@acme", "anna@acme.example", "301111112")
        later_on_offer(page)
        page.wait_for_url(callback(live_server))
        claims = id_token_claims(live_server, client, page.url, "st-anna", "nonce-anna")
        assert claims["permissions"] == RESTRICTED
        assert claims["company_role"] == "user"
        assert problems == []
    finally:
        context.close()

    # The phone line, also in a browser of its own.
    context, page = new_page(chromium)
    try:
        problems = watch_console(page)
        page.goto(authorize_url(live_server.url, client.client_id, scope="openid phone permissions",
                                nonce="nonce-line", state="st-line"))
        page.wait_for_url(re.compile(r"/login\?interaction="))
        page.get_by_role("link", name="Belépés mobiltelefonszámmal").click()
        page.wait_for_url(re.compile(r"/login/phone\?interaction="))
        page.get_by_label("Mobiltelefonszám", exact=True).fill(LINE)
        continue_button(page).click()
        page.wait_for_url(re.compile(r"/login/phone/check\?flow="))
        page.get_by_role("button", name="Kérem az SMS-t", exact=True).click()
        page.wait_for_url(re.compile(r"/login/phone/code\?flow="))
        page.get_by_label("SMS-ben kapott kód", exact=True).fill(sms_code(LINE))
        page.get_by_role("button", name="Belépek", exact=True).click()
        later_on_offer(page)
        page.wait_for_url(callback(live_server))
        claims = id_token_claims(live_server, client, page.url, "st-line", "nonce-line")
        assert claims["permissions"] == RESTRICTED
        assert claims["phone_number"] == "+36" + LINE
        assert problems == []
    finally:
        context.close()


# --- users, company settings, audit log ---------------------------------------------
def test_admin_manages_users_and_settings_and_reads_the_audit_log(live_server, chromium):
    create_acme()
    context, page = new_page(chromium)
    try:
        problems = watch_console(page)
        admin_login(page, live_server.url)

        # "Új felhasználó"
        page.get_by_role("link", name="Új felhasználó").click()
        page.wait_for_url(live_server.url + "/admin/users/new")
        assert current_menu_item(page) == "Felhasználók"
        assert "felhasznalonev@acme" in page.locator("#username-hint").inner_text()
        page.get_by_label("Felhasználónév", exact=True).fill("bela")
        page.get_by_label("Név", exact=True).fill("Kiss Béla")
        page.get_by_label("E-mail-cím", exact=True).fill("bela@acme.example")
        page.get_by_label("Mobiltelefonszám", exact=True).fill("301111113")
        page.get_by_label("Számlák megtekintése", exact=True).check()
        page.get_by_label("Forgalom megtekintése", exact=True).check()
        screenshot(page, "admin-04-new-user")
        page.get_by_role("button", name="Felhasználó létrehozása").click()

        page.wait_for_url(re.compile(re.escape(live_server.url) + r"/admin/users/[^/]+$"))
        user_url = page.url
        assert "bela@acme létrehozva" in notice(page)
        assert page.get_by_role("heading", name="bela@acme").is_visible()
        assert page.locator("p.lead .badge").inner_text() == "Még nem lépett be"
        assert temporary_password("bela@acme.example")  # the temporary password went out by email

        # The list and its search box.
        menu(page).get_by_role("link", name="Felhasználók", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/users")
        row = page.locator("main table tbody tr", has_text="bela@acme")
        assert "Kiss Béla" in row.inner_text()
        assert "Számlák megtekintése, Forgalom megtekintése" in row.inner_text()
        page.get_by_role("searchbox", name="Keresés").fill("béla")
        page.get_by_role("button", name="Keresés").click()
        page.wait_for_url(re.compile(r"/admin/users\?q="))
        rows = page.locator("main table tbody tr")
        assert rows.count() == 1 and "bela@acme" in rows.inner_text()
        assert page.get_by_role("searchbox", name="Keresés").input_value() == "béla"
        page.get_by_role("searchbox", name="Keresés").fill("senki")
        page.get_by_role("button", name="Keresés").click()
        page.wait_for_url(re.compile(r"q=senki"))
        assert page.locator("main table tbody").inner_text().strip() == "Nincs találat."
        page.get_by_role("searchbox", name="Keresés").fill("bela")
        page.get_by_role("button", name="Keresés").click()
        page.wait_for_url(re.compile(r"q=bela"))

        # The user's page: disable, re-enable.
        page.get_by_role("link", name="bela@acme").click()
        page.wait_for_url(user_url)
        assert page.get_by_label("E-mail-cím", exact=True).input_value() == "bela@acme.example"
        assert page.get_by_role("link", name=re.compile("Felhasználói jogok beállítása oldalon")).is_visible()
        screenshot(page, "admin-05-user")
        page.get_by_role("button", name="Letiltás").click()
        page.wait_for_url(user_url)
        assert notice(page) == "Letiltva."
        assert page.locator("p.lead .badge").inner_text() == "Letiltva"
        assert page.get_by_role("button", name="Új ideiglenes jelszó küldése").count() == 0
        screenshot(page, "admin-05b-user-disabled")
        page.get_by_role("button", name="Engedélyezés").click()
        page.wait_for_url(user_url)
        assert notice(page) == "Engedélyezve."
        assert page.get_by_role("button", name="Letiltás").is_visible()

        # Company settings: switching the SMS code off needs the confirmation.
        menu(page).get_by_role("link", name="Cégbeállítások").click()
        page.wait_for_url(live_server.url + "/admin/settings")
        assert current_menu_item(page) == "Cégbeállítások"
        assert page.get_by_role("radio", name=re.compile("^Bekapcsolva")).is_checked()
        page.get_by_role("radio", name=re.compile("^Kikapcsolva")).check()
        page.get_by_role("button", name="Mentés", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/settings")
        understood = page.get_by_role("checkbox", name=re.compile("^Megértettem"))
        alert = page.get_by_role("alert")
        assert "erősítse meg" in alert.inner_text()
        assert understood.get_attribute("aria-invalid") == "true"
        assert alert.get_attribute("id") in understood.get_attribute("aria-describedby").split()
        assert page.get_by_role("radio", name=re.compile("^Kikapcsolva")).is_checked()  # the choice is kept
        box, alert_box = page.locator("label.choice", has=understood).bounding_box(), alert.bounding_box()
        assert 0 <= alert_box["y"] - (box["y"] + box["height"]) < 24  # right under the checkbox
        screenshot(page, "admin-06-settings-error")
        understood.check()
        page.get_by_role("button", name="Mentés", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/settings")
        assert notice(page) == "Mentve."
        assert "Utoljára módosította: admin@acme" in page.locator("main").inner_text()
        assert page.get_by_role("radio", name=re.compile("^Kikapcsolva")).is_checked()
        screenshot(page, "admin-07-settings-saved")

        # The audit log lists it all, newest first.
        menu(page).get_by_role("link", name="Napló").click()
        page.wait_for_url(live_server.url + "/admin/audit")
        assert current_menu_item(page) == "Napló"
        events = [r.inner_text() for r in page.locator("main table tbody tr").all()]
        by_admin = [e for e in events if "admin@acme" in e]
        assert [re.search(r"(user|company)\.\w+", e).group(0) for e in by_admin[:4]] == [
            "company.sms_login_changed", "user.enabled", "user.disabled", "user.created"]
        assert "SMS-kód belépéskor: nem" in by_admin[0]
        assert "Felhasználónév: bela" in by_admin[3]
        assert "Jogosultságok: Számlák megtekintése, Forgalom megtekintése" in by_admin[3]
        assert "invoices.view, usage.view" in by_admin[3]  # the codes stay, in small print
        assert all("127.0.0.1" in e for e in by_admin[:4])
        # Logins and codes in words, with the IP (issue 8 point 12).
        [login] = [e for e in by_admin if "login.succeeded" in e]
        assert "Belépés módja: jelszó, SMS-kód, kétlépcsős" in login and "127.0.0.1" in login
        sent = [e for e in by_admin if "otp.sent" in e]
        assert sent and all("Csatorna: SMS" in e and "Újraküldés: nem" in e for e in sent)
        table = page.locator("main table").inner_text()
        assert "False" not in table and "True" not in table and "resend:" not in table
        screenshot(page, "admin-08-audit")
        assert problems == []
    finally:
        context.close()


# --- a delegated admin ------------------------------------------------------------------
def test_delegated_admin_sees_only_what_it_may_grant(live_server, chromium):
    from idp.companies import create_user

    create_acme()
    create_user("deleg@acme", "deleg@acme.example", "301111114", ["users.manage", "usage.view"])
    context, page = new_page(chromium)
    try:
        problems = watch_console(page)
        admin_login(page, live_server.url, "deleg@acme", "deleg@acme.example", "301111114")
        menu(page).get_by_role("link", name="Felhasználói jogok beállítása").click()
        page.wait_for_url(live_server.url + "/admin/rights")
        boxes = page.locator("table.rights input[type=checkbox]")
        labels = {boxes.nth(i).get_attribute("aria-label") for i in range(boxes.count())}
        assert labels == {"anna@acme: Forgalom megtekintése", "anna@acme: Felhasználók kezelése",
                          "deleg@acme: Forgalom megtekintése", "deleg@acme: Felhasználók kezelése",
                          f"{LINE_LABEL}: Forgalom megtekintése"}
        anna = page.locator("table.rights tr", has_text="anna@acme")
        assert anna.locator("[title='Ezt Ön nem adhatja']").count() == 5  # read-only marks
        assert anna.locator("[title='Ezt Ön nem adhatja']").first.inner_text() == "✓"
        screenshot(page, "admin-09-delegated-rights")

        menu(page).get_by_role("link", name="Cégbeállítások").click()
        page.wait_for_url(live_server.url + "/admin/settings")
        assert page.get_by_role("radio").count() == 0
        assert page.get_by_role("button", name="Mentés").count() == 0
        assert "Ezt csak a főadminisztrátor módosíthatja" in page.locator("main").inner_text()
        screenshot(page, "admin-10-delegated-settings")
        assert problems == []
    finally:
        context.close()


# --- English -----------------------------------------------------------------------------
def test_english_admin_pages(live_server, chromium):
    create_acme()
    context, page = new_page(chromium, locale="en-US")
    try:
        problems = watch_console(page)
        admin_login(page, live_server.url, words=EN)
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.get_by_role("heading", name="Users", exact=True).is_visible()
        assert current_menu_item(page) == "Users"
        assert page.get_by_role("link", name="New user").is_visible()
        row = page.locator("main table tbody tr", has_text="anna@acme")
        assert "View invoices, Pay invoices, View usage" in row.inner_text()
        assert row.locator(".badge").inner_text() == "Not logged in yet"
        assert_no_hungarian(page)
        screenshot(page, "admin-en-01-users")

        menu(page).get_by_role("link", name="User rights settings").click()
        page.wait_for_url(live_server.url + "/admin/rights")
        assert page.get_by_role("heading", name="User rights settings").is_visible()
        assert current_menu_item(page) == "User rights settings"
        grid = page.locator("table.rights")
        assert grid.get_by_role("columnheader", name="Pay invoices").is_visible()
        checkbox(page, "anna@acme", "Pay invoices").uncheck()
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(live_server.url + "/admin/rights")
        assert not checkbox(page, "anna@acme", "Pay invoices").is_checked()
        assert_no_hungarian(page)
        screenshot(page, "admin-en-02-rights")
        assert problems == []
    finally:
        context.close()
