"""Helpers for the meetings, scheduler and broadcast tests: a controllable clock, users,
invites, and a driver that fires due jobs of the persistent store at the fake time exactly as
APScheduler would (misfire grace included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot.bootstrap import App
from bot.scheduling import job_context
from common.clock import Clock
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage
from dialogues.core.permissions import operator
from dialogues.meetings import store
from scheduler.reminders import job_store

PP = ZoneInfo("Asia/Phnom_Penh")
KK = "120809"  # Kouk Khleang (Phnom Penh)
OB = "120808"  # another commune of the same district


class FakeClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment.astimezone(timezone.utc)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def pp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Phnom Penh wall-clock time, aware."""
    return datetime(year, month, day, hour, minute, tzinfo=PP)


def make_user(app: App, name: str, *, language: str = "en", channel: str = "console",
              commune: str | None = KK, subscribed: bool = False, role: str = "citizen",
              unreachable: bool = False) -> int:
    with app.db.session() as session:
        user = User(channel=channel, channel_user_id=name, language=language,
                    language_chosen=True, role=role, unreachable=unreachable,
                    commune_code=commune)
        session.add(user)
        session.flush()
        if subscribed and commune:
            store.subscribe(session, user, commune)
        return int(user.id)


def invite(app: App, *communes: str) -> str:
    with app.db.session() as session:
        return str(store.create_invite(session, communes, by="test").code)


def outbox(app: App, batch_prefix: str = "") -> list[OutboxMessage]:
    with app.db.session() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        return [r for r in rows if (r.batch or "").startswith(batch_prefix)]


def new_meeting(app: App, clock: FakeClock, starts: datetime, commune: str = KK,
                kind: str = "interface", place: str = "Commune hall") -> int:
    with app.db.session() as session:
        return int(store.create_meeting(session, kind=kind, commune=commune, place=place,
                                        starts_at=starts, agenda="Budget 2027", by=operator("test"),
                                        now=clock.now()).id)


class Driver:
    """A real APScheduler (paused, so it never fires on the real clock) over the real
    persistent job store; `run_until` fires what is due at the fake time, minute by minute,
    the way APScheduler's loop does, including its misfire rule."""

    def __init__(self, app: App, clock: FakeClock) -> None:
        self.ctx = job_context(app, clock=clock)
        self.scheduler = BackgroundScheduler(jobstores={"default": job_store(self.ctx)},
                                             timezone=timezone.utc)
        self.scheduler.start(paused=True)
        self.scheduler.remove_all_jobs()  # PostgreSQL keeps the job table between tests
        self.fired: list[tuple[str, datetime, Any]] = []

    def sync(self) -> tuple[int, int]:
        from scheduler.reminders import sync

        return sync(self.scheduler, self.ctx)

    def jobs(self) -> dict[str, datetime]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def fire_due(self) -> None:
        now = self.ctx.clock.now()
        for job in sorted(self.scheduler.get_jobs(), key=lambda j: j.next_run_time):
            if job.next_run_time > now:
                continue
            self.scheduler.remove_job(job.id)  # a date trigger fires once
            late = (now - job.next_run_time).total_seconds()
            if job.misfire_grace_time is not None and late > job.misfire_grace_time:
                self.fired.append((job.id, now, "misfired"))
                continue
            self.fired.append((job.id, now, job.func(self.ctx, *job.args, **job.kwargs)))

    def run_until(self, end: datetime) -> None:
        """Let fake time pass until `end`, stopping at each job's run time (and syncing the
        jobs with the meetings at each stop, as the service does every few seconds)."""
        clock = self.ctx.clock
        assert isinstance(clock, FakeClock)
        end = end.astimezone(timezone.utc)
        while True:
            self.sync()
            self.fire_due()
            upcoming = [t for t in self.jobs().values() if t > clock.now()]
            if clock.now() >= end:
                return
            clock.current = min([*upcoming, end]).astimezone(timezone.utc)

    def close(self) -> None:
        self.scheduler.shutdown(wait=False)
