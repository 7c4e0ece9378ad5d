"""Where a login without an application ends (``/login/done``) and the front
page: who is logged in, the admin area for those it lets in, and logging out
(``POST /login/logout``, CSRF-protected) - issue 8 point 13 (b)."""

import re

import pytest

from idp.extensions import db
from idp.models.session import LoginSession
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import at_phone_code
from tests.login_helpers import any_csrf_token
from tests.login_helpers import last_code
from tests.login_helpers import log_in
from tests.login_helpers import new_browser
from tests.login_helpers import submit_phone_code
from tests.login_helpers import text

PASSWORD = "Helyes-jelszo-2024!"
LOGOUT_FORM = re.compile(r'<form method="post" action="/login/logout"[^>]*>\s*'
                         r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
                         r'<input type="submit" class="secondary" value="Kijelentkezés">')
ADMIN_LINK = 'href="/admin/users"'


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def acme(app):
    return make_company(slug="acme", name="Acme Kft.")


def business_login(client, acme, username, permissions=()):
    make_login_user(company=acme, username=username, phone="+36301112233", permissions=list(permissions))
    response = log_in(client, f"{username}@acme", PASSWORD, "+36301112233")
    assert response.headers["Location"].endswith("/login/done")


@pytest.mark.parametrize(("username", "permissions", "admin"), [
    pytest.param("admin", [], True, id="main-admin"),
    pytest.param("dora", ["users.manage"], True, id="delegated-admin"),
    pytest.param("anna", ["invoices.view", "usage.view"], False, id="user"),
])
@pytest.mark.parametrize("path", ["/login/done", "/"])
def test_logged_in_page_says_who_offers_admin_when_allowed_and_logout(client, acme, username, permissions,
                                                                       admin, path):
    business_login(client, acme, username, permissions)
    html = text(client.get(path))
    assert f"Bejelentkezve: {username}@acme" in html
    assert (ADMIN_LINK in html) is admin
    assert client.get("/admin/users").status_code == (200 if admin else 403)  # the link says what /admin does
    assert LOGOUT_FORM.search(html), html


def test_main_admin_is_offered_the_admin_area_even_when_the_catalog_lacks_users_manage(make_app):
    app = make_app(PERMISSION_CATALOG=[{"code": "invoices.view", "hu": "Számlák", "en": "Invoices",
                                        "phone": True}])
    with app.app_context():
        client = new_browser(app)
        business_login(client, make_company(slug="acme"), "admin")
        assert ADMIN_LINK in text(client.get("/login/done"))
        assert client.get("/admin/users").status_code == 200


def test_a_phone_line_is_offered_logout_but_never_the_admin_area(client, acme):
    make_phone_line(company=acme, number="+36201234567", permissions=["invoices.view"])
    fid = at_phone_code(client, "201234567")
    assert submit_phone_code(client, fid, last_code("+36201234567")).headers["Location"].endswith("/login/done")
    html = text(client.get("/login/done"))
    assert "Bejelentkezve: +36201234567" in html and ADMIN_LINK not in html and LOGOUT_FORM.search(html)


def test_logout_ends_the_login_session_and_lands_on_the_front_page(client, acme):
    business_login(client, acme, "admin")
    token = any_csrf_token(text(client.get("/login/done")))
    response = client.post("/login/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    [login] = LoginSession.query.all()
    db.session.refresh(login)
    assert login.ended_at is not None
    home = text(client.get("/"))
    assert "Bejelentkezve" not in home and ADMIN_LINK not in home and 'href="/login"' in home
    done = text(client.get("/login/done"))
    assert "Bejelentkezve" not in done and "Nincs belépve" in done and 'href="/login"' in done
    assert client.get("/admin/users").headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("request_", [
    pytest.param(lambda c, token: c.get("/login/logout"), id="GET"),
    pytest.param(lambda c, token: c.post("/login/logout"), id="POST-without-CSRF"),
    pytest.param(lambda c, token: c.post("/login/logout", data={"csrf_token": "forged"}), id="POST-forged-CSRF"),
])
def test_logout_is_a_post_with_a_csrf_token_only(client, acme, request_):
    business_login(client, acme, "admin")
    response = request_(client, None)
    assert response.status_code in (400, 405)
    assert "Bejelentkezve: admin@acme" in text(client.get("/login/done"))
    assert LoginSession.query.one().ended_at is None


def test_logout_without_a_login_just_goes_to_the_front_page(client):
    token = any_csrf_token(text(client.get("/login")))
    response = client.post("/login/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_pages_in_english(client, acme):
    business_login(client, acme, "admin")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for path in ("/login/done", "/"):
        html = text(client.get(path))
        assert "Logged in as admin@acme" in html and 'value="Log out"' in html, path
        assert "Kijelentkezés" not in html and "Cégadminisztráció" not in html
