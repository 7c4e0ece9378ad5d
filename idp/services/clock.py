"""The one place time is read (STYLE.md): tests freeze and move it."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> int:
        return int(self.now().timestamp())


class FrozenClock(SystemClock):
    """A clock that stands still until moved; for tests."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or datetime.now(UTC)).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **kwargs) -> None:
        self._now += timedelta(seconds=seconds, **kwargs)
