"""``idp client …``: registering and managing relying parties (DESIGN.md §5).

The rules are those of ``idp.clients`` (shared with dynamic registration and the
developer portal); this module only parses options and prints. A secret is
printed once, when it is made (``create``, ``rotate-secret``, an ``update`` to a
secret-based auth method); it is stored hashed and never shown again.
"""

import json

import click
from flask.cli import AppGroup

from idp.cli_support import emit
from idp.cli_support import fail
from idp.cli_support import json_option

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

client_group = AppGroup("client", help="OAuth clients (relying parties).")


def client_document(client, **extra):
    """What ``create``, ``show`` and ``list`` print about a client (never a secret hash)."""
    return {
        "client_id": client.client_id, **extra, "client_name": client.client_name,
        "redirect_uris": client.redirect_uris, "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types, "scope": client.scope,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "first_party": client.first_party, "resource_server": client.resource_server,
        "disabled": client.disabled, "jwks_uri": client.jwks_uri, "jwks": client.jwks,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "created_at": client.created_at.isoformat().replace("+00:00", "Z"),
    }


def client_or_fail(client_id):
    from idp.models.client import OAuthClient

    client = OAuthClient.query.filter_by(client_id=client_id).one_or_none()
    if client is None:
        fail(f"No client with the client_id {client_id!r}.")
    return client


def _flags(client):
    flags = ["public" if client.is_public else "confidential"]
    flags += [name for name, on in (("first-party", client.first_party),
                                    ("resource-server", client.resource_server),
                                    ("disabled", client.disabled)) if on]
    return ", ".join(flags)


def _secret_lines(client, secret):
    lines = [f"client_id:     {client.client_id}"]
    if secret:
        lines.append(f"client_secret: {secret}  (shown only now)")
    return lines


def _read_jwks(jwks_file):
    if jwks_file is None:
        return None
    try:
        return json.load(jwks_file)
    except ValueError:
        fail("--jwks-file is not valid JSON.")


def metadata_options(command):
    """The options ``create`` and ``update`` share; each maps to one metadata field."""
    options = [
        click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeatable."),
        click.option("--scope", default=None, help="Space-separated scopes the client may ask for."),
        click.option("--grant-type", "grant_types", multiple=True, help="Repeatable."),
        click.option("--auth-method", default=None, type=click.Choice(AUTH_METHODS)),
        click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True,
                     help="Repeatable."),
        click.option("--jwks-uri", default=None),
        click.option("--jwks-file", type=click.File("r"), default=None, help="JWKS of the client's public keys."),
        click.option("--backchannel-logout-uri", default=None),
        click.option("--id-token-alg", default=None, type=click.Choice(["RS256", "ES256"])),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@client_group.command("create", help="Register a client; prints its client_id and client_secret.")
@json_option
@click.option("--name", required=True)
@click.option("--public", is_flag=True, help="No secret; PKCE required (token auth 'none').")
@click.option("--first-party", is_flag=True, help="One of the company's own apps: no consent screen.")
@click.option("--resource-server", is_flag=True, help="May introspect any token (an API of ours).")
@metadata_options
def client_create(as_json, name, public, first_party, resource_server, redirect_uris, scope, grant_types,
                  auth_method, post_logout_redirect_uris, jwks_uri, jwks_file, backchannel_logout_uri,
                  id_token_alg):
    from idp.clients import ClientError
    from idp.clients import register_client

    try:
        result = register_client(
            name=name, redirect_uris=list(redirect_uris), public=public, first_party=first_party,
            resource_server=resource_server, scope=scope, grant_types=list(grant_types),
            auth_method=auth_method, post_logout_redirect_uris=list(post_logout_redirect_uris),
            jwks=_read_jwks(jwks_file), jwks_uri=jwks_uri, backchannel_logout_uri=backchannel_logout_uri,
            id_token_signed_response_alg=id_token_alg, actor="cli")
    except ClientError as error:
        fail(error.message)
    emit(as_json, client_document(result.client, client_secret=result.client_secret),
         _secret_lines(result.client, result.client_secret))


@client_group.command("list", help="Every registered client.")
@json_option
def client_list(as_json):
    from idp.models.client import OAuthClient

    clients = OAuthClient.query.order_by(OAuthClient.created_at, OAuthClient.id).all()
    emit(as_json, [client_document(c) for c in clients],
         [f"{c.client_id:26} {c.client_name}  ({_flags(c)})" for c in clients] or ["No clients."])


@client_group.command("show", help="One client's registration.")
@json_option
@click.argument("client_id")
def client_show(as_json, client_id):
    client = client_or_fail(client_id)
    document = client_document(client)
    lines = [f"{key}: {' '.join(value) if isinstance(value, list) else value}"
             for key, value in document.items() if key != "jwks"]
    if client.jwks:
        lines.append(f"jwks: {len(client.jwks.get('keys', []))} key(s)")
    emit(as_json, document, lines)


def _replacement(values):
    """A repeatable option: not given keeps the list, given replaces it ('' alone empties it)."""
    return [v for v in values if v] if values else None


@client_group.command("update", help="Change a client's registration; options not given stay as they are. "
                                     "Repeatable options replace the whole list ('' empties it).")
@json_option
@click.argument("client_id")
@click.option("--name", default=None)
@click.option("--first-party/--no-first-party", default=None)
@click.option("--resource-server/--no-resource-server", default=None)
@metadata_options
def client_update(as_json, client_id, name, first_party, resource_server, redirect_uris, scope, grant_types,
                  auth_method, post_logout_redirect_uris, jwks_uri, jwks_file, backchannel_logout_uri,
                  id_token_alg):
    from idp.clients import ClientError
    from idp.clients import update_client

    changes = {"name": name, "first_party": first_party, "resource_server": resource_server,
               "redirect_uris": _replacement(redirect_uris), "scope": scope,
               "grant_types": _replacement(grant_types), "auth_method": auth_method,
               "post_logout_redirect_uris": _replacement(post_logout_redirect_uris), "jwks": _read_jwks(jwks_file),
               "jwks_uri": jwks_uri, "backchannel_logout_uri": backchannel_logout_uri,
               "id_token_signed_response_alg": id_token_alg}
    if all(value is None for value in changes.values()):
        fail("Nothing to change: give at least one option (see `idp client update --help`).")
    client = client_or_fail(client_id)
    try:
        result = update_client(client, actor="cli", **changes)
    except ClientError as error:
        fail(error.message)
    extra = {"client_secret": result.client_secret} if result.client_secret else {}
    lines = [f"Client {client.client_id} updated."]
    if result.client_secret:
        lines.append(f"client_secret: {result.client_secret}  (shown only now)")
    emit(as_json, client_document(client, **extra), lines)


@client_group.command("rotate-secret", help="Give a client a new secret (shown once); the old one keeps working "
                                            "for the grace period, then stops.")
@json_option
@click.argument("client_id")
@click.option("--grace", type=click.IntRange(0, 30 * 86400), default=None,
              help="Seconds the old secret keeps working (default IDP_CLIENT_SECRET_ROTATION_GRACE; 0: stop at once).")
def client_rotate_secret(as_json, client_id, grace):
    from idp.clients import ClientError
    from idp.clients import rotate_secret

    client = client_or_fail(client_id)
    try:
        result = rotate_secret(client, actor="cli", grace=grace)
    except ClientError as error:
        fail(error.message)
    until = client.previous_secret_expires_at
    until_text = until.isoformat().replace("+00:00", "Z") if until else None
    emit(as_json, {"client_id": client.client_id, "client_secret": result.client_secret,
                   "previous_secret_valid_until": until_text},
         [*_secret_lines(client, result.client_secret),
          f"The old secret keeps working until {until_text}." if until else "The old secret stopped working."])


@client_group.command("disable", help="Disable a client: it can no longer log anyone in or get tokens; "
                                      "every token and code issued to it is revoked.")
@json_option
@click.argument("client_id")
def client_disable(as_json, client_id):
    from idp.clients import set_client_disabled

    client = client_or_fail(client_id)
    revoked = set_client_disabled(client, True, actor="cli")
    emit(as_json, {"client_id": client_id, "disabled": True, "tokens_revoked": revoked},
         [f"Client {client_id} disabled; {revoked} token issuance(s) revoked."])


@client_group.command("enable", help="Enable a disabled client (what was revoked stays revoked).")
@json_option
@click.argument("client_id")
def client_enable(as_json, client_id):
    from idp.clients import set_client_disabled

    set_client_disabled(client_or_fail(client_id), False, actor="cli")
    emit(as_json, {"client_id": client_id, "disabled": False}, [f"Client {client_id} enabled."])


@client_group.command("delete", help="Delete a client; every token and code issued to it is revoked.")
@json_option
@click.argument("client_id")
def client_delete(as_json, client_id):
    from idp.clients import delete_client

    revoked = delete_client(client_or_fail(client_id), actor="cli")
    emit(as_json, {"client_id": client_id, "deleted": True, "tokens_revoked": revoked},
         [f"Client {client_id} deleted; {revoked} token issuance(s) revoked."])


# --- initial access tokens for dynamic registration (RFC 7591 §3) ------------------------------
def _token_document(row, **extra):
    from idp.registration.tokens import is_usable
    from idp.registration.tokens import iso

    return {"id": row.id, **extra, "label": row.label, "uses_left": row.uses_left,
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at), "usable": is_usable(row)}


@client_group.group("registration-token", invoke_without_command=True,
                    help="Issue an initial access token for POST /oauth/register (printed once, stored hashed); "
                         "`list` shows them, `revoke ID` ends one.")
@json_option
@click.option("--expires-in", type=click.IntRange(60, 365 * 86400), default=86400, show_default=True,
              help="Seconds until it expires.")
@click.option("--uses", type=click.IntRange(1, 10000), default=1, show_default=True,
              help="How many clients it may register.")
@click.option("--label", default=None, help="What it is for (shown by `list` and in the audit log).")
@click.pass_context
def registration_token(ctx, as_json, expires_in, uses, label):
    if ctx.invoked_subcommand is not None:
        return
    from flask import current_app

    from idp.registration.tokens import issue_initial_access_token

    if label is not None and len(label.strip()) > 200:
        fail("--label may have at most 200 characters.")
    row, token = issue_initial_access_token(expires_in=expires_in, uses=uses, label=(label or "").strip(),
                                            actor="cli")
    endpoint = current_app.config["ISSUER"] + "/oauth/register"
    document = _token_document(row, token=token, registration_endpoint=endpoint)
    emit(as_json, document, [f"initial access token: {token}  (shown only now)",
                             f"It registers {uses} client(s) until {document['expires_at']}:",
                             f"  curl -H 'Authorization: Bearer <token>' --json '{{...}}' {endpoint}"])


@registration_token.command("list", help="Every initial access token (never the token itself).")
@json_option
def registration_token_list(as_json):
    from idp.registration.tokens import initial_access_tokens

    documents = [_token_document(row) for row in initial_access_tokens()]
    emit(as_json, documents, [f"{d['id']:5}  {d['uses_left']} use(s) left, expires {d['expires_at']}"
                              f"{'' if d['usable'] else ' (unusable)'}  {d['label'] or ''}" for d in documents]
         or ["No initial access tokens."])


@registration_token.command("revoke", help="End an initial access token (the clients it registered stay).")
@json_option
@click.argument("token_id", type=int)
def registration_token_revoke(as_json, token_id):
    from idp.extensions import db
    from idp.models.registration import RegistrationToken
    from idp.registration.tokens import revoke_initial_access_token

    row = db.session.get(RegistrationToken, token_id)
    if row is None:
        fail(f"No initial access token with the id {token_id}.")
    revoke_initial_access_token(row, actor="cli")
    emit(as_json, {"id": token_id, "revoked": True}, [f"Initial access token {token_id} revoked."])
