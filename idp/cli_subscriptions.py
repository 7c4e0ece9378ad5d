"""``idp subscription …``: the subscriptions (home, mobile, business) customer service
registers for a Telekom account, a company or a phone line (DESIGN.md §5).

The rules are those of ``idp.subscriptions``; this module only parses options and
prints. Who sees a subscription follows from its owner (``visible_subscriptions()``
of each principal), and reaches relying parties as the ``subscriptions`` claim.
"""

import click
from flask.cli import AppGroup

from idp.cli_support import emit
from idp.cli_support import fail
from idp.cli_support import json_option
from idp.models.subscription import SUBSCRIPTION_KINDS

subscription_group = AppGroup("subscription", help="Subscriptions (home, mobile, business) and their owners.")


def owner_options(command):
    """``--account | --company | --phone``: exactly one (checked by ``idp.subscriptions.find_owner``)."""
    options = [
        click.option("--account", default=None, metavar="EMAIL_OR_PHONE",
                     help="A Telekom account, by its email address or phone number."),
        click.option("--company", default=None, metavar="SLUG", help="A company, by its slug."),
        click.option("--phone", default=None, metavar="NUMBER", help="A phone line, e.g. 301234567."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def subscription_document(subscription, owner):
    return {"id": subscription.public_id, "external_id": subscription.external_id, "kind": subscription.kind,
            "label": subscription.label, "owner": owner.document(),
            "created_at": subscription.created_at.isoformat().replace("+00:00", "Z")}


def _line(subscription):
    return f"{subscription.external_id:20} {subscription.kind:8} {subscription.label}"


OWNER_WORDS = {"account": "Telekom account", "company": "company", "phone": "phone line"}


def _owner_words(owner):
    return f"{OWNER_WORDS[owner.type]} {owner.identifier}"


def _owner_or_fail(account, company, phone):
    from idp.subscriptions import SubscriptionError
    from idp.subscriptions import find_owner

    try:
        return find_owner(account=account, company=company, phone=phone)
    except SubscriptionError as error:
        fail(error.message)


@subscription_group.command("add", short_help="Register a subscription.",
                            help="Register a subscription of exactly one owner: --account, --company or --phone.")
@json_option
@click.option("--kind", required=True, type=click.Choice(SUBSCRIPTION_KINDS, case_sensitive=False))
@click.option("--label", required=True, help="What the customer sees, 1-200 characters.")
@click.option("--external-id", required=True, help="The billing system's id (unique).")
@owner_options
def subscription_add(as_json, kind, label, external_id, account, company, phone):
    from idp.subscriptions import SubscriptionError
    from idp.subscriptions import add_subscription

    owner = _owner_or_fail(account, company, phone)
    try:
        subscription = add_subscription(owner, kind, label, external_id, actor="cli")
    except SubscriptionError as error:
        fail(error.message)
    line = (f"Subscription {subscription.external_id} ({subscription.kind}, {subscription.label!r}) added to the "
            f"{_owner_words(owner)}.")
    emit(as_json, subscription_document(subscription, owner), [line])


@subscription_group.command("list", short_help="The subscriptions of one owner.",
                            help="The subscriptions of one owner: its own, not those it sees through linked "
                                 "identities.")
@json_option
@owner_options
def subscription_list(as_json, account, company, phone):
    owner = _owner_or_fail(account, company, phone)
    subscriptions = owner.subscriptions()
    emit(as_json, [subscription_document(s, owner) for s in subscriptions],
         [_line(s) for s in subscriptions] or [f"The {_owner_words(owner)} has no subscriptions."])


@subscription_group.command("remove", help="Remove the subscription with EXTERNAL_ID.")
@json_option
@click.argument("external_id")
def subscription_remove(as_json, external_id):
    from idp.subscriptions import SubscriptionError
    from idp.subscriptions import find_subscription
    from idp.subscriptions import owner_of
    from idp.subscriptions import remove_subscription

    try:
        subscription = find_subscription(external_id)
    except SubscriptionError as error:
        fail(error.message)
    owner = owner_of(subscription)
    document = {**subscription_document(subscription, owner), "removed": True}
    remove_subscription(subscription, actor="cli")
    emit(as_json, document, [f"Subscription {document['external_id']} removed from the {_owner_words(owner)}."])
