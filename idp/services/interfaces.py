"""The interfaces of the services: what the rest of the code may rely on."""

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Protocol

if TYPE_CHECKING:
    from idp.services.facebook import FacebookIdentity


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def timestamp(self) -> int:
        """The current time as whole seconds since the epoch."""


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> None:
        """Send ``body`` to the E.164 number ``to``; raise ``DeliveryError`` on failure."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None:
        """Send a plain-text email; raise ``DeliveryError`` on failure."""


class AuditLog(Protocol):
    def record(self, event: str, *, actor: str | None = None, subject: str | None = None,
               company_id: int | None = None, ip: str | None = None, **details) -> None:
        """Record one audit event in the current database transaction."""


class FacebookLogin(Protocol):
    """Facebook Login, the OAuth 2.0 code flow (``idp.services.facebook.FacebookConnector``)."""

    @property
    def configured(self) -> bool:
        """True when the Facebook app's id and secret are set; the journeys offer Facebook only then."""

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        """The login dialog URL; the browser comes back to ``redirect_uri`` with ``code`` and
        ``state``, or with ``error=access_denied`` when the user cancels."""

    def fetch_identity(self, code: str, redirect_uri: str) -> "FacebookIdentity":
        """Exchange the code for who logged in; raise ``FacebookError`` (with a ``reason``) on any
        failure. A user without a shared email address is not a failure: ``email`` is None."""
