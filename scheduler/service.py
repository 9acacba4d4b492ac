"""The scheduler as a background service of `isafbot run` (SERVICE_MODULES in bot/server.py).

Exactly one scheduler runs per deployment. On PostgreSQL each process tries to take a session
advisory lock on a dedicated connection; the one that holds it runs the scheduler, the others
try again every `retry_seconds` and take over when the holder dies (its connection closes, so
PostgreSQL releases the lock). The holder checks its connection at the same interval and stops
its scheduler if the connection (and so the lock) is lost. On SQLite (one machine, one
process) it just runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text

from bot.bootstrap import App
from scheduler import jobs
from scheduler.reminders import housekeeping, make_scheduler

log = logging.getLogger(__name__)

LOCK_KEY = 734_211_007  # the scheduler's advisory lock (bot.leader: 734_211_010, rounds ..006)


class SchedulerService:
    def __init__(self, app: App, *, wake: Callable[[], None] = lambda: None,
                 sync_seconds: float = 10.0, retry_seconds: float = 15.0) -> None:
        self.app = app
        self.ctx = jobs.JobContext(db=app.db, content=app.content, settings=app.settings,
                                   clock=app.clock, wake=wake)
        self.sync_seconds = sync_seconds
        self.retry_seconds = retry_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self._lock_connection: Any = None
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
                    if await asyncio.to_thread(self._try_lock):
                        self._run_scheduler()
                elif not await asyncio.to_thread(self._still_locked):
                    log.warning("scheduler lost its database connection: stepping down")
                    self._stop_scheduler()
                    await asyncio.to_thread(self._drop_lock_connection)
            except Exception:  # a database hiccup must not kill the service loop
                log.exception("scheduler leadership check failed")
                self._stop_scheduler()
                await asyncio.to_thread(self._drop_lock_connection)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry_seconds)

    def _try_lock(self) -> bool:
        if self._lock_connection is None:
            self._lock_connection = self.app.db.engine.connect()
        got = bool(self._lock_connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        self._lock_connection.commit()
        if not got:
            self._drop_lock_connection()
        return got

    def _still_locked(self) -> bool:
        try:
            self._lock_connection.execute(text("SELECT 1"))
            self._lock_connection.commit()
            return True
        except Exception:
            return False

    def _drop_lock_connection(self) -> None:
        """Really close it (not back to the pool, where it would keep the lock)."""
        if self._lock_connection is not None:
            with contextlib.suppress(Exception):
                self._lock_connection.invalidate()
            with contextlib.suppress(Exception):
                self._lock_connection.close()
            self._lock_connection = None

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        self._stop_scheduler()
        await asyncio.to_thread(self._drop_lock_connection)  # releases the advisory lock


async def start(runtime: Any) -> Callable[[], Awaitable[None]]:
    """SERVICE_MODULES entry point: start, and return the stop coroutine function."""
    service = SchedulerService(runtime.app, wake=runtime.dispatcher.wake)
    await service.start()
    return service.stop
