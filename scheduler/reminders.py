"""The reminder scheduler: APScheduler 3.9 with its jobs in the app's database.

The meetings table is the truth; `sync` makes the persistent jobs match it (a job per meeting
and offset, plus one at the start time; and a job per JAAP action deadline reminder,
scheduler/jaap.py), so a meeting created, moved or cancelled by any
process (chat worker, CLI) is picked up by the one running scheduler within the housekeeping
interval (10 s).

Timing (docs/meetings.md): the reminder `offset` before a meeting fires at start - offset. A
reminder is useful until the meeting starts: after downtime the job still runs (its misfire
grace lasts until the start), unless a reminder closer to the start is due too (then only the
closest goes out), and never once the meeting has started.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import create_engine, select

from dialogues.meetings import broadcasts, store
from dialogues.meetings.models import Meeting, MeetingReminder
from dialogues.meetings.texts import MeetingTexts
from scheduler import jaap, jobs

log = logging.getLogger(__name__)


class _WithContext:
    """A job as APScheduler's `run_job` sees it, with the context as its first argument."""

    def __init__(self, job: Job, ctx: jobs.JobContext) -> None:
        self._job = job
        self.args = (ctx, *job.args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class ContextExecutor(ThreadPoolExecutor):
    """Runs every job with the scheduler's `JobContext` first: stored jobs keep plain ids as
    their arguments, and their context comes from the service that runs them, never from a
    registry."""

    def __init__(self, ctx: jobs.JobContext, max_workers: int = 10) -> None:
        super().__init__(max_workers)
        self.ctx = ctx

    def start(self, scheduler: BaseScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        self.ctx = replace(self.ctx, scheduler=scheduler)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        super()._do_submit_job(_WithContext(job, self.ctx), run_times)

JOB_TABLE = "apscheduler_jobs"
REMIND = "scheduler.jobs:remind"
STARTED = "scheduler.jobs:meeting_started"


def job_store(ctx: jobs.JobContext) -> SQLAlchemyJobStore:
    """APScheduler's store on the app's database URL, in its own table. APScheduler 3.9 uses
    SQLAlchemy's 1.x engine API, so it gets its own (small) engine rather than the app's
    2.0-style one, with the same timeouts; on SQLite it waits for the write lock like the app
    does."""
    url = ctx.db.url
    options = ctx.db.timeouts.engine_options(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **options)
    else:
        engine = create_engine(url, pool_size=2, max_overflow=2, **options)
    return SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)


def make_scheduler(ctx: jobs.JobContext) -> BackgroundScheduler:
    """APScheduler in its own thread: it reads its job store there, never on the event loop;
    jobs run in its thread pool, each given `ctx` (with this scheduler) first."""
    return BackgroundScheduler(
        jobstores={"default": job_store(ctx), "memory": MemoryJobStore()},
        executors={"default": ContextExecutor(ctx)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone.utc)


def wanted_jobs(ctx: jobs.JobContext, now: datetime) -> dict[str, dict[str, Any]]:
    """The jobs the meetings call for at `now` (aware): id -> add_job arguments."""
    offsets = ctx.reminder_offsets
    wanted: dict[str, dict[str, Any]] = {}
    current = store.naive_utc(now)
    with ctx.db.session() as session:
        # every meeting whose start has not been handled yet (cancelled ones too: their start
        # job withdraws what is left of their reminders)
        meetings = list(session.execute(select(Meeting).where(
            Meeting.withdrawn_at.is_(None))).scalars())
        done = set(session.execute(select(
            MeetingReminder.meeting_id, MeetingReminder.offset_minutes,
            MeetingReminder.starts_at).where(
            MeetingReminder.meeting_id.in_([m.id for m in meetings]))).all())
    for meeting in meetings:
        starts = meeting.starts_at
        start_aware = starts.replace(tzinfo=timezone.utc)
        wanted[f"start:{meeting.id}"] = {
            "func": STARTED, "args": (meeting.id,),
            "run_date": max(starts, current).replace(tzinfo=timezone.utc),
            "misfire_grace_time": 7 * 24 * 3600}
        if meeting.status != "scheduled" or starts <= current:
            continue
        for offset in offsets:
            if (meeting.id, offset, starts) in done:
                continue
            run_at = starts - timedelta(minutes=offset)
            if run_at <= current and not store.reminder_due(starts, offset, offsets, now):
                continue  # stale: a closer reminder is due, or was sent
            run = max(run_at, current).replace(tzinfo=timezone.utc)
            wanted[f"rem:{meeting.id}:{offset}"] = {
                "func": REMIND, "args": (meeting.id, offset, starts.isoformat()),
                "run_date": run,
                # useful until the meeting starts: a late run (after downtime) still goes
                "misfire_grace_time": max(1, int((start_aware - run).total_seconds())),
            }
    return wanted


def sync(scheduler: BaseScheduler, ctx: jobs.JobContext) -> tuple[int, int]:
    """Make the persistent jobs match the meetings; returns (added or moved, removed)."""
    now = ctx.clock.now()
    wanted = wanted_jobs(ctx, now)
    wanted.update(jaap.wanted_jobs(ctx, now))  # the JAAP's deadline reminders to CAFs
    have = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    changed = removed = 0
    for job_id in have:
        if job_id not in wanted:
            scheduler.remove_job(job_id, jobstore="default")
            removed += 1
    for job_id, spec in wanted.items():
        existing = have.get(job_id)
        if existing is not None and tuple(existing.args) == tuple(spec["args"]):
            continue  # same meeting time: keep the stored job as it is
        scheduler.add_job(spec["func"], trigger=DateTrigger(run_date=spec["run_date"]),
                          args=spec["args"], id=job_id, jobstore="default",
                          misfire_grace_time=spec["misfire_grace_time"],
                          replace_existing=True)
        changed += 1
    if changed or removed:
        log.info("scheduler: %s job(s) added or moved, %s removed", changed, removed)
    return changed, removed


def housekeeping(ctx: jobs.JobContext) -> None:
    """Every few seconds (the meetings record's periodic job): jobs follow the meetings,
    finished broadcasts are reported to their CAF, reminders of started meetings are
    withdrawn."""
    if ctx.scheduler is not None:
        sync(ctx.scheduler, ctx)
    with ctx.db.session() as session:
        now = ctx.clock.now()
        reported = broadcasts.report_finished(session, MeetingTexts(ctx.content, ctx.timezone),
                                              now=now)
        store.withdraw_started(session, now)
    if reported:
        ctx.wake()
