"""The admin area's powers on the command line (``idp user …``, ``idp phone …``,
``idp company set-sms``), for customer service and scripts. The operator acts
with the main admin's powers; every change is audited with actor ``cli``.
``idp.cli`` attaches ``COMMANDS`` to its groups."""

import click
from flask.cli import with_appcontext

from idp.admin import service
from idp.cli_support import emit
from idp.cli_support import fail
from idp.cli_support import json_option
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.phones import PhoneNumberError
from idp.phones import parse_mobile


def company_or_fail(slug):
    company = Company.query.filter_by(slug=(slug or "").lower()).one_or_none()
    if company is None:
        fail(f"No company with the slug {slug!r}.")
    return company


def user_or_fail(identifier):
    user = service.find_user_by_identifier(identifier)
    if user is None:
        fail(f"No user {identifier!r}.")
    return user, service.Actor(company=user.company)


def line_or_fail(number):
    try:
        e164 = parse_mobile(number)
    except PhoneNumberError:
        fail(f"Not a Hungarian mobile number: {number!r}.")
    line = PhoneLine.query.filter_by(number=e164, deleted_at=None).one_or_none()
    if line is None:
        fail(f"{e164} is not registered.")
    return line, service.Actor(company=line.company_obj)


def run(change, *args):
    try:
        change(*args)
    except service.AdminError as error:
        fail(str(error.message))


def user_document(user):
    return {"identifier": user.identifier, "sub": user.sub, "name": user.display_name,
            "email": user.email_address, "phone": user.phone, "role": user.company_role,
            "permissions": user.permission_codes, "disabled": user.disabled,
            "temporary_password": user.password_temporary}


def line_document(line):
    return {"number": line.number, "sub": line.sub, "label": line.label, "company": line.company_obj.slug,
            "permissions": line.permission_codes, "disabled": line.disabled}


# --- company ----------------------------------------------------------------------
@click.command("set-sms", help="Switch the SMS code of the login on or off for a company.")
@with_appcontext
@json_option
@click.argument("slug")
@click.argument("state", type=click.Choice(["on", "off"]))
def company_set_sms(as_json, slug, state):
    company = company_or_fail(slug)
    run(service.set_sms_login, service.Actor(company=company), state == "on")
    emit(as_json, {"slug": company.slug, "sms_login_required": company.sms_login_required},
         [f"SMS code at login for {company.slug}: {state}."])


# --- users ------------------------------------------------------------------------
@click.command("list", help="Users of a company.")
@with_appcontext
@json_option
@click.argument("slug")
@click.option("--search", default=None)
def user_list(as_json, slug, search):
    users = service.company_users(company_or_fail(slug), search).all()
    emit(as_json, [user_document(u) for u in users],
         [f"{u.identifier:40} {'disabled' if u.disabled else 'active':8} {', '.join(u.permission_codes)}"
          for u in users] or ["No users."])


@click.command("edit", help="Change a user's email, phone or name.")
@with_appcontext
@json_option
@click.argument("identifier")
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--name", "display_name", default=None)
def user_edit(as_json, identifier, email, phone, display_name):
    user, actor = user_or_fail(identifier)
    run(service.update_user, actor, user, email or user.email_address, phone or user.phone,
        display_name if display_name is not None else user.display_name)
    emit(as_json, user_document(user), [f"{user.identifier} updated."])


@click.command("set-permissions", help="Replace a user's permissions (repeat --permission).")
@with_appcontext
@json_option
@click.argument("identifier")
@click.option("--permission", "permissions", multiple=True)
def user_set_permissions(as_json, identifier, permissions):
    user, actor = user_or_fail(identifier)
    run(service.set_user_permissions, actor, user, list(permissions))
    emit(as_json, user_document(user), [f"{user.identifier}: {', '.join(user.permission_codes) or '-'}"])


def user_change(name, change, message, help_text):
    """A command that applies one change to USER@SLUG."""

    @click.command(name, help=help_text)
    @with_appcontext
    @json_option
    @click.argument("identifier")
    def command(as_json, identifier):
        user, actor = user_or_fail(identifier)
        run(change, actor, user)
        emit(as_json, user_document(user), [f"{user.identifier} {message}."])

    return command


USER_CHANGES = [
    user_change("disable", lambda a, u: service.set_disabled(a, u, True), "disabled",
                "Disable a user (sessions and tokens end)."),
    user_change("enable", lambda a, u: service.set_disabled(a, u, False), "enabled", "Enable a user again."),
    user_change("delete", service.delete_user, "deleted", "Delete a user (the identifier is never reused)."),
    user_change("reset-password", service.resend_temporary_password, "got a new temporary password by email",
                "Email a new temporary password."),
]


# --- phone lines --------------------------------------------------------------------
@click.command("list", help="Phone lines of a company.")
@with_appcontext
@json_option
@click.argument("slug")
def phone_list(as_json, slug):
    lines = service.company_lines(company_or_fail(slug)).all()
    emit(as_json, [line_document(x) for x in lines],
         [f"{x.number:14} {', '.join(x.permission_codes) or '-'}" for x in lines] or ["No phone lines."])


@click.command("set-permissions", help="Replace a phone line's permissions (phone-applicable only).")
@with_appcontext
@json_option
@click.argument("number")
@click.option("--permission", "permissions", multiple=True)
def phone_set_permissions(as_json, number, permissions):
    line, actor = line_or_fail(number)
    run(service.set_line_permissions, actor, line, list(permissions))
    emit(as_json, line_document(line), [f"{line.number}: {', '.join(line.permission_codes) or '-'}"])


@click.command("remove", help="Remove a phone line (it can no longer log in).")
@with_appcontext
@json_option
@click.argument("number")
def phone_remove(as_json, number):
    line, actor = line_or_fail(number)
    run(service.remove_phone_line, actor, line)
    emit(as_json, line_document(line), [f"{line.number} removed."])


COMMANDS = {
    "company": [company_set_sms],
    "user": [user_list, user_edit, user_set_permissions, *USER_CHANGES],
    "phone": [phone_list, phone_set_permissions, phone_remove],
}
