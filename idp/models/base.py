"""Column types and helpers shared by every model."""

import secrets
from datetime import UTC

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python, naive UTC in the database (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def random_id(nbytes: int = 16) -> str:
    """An opaque, URL-safe identifier (128 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def new_subject() -> str:
    """A stable, opaque ``sub``: never a number, email or database key, never reused."""
    return secrets.token_urlsafe(18)
