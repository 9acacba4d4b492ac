"""The scheduler as a background service of `isafbot run` (SERVICE_MODULES in bot/server.py).

Exactly one scheduler runs per deployment. `isafbot run` starts services only in the leader
process (bot.leader), and on PostgreSQL the scheduler also holds a lock of its own (the same
`Leadership`, with the scheduler's key), so separately started processes that were all told to
lead still run one scheduler: the others try again every `retry_seconds` and take over when
the holder dies (its connection closes, so PostgreSQL releases the lock). The holder checks its
connection at the same interval and stops its scheduler if the lock is lost. On SQLite (one
machine, one process) it just runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.bootstrap import App
from bot.leader import Leadership
from scheduler import jobs
from scheduler.reminders import housekeeping, make_scheduler

log = logging.getLogger(__name__)

LOCK_KEY = 734_211_007  # the scheduler's advisory lock (bot.leader: 734_211_010, rounds ..006)


class SchedulerService:
    def __init__(self, app: App, *, wake: Callable[[], None] = lambda: None,
                 sync_seconds: float = 10.0, retry_seconds: float = 15.0,
                 purge_seconds: float = 3600.0) -> None:
        self.app = app
        self.ctx = jobs.JobContext(db=app.db, content=app.content, settings=app.settings,
                                   clock=app.clock, wake=wake)
        self.sync_seconds = sync_seconds
        self.retry_seconds = retry_seconds
        self.purge_seconds = purge_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self._lock = Leadership(app.db, key=LOCK_KEY)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        if self.app.db.is_postgres:
            self._task = asyncio.create_task(self._lead_when_possible())
        else:
            self._run_scheduler()

    def _run_scheduler(self) -> None:
        jobs.register(self.ctx)
        scheduler = make_scheduler(self.ctx)
        scheduler.add_job(housekeeping, IntervalTrigger(seconds=self.sync_seconds),
                          args=(scheduler, self.ctx), id="housekeeping", jobstore="memory",
                          next_run_time=self.ctx.clock.now())
        # the retention purge (plain arguments, like every job): at start, then every hour
        scheduler.add_job(jobs.purge, IntervalTrigger(seconds=self.purge_seconds),
                          args=(jobs.CONTEXT,), id="purge", jobstore="memory",
                          next_run_time=self.ctx.clock.now())
        scheduler.start()
        self.scheduler = scheduler
        log.info("scheduler started")

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            jobs.unregister()
            log.info("scheduler stopped")

    async def _lead_when_possible(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.scheduler is None:
                    if await asyncio.to_thread(self._lock.try_acquire):
                        self._run_scheduler()
                elif not await asyncio.to_thread(self._lock.still_held):
                    log.warning("scheduler lost its database connection: stepping down")
                    self._stop_scheduler()
            except Exception:  # a database hiccup must not kill the service loop
                log.exception("scheduler leadership check failed")
                self._stop_scheduler()
                await asyncio.to_thread(self._lock.release)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        self._stop_scheduler()
        await asyncio.to_thread(self._lock.release)


async def start(runtime: Any) -> Callable[[], Awaitable[None]]:
    """SERVICE_MODULES entry point: start, and return the stop coroutine function."""
    service = SchedulerService(runtime.app, wake=runtime.dispatcher.wake)
    await service.start()
    return service.stop
