"""What time it is: real time in the app, a controllable clock in tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time (aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """Real time. Tests and the scheduler's tests pass a controllable one."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)
