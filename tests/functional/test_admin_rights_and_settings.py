""""Felhasználói jogok beállítása" (MISSION.md 11), the company's SMS switch
(MISSION.md 8), delegated administration and the audit log page
(DESIGN.md §3 ``/admin``)."""

import re

import pytest

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.factories import make_user
from tests.login_helpers import admin_browser
from tests.login_helpers import admin_post
from tests.login_helpers import audit_events
from tests.login_helpers import outbox
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import submit_password
from tests.login_helpers import text

ADMIN_PHONE = "+36301000001"
DELEGATE_PHONE = "+36301000002"
ALL_CODES = ["invoices.view", "invoices.pay", "subscriptions.view", "subscriptions.manage", "orders.create",
             "usage.view", "users.manage"]
PHONE_CODES = ["invoices.view", "invoices.pay", "subscriptions.view", "usage.view"]
RISK = "kikapcsolt SMS-kód mellett egy kiszivárgott jelszó önmagában elég"


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone=ADMIN_PHONE)
    return company


@pytest.fixture
def anna(acme):
    return make_login_user(acme, username="anna", phone="+36301234567", permissions=["invoices.view"])


@pytest.fixture
def line(acme):
    return make_phone_line(acme, number="+36201234567", permissions=["usage.view"])


@pytest.fixture
def browser(app, acme):
    return admin_browser(app, "admin@acme", phone=ADMIN_PHONE)


@pytest.fixture
def delegate(acme):
    """A delegated admin: users.manage plus a few, not everything."""
    return make_login_user(acme, username="dora", phone=DELEGATE_PHONE,
                           permissions=["users.manage", "invoices.view", "usage.view"])


@pytest.fixture
def delegate_browser(app, delegate):
    return admin_browser(app, "dora@acme", phone=DELEGATE_PHONE)


def fresh(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def grid(html, kind, sub):
    """``{code: state}`` of one row of the rights grid: "on"/"off" for a checkbox,
    "held"/"not held" for a code shown but not editable, "n/a" for a code not for phone lines."""
    row = re.search(rf'<tr[^>]* id="{kind}-{sub}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row {kind}-{sub}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    states = {}
    for code, cell in zip(ALL_CODES, cells):
        if "<input" in cell:
            assert re.search(rf'<input[^>]*name="{kind}:{sub}"[^>]*value="{re.escape(code)}"', cell), cell
            states[code] = "on" if "checked" in cell else "off"
        elif 'class="na"' in cell:
            states[code] = "n/a"
        else:
            states[code] = "held" if "✓" in cell else "not held"
    return states


def save_rights(browser, rows):
    """Submit the rights page with ``rows``: ``{"user:<sub>": [codes], "line:<sub>": [codes]}``."""
    data = {"row": list(rows)}
    data.update({key: codes for key, codes in rows.items()})
    return post_form(browser, "/admin/rights", data)


# --- the rights page ------------------------------------------------------------------------
def test_rights_page_is_titled_and_shows_a_checkbox_grid_per_user_and_phone_line(browser, acme, anna, line):
    response = browser.get("/admin/rights")
    html = text(response)
    assert response.status_code == 200
    assert "<title>Felhasználói jogok beállítása" in html and "<h1>Felhasználói jogok beállítása</h1>" in html
    assert re.search(r'<a href="/admin/rights"[^>]* aria-current="page"[^>]*>Felhasználói jogok beállítása</a>', html)
    headers = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert headers[1:] == ["Számlák megtekintése", "Számlák befizetése", "Előfizetések megtekintése",
                           "Előfizetések kezelése", "Rendelés leadása", "Forgalom megtekintése",
                           "Felhasználók kezelése"]
    assert grid(html, "user", anna.sub) == {c: "on" if c == "invoices.view" else "off" for c in ALL_CODES}
    assert grid(html, "line", line.sub) == {c: ("on" if c == "usage.view" else "off") if c in PHONE_CODES
                                            else "n/a" for c in ALL_CODES}
    main_admin = BusinessUser.query.filter_by(company_id=acme.id, username="admin").one()
    assert f"user-{main_admin.sub}" not in html  # the main admin holds everything


def test_saving_the_grid_changes_users_and_lines_and_audits(browser, anna, line):
    response = save_rights(browser, {f"user:{anna.sub}": ["usage.view", "orders.create"],
                                     f"line:{line.sub}": ["invoices.view", "invoices.pay"]})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/rights"
    assert fresh(anna).permissions == ["orders.create", "usage.view"]
    assert fresh(line).permissions == ["invoices.pay", "invoices.view"]
    html = text(browser.get("/admin/rights"))
    assert "A jogosultságokat mentettük." in html
    assert grid(html, "user", anna.sub)["orders.create"] == "on"
    [user_event] = audit_events("user.permissions_changed", subject=anna.sub)
    assert user_event.details["before"] == ["invoices.view"]
    assert user_event.details["after"] == ["orders.create", "usage.view"]
    assert (user_event.actor, user_event.ip) == ("admin@acme", "127.0.0.1")
    [line_event] = audit_events("phone_line.permissions_changed", subject=line.sub)
    assert line_event.details["after"] == ["invoices.pay", "invoices.view"]


def test_unticking_every_box_removes_every_permission(browser, anna, line):
    assert save_rights(browser, {f"user:{anna.sub}": [], f"line:{line.sub}": []}).status_code == 302
    assert fresh(anna).permissions == [] and fresh(line).permissions == []


def test_saving_without_changes_writes_no_event(browser, anna, line):
    save_rights(browser, {f"user:{anna.sub}": ["invoices.view"], f"line:{line.sub}": ["usage.view"]})
    assert audit_events("user.permissions_changed") == audit_events("phone_line.permissions_changed") == []


def test_rows_not_posted_are_left_alone(browser, anna, line):
    save_rights(browser, {f"user:{anna.sub}": []})
    assert fresh(line).permissions == ["usage.view"]


@pytest.mark.parametrize("code", ["users.manage", "orders.create", "subscriptions.manage"])
def test_phone_line_cannot_get_a_permission_not_for_phones(browser, anna, line, code):
    response = save_rights(browser, {f"user:{anna.sub}": ["usage.view"], f"line:{line.sub}": ["usage.view", code]})
    assert response.status_code == 403
    assert "Telefonszámhoz nem adható" in text(response)
    assert fresh(line).permissions == ["usage.view"]
    assert fresh(anna).permissions == ["invoices.view"]  # nothing of the request is saved
    assert audit_events("user.permissions_changed") == audit_events("phone_line.permissions_changed") == []


def test_unknown_permission_code_is_refused(browser, anna):
    response = save_rights(browser, {f"user:{anna.sub}": ["invoices.view", "root"]})
    assert response.status_code == 403
    assert fresh(anna).permissions == ["invoices.view"]


def test_removed_phone_line_and_deleted_user_are_not_in_the_grid(browser, acme, anna, line):
    gone = make_user(acme, username="gone")
    admin_post(browser, f"/admin/users/{gone.sub}/delete", {})
    html = text(browser.get("/admin/rights"))
    assert f"user-{gone.sub}" not in html
    save_rights(browser, {f"user:{gone.sub}": ["invoices.view"]})
    assert fresh(gone).permissions == []


# --- the SMS switch -----------------------------------------------------------------------
def test_settings_page_explains_the_risk_and_who_changed_it(browser, acme):
    html = text(browser.get("/admin/settings"))
    assert "<h1>Cégbeállítások</h1>" in html
    assert "Még nem módosították (alapértelmezés: bekapcsolva)." in html
    assert "checked" in re.search(r'<input[^>]*name="sms_login"[^>]*type="radio" value="on"[^>]*>', html).group(0)
    assert RISK in html and 'name="understood"' in html


def test_switching_sms_off_needs_the_confirmation(browser, acme):
    response = post_form(browser, "/admin/settings", {"sms_login": "off"})
    assert response.status_code == 200
    assert "A kikapcsoláshoz erősítse meg, hogy megértette a kockázatot." in text(response)
    company = fresh(acme)
    assert company.sms_login_required and company.sms_setting_changed_by is None
    assert audit_events("company.sms_login_changed") == []


def test_switching_sms_off_and_on_is_recorded_and_shown(app, browser, acme, clock):
    response = post_form(browser, "/admin/settings", {"sms_login": "off", "understood": "y"})
    assert response.status_code == 302
    company = fresh(acme)
    assert not company.sms_login_required
    assert company.sms_setting_changed_by == "admin@acme"
    assert company.sms_setting_changed_at == clock.now()
    html = text(browser.get("/admin/settings"))
    assert "Mentve." in html
    assert f"Utoljára módosította: admin@acme, {clock.now():%Y-%m-%d %H:%M} UTC" in html
    assert "checked" in re.search(r'<input[^>]*value="off"[^>]*>', html).group(0)
    [event] = audit_events("company.sms_login_changed")
    assert event.details == {"sms_login_required": False}
    assert (event.actor, event.ip, event.company_id) == ("admin@acme", "127.0.0.1", acme.id)

    assert post_form(browser, "/admin/settings", {"sms_login": "on"}).status_code == 302  # no confirmation needed
    assert fresh(acme).sms_login_required
    assert len(audit_events("company.sms_login_changed")) == 2


@pytest.mark.parametrize("value", ["maybe", "", "ON"], ids=["unknown", "empty", "upper-case"])
def test_settings_refuse_values_other_than_on_and_off(browser, acme, value):
    response = post_form(browser, "/admin/settings", {"sms_login": value, "understood": "y"})
    assert response.status_code == 200
    assert fresh(acme).sms_login_required


def test_after_switching_sms_off_the_company_logs_in_without_the_sms_step(app, browser, acme, anna):
    other, _ = make_company_with_admin(slug="beta")
    bob = make_login_user(other, username="bob", phone="+36309999999")
    post_form(browser, "/admin/settings", {"sms_login": "off", "understood": "y"})
    sms_before = len(outbox("sms"))

    person = app.test_client()
    response = submit_password(person, start_login(person, "anna@acme"), "Helyes-jelszo-2024!")
    assert response.status_code == 302 and "/login/sms" not in response.headers["Location"]
    assert len(outbox("sms")) == sms_before

    person = app.test_client()  # another company still has the SMS step
    response = submit_password(person, start_login(person, bob.identifier), "Helyes-jelszo-2024!")
    assert "/login/sms" in response.headers["Location"]


# --- delegated administration -----------------------------------------------------------------
def test_delegate_manages_users_but_sees_only_what_it_may_grant(delegate_browser, acme, anna, line):
    assert delegate_browser.get("/admin/users").status_code == 200
    html = text(delegate_browser.get("/admin/users/new"))
    assert re.findall(r'name="permissions" type="checkbox" value="([^"]+)"', html) == [
        "invoices.view", "usage.view", "users.manage"]
    html = text(delegate_browser.get("/admin/rights"))
    assert grid(html, "user", anna.sub) == {
        "invoices.view": "on", "invoices.pay": "not held", "subscriptions.view": "not held",
        "subscriptions.manage": "not held", "orders.create": "not held", "usage.view": "off", "users.manage": "off"}
    assert grid(html, "line", line.sub) == {
        "invoices.view": "off", "invoices.pay": "not held", "subscriptions.view": "not held",
        "subscriptions.manage": "n/a", "orders.create": "n/a", "usage.view": "on", "users.manage": "n/a"}


def test_delegate_creates_a_user_with_its_own_permissions(delegate_browser, acme):
    response = post_form(delegate_browser, "/admin/users/new", {
        "username": "emil", "email": "emil@acme.example", "phone": "301112233", "permissions": ["usage.view"]})
    assert response.status_code == 302
    emil = BusinessUser.query.filter_by(company_id=acme.id, username="emil").one()
    assert emil.permissions == ["usage.view"]
    assert audit_events("user.created", subject=emil.sub)[0].actor == "dora@acme"


@pytest.mark.parametrize("codes", [["invoices.pay"], ["usage.view", "orders.create"], ["subscriptions.manage"]],
                         ids=["one-not-held", "mixed", "manage-subscriptions"])
def test_delegate_cannot_create_a_user_with_a_permission_it_does_not_hold(delegate_browser, acme, codes):
    response = post_form(delegate_browser, "/admin/users/new", {
        "username": "emil", "email": "emil@acme.example", "phone": "301112233", "permissions": codes})
    assert response.status_code == 403
    assert "Olyan jogosultságot nem adhat, amellyel Ön sem rendelkezik" in text(response)
    assert BusinessUser.query.filter_by(username="emil").count() == 0
    assert outbox("email", "emil@acme.example") == []


def test_delegate_cannot_grant_in_the_grid_what_it_does_not_hold(delegate_browser, anna, line):
    response = save_rights(delegate_browser, {f"user:{anna.sub}": ["invoices.view", "invoices.pay"]})
    assert response.status_code == 403
    assert fresh(anna).permissions == ["invoices.view"]
    response = save_rights(delegate_browser, {f"line:{line.sub}": ["usage.view", "subscriptions.view"]})
    assert response.status_code == 403
    assert fresh(line).permissions == ["usage.view"]


def test_delegate_keeps_the_permissions_it_does_not_hold_when_it_saves(delegate_browser, acme, line):
    bela = make_user(acme, username="bela", permissions=["orders.create", "invoices.view", "invoices.pay"])
    line.permissions = ["subscriptions.view", "usage.view"]
    db.session.commit()
    response = save_rights(delegate_browser, {f"user:{bela.sub}": ["usage.view"], f"line:{line.sub}": []})
    assert response.status_code == 302
    assert fresh(bela).permissions == ["invoices.pay", "orders.create", "usage.view"]
    assert fresh(line).permissions == ["subscriptions.view"]


def test_delegate_cannot_change_the_sms_setting(delegate_browser, acme):
    html = text(delegate_browser.get("/admin/settings"))
    assert "Ezt csak a főadminisztrátor módosíthatja." in html
    assert 'name="sms_login"' not in html
    response = admin_post(delegate_browser, "/admin/settings", {"sms_login": "off", "understood": "y"})
    assert response.status_code == 403
    assert fresh(acme).sms_login_required
    assert audit_events("company.sms_login_changed") == []


def test_delegate_sees_the_main_admin_locked(delegate_browser, acme):
    main_admin = BusinessUser.query.filter_by(company_id=acme.id, username="admin").one()
    html = text(delegate_browser.get(f"/admin/users/{main_admin.sub}"))
    assert "A főadminisztrátor adatait csak ő maga módosíthatja." in html
    assert 'name="email"' not in html and "/disable" not in html


def test_delegate_is_offered_no_action_on_itself(delegate_browser, delegate):
    html = text(delegate_browser.get(f"/admin/users/{delegate.sub}"))
    assert "/disable" not in html and "/delete" not in html


def test_delegate_disables_and_deletes_other_users(delegate_browser, acme, anna):
    assert admin_post(delegate_browser, f"/admin/users/{anna.sub}/disable", {}).status_code == 302
    assert fresh(anna).disabled
    assert admin_post(delegate_browser, f"/admin/users/{anna.sub}/delete", {}).status_code == 302
    assert fresh(anna).deleted_at is not None
    assert [e.actor for e in audit_events("user.deleted")] == ["dora@acme"]


def test_delegate_losing_users_manage_loses_the_admin_area(app, browser, delegate, delegate_browser):
    assert delegate_browser.get("/admin/users").status_code == 200
    save_rights(browser, {f"user:{delegate.sub}": ["invoices.view"]})
    assert delegate_browser.get("/admin/users").status_code == 403


# --- the audit log page -------------------------------------------------------------------------
def test_every_admin_change_is_in_the_audit_log_with_actor_time_and_ip(browser, acme, anna, line, clock):
    post_form(browser, "/admin/users/new", {"username": "emil", "email": "emil@acme.example", "phone": "301112233"})
    emil = BusinessUser.query.filter_by(company_id=acme.id, username="emil").one()
    post_form(browser, f"/admin/users/{anna.sub}", {"email": "anna2@acme.example", "phone": anna.phone})
    save_rights(browser, {f"user:{anna.sub}": ["usage.view"], f"line:{line.sub}": ["invoices.view"]})
    for name in ("disable", "enable", "resend-password", "delete"):
        admin_post(browser, f"/admin/users/{emil.sub}/{name}", {})
    post_form(browser, "/admin/settings", {"sms_login": "off", "understood": "y"})

    expected = ["user.created", "user.updated", "user.permissions_changed", "phone_line.permissions_changed",
                "user.disabled", "user.enabled", "user.temporary_password_sent", "user.deleted",
                "company.sms_login_changed"]
    events = (AuditEvent.query.filter(AuditEvent.company_id == acme.id, AuditEvent.actor == "admin@acme",
                                      AuditEvent.event.in_(expected)).order_by(AuditEvent.id).all())
    assert [e.event for e in events] == expected
    assert all(e.ip == "127.0.0.1" and e.created_at == clock.now() for e in events)

    html = text(browser.get("/admin/audit"))
    assert "<h1>Napló</h1>" in html
    for name in expected:
        assert f"<code>{name}</code>" in html
    assert html.index("<code>company.sms_login_changed</code>") < html.index("<code>user.created</code>")
    assert re.search(r"<td[^>]*>127\.0\.0\.1</td>", html) and re.search(r"<td[^>]*>admin@acme</td>", html)


def test_audit_page_lists_only_the_company_own_events(app, browser, acme):
    beta, _ = make_company_with_admin(slug="beta", phone="+36309000001")
    make_user(beta, username="secret-agent")
    beta_browser = admin_browser(app, "admin@beta", phone="+36309000001")
    post_form(beta_browser, "/admin/users/new", {"username": "bnew", "email": "bnew@beta.example",
                                                 "phone": "301112299"})
    post_form(beta_browser, "/admin/settings", {"sms_login": "off", "understood": "y"})
    assert len(audit_events("user.created", company_id=beta.id)) == 1

    html = text(browser.get("/admin/audit"))
    assert "admin@beta" not in html and "bnew" not in html and "company.sms_login_changed" not in html
    assert "admin@beta" in text(beta_browser.get("/admin/audit"))


def test_audit_page_pages_by_25(browser, acme):
    from idp.services import get_services

    for n in range(30):
        get_services().audit.record("test.event", actor="cli", company_id=acme.id, n=n)
    db.session.commit()
    first = text(browser.get("/admin/audit"))
    assert first.count("<code>") == 25 and "1. oldal / 2" in first
    assert text(browser.get("/admin/audit?page=2")).count("<code>") == AuditEvent.query.filter_by(
        company_id=acme.id).count() - 25


def audit_rows(html, event):
    """The cells (tags stripped, spaces collapsed) of each row of ``event`` on the audit page."""
    rows = []
    for body in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f"<code>{event}</code>" in body:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
            rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def test_login_events_say_who_from_where_and_what_in_words(app, browser, acme, anna):
    """Issue 8 point 12: the OAuth login's row has its IP, the failed login's an
    actor, and the details read as words (the raw code beside, in small print)."""
    from tests.factories import make_client
    from tests.login_helpers import authorize
    from tests.login_helpers import flow_id
    from tests.login_helpers import last_code
    from tests.login_helpers import new_browser
    from tests.login_helpers import submit_code

    rp, _ = make_client(name="Üzleti portál", first_party=True, public=True)
    person = new_browser(app)
    person.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    assert submit_password(person, start_login(person, "anna@acme"), "not the password at all").status_code == 200
    assert submit_password(person, start_login(person, "nobody@acme"), "not the password at all").status_code == 200
    response, _ = authorize(person, rp)
    response = post_form(person, response.headers["Location"], {"identifier": "anna@acme"})
    fid = flow_id(response.headers["Location"])
    submit_password(person, fid, "Helyes-jelszo-2024!")
    assert "/oauth/authorize/resume/" in submit_code(person, fid, last_code(anna.phone)).headers["Location"]

    [succeeded] = audit_events("login.succeeded", subject=anna.sub)
    assert succeeded.ip == "192.0.2.44" and succeeded.details["client_id"] == rp.client_id
    failed, unknown = audit_events("login.failed")
    assert (failed.actor, failed.subject, failed.ip, failed.company_id) == (anna.sub, anna.sub, "192.0.2.44",
                                                                            acme.id)
    # An identifier that does not exist: the identifier tried is the subject; no actor, no company.
    assert (unknown.actor, unknown.subject, unknown.company_id) == (None, "nobody@acme", None)

    html = text(browser.get("/admin/audit"))
    [login] = [r for r in audit_rows(html, "login.succeeded") if r[1] == "anna@acme"]
    assert login[4] == "192.0.2.44"
    assert "Alkalmazás: Üzleti portál" in login[3] and rp.client_id in login[3]
    assert "Belépés módja: jelszó, SMS-kód, kétlépcsős pwd sms mfa" in login[3]
    [wrong] = audit_rows(html, "login.failed")
    assert wrong[1] == "anna@acme" and wrong[4] == "192.0.2.44"
    assert "Ok: hibás azonosító vagy jelszó password" in wrong[3]
    sent = [r for r in audit_rows(html, "otp.sent") if r[1] == "anna@acme"]
    assert sent and all("Csatorna: SMS" in r[3] and "Cél: belépés" in r[3] and "Újraküldés: nem" in r[3]
                        for r in sent)
    assert "False" not in html and "True" not in html and "resend:" not in html and "amr:" not in html


def test_admin_changes_read_as_words(browser, acme, anna, line):
    save_rights(browser, {f"user:{anna.sub}": ["usage.view"], f"line:{line.sub}": ["invoices.view"]})
    post_form(browser, "/admin/settings", {"sms_login": "off", "understood": "y"})
    html = text(browser.get("/admin/audit"))
    [user_row] = audit_rows(html, "user.permissions_changed")
    assert "Felhasználónév: anna" in user_row[3]
    assert "Korábbi jogok: Számlák megtekintése invoices.view" in user_row[3]
    assert "Új jogok: Forgalom megtekintése usage.view" in user_row[3]
    [line_row] = audit_rows(html, "phone_line.permissions_changed")
    assert "Telefonszám: +36 20 123 4567" in line_row[3] and "Új jogok: Számlák megtekintése" in line_row[3]
    [setting] = audit_rows(html, "company.sms_login_changed")
    assert setting[1] == "admin@acme" and setting[3] == "SMS-kód belépéskor: nem"


# --- English --------------------------------------------------------------------------------------
def test_rights_and_settings_pages_in_english(app, acme, anna, line):
    browser = admin_browser(app, "admin@acme", phone=ADMIN_PHONE)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = text(browser.get("/admin/rights"))
    assert "<h1>User rights settings</h1>" in html
    assert "View invoices" in html and "Manage users" in html
    assert "Felhasználói jogok beállítása" not in html
    html = text(browser.get("/admin/settings"))
    assert "Felhasználói jogok" not in html and "Cégbeállítások" not in html
    response = post_form(browser, "/admin/settings", {"sms_login": "off"})
    assert response.status_code == 200 and "kockázatot" not in text(response)
    assert Company.query.filter_by(slug="acme").one().sms_login_required
    assert PhoneLine.query.count() == 1
