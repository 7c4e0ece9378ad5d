"""RFC 7591 client registration and RFC 7592 client configuration: Authlib's endpoint
classes, filled in with our storage, the shared rules (``idp.clients``) and the two
credentials (``idp.registration.tokens``).

Where a method of Authlib's is replaced rather than filled in, and why:

- ``extract_client_metadata``: the metadata is judged by the shared rules, not by Authlib's
  ``ClientMetadataClaims`` (whose URI check accepts ``javascript://x`` or ``http://`` on any
  host, and fails with a TypeError on a number where a URI belongs), so registration is
  exactly as strict as the CLI and the portal;
- a missing or wrong token is ``invalid_token`` with 401 (RFC 6750 §3.1, RFC 7592 §2), not
  Authlib's 403 ``access_denied``; the configuration endpoint answers a wrong token, another
  client's token and a client that does not exist alike (Authlib's says "The client does not
  exist on this server");
- an update may leave out ``client_id`` (it must match when given) and every refusal says why.
"""

from dataclasses import dataclass
from functools import cached_property

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import JsonPayload
from authlib.oauth2.rfc6749 import JsonRequest
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _ClientRegistrationEndpoint
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _ClientConfigurationEndpoint
from flask import current_app
from flask import request as flask_request

from idp.clients import ClientError
from idp.clients import delete_client
from idp.clients import new_client_id
from idp.clients import register_client
from idp.clients import update_client
from idp.models.client import OAuthClient
from idp.registration.metadata import client_metadata
from idp.registration.metadata import metadata_fields
from idp.registration.metadata import read_document
from idp.registration.metadata import rule_arguments
from idp.registration.metadata import rule_error
from idp.registration.tokens import client_for_registration_access_token
from idp.registration.tokens import new_token
from idp.registration.tokens import take_initial_access_token_use
from idp.services import get_services

REALM = "registration"
#: The audit actor of a registration made with an initial access token.
DYNAMIC_REGISTRATION = "dynamic_registration"
#: RFC 7592 §2.2: what the server issues, never what an update sends.
SERVER_FIELDS = ("registration_access_token", "registration_client_uri", "client_secret_expires_at",
                 "client_id_issued_at")


class MissingTokenError(InvalidTokenError):
    """RFC 6750 §3.1: a request without a token gets the bare challenge; the JSON body
    still says ``invalid_token`` for the programs that read it."""

    def get_headers(self):
        headers = [(name, value) for name, value in super().get_headers() if name != "WWW-Authenticate"]
        return [*headers, ("WWW-Authenticate", f'Bearer realm="{REALM}"')]


def bearer_token(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class JsonBody(JsonPayload):
    """The JSON object of the body, read when the endpoint first asks for it - after the
    token is checked - and refused as an OAuth error (``metadata.read_document``)."""

    def __init__(self, request):
        self._request = request

    @cached_property
    def data(self):
        return read_document(self._request)


class RegistrationRequest(JsonRequest):
    def __init__(self, request):
        # Flask answers HEAD with the GET view; Authlib knows only GET, PUT and DELETE.
        method = "GET" if request.method == "HEAD" else request.method
        super().__init__(method, current_app.config["ISSUER"] + request.path, request.headers)
        self.client_id_in_path = (request.view_args or {}).get("client_id")
        self.payload = JsonBody(request)


@dataclass
class RegistrationAccess:
    """A registration access token that proved to be ``client``'s (Authlib's ``token``)."""

    client: OAuthClient
    token: str

    def check_client(self, client):
        return client is self.client


def issued_at(client):
    return int(client.created_at.timestamp())


def registration_client_uri(client):
    return f"{current_app.config['ISSUER']}/oauth/register/{client.client_id}"


class ClientRegistrationEndpoint(_ClientRegistrationEndpoint):
    """``POST /oauth/register`` with an initial access token (RFC 7591 §3). Clients
    registered here are third-party and have no owner."""

    def create_endpoint_request(self, request):
        return RegistrationRequest(flask_request)

    def authenticate_token(self, request):
        token = bearer_token(request)
        if token is None:
            raise MissingTokenError("An initial access token is required", realm=REALM)
        row = take_initial_access_token_use(token)
        if row is None:
            raise InvalidTokenError("The initial access token is invalid, expired or used up", realm=REALM)
        return row

    def extract_client_metadata(self, request):
        return metadata_fields(request.payload.data)

    def generate_client_info(self, request):
        return {"client_id": new_client_id(), "client_id_issued_at": get_services().clock.timestamp(),
                "client_secret_expires_at": 0}

    def save_client(self, client_info, client_metadata, request):
        initial = request.credential
        request.registration_access_token = new_token()
        get_services().audit.record("registration_token.used", actor=DYNAMIC_REGISTRATION,
                                    subject=client_info["client_id"], token_id=initial.id, label=initial.label,
                                    uses_left=initial.uses_left)
        try:
            result = register_client(client_id=client_info["client_id"], actor=DYNAMIC_REGISTRATION,
                                     registration_access_token=request.registration_access_token,
                                     **rule_arguments(client_metadata))
        except ClientError as error:
            raise rule_error(error) from None
        request.client_secret = result.client_secret
        return result.client

    def generate_client_registration_info(self, client, request):
        info = {**client_metadata(client), "client_id_issued_at": issued_at(client),
                "registration_access_token": request.registration_access_token,
                "registration_client_uri": registration_client_uri(client)}
        if request.client_secret:
            info["client_secret"] = request.client_secret
        return info


class ClientConfigurationEndpoint(_ClientConfigurationEndpoint):
    """``GET``, ``PUT`` and ``DELETE /oauth/register/<client_id>`` with the client's
    registration access token (RFC 7592 §2). A successful ``PUT`` rotates the token."""

    def create_endpoint_request(self, request):
        return RegistrationRequest(flask_request)

    def authenticate_token(self, request):
        token = bearer_token(request)
        if token is None:
            raise MissingTokenError("A registration access token is required", realm=REALM)
        client = client_for_registration_access_token(request.client_id_in_path, token)
        if client is None:
            raise InvalidTokenError("The registration access token is invalid", realm=REALM)
        return RegistrationAccess(client, token)

    def authenticate_client(self, request):
        return request.credential.client

    def revoke_access_token(self, token, request):
        """Unreachable: ``authenticate_token`` only accepts the token of an existing client."""

    def check_permission(self, client, request):
        # A client the operator disabled may not change or remove itself (403).
        return not client.disabled

    def create_update_client_response(self, client, request):
        document = request.payload.data
        for name in SERVER_FIELDS:
            if name in document:
                raise InvalidRequestError(f"An update may not include {name} (RFC 7592 section 2.2)")
        if "client_id" in document and document["client_id"] != client.client_id:
            raise InvalidRequestError("The client_id does not match this client")
        if "client_secret" in document and not client.check_client_secret(document["client_secret"]):
            raise InvalidRequestError("The client_secret does not match this client's secret")
        client = self.update_client(client, self.extract_client_metadata(request), request)
        return self.create_read_client_response(client, request)

    def extract_client_metadata(self, request):
        return metadata_fields(request.payload.data)

    def update_client(self, client, client_metadata, request):
        """A full replacement (RFC 7592 §2.2: what is left out is deleted), under the
        shared rules; the registration access token is replaced in the same transaction."""
        request.registration_access_token = new_token()
        client.set_registration_access_token(request.registration_access_token)
        try:
            result = update_client(client, actor=client.client_id, **rule_arguments(client_metadata))
        except ClientError as error:
            raise rule_error(error) from None
        request.client_secret = result.client_secret
        return result.client

    def delete_client(self, client, request):
        delete_client(client, actor=client.client_id)

    def introspect_client(self, client):
        return {"client_id": client.client_id, "client_id_issued_at": issued_at(client),
                "client_secret_expires_at": 0, **client_metadata(client)}

    def generate_client_registration_info(self, client, request):
        info = {"registration_client_uri": registration_client_uri(client),
                "registration_access_token": getattr(request, "registration_access_token", None)
                or request.credential.token}
        if getattr(request, "client_secret", None):
            info["client_secret"] = request.client_secret
        return info
