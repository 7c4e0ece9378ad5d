"""The admin area's users pages (MISSION.md 2-3, DESIGN.md §3 ``/admin``), as
the main admin: list with search and paging, create ``<username>@<company>``
(a temporary password is emailed), edit, disable/enable, a new temporary
password, soft delete (the identifier is never reused), username rules,
field errors, the menu and the English pages."""

import re
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models.company import BusinessUser
from idp.services import get_services
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_user
from tests.login_helpers import admin_browser
from tests.login_helpers import admin_post
from tests.login_helpers import audit_events
from tests.login_helpers import last_code
from tests.login_helpers import outbox
from tests.login_helpers import post_form
from tests.login_helpers import start_login
from tests.login_helpers import submit_code
from tests.login_helpers import submit_password
from tests.login_helpers import temporary_password
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
ADMIN_PHONE = "+36301000001"
VALID = {"username": "anna", "display_name": "Kiss Anna", "email": "anna@acme.example", "phone": "301234567"}


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone=ADMIN_PHONE)
    return company


@pytest.fixture
def main_admin(acme):
    return BusinessUser.query.filter_by(company_id=acme.id, username="admin").one()


@pytest.fixture
def browser(app, acme):
    return admin_browser(app, "admin@acme", phone=ADMIN_PHONE)


def users_of(company):
    db.session.expire_all()
    return {u.username: u for u in BusinessUser.query.filter_by(company_id=company.id)}


def create(browser, **fields):
    data = {**VALID, **fields}
    permissions = data.pop("permissions", [])
    return post_form(browser, "/admin/users/new", {**data, "permissions": permissions})


def field_error(html, name):
    """The error text shown under the field ``name`` (None when it has none)."""
    match = re.search(rf'<p class="field-error" id="{name}-error" role="alert">(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else None


def table_identifiers(html):
    return re.findall(r'<td[^>]*><a href="/admin/users/[^"]+">([^<]+)</a></td>', html)


def action(browser, user, name):
    return admin_post(browser, f"/admin/users/{user.sub}/{name}", {}, page=f"/admin/users/{user.sub}")


# --- getting in --------------------------------------------------------------------------
def test_admin_is_reached_through_the_business_login_and_opens_the_users_list(app, acme):
    browser = admin_browser(app, "admin@acme", phone=ADMIN_PHONE)  # GET /admin → /login?next=/admin → /admin
    response = browser.get("/admin")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    html = text(browser.get("/admin/users"))
    assert "<h1>Felhasználók</h1>" in html
    assert "admin@acme · Acme Kft." in html
    assert table_identifiers(html) == ["admin@acme"]


@pytest.mark.parametrize("page", ["/admin/users", "/admin/users/new", "USER", "/admin/rights", "/admin/settings",
                                  "/admin/audit"],
                         ids=["users", "new-user", "user", "rights", "settings", "audit"])
def test_every_admin_page_has_the_user_rights_menu_item(browser, main_admin, page):
    url = f"/admin/users/{main_admin.sub}" if page == "USER" else page
    response = browser.get(url)
    assert response.status_code == 200
    assert re.search(r'<a href="/admin/rights"[^>]*>Felhasználói jogok beállítása</a>', text(response))


# --- create ------------------------------------------------------------------------------
def test_create_user_emails_a_unique_temporary_password_and_audits(browser, acme):
    response = create(browser, permissions=["invoices.view", "usage.view"])
    assert response.status_code == 302
    anna = users_of(acme)["anna"]
    assert response.headers["Location"] == f"/admin/users/{anna.sub}"
    assert anna.identifier == "anna@acme"
    assert (anna.email_address, anna.phone, anna.display_name) == ("anna@acme.example", "+36301234567",
                                                                     "Kiss Anna")
    assert anna.permissions == ["invoices.view", "usage.view"]
    assert anna.password_temporary and not anna.disabled and anna.deleted_at is None
    page = text(browser.get(response.headers["Location"]))
    assert "anna@acme létrehozva; az ideiglenes jelszót e-mailben elküldtük." in page
    assert "Még nem lépett be" in page

    mails = outbox("email", "anna@acme.example")
    assert len(mails) == 1 and "anna@acme" in mails[0].body
    password = temporary_password("anna@acme.example")
    assert get_services().passwords.verify(anna.password_hash, password)
    assert create(browser, username="bela", email="bela@acme.example", phone="301234568").status_code == 302
    assert temporary_password("bela@acme.example") != password

    [event] = audit_events("user.created", subject=anna.sub)
    assert event.actor == "admin@acme" and event.ip == "127.0.0.1" and event.company_id == acme.id
    assert event.details["permissions"] == ["invoices.view", "usage.view"]


def test_created_user_logs_in_with_the_emailed_password_and_must_change_it(app, browser, acme):
    create(browser)
    newcomer = app.test_client()
    fid = start_login(newcomer, "anna@acme")
    response = submit_password(newcomer, fid, temporary_password("anna@acme.example"))
    assert response.status_code == 302
    if "/login/sms" in response.headers["Location"]:
        response = submit_code(newcomer, fid, last_code("+36301234567"))
    assert "/login/new-password" in response.headers["Location"]


def test_new_user_form_offers_every_catalog_permission_to_the_main_admin(browser):
    html = text(browser.get("/admin/users/new"))
    assert re.findall(r'name="permissions" type="checkbox" value="([^"]+)"', html) == [
        "invoices.view", "invoices.pay", "subscriptions.view", "subscriptions.manage", "orders.create",
        "usage.view", "users.manage"]
    assert "Belépéskor: felhasznalonev@acme." in html


@pytest.mark.parametrize("username", ["a", "anna.kiss-2_b", "x" * 64, "0"], ids=["one-char", "all-symbols",
                                                                              "64-chars", "digit"])
def test_valid_usernames_are_accepted(browser, acme, username):
    assert create(browser, username=username).status_code == 302
    assert username in users_of(acme)


def test_username_is_stored_in_lower_case(browser, acme):
    assert create(browser, username="  Anna.Kiss ").status_code == 302
    assert "anna.kiss" in users_of(acme)


BAD_USERNAMES = [
    ("", "Adja meg a felhasználónevet."),
    ("anna kiss", "A felhasználónév 1-64 karakter"),
    ("anna@other", "A felhasználónév 1-64 karakter"),
    ("ánna", "A felhasználónév 1-64 karakter"),
    ("anna/../x", "A felhasználónév 1-64 karakter"),
    ("anna+1", "A felhasználónév 1-64 karakter"),
    ("x" * 65, "Field cannot be longer than 64 characters."),
    ("admin", "Az „admin” név a főadminisztrátoré."),
    ("ADMIN", "Az „admin” név a főadminisztrátoré."),
]


@pytest.mark.parametrize("username, error", BAD_USERNAMES,
                         ids=["empty", "space", "at-sign", "accent", "slash", "plus", "65-chars", "admin",
                              "admin-upper"])
def test_invalid_usernames_get_a_field_error_and_nothing_is_saved(browser, acme, username, error):
    before = set(users_of(acme))
    response = create(browser, username=username)
    assert response.status_code == 200
    assert error in (field_error(text(response), "username") or "")
    assert set(users_of(acme)) == before
    assert outbox("email", "anna@acme.example") == []
    assert audit_events("user.created") == []


@pytest.mark.parametrize("field, value, error", [
    ("email", "", "Adja meg az e-mail-címet."),
    ("email", "not-an-email", "Érvénytelen e-mail-cím."),
    ("email", "anna@localhost", "Érvénytelen e-mail-cím."),
    ("email", "anna kiss@acme.example", "Érvénytelen e-mail-cím."),
    ("phone", "", "Adja meg a mobilszámot."),
    ("phone", "12345", "Adjon meg magyar mobilszámot"),
    ("phone", "+4915112345678", "Adjon meg magyar mobilszámot"),
    ("phone", "011234567", "Adjon meg magyar mobilszámot"),
    ("display_name", "n" * 201, "Field cannot be longer than 200 characters."),
], ids=["email-empty", "email-garbage", "email-no-dot", "email-space", "phone-empty", "phone-short",
        "phone-foreign", "phone-landline", "name-too-long"])
def test_bad_email_phone_or_name_get_a_field_error_and_nothing_is_saved(browser, acme, field, value, error):
    response = create(browser, **{field: value})
    assert response.status_code == 200
    assert error in (field_error(text(response), field) or "")
    assert "anna" not in users_of(acme)
    assert outbox("email") == []


def test_duplicate_username_is_refused(browser, acme):
    assert create(browser).status_code == 302
    response = create(browser, email="other@acme.example")
    assert response.status_code == 200
    assert "Ez a felhasználónév már foglalt" in field_error(text(response), "username")
    assert len(outbox("email", "other@acme.example")) == 0


def test_same_username_in_another_company_is_a_different_user(app, browser, acme):
    other, _ = make_company_with_admin(slug="beta")
    make_user(other, username="anna")
    assert create(browser).status_code == 302
    assert "anna" in users_of(acme)


# --- list, search, paging ------------------------------------------------------------------
@pytest.mark.parametrize("query, expected", [
    ("kiss", ["anna@acme"]),
    ("NAGY", ["bela@acme"]),
    ("bela", ["bela@acme"]),
    ("finance.example", ["cecil@acme"]),
    ("@acme.example", ["admin@acme", "anna@acme", "bela@acme"]),
    ("Béla", ["bela@acme"]),
    ("%", []),
    ("_", []),
    ("nobody", []),
], ids=["name", "name-case", "username", "email-domain", "email-part", "accented-name", "percent", "underscore",
        "none"])
def test_search_by_name_username_or_email(browser, acme, query, expected):
    make_user(acme, username="anna", display_name="Kiss Anna", email="anna@acme.example")
    make_user(acme, username="bela", display_name="Nagy Béla", email="bela@acme.example")
    make_user(acme, username="cecil", display_name="Cecil", email="cc@finance.example")
    response = browser.get("/admin/users", query_string={"q": query})
    assert response.status_code == 200
    html = text(response)
    assert table_identifiers(html) == expected
    if not expected:
        assert "Nincs találat." in html


def test_list_shows_25_users_per_page(browser, acme):
    for n in range(30):
        make_user(acme, username=f"u{n:02d}")
    first = text(browser.get("/admin/users"))
    second = text(browser.get("/admin/users?page=2"))
    assert table_identifiers(first) == ["admin@acme"] + [f"u{n:02d}@acme" for n in range(24)]
    assert table_identifiers(second) == [f"u{n:02d}@acme" for n in range(24, 30)]
    assert "1. oldal / 2" in first and 'href="/admin/users?page=2"' in first
    assert "2. oldal / 2" in second and 'href="/admin/users?page=1"' in second
    assert table_identifiers(text(browser.get("/admin/users?page=3"))) == []


def test_paging_keeps_the_search(browser, acme):
    for n in range(27):
        make_user(acme, username=f"sales{n:02d}")
    html = text(browser.get("/admin/users?q=sales"))
    assert len(table_identifiers(html)) == 25
    assert 'href="/admin/users?q=sales&amp;page=2"' in html
    assert table_identifiers(text(browser.get("/admin/users?q=sales&page=2"))) == ["sales25@acme", "sales26@acme"]


def test_list_shows_state_and_permission_labels(browser, acme):
    make_user(acme, username="anna", permissions=["usage.view", "invoices.view"])
    make_user(acme, username="bela", disabled=True)
    html = text(browser.get("/admin/users"))
    assert "Főadminisztrátor: minden funkció" in html
    assert "Számlák megtekintése, Forgalom megtekintése" in html
    assert '<span class="badge off">Letiltva</span>' in html


# --- edit --------------------------------------------------------------------------------
def test_edit_email_phone_and_name(browser, acme):
    anna = make_user(acme, username="anna", email="anna@acme.example", phone="+36301234567")
    page = text(browser.get(f"/admin/users/{anna.sub}"))
    assert 'value="anna@acme.example"' in page and 'value="+36301234567"' in page
    response = post_form(browser, f"/admin/users/{anna.sub}",
                         {"display_name": "Kiss Anna", "email": "anna.kiss@acme.example", "phone": "+36 20 765 4321"})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{anna.sub}"
    anna = users_of(acme)["anna"]
    assert (anna.display_name, anna.email_address, anna.phone) == ("Kiss Anna", "anna.kiss@acme.example",
                                                                     "+36207654321")
    assert "Mentve." in text(browser.get(f"/admin/users/{anna.sub}"))
    [event] = audit_events("user.updated", subject=anna.sub)
    assert event.details["changed"] == ["email", "name", "phone"]
    assert event.actor == "admin@acme" and event.ip == "127.0.0.1"


def test_saving_unchanged_details_writes_no_event(browser, acme):
    anna = make_user(acme, username="anna", email="anna@acme.example", phone="+36301234567")
    post_form(browser, f"/admin/users/{anna.sub}", {"display_name": "", "email": "anna@acme.example",
                                                    "phone": "301234567"})
    assert audit_events("user.updated") == []


def test_the_name_field_is_optional(browser, acme):
    anna = make_user(acme, username="anna", display_name="Kiss Anna")
    html = text(browser.get(f"/admin/users/{anna.sub}"))
    assert "required" not in re.search(r'<input[^>]*name="display_name"[^>]*>', html).group(0)
    assert "required" in re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)
    response = post_form(browser, f"/admin/users/{anna.sub}", {"display_name": "", "email": anna.email_address,
                                                               "phone": anna.phone})
    assert response.status_code == 302
    assert users_of(acme)["anna"].display_name is None


@pytest.mark.parametrize("field, value, error", [
    ("email", "nope", "Érvénytelen e-mail-cím."),
    ("email", "", "Adja meg az e-mail-címet."),
    ("phone", "1234", "Adjon meg magyar mobilszámot"),
], ids=["bad-email", "no-email", "bad-phone"])
def test_edit_with_bad_values_shows_the_error_and_saves_nothing(browser, acme, field, value, error):
    anna = make_user(acme, username="anna", email="anna@acme.example", phone="+36301234567", display_name="Anna")
    data = {"display_name": "Changed", "email": "new@acme.example", "phone": "301111111", field: value}
    response = post_form(browser, f"/admin/users/{anna.sub}", data)
    assert response.status_code == 200
    assert error in (field_error(text(response), field) or "")
    anna = users_of(acme)["anna"]
    assert (anna.display_name, anna.email_address, anna.phone) == ("Anna", "anna@acme.example", "+36301234567")
    assert audit_events("user.updated") == []


# --- disable, enable, new temporary password, delete ----------------------------------------
def test_disable_and_enable(app, browser, acme):
    anna = make_login_user(acme, username="anna", phone="+36301234567")
    response = action(browser, anna, "disable")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{anna.sub}"
    assert users_of(acme)["anna"].disabled
    html = text(browser.get(f"/admin/users/{anna.sub}"))
    assert "Letiltva." in html and 'value="Engedélyezés"' in html
    assert "Új ideiglenes jelszó küldése" not in html  # not offered to a disabled user

    person = app.test_client()
    fid = start_login(person, "anna@acme")
    assert submit_password(person, fid, PASSWORD).status_code == 200  # refused, stays on the page

    assert action(browser, anna, "enable").status_code == 302
    assert not users_of(acme)["anna"].disabled
    assert "Engedélyezve." in text(browser.get(f"/admin/users/{anna.sub}"))
    assert [e.actor for e in audit_events("user.disabled", subject=anna.sub)] == ["admin@acme"]
    assert [e.ip for e in audit_events("user.enabled", subject=anna.sub)] == ["127.0.0.1"]


def test_resend_a_new_temporary_password(browser, acme):
    anna = make_login_user(acme, username="anna", email="anna@acme.example")
    old_hash = anna.password_hash
    response = action(browser, anna, "resend-password")
    assert response.status_code == 302
    anna = users_of(acme)["anna"]
    assert anna.password_temporary and anna.password_hash != old_hash
    assert not get_services().passwords.verify(anna.password_hash, PASSWORD)
    assert get_services().passwords.verify(anna.password_hash, temporary_password("anna@acme.example"))
    assert "Új ideiglenes jelszót küldtünk e-mailben." in text(browser.get(f"/admin/users/{anna.sub}"))
    assert len(audit_events("user.temporary_password_sent", subject=anna.sub)) == 1


def test_no_new_temporary_password_for_a_disabled_user(browser, acme):
    anna = make_user(acme, username="anna", email="anna@acme.example", disabled=True)
    response = action(browser, anna, "resend-password")
    assert response.status_code == 302
    assert "Letiltott felhasználónak nem küldhető új jelszó." in text(browser.get(f"/admin/users/{anna.sub}"))
    assert outbox("email", "anna@acme.example") == []
    assert audit_events("user.temporary_password_sent") == []


def test_delete_is_soft_and_the_identifier_is_never_reused(browser, acme):
    anna = make_login_user(acme, username="anna")
    response = action(browser, anna, "delete")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    row = users_of(acme)["anna"]
    assert row.deleted_at is not None and row.disabled  # the row stays
    html = text(browser.get("/admin/users"))
    assert "Törölve." in html and "anna@acme" not in table_identifiers(html)
    assert browser.get(f"/admin/users/{anna.sub}").status_code == 404
    assert admin_post(browser, f"/admin/users/{anna.sub}/enable", {}).status_code == 404

    response = create(browser, username="anna", email="new.anna@acme.example")
    assert response.status_code == 200
    assert "törölt felhasználóé sem adható ki újra" in field_error(text(response), "username")
    assert BusinessUser.query.filter_by(company_id=acme.id, username="anna").count() == 1
    assert len(audit_events("user.deleted", subject=anna.sub)) == 1


def test_unknown_action_is_404(browser, acme):
    anna = make_user(acme, username="anna")
    assert admin_post(browser, f"/admin/users/{anna.sub}/promote", {}).status_code == 404
    assert browser.get(f"/admin/users/{anna.sub}/disable").status_code == 405


def test_main_admin_page_offers_no_actions_on_itself(browser, main_admin):
    html = text(browser.get(f"/admin/users/{main_admin.sub}"))
    assert "Főadminisztrátor: minden funkciót használhat." in html
    assert "/disable" not in html and "/delete" not in html
    assert 'name="email"' in html  # the main admin edits its own details


# --- English --------------------------------------------------------------------------------
def test_admin_pages_in_english(app, acme):
    browser = admin_browser(app, "admin@acme", phone=ADMIN_PHONE)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = text(browser.get("/admin/users"))
    assert "<h1>Users</h1>" in html and ">User rights settings</a>" in html
    response = post_form(browser, "/admin/users/new", {**VALID, "username": "admin", "email": "x"})
    html = text(response)
    assert response.status_code == 200
    assert "main administrator" in field_error(html, "username")
    for page in ("/admin/users/new", "/admin/rights", "/admin/settings", "/admin/audit"):
        html = text(browser.get(page))
        for hungarian in ("Felhasználók", "Mentés", "Napló", "Cégbeállítások", "Kijelentkezés"):
            assert hungarian not in html, (page, hungarian)
    assert "View invoices" in text(browser.get("/admin/users/new"))
    assert urlsplit(browser.get("/admin").headers["Location"]).path == "/admin/users"


def test_a_login_without_a_relying_party_offers_the_admin_area_to_admins(app, acme):
    from tests.login_helpers import admin_browser

    browser = admin_browser(app, "admin@acme", phone=ADMIN_PHONE)
    for path in ("/login/done", "/"):
        assert 'href="/admin/users"' in browser.get(path).get_data(as_text=True)
