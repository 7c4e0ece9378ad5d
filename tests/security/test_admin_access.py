"""Who may reach the admin area and what a crafted request can do there
(DESIGN.md §3 ``/admin``): not logged in → login; no ``users.manage`` or a
phone-line login → 403; another company's objects → 404 (IDOR); privilege
escalation through crafted forms; CSRF on every form; huge inputs and HTML
metacharacters."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.models.outbox import OutboxMessage
from tests.factories import make_company_with_admin
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.factories import make_user
from tests.login_helpers import admin_browser
from tests.login_helpers import admin_post
from tests.login_helpers import at_phone_code
from tests.login_helpers import csrf_token
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import post_form
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

ADMIN_PHONE = "+36301000001"
BETA_ADMIN_PHONE = "+36309000001"
DELEGATE_PHONE = "+36301000002"
PASSWORD = "Helyes-jelszo-2024!"
BIG = "x" * 10240
EVIL = "<script>alert('x')</script>\"'&<b>"
USER_ACTIONS = ["disable", "enable", "resend-password", "delete"]


@pytest.fixture
def acme(app):
    company, _ = make_company_with_admin(slug="acme", name="Acme Kft.", phone=ADMIN_PHONE)
    return company


@pytest.fixture
def main_admin(acme):
    return BusinessUser.query.filter_by(company_id=acme.id, username="admin").one()


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
    return make_login_user(acme, username="dora", phone=DELEGATE_PHONE,
                           permissions=["users.manage", "invoices.view", "usage.view"])


@pytest.fixture
def delegate_browser(app, delegate):
    return admin_browser(app, "dora@acme", phone=DELEGATE_PHONE)


@pytest.fixture
def beta(app):
    """Another company, with a user and a phone line."""
    company, _ = make_company_with_admin(slug="beta", name="Beta Zrt.", phone=BETA_ADMIN_PHONE)
    make_user(company, username="bob", permissions=["invoices.view"], email="bob@beta.example")
    make_phone_line(company, number="+36701234567", permissions=["usage.view"])
    return company


def snapshot():
    """Everything an admin request could change, to prove nothing did."""
    db.session.expire_all()
    users = [(u.sub, u.username, u.email_address, u.phone, u.display_name, tuple(u.permissions or ()),
              u.disabled, u.deleted_at, u.password_hash) for u in BusinessUser.query.order_by(BusinessUser.id)]
    lines = [(x.sub, tuple(x.permissions or ()), x.disabled, x.deleted_at)
             for x in PhoneLine.query.order_by(PhoneLine.id)]
    companies = [(c.slug, c.sms_login_required, c.sms_setting_changed_by) for c in Company.query.order_by(Company.id)]
    changes = AuditEvent.query.filter(~AuditEvent.event.like("login.%")).count()
    return users, lines, companies, changes, OutboxMessage.query.filter_by(channel="email").count()


def admin_requests(user_sub, line_sub):
    """Every admin URL, with a harmless but valid-looking body for the POSTs."""
    return [
        ("GET", "/admin", None),
        ("GET", "/admin/users", None),
        ("GET", "/admin/users?q=a&page=2", None),
        ("GET", "/admin/users/new", None),
        ("GET", f"/admin/users/{user_sub}", None),
        ("GET", "/admin/rights", None),
        ("GET", "/admin/settings", None),
        ("GET", "/admin/audit", None),
        ("POST", "/admin/users/new", {"username": "mallory", "email": "m@evil.example", "phone": "301112233",
                                      "permissions": "users.manage"}),
        ("POST", f"/admin/users/{user_sub}", {"email": "m@evil.example", "phone": "301112233"}),
        *[("POST", f"/admin/users/{user_sub}/{name}", {}) for name in USER_ACTIONS],
        ("POST", "/admin/rights", {"row": [f"user:{user_sub}", f"line:{line_sub}"],
                                   f"user:{user_sub}": "users.manage", f"line:{line_sub}": "invoices.pay"}),
        ("POST", "/admin/settings", {"sms_login": "off", "understood": "y"}),
    ]


REQUEST_IDS = ["index", "users", "users-search", "new-user", "user", "rights", "settings", "audit",
               "POST-new-user", "POST-edit", *[f"POST-{name}" for name in USER_ACTIONS], "POST-rights",
               "POST-settings"]


def send(browser, method, url, data):
    if method == "GET":
        return browser.get(url)
    token = csrf_token(browser.get("/login").get_data(as_text=True))  # a valid token of this browser
    return browser.post(url, data={"csrf_token": token, **data})


# --- who gets in ---------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(REQUEST_IDS)), ids=REQUEST_IDS)
def test_not_logged_in_is_sent_to_the_login(app, anna, line, index):
    method, url, data = admin_requests(anna.sub, line.sub)[index]
    before = snapshot()
    response = send(new_browser(app), method, url, data)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert snapshot() == before


@pytest.mark.parametrize("method, url, back", [
    ("GET", "/admin/rights", "/admin/rights"),
    ("GET", "/admin/users?q=anna", "/admin/users?q=anna"),
    ("POST", "/admin/settings", "/admin"),  # a POST cannot be replayed after the login
], ids=["rights", "search", "post"])
def test_the_login_returns_to_the_admin_page_asked_for(app, acme, method, url, back):
    response = send(new_browser(app), method, url, {})
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [back]


@pytest.fixture
def plain_user_browser(app, acme):
    """A business user with every permission except users.manage."""
    make_login_user(acme, username="paul", phone="+36301000003",
                    permissions=["invoices.view", "invoices.pay", "subscriptions.view", "subscriptions.manage",
                                 "orders.create", "usage.view"])
    browser = new_browser(app)
    log_in(browser, "paul@acme", PASSWORD, phone="+36301000003")
    return browser


@pytest.fixture
def phone_browser(app, acme):
    """A phone-line login (with every phone permission)."""
    make_phone_line(acme, number="+36209876543", permissions=["invoices.view", "invoices.pay", "usage.view"])
    browser = new_browser(app)
    fid = at_phone_code(browser, "209876543")
    assert submit_phone_code(browser, fid, last_code("+36209876543")).status_code == 302
    return browser


@pytest.mark.parametrize("who", ["plain_user_browser", "phone_browser"], ids=["no-users-manage", "phone-line"])
@pytest.mark.parametrize("index", range(len(REQUEST_IDS)), ids=REQUEST_IDS)
def test_a_principal_without_users_manage_gets_403_everywhere(request, anna, line, who, index):
    browser = request.getfixturevalue(who)
    method, url, data = admin_requests(anna.sub, line.sub)[index]
    before = snapshot()
    response = send(browser, method, url, data)
    assert response.status_code == 403
    assert "Hozzáférés megtagadva" in text(response)
    assert snapshot() == before


def test_a_disabled_admin_is_out_at_once(app, browser, acme, delegate, delegate_browser):
    assert admin_post(browser, f"/admin/users/{delegate.sub}/disable", {}).status_code == 302
    response = delegate_browser.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- IDOR: another company's objects ------------------------------------------------------------------
@pytest.fixture
def bob(beta):
    return BusinessUser.query.filter_by(company_id=beta.id, username="bob").one()


@pytest.fixture
def beta_line(beta):
    return PhoneLine.query.filter_by(company_id=beta.id).one()


@pytest.mark.parametrize("actor", ["browser", "delegate_browser"], ids=["main-admin", "delegate"])
@pytest.mark.parametrize("method, path, data", [
    ("GET", "", None),
    ("POST", "", {"email": "owned@evil.example", "phone": "301112233", "display_name": "owned"}),
    *[("POST", f"/{name}", {}) for name in USER_ACTIONS],
], ids=["view", "edit", *USER_ACTIONS])
def test_another_company_user_is_not_found(request, beta, bob, actor, method, path, data):
    browser = request.getfixturevalue(actor)
    before = snapshot()
    if method == "GET":
        response = browser.get(f"/admin/users/{bob.sub}{path}")
    else:
        response = admin_post(browser, f"/admin/users/{bob.sub}{path}", data)
    assert response.status_code == 404
    assert "bob@beta" not in text(response)
    assert snapshot() == before


def test_another_company_main_admin_is_not_found(browser, beta):
    beta_admin = BusinessUser.query.filter_by(company_id=beta.id, username="admin").one()
    assert browser.get(f"/admin/users/{beta_admin.sub}").status_code == 404
    assert admin_post(browser, f"/admin/users/{beta_admin.sub}/resend-password", {}).status_code == 404


@pytest.mark.parametrize("actor", ["browser", "delegate_browser"], ids=["main-admin", "delegate"])
def test_another_company_rows_posted_to_the_rights_page_are_ignored(request, anna, beta, bob, beta_line, actor):
    browser = request.getfixturevalue(actor)
    before = snapshot()
    response = post_form(browser, "/admin/rights", {
        "row": [f"user:{bob.sub}", f"line:{beta_line.sub}"],
        f"user:{bob.sub}": ["invoices.view", "usage.view"], f"line:{beta_line.sub}": ["invoices.view"]})
    assert response.status_code == 302
    assert snapshot() == before
    html = text(browser.get("/admin/rights"))
    assert bob.sub not in html and beta_line.sub not in html and "+36701234567" not in html


def test_another_company_users_are_not_listed_or_found_by_search(browser, beta):
    html = text(browser.get("/admin/users?q=bob"))
    assert "bob@beta" not in html and "Nincs találat." in html


# --- privilege escalation through crafted forms ------------------------------------------------------
def test_posting_company_role_or_username_with_a_new_user_changes_nothing_but_the_user(browser, acme):
    response = post_form(browser, "/admin/users/new", {
        "username": "eve", "email": "eve@acme.example", "phone": "301112233", "company_role": "main_admin",
        "is_main_admin": "1", "company_id": "999", "sub": "chosen-sub"})
    assert response.status_code == 302
    eve = BusinessUser.query.filter_by(username="eve").one()
    assert eve.company_role == "user" and not eve.is_main_admin and eve.company_id == acme.id
    assert eve.sub != "chosen-sub" and eve.permissions == []


@pytest.mark.parametrize("username", ["admin", "ADMIN", " admin ", "Admin"])
def test_nobody_can_create_another_admin(browser, delegate_browser, acme, username):
    for who in (browser, delegate_browser):
        before = snapshot()
        response = post_form(who, "/admin/users/new", {"username": username, "email": "x@acme.example",
                                                       "phone": "301112233"})
        assert response.status_code == 200
        assert "Az „admin” név a főadminisztrátoré." in text(response)
        assert snapshot() == before
    assert BusinessUser.query.filter_by(company_id=acme.id, username="admin").count() == 1


def test_the_edit_form_ignores_username_role_and_permissions(browser, anna):
    response = post_form(browser, f"/admin/users/{anna.sub}", {
        "email": "anna@acme.example", "phone": anna.phone, "username": "admin", "company_role": "main_admin",
        "permissions": ["users.manage"]})
    assert response.status_code == 302
    db.session.expire_all()
    anna = db.session.get(BusinessUser, anna.id)
    assert anna.username == "anna" and anna.company_role == "user" and anna.permissions == ["invoices.view"]


@pytest.mark.parametrize("form, code", [
    ("new-user", "invoices.pay"), ("new-user", "orders.create"), ("new-user", "superuser"),
    ("rights-user", "invoices.pay"), ("rights-user", "subscriptions.manage"), ("rights-user", "superuser"),
    ("rights-line", "invoices.pay"), ("rights-line", "users.manage"), ("rights-line", "superuser"),
], ids=lambda v: v)
def test_delegate_cannot_grant_a_permission_not_shown(delegate_browser, anna, line, form, code):
    before = snapshot()
    if form == "new-user":
        response = post_form(delegate_browser, "/admin/users/new", {
            "username": "eve", "email": "eve@acme.example", "phone": "301112233",
            "permissions": ["invoices.view", code]})
    else:
        kind, target = ("user", anna) if form == "rights-user" else ("line", line)
        response = post_form(delegate_browser, "/admin/rights",
                             {"row": f"{kind}:{target.sub}", f"{kind}:{target.sub}": [code]})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("actor", ["browser", "delegate_browser"], ids=["main-admin", "delegate"])
def test_main_admin_permissions_row_is_refused(request, main_admin, anna, actor):
    browser = request.getfixturevalue(actor)
    before = snapshot()
    response = post_form(browser, "/admin/rights", {
        "row": [f"user:{anna.sub}", f"user:{main_admin.sub}"], f"user:{anna.sub}": ["usage.view"],
        f"user:{main_admin.sub}": ["invoices.view"]})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("path, data", [
    ("", {"email": "owned@evil.example", "phone": "301112233", "display_name": "owned"}),
    *[(f"/{name}", {}) for name in USER_ACTIONS],
], ids=["edit", *USER_ACTIONS])
def test_delegate_never_touches_the_main_admin(delegate_browser, main_admin, path, data):
    before = snapshot()
    response = admin_post(delegate_browser, f"/admin/users/{main_admin.sub}{path}", data)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.fixture
def boss(acme):
    """A delegated admin with more permissions than ``dora``."""
    return make_login_user(acme, username="boss", email="boss@acme.example", phone="+36301000004",
                           permissions=["users.manage", "invoices.view", "invoices.pay"])


@pytest.mark.parametrize("data", [
    {"email": "dora.inbox@acme.example", "phone": "+36301000004"},
    {"email": "boss@acme.example", "phone": DELEGATE_PHONE},
    {"email": "boss@acme.example", "phone": "+36301000004", "display_name": "renamed"},
], ids=["email", "phone", "name"])
def test_delegate_cannot_take_over_a_user_with_more_permissions(delegate_browser, boss, data):
    """Redirecting a stronger user's email or phone to itself would hand the
    delegate that user's temporary passwords and codes, so the permissions it
    does not hold: refused."""
    html = text(delegate_browser.get(f"/admin/users/{boss.sub}"))
    assert "olyan joga is van, amellyel Ön nem rendelkezik" in html and 'name="email"' not in html
    before = snapshot()
    response = admin_post(delegate_browser, f"/admin/users/{boss.sub}", data)
    assert response.status_code == 403
    assert snapshot() == before


def test_delegate_edits_a_user_whose_permissions_it_holds(delegate_browser, anna):
    assert 'name="email"' in text(delegate_browser.get(f"/admin/users/{anna.sub}"))
    response = post_form(delegate_browser, f"/admin/users/{anna.sub}", {"email": "anna2@acme.example",
                                                                       "phone": anna.phone})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(BusinessUser, anna.id).email_address == "anna2@acme.example"


@pytest.mark.parametrize("actor, target", [
    ("browser", "main_admin"), ("delegate_browser", "delegate")], ids=["main-admin", "delegate"])
@pytest.mark.parametrize("name", ["disable", "delete"])
def test_an_admin_never_disables_or_deletes_itself(request, actor, target, name):
    browser = request.getfixturevalue(actor)
    me = request.getfixturevalue(target)
    before = snapshot()
    response = admin_post(browser, f"/admin/users/{me.sub}/{name}", {})
    assert response.status_code == 403
    assert snapshot() == before
    assert browser.get("/admin/users").status_code == 200  # still in


# --- CSRF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "forged"])
@pytest.mark.parametrize("index", range(8, len(REQUEST_IDS) + 1),
                         ids=[*REQUEST_IDS[8:], "POST-logout"])
def test_every_admin_form_needs_the_csrf_token(browser, anna, line, index, token):
    requests = admin_requests(anna.sub, line.sub) + [("POST", "/admin/logout", {})]
    _, url, data = requests[index]
    before = snapshot()
    body = dict(data)
    if token is not None:
        body["csrf_token"] = token
    response = browser.post(url, data=body)
    assert response.status_code == 400
    assert snapshot() == before
    assert browser.get("/admin/users").status_code == 200  # still logged in


def test_a_token_of_another_browser_does_not_work(app, browser, anna):
    stranger = new_browser(app)
    token = csrf_token(stranger.get("/login").get_data(as_text=True))
    before = snapshot()
    assert browser.post(f"/admin/users/{anna.sub}/disable", data={"csrf_token": token}).status_code == 400
    assert snapshot() == before


# --- huge inputs and HTML metacharacters -----------------------------------------------------------
@pytest.mark.parametrize("field", ["username", "display_name", "email", "phone"])
@pytest.mark.parametrize("value", [BIG, EVIL, BIG + EVIL], ids=["10kB", "html", "10kB-html"])
def test_new_user_form_with_huge_or_html_input(browser, field, value):
    before = snapshot()
    data = {"username": "eve", "email": "eve@acme.example", "phone": "301112233", field: value}
    response = post_form(browser, "/admin/users/new", data)
    html = text(response)
    if field == "display_name" and value == EVIL:
        assert response.status_code == 302  # a name may contain anything; it is escaped where shown
        return
    assert response.status_code == 200
    assert "<script>alert" not in html and "<b>" not in html
    assert 'class="field-error"' in html
    assert snapshot() == before


@pytest.mark.parametrize("field", ["display_name", "email", "phone"])
def test_edit_form_with_huge_or_html_input(browser, anna, field):
    before = snapshot()
    data = {"display_name": "", "email": anna.email_address, "phone": anna.phone, field: BIG + EVIL}
    response = post_form(browser, f"/admin/users/{anna.sub}", data)
    assert response.status_code == 200
    assert "<script>alert" not in text(response)
    assert snapshot() == before


def test_html_in_a_name_is_escaped_everywhere_it_is_shown(browser, acme, anna):
    post_form(browser, f"/admin/users/{anna.sub}", {"display_name": EVIL, "email": anna.email_address,
                                                    "phone": anna.phone})
    db.session.expire_all()
    assert db.session.get(BusinessUser, anna.id).display_name == EVIL
    for url in ("/admin/users", f"/admin/users/{anna.sub}", "/admin/users?q=" + EVIL[:20], "/admin/audit",
                "/admin/rights"):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert "<script>alert" not in text(response) and "<b>" not in text(response), url
    assert "&lt;script&gt;alert(" in text(browser.get("/admin/users"))


@pytest.mark.parametrize("url", [
    "/admin/users?q=" + BIG, "/admin/users?q=" + EVIL, "/admin/users?page=" + "9" * 10000,
    "/admin/users?page=-5", "/admin/users?page=abc", "/admin/users?page=99999", "/admin/audit?page=" + BIG,
    "/admin/audit?page=0",
], ids=["q-10kB", "q-html", "page-10k-digits", "page-negative", "page-text", "page-far", "audit-page-10kB",
        "audit-page-0"])
def test_query_parameters_never_break_the_pages(browser, url):
    response = browser.get(url)
    assert response.status_code == 200
    assert "<script>alert" not in text(response)


@pytest.mark.parametrize("path", ["/admin/users/" + BIG, "/admin/users/" + "%3Cscript%3E", "/admin/" + BIG])
def test_unknown_admin_paths_are_404(browser, path):
    response = browser.get(path)
    assert response.status_code == 404
    assert "<script>" not in text(response)


@pytest.mark.parametrize("data", [
    {"row": BIG},
    {"row": "user:" + BIG, "user:" + BIG: "invoices.view"},
    {"row": EVIL, EVIL: EVIL},
], ids=["row-10kB", "sub-10kB", "html"])
def test_rights_page_with_huge_or_html_rows_changes_nothing(browser, anna, data):
    before = snapshot()
    response = post_form(browser, "/admin/rights", data)
    assert response.status_code == 302
    assert snapshot() == before


@pytest.mark.parametrize("code", [BIG, EVIL], ids=["10kB", "html"])
def test_rights_page_with_a_huge_or_html_code_is_refused(browser, anna, code):
    before = snapshot()
    response = post_form(browser, "/admin/rights", {"row": f"user:{anna.sub}", f"user:{anna.sub}": code})
    assert response.status_code == 403
    assert "<script>alert" not in text(response) and "<b>" not in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("value", [BIG, EVIL], ids=["10kB", "html"])
def test_settings_with_a_huge_or_html_value_changes_nothing(browser, value):
    before = snapshot()
    response = post_form(browser, "/admin/settings", {"sms_login": value, "understood": value})
    assert response.status_code == 200
    assert "<script>alert" not in text(response)
    assert snapshot() == before


def test_html_in_the_audit_details_is_escaped(browser, acme):
    from idp.services import get_services

    get_services().audit.record("test.event", actor=EVIL, company_id=acme.id, note=EVIL, items=[EVIL])
    db.session.commit()
    html = text(browser.get("/admin/audit"))
    assert "<script>alert" not in html and "<b>" not in html
    assert re.search(r"&lt;script&gt;alert\(&#3[49];x&#3[49];\)", html)


# --- added with the rules for stronger users and self-lockout -------------------------
def test_delegated_admin_cannot_disable_delete_or_reset_a_stronger_user(app):
    from idp.admin import service
    from idp.companies import create_company
    from idp.companies import create_user

    company, _ = create_company("rules", "Rules Kft.", "boss@rules.example", "301239001")
    deleg = create_user("deleg@rules", "d@rules.example", "301239002", ["users.manage", "usage.view"]).user
    strong = create_user("strong@rules", "s@rules.example", "301239003", ["invoices.pay", "usage.view"]).user
    weak = create_user("weak@rules", "w@rules.example", "301239004", ["usage.view"]).user
    actor = service.Actor(company=company, principal=deleg)
    for change in (lambda u: service.set_disabled(actor, u, True), lambda u: service.delete_user(actor, u),
                   lambda u: service.resend_temporary_password(actor, u)):
        try:
            change(strong)
        except service.NotAllowedError:
            pass
        else:
            raise AssertionError("a delegated admin changed a stronger user")
    assert not strong.disabled and strong.deleted_at is None
    service.set_disabled(actor, weak, True)
    assert weak.disabled


def test_delegated_admin_cannot_take_away_its_own_user_management(app):
    import pytest

    from idp.admin import service
    from idp.companies import create_company
    from idp.companies import create_user

    company, _ = create_company("self", "Self Kft.", "boss@self.example", "301239011")
    deleg = create_user("deleg@self", "d@self.example", "301239012", ["users.manage", "usage.view"]).user
    actor = service.Actor(company=company, principal=deleg)
    with pytest.raises(service.NotAllowedError):
        service.set_user_permissions(actor, deleg, ["usage.view"])
    assert "users.manage" in deleg.permission_codes
    service.set_user_permissions(actor, deleg, ["users.manage"])
    assert deleg.permission_codes == ["users.manage"]
