"""Job functions of the persistent job store: module-level, referenced by import path, taking
plain ids (never pickled live objects).

A job finds what it needs (database, content, clock, the reminder settings, the retention
purge) in its first argument, the `JobContext` of the scheduler that runs it: bot.scheduling
builds the context from the app, and the scheduler's executor (scheduler.reminders.
ContextExecutor) hands it to every job it runs. The stored arguments stay plain ids, and no
process-wide registry is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from common.clock import Clock
from common.db import Database
from content.model import Content
from dialogues.meetings import store
from dialogues.meetings.texts import MeetingTexts

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class JobContext:
    """What the jobs use, injected by bot.scheduling (built from the app and its settings).
    `scheduler` is the scheduler running the job (housekeeping plans the reminder jobs on it);
    None outside one."""

    db: Database
    content: Content
    clock: Clock
    timezone: str  # where meeting times are shown (settings.timezone)
    reminder_offsets: tuple[int, ...]  # minutes before a meeting (settings.reminder_offsets)
    purge: Callable[[datetime], int]  # the retention purge at a time: rows deleted or cleared
    wake: Callable[[], None] = field(default=lambda: None)  # the dispatcher, after enqueuing
    scheduler: BaseScheduler | None = None


class ContextJob(Generic[P, R]):
    """A job function that takes its context first. APScheduler checks a job's stored
    arguments against the signature it sees, and stores the job by its module and name: this
    wrapper shows it `(*args)` under the function's own name, so the stored arguments stay
    the plain ids and the executor adds the context when the job runs."""

    def __init__(self, run: Callable[P, R]) -> None:
        self.run = run
        self.__name__ = self.__qualname__ = getattr(run, "__name__", "job")
        self.__module__ = run.__module__
        self.__doc__ = run.__doc__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.run(*args, **kwargs)


@dataclass(frozen=True)
class Periodic:
    """A job a feature runs every `every` seconds while the scheduler runs, and at its start:
    `run(ctx)`. `quiet`: its failures are logged once per outage, not at every run."""

    id: str
    run: Callable[[JobContext], Any]
    every: float
    quiet: bool = False


@ContextJob
def remind(ctx: JobContext, meeting_id: int, offset: int, starts_at: str) -> int | None:
    """The reminder `offset` minutes before the meeting that starts at `starts_at` (ISO, naive
    UTC): outbox rows for every subscriber, in one transaction, at most once."""
    with ctx.db.session() as session:
        count = store.send_reminder(
            session, MeetingTexts(ctx.content, ctx.timezone), meeting_id, offset,
            datetime.fromisoformat(starts_at), now=ctx.clock.now(),
            offsets=ctx.reminder_offsets)
    if count is not None:
        log.info("meeting %s: %s-minute reminder queued for %s people", meeting_id, offset,
                 count)
        ctx.wake()
    return count


@ContextJob
def meeting_started(ctx: JobContext, meeting_id: int) -> int:
    """At the start time: reminders not delivered yet (held by Messenger's window) are
    withdrawn."""
    with ctx.db.session() as session:
        return store.withdraw_started(session, ctx.clock.now())


def purge(ctx: JobContext) -> int:
    """The retention purge (bot.retention, injected as `purge`), every hour: what the settings
    say is no longer needed is deleted. Returns how many rows it deleted or cleared."""
    return ctx.purge(ctx.clock.now())
