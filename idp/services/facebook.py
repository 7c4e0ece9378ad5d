"""Facebook Login: the OAuth 2.0 authorization code flow (RFC 6749 §4.1) against
Facebook's login dialog, its token endpoint and the Graph API ``/me``.

The Telekom-account journeys send the browser to :meth:`FacebookConnector.authorization_url`
and, back on their callback with a ``code``, call :meth:`FacebookConnector.fetch_identity`.
A user who cancels the dialog comes back with ``error=access_denied`` instead: that answer
goes to the journey, never here. Every failure of the exchange is one :class:`FacebookError`
with a ``reason``; the authorization code, the app secret and the access token never reach
a log, an exception text or a URL (the token request carries them in its body, ``/me``
gets the token in the ``Authorization`` header).
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from idp.errors import IdpError

log = logging.getLogger(__name__)

SCOPE = "email public_profile"
USERINFO_FIELDS = "id,name,email"
DEFAULT_TIMEOUT = 5.0  # seconds, for connecting and for each read
MAX_ID_LENGTH = 64  # TelekomAccount.facebook_id

#: ``FacebookError.reason`` values.
NOT_CONFIGURED = "not_configured"
TOKEN = "token"  # the token endpoint refused the code or answered an HTTP error
USERINFO = "userinfo"  # /me refused the token or answered an HTTP error
INVALID_RESPONSE = "invalid_response"  # an answer that is not what Facebook sends
NETWORK = "network"  # unreachable, TLS failure or timeout


@dataclass(frozen=True)
class FacebookIdentity:
    """Who logged in on Facebook: the app-scoped user ``id`` and, when the user shares
    them, the name and the email address (Facebook leaves out an email the user has
    not confirmed, does not have, or declined to share)."""

    id: str
    name: str | None = None
    email: str | None = None


class FacebookError(IdpError):
    """The Facebook login could not be completed. ``reason`` says which part failed
    (one of the constants above); the text is for the log and holds no secret. The
    pages show their own, translated message."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason


class FacebookConnector:
    """The OAuth 2.0 client of the Facebook app (``IDP_FACEBOOK_*`` settings)."""

    def __init__(self, client_id, client_secret, authorize_url, token_url, userinfo_url,
                 timeout=DEFAULT_TIMEOUT):
        self.client_id = str(client_id) if client_id else None
        self._client_secret = str(client_secret) if client_secret else None
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.userinfo_url = userinfo_url
        self.timeout = timeout

    @classmethod
    def from_config(cls, config):
        return cls(config.get("FACEBOOK_CLIENT_ID"), config.get("FACEBOOK_CLIENT_SECRET"),
                   config["FACEBOOK_AUTHORIZE_URL"], config["FACEBOOK_TOKEN_URL"],
                   config["FACEBOOK_USERINFO_URL"])

    def __repr__(self):
        return f"<FacebookConnector client_id={self.client_id!r} configured={self.configured}>"

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self._client_secret)

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the browser: the login dialog, asking for the email address
        and the public profile; it comes back to ``redirect_uri`` with ``state``."""
        self._require_configuration()
        if not state:
            raise ValueError("authorization_url needs the state that binds the callback to this browser")
        with self._session() as session:
            url, _ = session.create_authorization_url(self.authorize_url, state=state,
                                                      redirect_uri=redirect_uri, response_type="code")
        return url

    def fetch_identity(self, code: str, redirect_uri: str) -> FacebookIdentity:
        """Exchange ``code`` (with the same ``redirect_uri`` as the dialog) for an access
        token and read who logged in from ``/me``."""
        self._require_configuration()
        with self._session() as session:
            access_token = self._exchange(session, code, redirect_uri)
            return _identity(self._me(session, access_token))

    # --- the two requests ------------------------------------------------------------
    def _session(self):
        session = OAuth2Session(self.client_id, self._client_secret, scope=SCOPE,
                                token_endpoint_auth_method="client_secret_post",
                                default_timeout=self.timeout)
        session.register_compliance_hook("access_token_response", _refuse_token_errors)
        return session

    def _exchange(self, session, code, redirect_uri):
        try:
            token = session.fetch_token(self.token_url, grant_type="authorization_code", code=code,
                                        redirect_uri=redirect_uri)
        except FacebookError as error:
            log.warning("Facebook token request failed: %s", error)
            raise
        except requests.RequestException as error:
            raise _network_error("token endpoint", error) from None
        except OAuthError as error:  # a 200 answer carrying an OAuth error
            raise _logged(TOKEN, f"Facebook token endpoint answered error {_error_code(error.error)}") from None
        except (ValueError, TypeError):  # not JSON, not an object, an unreadable expires_in
            raise _logged(INVALID_RESPONSE, "Facebook token endpoint answered no JSON object") from None
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise _logged(INVALID_RESPONSE, "Facebook token endpoint answered no access_token")
        return access_token

    def _me(self, session, access_token):
        # appsecret_proof: Graph API calls from a server prove they come from the app
        # (required when the app enables "Require App Secret").
        proof = hmac.new(self._client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
        try:
            response = session.get(self.userinfo_url, params={"fields": USERINFO_FIELDS, "appsecret_proof": proof},
                                   headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                                   withhold_token=True)
        except requests.RequestException as error:
            raise _network_error("/me", error) from None
        if response.status_code != 200:
            raise _logged(USERINFO, f"Facebook /me answered HTTP {response.status_code}{_graph_error(response)}")
        try:
            return response.json()
        except ValueError:
            raise _logged(INVALID_RESPONSE, "Facebook /me answered no JSON") from None

    def _require_configuration(self):
        if not self.configured:
            raise FacebookError(NOT_CONFIGURED, "Facebook login is not configured: set IDP_FACEBOOK_CLIENT_ID "
                                                "and IDP_FACEBOOK_CLIENT_SECRET.")


def _refuse_token_errors(response):
    """Authlib reads any JSON object as a token; Facebook answers a refused code with
    HTTP 400 and ``{"error": {...}}``, and anything but 200 is not a token."""
    if response.status_code != 200:
        raise FacebookError(TOKEN, f"Facebook token endpoint answered HTTP {response.status_code}"
                                   f"{_graph_error(response)}")
    return response


def _identity(data):
    if not isinstance(data, dict):
        raise _logged(INVALID_RESPONSE, "Facebook /me answered no JSON object")
    if "error" in data:
        raise _logged(USERINFO, f"Facebook /me answered error {_error_code(data['error'])}")
    user_id, name, email = data.get("id"), data.get("name"), data.get("email")
    if not isinstance(user_id, str) or not user_id or len(user_id) > MAX_ID_LENGTH:
        raise _logged(INVALID_RESPONSE, "Facebook /me answered no usable id")
    if not isinstance(name, str | None) or not isinstance(email, str | None):
        raise _logged(INVALID_RESPONSE, "Facebook /me answered a name or email that is not a string")
    return FacebookIdentity(id=user_id, name=name or None, email=email or None)


def _graph_error(response):
    """The type and code of a Graph API error body (``{"error": {"type", "code", ...}}``),
    for the log. Its free-text message is left out: nothing we sent is echoed."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f" ({_error_code(error)})" if error else ""


def _error_code(error):
    if isinstance(error, dict):
        parts = [f"{key}={error[key]}" for key in ("type", "code", "error_subcode", "fbtrace_id") if key in error]
        return " ".join(parts)[:200]
    return str(error)[:100]


def _network_error(what, error):
    # The exception's text may quote the request URL: only its class goes to the log.
    return _logged(NETWORK, f"Facebook {what} unreachable ({type(error).__name__})")


def _logged(reason, detail):
    log.warning("%s", detail)
    return FacebookError(reason, detail)
