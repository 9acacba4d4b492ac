"""Job functions of the persistent job store: module-level, referenced by import path, taking
plain ids (never pickled live objects).

A job finds what it needs (database, content, clock, the reminder settings, the retention
purge) through `context(name)`: bot.scheduling builds the context from the app and the
scheduler service registers it when it starts and removes it when it stops (the scheduler
never imports bot). This is
the one piece of process state the scheduler keeps, because APScheduler can only store plain
arguments in the database; the name is part of the job's arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from common.clock import Clock
from common.db import Database
from content.model import Content
from dialogues.meetings import store

log = logging.getLogger(__name__)

CONTEXT = "main"


@dataclass
class JobContext:
    """What the jobs use, injected by bot.scheduling (built from the app and its settings)."""

    db: Database
    content: Content
    clock: Clock
    timezone: str  # where meeting times are shown (settings.timezone)
    reminder_offsets: tuple[int, ...]  # minutes before a meeting (settings.reminder_offsets)
    purge: Callable[[datetime], int]  # the retention purge at a time: rows deleted or cleared
    wake: Callable[[], None] = field(default=lambda: None)  # the dispatcher, after enqueuing


_contexts: dict[str, JobContext] = {}


def register(ctx: JobContext, name: str = CONTEXT) -> None:
    _contexts[name] = ctx


def unregister(name: str = CONTEXT) -> None:
    _contexts.pop(name, None)


def context(name: str = CONTEXT) -> JobContext:
    found = _contexts.get(name)
    if found is None:
        raise RuntimeError(f"no scheduler context {name!r} is running in this process")
    return found


def remind(meeting_id: int, offset: int, starts_at: str, name: str = CONTEXT) -> int | None:
    """The reminder `offset` minutes before the meeting that starts at `starts_at` (ISO, naive
    UTC): outbox rows for every subscriber, in one transaction, at most once."""
    ctx = context(name)
    with ctx.db.session() as session:
        count = store.send_reminder(
            session, ctx.content, meeting_id, offset, datetime.fromisoformat(starts_at),
            now=ctx.clock.now(), tz=ctx.timezone, offsets=ctx.reminder_offsets)
    if count is not None:
        log.info("meeting %s: %s-minute reminder queued for %s people", meeting_id, offset,
                 count)
        ctx.wake()
    return count


def meeting_started(meeting_id: int, name: str = CONTEXT) -> int:
    """At the start time: reminders not delivered yet (held by Messenger's window) are
    withdrawn."""
    ctx = context(name)
    with ctx.db.session() as session:
        return store.withdraw_started(session, ctx.clock.now())


def purge(name: str = CONTEXT) -> int:
    """The retention purge (bot.retention, injected as `purge`), every hour: what the settings
    say is no longer needed is deleted. Returns how many rows it deleted or cleared."""
    ctx = context(name)
    return ctx.purge(ctx.clock.now())
