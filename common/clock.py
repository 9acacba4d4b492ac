"""What time it is: real time in the app, a controllable clock in tests."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Anything that tells the time (aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Real time. Tests and the scheduler's tests pass a controllable one."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def local_time(stored: datetime, tz: str) -> datetime:
    """A naive UTC time from the database (every database stores them so) in the time zone
    `tz`: a round opened at 20:00 UTC was opened the next morning in Phnom Penh."""
    return stored.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))


def local_date(stored: datetime, tz: str) -> date:
    """The local day of a naive UTC time from the database."""
    return local_time(stored, tz).date()
