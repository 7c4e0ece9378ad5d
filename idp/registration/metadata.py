"""Client metadata on the wire (RFC 7591 §2, §3.1; RFC 7592 §2.2) and the shared rules
behind it.

This module checks only what a JSON document can get wrong and a form or the CLI cannot:
the body itself (content type, valid JSON, an object, no repeated member) and each member's
JSON type. Which URIs, grants, scopes, auth methods and keys a client may have is decided
by ``idp.clients.validate_metadata`` - the rules of the CLI and the developer portal - and
its ``ClientRegistrationError`` becomes the RFC 7591 §3.2.2 error, naming the field.
Members this server does not understand are ignored (RFC 7591 §2); ``first_party`` and
``resource_server`` are the operator's decisions, never metadata.
"""

import json
import re

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7591 import InvalidClientMetadataError
from authlib.oauth2.rfc7591 import InvalidRedirectURIError

from idp.errors import safe_description

#: The members we understand, with their JSON type.
FIELDS = {
    "client_name": str, "redirect_uris": list, "post_logout_redirect_uris": list, "grant_types": list,
    "response_types": list, "token_endpoint_auth_method": str, "scope": str, "jwks": dict, "jwks_uri": str,
    "logo_uri": str, "client_uri": str, "policy_uri": str, "tos_uri": str, "backchannel_logout_uri": str,
    "id_token_signed_response_alg": str,
}
#: RFC 7591 member → ``validate_metadata`` argument, where the names differ.
ARGUMENTS = {"client_name": "name", "token_endpoint_auth_method": "auth_method"}
RESPONSE_TYPES = ("code",)
MAX_ENTRIES = 20
#: C0 controls, DEL, C1 controls, U+FFFD (as the request guard refuses them in parameters).
BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ufffd]")


class RepeatedMember(ValueError):
    pass


def _object_without_repeats(pairs):
    names = [name for name, _ in pairs]
    for name in names:
        if names.count(name) > 1:
            raise RepeatedMember(name)
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def read_document(request):
    """The JSON object of a registration or update request (a Flask request), or
    ``invalid_request``. A body over ``MAX_CONTENT_LENGTH`` is Werkzeug's 413."""
    if request.mimetype != "application/json":
        raise InvalidRequestError("The body must be a JSON object sent as application/json")
    body = request.get_data(cache=True)
    try:
        document = json.loads(body, object_pairs_hook=_object_without_repeats, parse_constant=_refuse_constant)
    except RepeatedMember as error:
        raise InvalidRequestError(safe_description(f"The member {error} is repeated")) from None
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise InvalidRequestError("The body is not valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("The body must be a JSON object")
    return document


def metadata_fields(document):
    """The members we understand, type-checked; absent, null and empty ones left out
    (RFC 7592 §2.2: an omitted or empty value deletes it)."""
    fields = {}
    for name, kind in FIELDS.items():
        value = document.get(name)
        if value is None or value in ("", [], {}):
            continue
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise invalid(name, "must be an array of strings")
            if len(value) > MAX_ENTRIES:
                raise invalid(name, f"may have at most {MAX_ENTRIES} entries")
            strings = value
        elif not isinstance(value, kind):
            raise invalid(name, "must be a string" if kind is str else "must be a JSON object")
        else:
            strings = [value] if kind is str else []
        if any(BAD_CHARACTERS.search(item) for item in strings):
            raise invalid(name, "contains control characters")
        fields[name] = value
    if "jwks" in fields and "jwks_uri" in fields:
        raise invalid("jwks", "and jwks_uri may not both be given (RFC 7591 section 2)")
    _check_response_types(fields)
    return fields


def _check_response_types(fields):
    """``response_types`` follows from the grants (``code`` with ``authorization_code``):
    only values consistent with them are accepted (RFC 7591 §2.1)."""
    response_types = fields.get("response_types", [])
    unsupported = [value for value in response_types if value not in RESPONSE_TYPES]
    if unsupported:
        raise invalid("response_types", f"only code is supported, not {', '.join(unsupported)}")
    if response_types and "authorization_code" not in fields.get("grant_types", ["authorization_code"]):
        raise invalid("response_types", "code needs the authorization_code grant type")


def rule_arguments(fields):
    """``validate_metadata`` keyword arguments for a complete registration: what is not
    given is empty (the rules' defaults apply), the grants' response types are derived."""
    arguments = {"name": "", "redirect_uris": [], "post_logout_redirect_uris": [], "grant_types": [], "scope": "",
                 "auth_method": "", "jwks": {}, "jwks_uri": "", "backchannel_logout_uri": "",
                 "id_token_signed_response_alg": "", "logo_uri": "", "client_uri": "", "policy_uri": "",
                 "tos_uri": ""}
    for name, value in fields.items():
        if name != "response_types":
            arguments[ARGUMENTS.get(name, name)] = value
    return arguments


def client_metadata(client):
    """The metadata registered for ``client``, as RFC 7591 §3.2.1 returns it."""
    metadata = {
        "client_name": client.client_name, "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types), "response_types": list(client.response_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method, "scope": client.scope,
    }
    for name in ("jwks", "jwks_uri", "logo_uri", "client_uri", "policy_uri", "tos_uri", "backchannel_logout_uri",
                 "id_token_signed_response_alg"):
        if getattr(client, name):
            metadata[name] = getattr(client, name)
    return metadata


def invalid(field, problem):
    return InvalidClientMetadataError(safe_description(f"{field} {problem}"))


def rule_error(error):
    """A ``ClientRegistrationError`` as the RFC 7591 §3.2.2 error, its description naming the field."""
    named = error.field == "client_metadata" or error.field in error.message
    message = error.message if named else f"{error.field}: {error.message}"
    cls = InvalidRedirectURIError if error.field == "redirect_uris" else InvalidClientMetadataError
    return cls(safe_description(message))
