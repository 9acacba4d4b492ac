"""The scheduler's context built from the app: what its jobs need (database, content, clock,
the reminder settings, the retention purge, the dispatcher's wake-up), injected so that the
scheduler layer never imports bot; and the service that runs the feature records' periodic
jobs with it (`start`, one of the runtime's services in bot/server.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.bootstrap import App
from common.clock import Clock
from scheduler.jobs import JobContext, Periodic
from scheduler.service import SchedulerService

if TYPE_CHECKING:
    from bot.server import Runtime


def job_context(app: App, *, clock: Clock | None = None,
                wake: Callable[[], None] = lambda: None) -> JobContext:
    """The jobs' context for this app (`clock` replaces the app's, for tests)."""
    settings = app.settings

    def purge(now: datetime) -> int:
        from bot.retention import purge as apply_retention  # heavy: loaded when it runs

        return apply_retention(app.db, settings.retention, now, settings.data_dir).total

    return JobContext(db=app.db, content=app.content, clock=clock or app.clock,
                      timezone=settings.timezone, reminder_offsets=settings.reminder_offsets,
                      purge=purge, wake=wake)


def scheduler_service(app: App, *, jobs: Iterable[Periodic] | None = None,
                      wake: Callable[[], None] = lambda: None, **options: Any
                      ) -> SchedulerService:
    """The scheduler service of this app, running the periodic jobs of its feature records
    (or `jobs`); `options` are SchedulerService's (intervals by job id, supervisor)."""
    return SchedulerService(job_context(app, wake=wake),
                            app.features.jobs if jobs is None else jobs, **options)


async def start(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """A runtime service (bot.server): start in the leader, and return the stop coroutine
    function."""
    service = scheduler_service(runtime.app, wake=runtime.dispatcher.wake,
                                supervisor=runtime.supervisor)
    await service.start()
    return service.stop
