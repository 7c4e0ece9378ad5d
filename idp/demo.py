"""``idp demo``: seed demo data idempotently and explain how to try it.

The demo relying party is a public, first-party client (PKCE, no secret) whose
redirect URI is the development callback page ``/dev/callback``. The demo
Telekom account has a password printed here and in the README, so the demo
refuses to run in production.
"""

import base64
import hashlib
from urllib.parse import urlencode

from idp.clients import register_client
from idp.extensions import db
from idp.models.client import OAuthClient

DEMO_CLIENT_ID = "demo-portal"
#: Fixed PKCE verifier of the demo client, so the printed URL and curl line match.
DEMO_CODE_VERIFIER = "demo-verifier-" + "x" * 40


def demo_code_challenge():
    digest = hashlib.sha256(DEMO_CODE_VERIFIER.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def demo_authorize_url(issuer):
    """The URL ``idp demo`` prints. It must work every time it is opened, so it
    carries no ``nonce``: the server refuses a nonce the client used before
    (replay protection, ``IdToken.check_nonce``) and a printed URL cannot carry a
    fresh one; the nonce is optional in the code flow. A real relying party sends
    a fresh nonce, state and PKCE verifier with every login; the demo's are fixed
    so that the printed URL and the callback page's ``curl`` line fit together
    (``state=demo`` tells the callback page that this is the demo's request)."""
    return issuer + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": issuer + "/dev/callback",
        "scope": "openid profile email phone company permissions", "state": "demo",
        "code_challenge": demo_code_challenge(), "code_challenge_method": "S256"})


def ensure_demo_client(issuer):
    client = OAuthClient.query.filter_by(client_id=DEMO_CLIENT_ID).one_or_none()
    if client is None:
        client = register_client(
            name="Demo önkiszolgáló portál", client_id=DEMO_CLIENT_ID, public=True, first_party=True,
            redirect_uris=[issuer + "/dev/callback"]).client
    elif issuer + "/dev/callback" not in client.redirect_uris:
        client.redirect_uris = [*client.redirect_uris, issuer + "/dev/callback"]
        db.session.commit()
    return client


DEMO_COMPANY = {"slug": "demo", "name": "Demo Kft.", "admin_email": "admin@demo.example",
                "admin_phone": "+36301110001"}
DEMO_USERS = [
    {"identifier": "anna@demo", "email": "anna@demo.example", "phone": "+36301110002",
     "display_name": "Kovács Anna",
     "permissions": ["invoices.view", "invoices.pay", "usage.view", "subscriptions.view"]},
]


DEMO_PHONE_LINES = [
    {"number": "+36301234567", "label": "Demo flottatelefon",
     "permissions": ["invoices.view", "usage.view", "subscriptions.view"]},
]


def ensure_demo_company():
    from idp.companies import add_phone_line
    from idp.companies import create_company
    from idp.companies import create_user
    from idp.models.company import BusinessUser
    from idp.models.company import Company
    from idp.models.company import PhoneLine

    company = Company.query.filter_by(slug=DEMO_COMPANY["slug"]).one_or_none()
    if company is None:
        company, _ = create_company(**DEMO_COMPANY)
    for spec in DEMO_USERS:
        username = spec["identifier"].split("@")[0]
        if not BusinessUser.query.filter_by(company_id=company.id, username=username).first():
            create_user(spec["identifier"], spec["email"], spec["phone"], spec["permissions"],
                        spec["display_name"])
    for spec in DEMO_PHONE_LINES:
        if not PhoneLine.query.filter_by(number=spec["number"]).first():
            add_phone_line(spec["number"], company.slug, spec["permissions"], spec["label"])
    return company


#: The demo Telekom account (development only: its password is public).
DEMO_ACCOUNT = {"email": "anna@otthon.example", "name": "Kovács Anna", "password": "Demo-Telekom-fiok-2026"}
DEMO_SUBSCRIPTIONS = [
    {"kind": "home", "label": "Otthoni internet és TV – Budapest", "external_id": "DEMO-HOME-1", "owner": "account"},
    {"kind": "business", "label": "Demo Kft. céges flotta", "external_id": "DEMO-BIZ-1", "owner": "company"},
    {"kind": "mobile", "label": "Mobil előfizetés 30 123 4567", "external_id": "DEMO-MOB-1", "owner": "phone"},
]


class DemoRefusedError(Exception):
    pass


def ensure_demo_account(company):
    """Anna's Telekom account, linked to anna@demo and the demo phone line, with
    a home subscription of its own (the company and the line have theirs)."""
    from idp.models.account import AccountLink
    from idp.models.account import TelekomAccount
    from idp.models.company import BusinessUser
    from idp.models.company import PhoneLine
    from idp.services import get_services
    from idp.subscriptions import Owner
    from idp.models.subscription import Subscription
    from idp.subscriptions import add_subscription

    services = get_services()
    account = TelekomAccount.query.filter_by(email_address=DEMO_ACCOUNT["email"]).one_or_none()
    if account is None:
        account = TelekomAccount(email_address=DEMO_ACCOUNT["email"], email_confirmed=True,
                                 display_name=DEMO_ACCOUNT["name"], created_at=services.clock.now(),
                                 password_hash=services.passwords.hash(DEMO_ACCOUNT["password"]),
                                 password_changed_at=services.clock.now())
        db.session.add(account)
        db.session.flush()
    anna = BusinessUser.query.filter_by(company_id=company.id, username="anna").one()
    line = PhoneLine.query.filter_by(number=DEMO_PHONE_LINES[0]["number"]).one()
    for identity in (anna, line):
        if AccountLink.query.filter_by(principal_kind=identity.kind, subject=identity.sub).first() is None:
            db.session.add(AccountLink(account_id=account.id, principal_kind=identity.kind, subject=identity.sub,
                                       created_at=services.clock.now()))
    db.session.commit()
    owners = {"account": account, "company": company, "phone": line}
    for spec in DEMO_SUBSCRIPTIONS:
        if Subscription.query.filter_by(external_id=spec["external_id"]).first() is None:
            add_subscription(Owner.of(owners[spec["owner"]]), spec["kind"], spec["label"], spec["external_id"])
    return account


def seed_demo(app):
    if app.config["ENV"] == "production":
        raise DemoRefusedError("The demo data is for development: its passwords are public.")
    issuer = app.config["ISSUER"]
    from idp.services import get_services

    get_services().keys.ensure()
    client = ensure_demo_client(issuer)
    company = ensure_demo_company()
    ensure_demo_account(company)
    document = {
        "issuer": issuer,
        "client": {"client_id": client.client_id, "redirect_uri": issuer + "/dev/callback", "public": True},
        "authorize_url": demo_authorize_url(issuer),
        "code_verifier": DEMO_CODE_VERIFIER,
        "outbox": issuer + "/dev/outbox",
        "company": {"slug": company.slug, "name": company.name},
        "users": ["admin@demo"] + [u["identifier"] for u in DEMO_USERS],
        "phone_lines": [p["number"] for p in DEMO_PHONE_LINES],
        "telekom_account": {"username": DEMO_ACCOUNT["email"], "password": DEMO_ACCOUNT["password"],
                            "linked": ["anna@demo", DEMO_PHONE_LINES[0]["number"]]},
    }
    lines = [
        f"Demo relying party: client_id={client.client_id} (public, PKCE S256, first-party)",
        "Start a login in the browser:",
        f"  {document['authorize_url']}",
        f"The code arrives at {issuer}/dev/callback, which shows how to exchange it.",
        f"Every SMS and email sent in development: {document['outbox']}",
        f"Demo company {company.slug} ({company.name}): log in at {issuer}/login as "
        + " or ".join(document["users"]) + ".",
        "Their temporary passwords were emailed when they were created: read them in the outbox "
        "(or `idp outbox`); SMS codes arrive there too.",
        f"Phone login at {issuer}/login/phone with 301234567 (restricted to "
        f"{', '.join(DEMO_PHONE_LINES[0]['permissions'])}).",
        f"Telekom account at {issuer}/account/login: {DEMO_ACCOUNT['email']} / {DEMO_ACCOUNT['password']} "
        "(linked to anna@demo and 301234567; development only).",
    ]
    return document, lines
