"""The interfaces of the services: what the rest of the code may rely on."""

from datetime import datetime
from typing import Protocol


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
