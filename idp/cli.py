"""The ``idp`` command line (DESIGN.md §5). Also ``flask --app wsgi idp ...``.

Every command that prints results takes ``--json`` and then prints exactly one
JSON document: its result, or ``{"error": …}`` with a non-zero exit (``idp.cli_support``).
The ``client`` commands live in ``idp.cli_clients``, the ``subscription`` commands in
``idp.cli_subscriptions``, the admin area's in ``idp.admin.cli``.
"""

from datetime import UTC
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_commands

from idp.cli_clients import client_group
from idp.cli_subscriptions import subscription_group
from idp.cli_support import JsonErrors
from idp.cli_support import emit
from idp.cli_support import fail
from idp.cli_support import json_option
from idp.errors import ConfigurationError

HELP = "Telekom identity provider administration."


class IdpGroup(JsonErrors, AppGroup):
    """``flask --app wsgi idp …``."""


idp_group = IdpGroup("idp", help=HELP)
idp_group.add_command(db_commands)
idp_group.add_command(client_group)
idp_group.add_command(subscription_group)

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


# --- back-channel logout ----------------------------------------------------------
@idp_group.group("logout", help="Back-channel logout notifications.")
def logout_group():
    pass


@logout_group.command("deliver", help="Send the back-channel logout tokens that are due (for a cron job).")
@json_option
def logout_deliver(as_json):
    from idp.services import get_services
    from idp.services.backchannel import pending_count

    delivered, failed = get_services().backchannel.deliver_due(limit=1000)
    document = {"delivered": delivered, "failed": failed, "pending": pending_count()}
    emit(as_json, document, [f"{delivered} delivered, {failed} failed (retried later), "
                             f"{document['pending']} pending."])


# --- data lifecycle -------------------------------------------------------------
@idp_group.command("cleanup", help="Delete expired and spent rows: codes, tokens, sessions, journeys, one-time "
                                   "codes, delivered logout tokens, outbox messages (for a cron job, on any node).")
@json_option
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Rows per DELETE (default IDP_CLEANUP_BATCH_SIZE, 1000).")
def cleanup(as_json, batch_size):
    from idp.cleanup import delete_spent_rows

    deleted = delete_spent_rows(batch_size=batch_size)
    total = sum(deleted.values())
    lines = [f"{count:>9}  {name.replace('_', ' ')}" for name, count in deleted.items()]
    emit(as_json, {"deleted": deleted, "total": total}, [*lines, f"{total:>9}  rows deleted in all"])


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


# --- issuer -------------------------------------------------------------------
@idp_group.command("issuer", with_appcontext=False,
                   short_help="Print or record the issuer (the public base URL).",
                   help="Print the issuer in effect; with URL, record it in the instance config file "
                        "(as `make run` does), so emails, the demo client and every `idp` command use it.")
@json_option
@click.argument("url", required=False)
def issuer(as_json, url):
    from flask import Flask

    from idp.config import instance_config_file
    from idp.config import load_config
    from idp.config import record_issuer

    installation = Flask("idp")
    recorded = None
    if url:
        try:
            recorded, _ = record_issuer(installation, url)
        except ConfigurationError as error:
            fail(str(error))
    try:
        load_config(installation)
    except ConfigurationError as error:
        fail(f"configuration error: {error}", code=2)
    in_effect = installation.config["ISSUER"]
    path = instance_config_file(installation)
    lines = [f"Issuer {recorded} recorded in {path}."] if recorded else [in_effect]
    if recorded and recorded != in_effect:
        lines.append(f"Note: IDP_ISSUER or the IDP_CONFIG file overrides it; the issuer in effect is {in_effect}.")
    emit(as_json, {"issuer": in_effect, "recorded": recorded, "instance_config": str(path)}, lines)


# --- demo -----------------------------------------------------------------------
@idp_group.command("demo", help="Seed the demo data (idempotent) and print how to use it.")
@json_option
def demo(as_json):
    from idp.demo import DemoRefusedError
    from idp.demo import seed_demo

    try:
        document, lines = seed_demo(current_app)
    except DemoRefusedError as error:
        fail(str(error))
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
        fail(f"configuration error: {error}", code=2)


class IdpCli(JsonErrors, FlaskGroup):
    """``idp ...`` is ``flask --app wsgi idp ...`` without the typing."""

    def __init__(self):
        super().__init__(name="idp", create_app=_create_app_or_exit, add_version_option=False,
                         load_dotenv=False, set_debug_flag=False, help=HELP)
        for name, command in idp_group.commands.items():
            self.add_command(command, name)

    # The app registers ``idp_group`` on ``app.cli`` for ``flask --app wsgi idp``;
    # FlaskGroup would offer it here once more, as ``idp idp``.
    def get_command(self, ctx, name):
        if name == idp_group.name and name not in self.commands:
            return None
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        return [name for name in super().list_commands(ctx) if name != idp_group.name]


def main():
    IdpCli().main(prog_name="idp")
