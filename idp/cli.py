"""The ``idp`` command line (DESIGN.md §5). Also ``flask --app wsgi idp ...``.

Every command that prints results takes ``--json`` and then prints exactly one
JSON document.
"""

import json
import sys
from datetime import UTC
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_commands

from idp.cli_support import emit
from idp.cli_support import fail
from idp.cli_support import json_option
from idp.errors import ConfigurationError

idp_group = AppGroup("idp", help="Telekom identity provider administration.")
idp_group.add_command(db_commands)

# --- keys -----------------------------------------------------------------------
@idp_group.group("keys", help="Signing keys.")
def keys_group():
    pass


def _when(ts):
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@keys_group.command("rotate", help="Publish new signing keys; they sign after the overlap.")
@json_option
def keys_rotate(as_json):
    from idp.services import get_services

    keys = get_services().keys
    keys.ensure()
    new = keys.rotate()
    document = [{"kid": k.kid, "alg": k.alg, "activates_at": _when(k.activates_at)} for k in new]
    emit(as_json, document, [f"{k['alg']} {k['kid']} signs from {k['activates_at']}" for k in document])


@keys_group.command("list", help="Published signing keys.")
@json_option
def keys_list(as_json):
    from idp.services import get_services

    keys = get_services().keys
    keys.ensure()
    document = [{"kid": k.kid, "alg": k.alg, "created_at": _when(k.created_at),
                 "activates_at": _when(k.activates_at)} for k in keys.published()]
    emit(as_json, document, [f"{k['alg']} {k['kid']} active from {k['activates_at']}" for k in document])


# --- clients --------------------------------------------------------------------
@idp_group.group("client", help="OAuth clients (relying parties).")
def client_group():
    pass


@client_group.command("create", help="Register a client; prints its client_id and client_secret.")
@json_option
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="No secret; PKCE required (token auth 'none').")
@click.option("--first-party", is_flag=True, help="One of the company's own apps: no consent screen.")
@click.option("--scope", default=None, help="Space-separated scopes the client may ask for.")
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--auth-method", default=None,
              type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]))
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--jwks-uri", default=None)
@click.option("--jwks-file", type=click.File("r"), default=None, help="JWKS of the client's public keys.")
@click.option("--backchannel-logout-uri", default=None)
@click.option("--id-token-alg", default=None, type=click.Choice(["RS256", "ES256"]))
def client_create(as_json, name, redirect_uris, public, first_party, scope, grant_types, auth_method,
                  post_logout_redirect_uris, jwks_uri, jwks_file, backchannel_logout_uri, id_token_alg):
    from idp.clients import ClientRegistrationError
    from idp.clients import register_client

    try:
        jwks = json.load(jwks_file) if jwks_file else None
        result = register_client(
            name=name, redirect_uris=list(redirect_uris), public=public, first_party=first_party,
            scope=scope, grant_types=list(grant_types), auth_method=auth_method,
            post_logout_redirect_uris=list(post_logout_redirect_uris), jwks=jwks, jwks_uri=jwks_uri,
            backchannel_logout_uri=backchannel_logout_uri, id_token_signed_response_alg=id_token_alg)
    except ClientRegistrationError as error:
        fail(error.message)
    except ValueError:
        fail("--jwks-file is not valid JSON.")
    client = result.client
    document = {"client_id": client.client_id, "client_secret": result.client_secret,
                "client_name": client.client_name, "redirect_uris": client.redirect_uris,
                "grant_types": client.grant_types, "scope": client.scope,
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "first_party": client.first_party}
    lines = [f"client_id:     {client.client_id}"]
    if result.client_secret:
        lines.append(f"client_secret: {result.client_secret}  (shown only now)")
    emit(as_json, document, lines)


# --- companies and users --------------------------------------------------------
@idp_group.group("company", help="Companies (registered by customer service).")
def company_group():
    pass


@company_group.command("create", help="Register a company and its main admin (admin@SLUG).")
@json_option
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-phone", required=True, help="Mobile number, e.g. 301234567")
@click.option("--no-sms-login", is_flag=True, help="Log in without the SMS code (not recommended).")
def company_create(as_json, slug, name, admin_email, admin_phone, no_sms_login):
    from idp.companies import RegistrationError
    from idp.companies import create_company

    try:
        company, admin = create_company(slug, name, admin_email, admin_phone,
                                        sms_login_required=not no_sms_login)
    except RegistrationError as error:
        fail(error.message)
    document = {"company": {"id": company.public_id, "slug": company.slug, "name": company.name,
                            "sms_login_required": company.sms_login_required},
                "admin": {"identifier": admin.user.identifier, "sub": admin.user.sub,
                          "email": admin.user.email_address, "phone": admin.user.phone}}
    emit(as_json, document, [f"Company {company.slug} ({company.name}) registered.",
                             f"Main admin {admin.user.identifier}: temporary password emailed to "
                             f"{admin.user.email_address}."])


@idp_group.group("user", help="Business users.")
def user_group():
    pass


@user_group.command("create", help="Create USER@SLUG; a temporary password is emailed.")
@json_option
@click.argument("identifier")
@click.option("--email", required=True)
@click.option("--phone", required=True, help="Mobile number, e.g. 301234567")
@click.option("--name", "display_name", default=None)
@click.option("--permission", "permissions", multiple=True, help="Permission code (repeatable).")
def user_create(as_json, identifier, email, phone, display_name, permissions):
    from idp.companies import RegistrationError
    from idp.companies import create_user

    try:
        registered = create_user(identifier, email, phone, permissions, display_name)
    except RegistrationError as error:
        fail(error.message)
    user = registered.user
    document = {"identifier": user.identifier, "sub": user.sub, "email": user.email_address,
                "phone": user.phone, "permissions": user.permission_codes}
    emit(as_json, document, [f"User {user.identifier} created; temporary password emailed to "
                             f"{user.email_address}."])


@idp_group.group("phone", help="Phone lines (mobile numbers that log in with an SMS code).")
def phone_group():
    pass


@phone_group.command("add", help="Register NUMBER (e.g. 301234567) for phone login in a company.")
@json_option
@click.argument("number")
@click.option("--company", "company_slug", required=True)
@click.option("--label", default=None)
@click.option("--permission", "permissions", multiple=True, help="Phone-applicable permission code (repeatable).")
def phone_add(as_json, number, company_slug, label, permissions):
    from idp.companies import RegistrationError
    from idp.companies import add_phone_line

    try:
        line = add_phone_line(number, company_slug, permissions, label)
    except RegistrationError as error:
        fail(error.message)
    document = {"number": line.number, "sub": line.sub, "company": line.company_obj.slug,
                "permissions": line.permission_codes}
    emit(as_json, document, [f"Phone line {line.number} added to {line.company_obj.slug} with "
                             f"{', '.join(line.permission_codes) or 'no permissions'}."])


# --- outbox ---------------------------------------------------------------------
@idp_group.command("outbox", help="The newest SMS and emails of the development outbox.")
@json_option
@click.option("--limit", default=20, show_default=True)
def outbox(as_json, limit):
    from idp.dev import newest_messages

    messages = [m.to_dict() for m in newest_messages(limit)]
    lines = []
    for m in messages:
        lines.append(f"#{m['id']} {m['created_at']} {m['channel']} -> {m['to']}"
                     + (f"  [{m['subject']}]" if m["subject"] else ""))
        lines.extend("    " + line for line in m["body"].splitlines())
    emit(as_json, messages, lines or ["The outbox is empty."])


# --- demo -----------------------------------------------------------------------
@idp_group.command("demo", help="Seed the demo data (idempotent) and print how to use it.")
@json_option
def demo(as_json):
    from idp.demo import seed_demo

    document, lines = seed_demo(current_app)
    emit(as_json, document, lines)


def _register_admin_commands():
    from idp.admin.cli import COMMANDS

    groups = {"company": company_group, "user": user_group, "phone": phone_group}
    for group, commands in COMMANDS.items():
        for command in commands:
            groups[group].add_command(command)


_register_admin_commands()


def _create_app_or_exit(*args, **kwargs):
    from idp import create_app

    try:
        return create_app()
    except ConfigurationError as error:
        click.echo(f"idp: configuration error: {error}", err=True)
        sys.exit(2)


class IdpCli(FlaskGroup):
    """``idp ...`` is ``flask --app wsgi idp ...`` without the typing."""

    def __init__(self):
        super().__init__(name="idp", create_app=_create_app_or_exit, add_version_option=False,
                         load_dotenv=False, set_debug_flag=False,
                         help="Telekom identity provider administration.")
        for name, command in idp_group.commands.items():
            self.add_command(command, name)


def main():
    IdpCli().main(prog_name="idp")
