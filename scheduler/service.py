"""The scheduler as a background service of `isafbot run`: bot.scheduling builds it from the
feature records' periodic jobs and the jobs' context, and bot.server starts it in the leader.

Exactly one scheduler runs per deployment. `isafbot run` starts services only in the leader
process (common.leader), and on PostgreSQL the scheduler also holds a lock of its own (the same
`Leadership`, with the scheduler's key), so separately started processes that were all told to
lead still run one scheduler: the others try again every `retry_seconds` and take over when
the holder dies (its connection closes, so PostgreSQL releases the lock). The holder checks its
connection at the same interval and stops its scheduler if the lock is lost. On SQLite (one
machine, one process) it just runs.

The service's loop is supervised (common.supervise): a database outage makes it step down, retry
with backoff (logged once per outage) and take the lock again when the database is back; if
APScheduler's own thread ever stopped, the loop starts a new scheduler. APScheduler runs in a
thread of its own (BackgroundScheduler): its job store queries never block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from common.leader import Leadership
from common.supervise import Backoff, Burst, LoopState, Supervisor, sleep_unless
from scheduler.jobs import ContextJob, JobContext, Periodic
from scheduler.reminders import make_scheduler

log = logging.getLogger(__name__)

LOCK_KEY = 734_211_007  # the scheduler's advisory lock (common.leader: 734_211_010, rounds ..006)
LOOP = "scheduler"


class SchedulerService:
    """`ctx`: what every job is run with (bot builds it from the app); `jobs`: the periodic
    jobs of the feature records; `every`: intervals that replace theirs, by job id (tests)."""

    def __init__(self, ctx: JobContext, jobs: Iterable[Periodic] = (), *,
                 every: Mapping[str, float] | None = None, retry_seconds: float = 15.0,
                 supervisor: Supervisor | None = None) -> None:
        self.ctx = ctx
        self.jobs = tuple(jobs)
        self.every = dict(every or {})
        self.retry_seconds = retry_seconds
        self.scheduler: BackgroundScheduler | None = None
        self._lock = Leadership(ctx.db, key=LOCK_KEY)
        self._supervisor = supervisor or Supervisor(backoff=Backoff(cap=retry_seconds))
        self._stopping = asyncio.Event()
        self._bursts = {job.id: Burst(f"scheduler {job.id}", log) for job in self.jobs}

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._supervisor.spawn(LOOP, self._lead_when_possible)

    def _run_scheduler(self) -> None:
        scheduler = make_scheduler(self.ctx)
        for job in self.jobs:  # plain callables, in memory: at start, then every `every` s
            scheduler.add_job(self._runner(job), IntervalTrigger(
                seconds=self.every.get(job.id, job.every)), id=job.id, jobstore="memory",
                next_run_time=self.ctx.clock.now())
        scheduler.start()  # creates its job table: a database call, so in a thread
        self.scheduler = scheduler
        log.info("scheduler started")

    def _runner(self, job: Periodic) -> ContextJob[[JobContext], object]:
        """The job's function (its context comes from the executor, like every job's); a quiet
        one has its failures logged once per outage."""
        if not job.quiet:
            return ContextJob(job.run)
        burst = self._bursts[job.id]

        def run(ctx: JobContext) -> None:
            try:
                job.run(ctx)
            except Exception as error:
                burst.failed(error)
            else:
                burst.ok()

        return ContextJob(run)

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            log.info("scheduler stopped")

    def _still_leading(self) -> bool:
        if self.scheduler is None or not self.scheduler.running:
            return False  # APScheduler's thread ended: start a new one
        return not self.ctx.db.is_postgres or self._lock.still_held()

    async def _lead_when_possible(self, state: LoopState) -> None:
        while not self._stopping.is_set():
            try:
                if self.scheduler is None:
                    if not self.ctx.db.is_postgres or \
                            await asyncio.to_thread(self._lock.try_acquire):
                        await asyncio.to_thread(self._run_scheduler)
                elif not await asyncio.to_thread(self._still_leading):
                    log.warning("scheduler lost its lock or its thread: stepping down")
                    await asyncio.to_thread(self._stop_scheduler)
                    continue  # try to lead again at once
            except Exception:  # step down cleanly; the supervisor retries with backoff
                await asyncio.to_thread(self._stop_scheduler)
                await asyncio.to_thread(self._lock.release)
                raise
            state.ok()
            await sleep_unless(self._stopping, self.retry_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        await self._supervisor.retire(LOOP)
        await asyncio.to_thread(self._stop_scheduler)
        await asyncio.to_thread(self._lock.release)
