"""Subscriptions (MISSION.md 9, DESIGN.md §2 and §5): who sees which one
(``visible_subscriptions()`` of each principal), the ``subscriptions`` claim in the ID
token and userinfo through a real authorization, and ``idp subscription add|list|remove``
(in-process through Click's test runner, each with ``--json``; refusals as ``{"error": …}``)."""

import json

import pytest
import sqlalchemy as sa
from alembic import command
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from idp import create_app
from idp.admin.events import describe
from idp.admin.events import event_label
from idp.extensions import db
from idp.models.account import AccountLink
from idp.models.account import TelekomAccount
from idp.models.audit import AuditEvent
from idp.models.subscription import Subscription
from idp.services import get_services
from idp.subscriptions import OWNER_COLUMNS
from idp.subscriptions import Owner
from idp.subscriptions import SubscriptionError
from idp.subscriptions import add_subscription
from tests.factories import make_client
from tests.factories import make_company
from tests.factories import make_phone_line
from tests.factories import make_user
from tests.oauth_helpers import decode
from tests.oauth_helpers import tokens_for

VIEW = "subscriptions.view"


# --- helpers -----------------------------------------------------------------------------------
def make_account(email=None, phone=None, **fields):
    account = TelekomAccount(email_address=email, phone=phone, created_at=get_services().clock.now(), **fields)
    db.session.add(account)
    db.session.commit()
    return account


def link(account, *identities):
    for identity in identities:
        db.session.add(AccountLink(account_id=account.id, principal_kind=identity.kind, subject=identity.sub,
                                   created_at=get_services().clock.now()))
    db.session.commit()


def subscribe(owner, kind, label, external_id):
    return add_subscription(Owner.of(owner), kind, label, external_id, actor="test")


def seen(principal):
    return [s.external_id for s in principal.visible_subscriptions()]


class World:
    """Two companies; acme has a user with ``subscriptions.view`` (anna), one without (bela),
    its main admin (no permission listed: it holds them all), a line with the permission (l1)
    and one without (l2); a Telekom account with a home subscription of its own."""

    def __init__(self):
        self.acme = make_company(slug="acme", name="Acme Kft.")
        self.other = make_company(slug="other", name="Other Kft.")
        self.anna = make_user(self.acme, username="anna", permissions=[VIEW, "usage.view"])
        self.bela = make_user(self.acme, username="bela", permissions=["usage.view", "subscriptions.manage"])
        self.admin = make_user(self.acme, username="admin")
        self.olga = make_user(self.other, username="olga", permissions=[VIEW])
        self.l1 = make_phone_line(self.acme, number="+36201111111", permissions=[VIEW])
        self.l2 = make_phone_line(self.acme, number="+36202222222", permissions=["usage.view"])
        self.account = make_account(email="anna@example.com", phone="+36309999999")
        subscribe(self.acme, "business", "Flotta", "ACME-B")
        subscribe(self.acme, "mobile", "céges mobil", "ACME-M")
        subscribe(self.acme, "home", "Iroda net", "ACME-H")
        subscribe(self.other, "business", "Other flotta", "OTHER-B")
        subscribe(self.l1, "mobile", "L1 előfizetés", "L1-M")
        subscribe(self.l2, "mobile", "L2 előfizetés", "L2-M")
        subscribe(self.account, "home", "Otthon", "HOME-1")
        subscribe(self.account, "mobile", "Anna mobilja", "ACC-M")


@pytest.fixture
def world(app):
    return World()


ACME = ["ACME-H", "ACME-M", "ACME-B"]  # home, mobile, business; then by label


# --- who sees what -----------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "expected"), [
    pytest.param("anna", ACME, id="user-with-subscriptions.view-sees-its-company's"),
    pytest.param("bela", [], id="user-without-subscriptions.view-sees-none"),
    pytest.param("admin", ACME, id="main-admin-sees-its-company's"),
    pytest.param("olga", ["OTHER-B"], id="another-company's-user-sees-only-its-own-company's"),
    pytest.param("l1", ["L1-M"], id="line-with-subscriptions.view-sees-only-its-own"),
    pytest.param("l2", [], id="line-without-subscriptions.view-sees-none"),
    pytest.param("account", ["HOME-1", "ACC-M"], id="account-without-links-sees-its-own"),
])
def test_who_sees_which_subscription(world, who, expected):
    assert seen(getattr(world, who)) == expected


def test_an_account_sees_its_own_and_what_its_linked_identities_see(world):
    link(world.account, world.anna, world.l1)
    assert seen(world.account) == ["ACME-H", "HOME-1", "ACC-M", "ACME-M", "L1-M", "ACME-B"]


def test_a_linked_identity_without_the_permission_adds_nothing(world):
    link(world.account, world.bela, world.l2)
    assert seen(world.account) == ["HOME-1", "ACC-M"]


def test_the_account_sees_what_the_main_admin_restricts_or_allows(world):
    link(world.account, world.l2)
    assert seen(world.account) == ["HOME-1", "ACC-M"]
    world.l2.permissions = [VIEW]
    db.session.commit()
    assert seen(world.account) == ["HOME-1", "ACC-M", "L2-M"]


@pytest.mark.parametrize("change", ["disabled", "deleted"])
def test_a_disabled_or_deleted_linked_identity_drops_out(world, change):
    link(world.account, world.anna, world.l1)
    for identity in (world.anna, world.l1):
        identity.disabled = True
        if change == "deleted":
            identity.deleted_at = get_services().clock.now()
    db.session.commit()
    assert seen(world.account) == ["HOME-1", "ACC-M"]
    assert seen(world.anna) == [] and seen(world.l1) == []


def test_a_company_subscription_seen_through_two_linked_users_is_listed_once(world):
    link(world.account, world.anna, world.admin)
    assert seen(world.account) == ["ACME-H", "HOME-1", "ACC-M", "ACME-M", "ACME-B"]


def test_a_disabled_account_sees_nothing(world):
    link(world.account, world.anna)
    world.account.disabled = True
    db.session.commit()
    assert seen(world.account) == []


def test_the_main_admin_sees_them_even_where_the_catalog_has_no_subscriptions_view(make_app):
    """A configured catalog without the code: nobody holds it, but the main admin can use every function."""
    catalog = [{"code": "invoices.view", "hu": "Számlák megtekintése", "en": "View invoices", "phone": True}]
    with make_app(PERMISSION_CATALOG=catalog).app_context():
        company = make_company(slug="acme")
        subscribe(company, "business", "Flotta", "ACME-B")
        line = make_phone_line(company, permissions=[VIEW, "invoices.view"])
        subscribe(line, "mobile", "Vonal", "LINE-M")
        assert seen(make_user(company, username="admin")) == ["ACME-B"]
        assert seen(make_user(company, username="anna", permissions=[VIEW, "invoices.view"])) == []
        assert seen(line) == []


def test_order_is_home_mobile_business_then_label_regardless_of_case_or_insertion(app):
    company = make_company()
    for kind, label, external_id in [("business", "b", "1"), ("home", "Zeta", "2"), ("mobile", "A", "3"),
                                     ("home", "alfa", "4"), ("business", "A", "5")]:
        subscribe(company, kind, label, external_id)
    assert seen(make_user(company, username="admin")) == ["4", "2", "3", "5", "1"]


@pytest.mark.parametrize("owners", [{}, {"account": True, "company": True}, {"company": True, "phone": True}],
                         ids=["no-owner", "account-and-company", "company-and-phone"])
def test_the_database_refuses_a_subscription_without_exactly_one_owner(world, owners):
    columns = {"account_id": world.account.id if owners.get("account") else None,
               "company_id": world.acme.id if owners.get("company") else None,
               "phone_line_id": world.l1.id if owners.get("phone") else None}
    db.session.add(Subscription(kind="home", label="x", external_id="X-1", created_at=get_services().clock.now(),
                                **columns))
    with pytest.raises(IntegrityError, match="one_owner|CHECK"):
        db.session.commit()
    db.session.rollback()


def test_the_migration_refuses_rows_it_cannot_give_one_owner(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "KEYS_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO subscriptions (public_id, kind, label, external_id, created_at)"
                                       " VALUES ('p1', 'home', 'Árva', 'ORPHAN-1', '2026-01-01 00:00:00')"))
        with pytest.raises(RuntimeError, match=r"without exactly one owner .*: ORPHAN-1\."):
            command.upgrade(app.extensions["migrate"].migrate.get_config(), "head")
        with db.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM subscriptions"))
        upgrade()
        with db.engine.connect() as connection:
            names = [c["name"] for c in sa.inspect(connection).get_check_constraints("subscriptions")]
        assert "ck_subscriptions_one_owner" in names
        db.engine.dispose()


# --- the claim, through a real authorization ---------------------------------------------------
@pytest.fixture
def rp(app):
    return make_client(name="Portál", first_party=True)


def claims_of(client, rp, principal, scope="openid subscriptions"):
    """``(ID token claims, userinfo)`` of one authorization of ``principal``."""
    rp_client, secret = rp
    issued = tokens_for(client, rp_client, secret, principal, scope=scope)
    info = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"})
    assert info.status_code == 200, info.get_data(as_text=True)
    return decode(client, issued["id_token"]), info.get_json()


def claim(*subscriptions):
    return [{"id": s.public_id, "kind": s.kind, "label": s.label} for s in subscriptions]


def by_external_id(*external_ids):
    return [Subscription.query.filter_by(external_id=x).one() for x in external_ids]


@pytest.mark.parametrize(("who", "expected"), [
    pytest.param("anna", ACME, id="business-user"),
    pytest.param("l1", ["L1-M"], id="phone-line"),
    pytest.param("account", ["ACME-H", "HOME-1", "ACC-M", "ACME-M", "L1-M", "ACME-B"], id="telekom-account"),
    pytest.param("bela", [], id="business-user-without-the-permission-gets-an-empty-list"),
    pytest.param("l2", [], id="phone-line-without-the-permission-gets-an-empty-list"),
])
def test_the_subscriptions_claim_in_the_id_token_and_userinfo(client, rp, world, who, expected):
    link(world.account, world.anna, world.l1)
    principal = getattr(world, who)
    id_token, userinfo = claims_of(client, rp, principal)
    assert id_token["sub"] == userinfo["sub"] == principal.sub
    assert id_token["subscriptions"] == userinfo["subscriptions"] == claim(*by_external_id(*expected))


def test_an_account_without_subscriptions_gets_an_empty_list(client, rp, app):
    account = make_account(email="ures@example.com")
    id_token, userinfo = claims_of(client, rp, account)
    assert id_token["subscriptions"] == userinfo["subscriptions"] == []


def test_no_claim_without_the_scope(client, rp, world):
    id_token, userinfo = claims_of(client, rp, world.anna, scope="openid profile")
    assert "subscriptions" not in id_token and "subscriptions" not in userinfo


def test_userinfo_follows_a_subscription_added_after_the_login(client, rp, world):
    rp_client, secret = rp
    issued = tokens_for(client, rp_client, secret, world.l1, scope="openid subscriptions")
    subscribe(world.l1, "mobile", "Második vonal", "L1-M2")
    info = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}).get_json()
    assert info["subscriptions"] == claim(*by_external_id("L1-M", "L1-M2"))


# --- the rules module (what the CLI and the account page share) --------------------------------
@pytest.mark.parametrize(("kind", "label", "external_id", "field"), [
    pytest.param("tv", "Otthon", "X-1", "kind", id="bad-kind"),
    pytest.param("home", "", "X-1", "label", id="empty-label"),
    pytest.param("home", "   ", "X-1", "label", id="blank-label"),
    pytest.param("home", "x" * 201, "X-1", "label", id="label-over-200"),
    pytest.param("home", "két\nsor", "X-1", "label", id="label-of-two-lines"),
    pytest.param("home", "Otthon", "", "external_id", id="empty-external-id"),
    pytest.param("home", "Otthon", "X 1", "external_id", id="external-id-with-a-space"),
    pytest.param("home", "Otthon", "x" * 65, "external_id", id="external-id-over-64"),
])
def test_add_subscription_refuses_bad_input(world, kind, label, external_id, field):
    with pytest.raises(SubscriptionError) as refused:
        add_subscription(Owner.of(world.account), kind, label, external_id)
    assert refused.value.field == field
    assert Subscription.query.filter_by(external_id=external_id).count() == 0


def test_add_subscription_keeps_a_label_of_200_characters_and_trims_the_edges(world):
    added = add_subscription(Owner.of(world.account), " Home ", "  " + "é" * 200 + " ", " X-200 ")
    assert (added.kind, added.label, added.external_id) == ("home", "é" * 200, "X-200")


# --- idp subscription add | list | remove ------------------------------------------------------
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


def add(*owner, kind="mobile", label="Új előfizetés", external_id="NEW-1"):
    return ["subscription", "add", "--kind", kind, "--label", label, "--external-id", external_id, *owner]


OWNERS = [
    pytest.param(["--account", "anna@example.com"], "account", "anna@example.com", id="account-by-email"),
    pytest.param(["--account", "Anna@Example.COM"], "account", "anna@example.com", id="account-by-email-any-case"),
    pytest.param(["--account", "06 30 999 9999"], "account", "anna@example.com", id="account-by-phone"),
    pytest.param(["--company", "ACME"], "company", "acme", id="company-by-slug"),
    pytest.param(["--phone", "201111111"], "phone", "+36201111111", id="phone-line-9-digits"),
    pytest.param(["--phone", "+36 20 111 1111"], "phone", "+36201111111", id="phone-line-e164"),
]


@pytest.mark.parametrize(("owner", "owner_type", "identifier"), OWNERS)
def test_add_for_each_owner_kind(app, world, owner, owner_type, identifier):
    document = ok_json(app, *add(*owner))
    row = Subscription.query.filter_by(external_id="NEW-1").one()
    assert document == {"id": row.public_id, "external_id": "NEW-1", "kind": "mobile", "label": "Új előfizetés",
                        "owner": {"type": owner_type, "identifier": identifier},
                        "created_at": get_services().clock.now().isoformat().replace("+00:00", "Z")}
    expected_owner = {"account": world.account, "company": world.acme, "phone": world.l1}[owner_type]
    column = OWNER_COLUMNS[owner_type]
    assert {c: getattr(row, c) for c in OWNER_COLUMNS.values()} == {
        c: (expected_owner.id if c == column else None) for c in OWNER_COLUMNS.values()}


@pytest.mark.parametrize(("language", "title", "rows"), [
    pytest.param("hu", "Előfizetés hozzáadva", [
        ("Külső azonosító", "AUD-1", None), ("Előfizetés fajtája", "mobil", "mobile"), ("Megnevezés", "Céges", None),
        ("Telefonszám", "+36 20 111 1111", None)], id="hu"),
    pytest.param("en", "Subscription added", [
        ("External ID", "AUD-1", None), ("Subscription type", "mobile", "mobile"), ("Label", "Céges", None),
        ("Phone number", "+36 20 111 1111", None)], id="en"),
])
def test_add_is_audited_with_readable_labels(app, world, language, title, rows):
    ok_json(app, *add("--phone", "201111111", kind="mobile", label="Céges", external_id="AUD-1"))
    event = AuditEvent.query.filter_by(event="subscription.added", actor="cli").one()
    assert (event.subject, event.company_id) == (world.l1.sub, world.acme.id)  # on acme's log
    with app.test_request_context(headers={"Accept-Language": language}):
        assert event_label(event.event) == title
        assert [(d.label, d.value, d.raw) for d in describe(event)] == rows


def test_add_prints_one_readable_line_without_json(app, world):
    result = idp(app, *add("--company", "acme", kind="business", label="Flotta 2", external_id="F-2"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Subscription F-2 (business, 'Flotta 2') added to the company acme.\n"


REFUSALS = [
    pytest.param([], "Give exactly one owner", 1, id="no-owner"),
    pytest.param(["--account", "anna@example.com", "--company", "acme"], "Give exactly one owner", 1,
                 id="two-owners"),
    pytest.param(["--company", "acme", "--phone", "201111111", "--account", "anna@example.com"],
                 "Give exactly one owner", 1, id="three-owners"),
    pytest.param(["--account", "nobody@example.com"], "No Telekom account 'nobody@example.com'", 1,
                 id="unknown-account-email"),
    pytest.param(["--account", "301234567"], "No Telekom account '301234567'", 1, id="unknown-account-phone"),
    pytest.param(["--account", "anna"], "Not an email address or a Hungarian mobile number", 1,
                 id="account-neither-email-nor-phone"),
    pytest.param(["--company", "nope"], "No company with the slug 'nope'", 1, id="unknown-company"),
    pytest.param(["--phone", "201234567"], "+36201234567 is not a registered phone line", 1,
                 id="unknown-number"),
    pytest.param(["--phone", "12345"], "Not a Hungarian mobile number", 1, id="not-a-mobile-number"),
]


@pytest.mark.parametrize(("owner", "needle", "exit_code"), REFUSALS)
def test_add_refuses_without_exactly_one_known_owner(app, world, owner, needle, exit_code):
    before = Subscription.query.count()
    refused_json(app, *add(*owner), needle=needle, exit_code=exit_code)
    assert Subscription.query.count() == before
    assert AuditEvent.query.filter_by(event="subscription.added", actor="cli").count() == 0


@pytest.mark.parametrize(("options", "needle", "exit_code"), [
    pytest.param({"external_id": "ACME-B"}, "A subscription with the external id 'ACME-B' already exists.", 1,
                 id="duplicate-external-id"),
    pytest.param({"kind": "tv"}, "Invalid value for '--kind'", 2, id="bad-kind"),
    pytest.param({"label": "x" * 201}, "A label of 1-200 characters", 1, id="label-over-200"),
    pytest.param({"label": ""}, "A label of 1-200 characters", 1, id="empty-label"),
    pytest.param({"external_id": "x" * 65}, "The external id must be 1-64 characters", 1, id="external-id-too-long"),
])
def test_add_refuses_bad_values(app, world, options, needle, exit_code):
    before = Subscription.query.count()
    refused_json(app, *add("--company", "acme", **options), needle=needle, exit_code=exit_code)
    assert Subscription.query.count() == before


def test_a_deleted_account_gets_no_subscription(app, world):
    world.account.disabled = True
    world.account.deleted_at = get_services().clock.now()
    db.session.commit()
    refused_json(app, *add("--account", "anna@example.com"), needle="No Telekom account 'anna@example.com'")


def test_a_removed_phone_line_gets_no_subscription(app, world):
    world.l1.deleted_at = get_services().clock.now()
    db.session.commit()
    refused_json(app, *add("--phone", "201111111"), needle="+36201111111 is not a registered phone line")


def test_a_refusal_without_json_is_one_line_on_stderr(app, world):
    result = idp(app, *add("--company", "acme", external_id="ACME-B"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "idp: A subscription with the external id 'ACME-B' already exists.\n"


@pytest.mark.parametrize(("owner", "expected"), [
    pytest.param(["--company", "acme"], ACME, id="company"),
    pytest.param(["--phone", "06-20-111-1111"], ["L1-M"], id="phone-line"),
    pytest.param(["--account", "+36309999999"], ["HOME-1", "ACC-M"], id="account-its-own-only"),
])
def test_list_shows_the_owners_own_subscriptions_in_order(app, world, owner, expected):
    link(world.account, world.anna)  # what the account sees through anna is not the account's own
    documents = ok_json(app, "subscription", "list", *owner)
    assert [d["external_id"] for d in documents] == expected
    assert all(set(d) == {"id", "external_id", "kind", "label", "owner", "created_at"} for d in documents)


def test_list_without_json_and_of_an_owner_without_subscriptions(app, world):
    result = idp(app, "subscription", "list", "--phone", "201111111")
    assert result.stdout == f"{'L1-M':20} {'mobile':8} L1 előfizetés\n"
    make_company(slug="empty")
    assert ok_json(app, "subscription", "list", "--company", "empty") == []
    assert idp(app, "subscription", "list", "--company", "empty").stdout == "The company empty has no subscriptions.\n"


@pytest.mark.parametrize(("owner", "needle"), [
    pytest.param([], "Give exactly one owner", id="no-owner"),
    pytest.param(["--company", "acme", "--phone", "201111111"], "Give exactly one owner", id="two-owners"),
    pytest.param(["--account", "nobody@example.com"], "No Telekom account", id="unknown-account"),
])
def test_list_refuses_without_exactly_one_known_owner(app, world, owner, needle):
    refused_json(app, "subscription", "list", *owner, needle=needle)


def test_remove_deletes_audits_and_frees_the_external_id(app, world):
    row = Subscription.query.filter_by(external_id="L1-M").one()
    document = ok_json(app, "subscription", "remove", "L1-M")
    assert document == {"id": row.public_id, "external_id": "L1-M", "kind": "mobile", "label": "L1 előfizetés",
                        "owner": {"type": "phone", "identifier": "+36201111111"},
                        "created_at": row.created_at.isoformat().replace("+00:00", "Z"), "removed": True}
    assert Subscription.query.filter_by(external_id="L1-M").count() == 0
    assert seen(world.l1) == []
    event = AuditEvent.query.filter_by(event="subscription.removed").one()
    assert (event.actor, event.subject, event.details["external_id"]) == ("cli", world.l1.sub, "L1-M")
    ok_json(app, *add("--company", "acme", external_id="L1-M"))  # the billing system may reuse its id


def test_remove_refuses_an_unknown_external_id(app, world):
    before = Subscription.query.count()
    refused_json(app, "subscription", "remove", "NOPE", needle="No subscription with the external id 'NOPE'.")
    assert Subscription.query.count() == before
