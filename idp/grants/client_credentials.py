"""Client credentials grant (RFC 6749 §4.4): confidential clients only; the
token's ``sub`` is the client id and it carries no user claims."""

from authlib.oauth2.rfc6749 import grants

from idp.grants import CONFIDENTIAL_AUTH_METHODS


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
