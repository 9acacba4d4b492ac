"""The scheduler's context built from the app: what its jobs need (database, content, clock,
the reminder settings, the retention purge, the dispatcher's wake-up), injected so that the
scheduler layer never imports bot. `start` is the SERVICE_MODULES entry point of bot/server.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.bootstrap import App
from common.clock import Clock
from scheduler.jobs import JobContext
from scheduler.service import SchedulerService


def job_context(app: App, *, clock: Clock | None = None,
                wake: Callable[[], None] = lambda: None) -> JobContext:
    """The jobs' context for this app (`clock` replaces the app's, for tests)."""
    settings = app.settings

    def purge(now: datetime) -> int:
        from bot.retention import purge as apply_retention  # heavy: loaded when it runs

        return apply_retention(app.db, settings.retention, now).total

    return JobContext(db=app.db, content=app.content, clock=clock or app.clock,
                      timezone=settings.timezone, reminder_offsets=settings.reminder_offsets,
                      purge=purge, wake=wake)


def scheduler_service(app: App, *, wake: Callable[[], None] = lambda: None,
                      **options: Any) -> SchedulerService:
    """The scheduler service of this app; `options` are SchedulerService's (intervals,
    supervisor)."""
    return SchedulerService(job_context(app, wake=wake), **options)


async def start(runtime: Any) -> Callable[[], Awaitable[None]]:
    """SERVICE_MODULES entry point: start, and return the stop coroutine function."""
    service = scheduler_service(runtime.app, wake=runtime.dispatcher.wake,
                                supervisor=runtime.supervisor)
    await service.start()
    return service.stop
