"""PKCE (RFC 7636) as RFC 9700 §2.1.1 wants it: ``S256`` only, mandatory for
public clients, accepted from confidential ones."""

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge


class StrictCodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def __init__(self):
        super().__init__(required=True)

    def validate_code_challenge(self, grant, redirect_uri):
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if challenge and data.get("code_challenge_method") != "S256":
            # RFC 7636 §4.3: an absent method means "plain", which we refuse.
            raise InvalidRequestError("code_challenge_method must be S256")
        if not challenge and grant.request.client.is_public:
            raise InvalidRequestError("Public clients must use PKCE (code_challenge with S256)")
