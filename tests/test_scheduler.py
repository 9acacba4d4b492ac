"""Reminders with a controlled clock (Asia/Phnom_Penh), on SQLite and PostgreSQL: the right
moments, at most once, edits reschedule, cancellations notify, downtime, stale and past
reminders, held Messenger reminders withdrawn at the start; the real APScheduler firing a job;
one scheduler per deployment on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.bootstrap import App, bootstrap
from bot.scheduling import scheduler_service
from bot.settings import Settings, SettingsError
from common.clock import SystemClock
from dialogues.core.outbox import OutboxMessage, release_held
from dialogues.core.permissions import operator
from dialogues.meetings import store
from dialogues.meetings.models import MeetingReminder
from dialogues.meetings.texts import MeetingTexts
from scheduler import jobs
from tests.conftest import make_settings
from tests.meetings_helpers import (
    OB,
    Driver,
    FakeClock,
    make_user,
    new_meeting,
    outbox,
    pp,
)

START = pp(2026, 12, 15, 14, 0)  # Tuesday 15 December 2026, 14:00 in Phnom Penh


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(pp(2026, 12, 1, 9, 0).astimezone(timezone.utc))


@pytest.fixture
def sapp(settings: Settings, nlu: Any, clock: FakeClock) -> Iterator[App]:
    application = bootstrap(settings, nlu=nlu, clock=clock)
    yield application
    application.close()


@pytest.fixture
def driver(sapp: App, clock: FakeClock) -> Iterator[Driver]:
    found = Driver(sapp, clock)
    yield found
    found.close()


def _people(app: App) -> dict[str, int]:
    return {
        "en": make_user(app, "sub-en", language="en", subscribed=True),
        "km": make_user(app, "sub-km", language="km", subscribed=True),
        "blocked": make_user(app, "sub-blocked", subscribed=True, unreachable=True),
        "other": make_user(app, "sub-other", commune=OB, subscribed=True),
        "not": make_user(app, "not-subscribed"),
    }


def _batches(app: App, prefix: str = "rem:") -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for row in outbox(app, prefix):
        found.setdefault(str(row.batch), set()).add(int(row.user_id))
    return found


def test_offsets_setting() -> None:
    assert Settings.from_env({"ISAFBOT_DATA_DIR": "/tmp/x", "ISAFBOT_SECRET_KEY": "k" * 16}
                             ).reminder_offsets == (1440, 120)
    env = {"ISAFBOT_DATA_DIR": "/tmp/x", "ISAFBOT_SECRET_KEY": "k" * 16,
           "ISAFBOT_REMINDER_OFFSETS": "30m, 1d"}
    assert Settings.from_env(env).reminder_offsets == (1440, 30)
    for bad in ("2x", "0h", "h", ","):
        with pytest.raises(SettingsError, match="ISAFBOT_REMINDER_OFFSETS"):
            Settings.from_env({**env, "ISAFBOT_REMINDER_OFFSETS": bad})


def test_reminders_fire_at_the_right_moments_in_phnom_penh(sapp: App, clock: FakeClock,
                                                           driver: Driver) -> None:
    people = _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    driver.sync()
    planned = driver.jobs()
    # stored in the database job table, in UTC: 14:00 the day before, 12:00 the same day
    assert planned[f"rem:{meeting_id}:1440"] == pp(2026, 12, 14, 14, 0)
    assert planned[f"rem:{meeting_id}:120"] == pp(2026, 12, 15, 12, 0)
    assert planned[f"start:{meeting_id}"] == START
    driver.run_until(pp(2026, 12, 14, 13, 59))
    assert outbox(sapp) == []
    driver.run_until(pp(2026, 12, 14, 14, 0))
    day_before = store.reminder_batch(meeting_id, 1440, START.astimezone(timezone.utc)
                                      .replace(tzinfo=None))
    assert _batches(sapp) == {day_before: {people["en"], people["km"]}}
    texts = {row.user_id: row.reply["text"] for row in outbox(sapp)}
    assert "Reminder: Interface meeting in Kouk Khleang" in texts[people["en"]]
    assert "Tuesday 15 December 2026, 14:00" in texts[people["en"]]
    assert "ការរំលឹក៖ កិច្ចប្រជុំរវាងប្រជាពលរដ្ឋ និងអ្នកផ្តល់សេវា នៅគោកឃ្លាង" in texts[people["km"]]
    assert "ថ្ងៃអង្គារ ទី១៥ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល" in texts[people["km"]]
    assert all(row.automated and row.status == "pending" for row in outbox(sapp))
    assert all(b.payload == "meet:unsub" for row in outbox(sapp)
               for b in [*map(lambda d: type("B", (), d), row.reply["buttons"])])
    driver.run_until(pp(2026, 12, 15, 11, 59))
    assert len(_batches(sapp)) == 1
    driver.run_until(pp(2026, 12, 16, 9, 0))
    batches = _batches(sapp)
    assert len(batches) == 2 and all(users == {people["en"], people["km"]}
                                     for users in batches.values())
    fired = [(job_id, at) for job_id, at, result in driver.fired if result not in (None,)]
    assert (f"rem:{meeting_id}:120", pp(2026, 12, 15, 12, 0)) in fired
    assert driver.jobs() == {}  # nothing left for a past meeting


def test_a_reminder_job_run_twice_enqueues_once(sapp: App, clock: FakeClock,
                                                driver: Driver) -> None:
    _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    clock.set(pp(2026, 12, 15, 12, 30))
    starts = START.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    assert jobs.remind(driver.ctx, meeting_id, 120, starts) == 2
    assert jobs.remind(driver.ctx, meeting_id, 120, starts) is None
    assert len(outbox(sapp)) == 2
    with sapp.db.session() as session:
        assert session.execute(select(MeetingReminder.recipients)).scalars().all() == [2]


def test_an_edit_reschedules_and_tells_those_already_reminded(sapp: App, clock: FakeClock,
                                                              driver: Driver) -> None:
    people = _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    driver.run_until(pp(2026, 12, 14, 15, 0))  # the day-before reminder went out
    with sapp.db.session() as session:
        session.execute(update(OutboxMessage).values(status="sent"))
    late = make_user(sapp, "late-subscriber", subscribed=True)
    moved = pp(2026, 12, 20, 10, 0)
    with sapp.db.session() as session:
        store.update_meeting(session, MeetingTexts(sapp.content, "Asia/Phnom_Penh"), meeting_id,
                             by=operator("test"), now=clock.now(), starts_at=moved,
                             place="Wat Kouk Khleang")
    changes = outbox(sapp, "change:")
    assert {r.user_id for r in changes} == {people["en"], people["km"]}  # not `late`
    assert "Sunday 20 December 2026, 10:00" in next(
        r.reply["text"] for r in changes if r.user_id == people["en"])
    driver.sync()
    assert driver.jobs()[f"rem:{meeting_id}:1440"] == pp(2026, 12, 19, 10, 0)
    assert driver.jobs()[f"rem:{meeting_id}:120"] == pp(2026, 12, 20, 8, 0)
    driver.run_until(pp(2026, 12, 19, 9, 59))
    assert len(_batches(sapp)) == 1  # nothing at the old times
    driver.run_until(pp(2026, 12, 20, 11, 0))
    new = [b for b in _batches(sapp) if b.startswith(f"rem:{meeting_id}:") and
           int(b.rsplit(":", 1)[1]) == int(moved.timestamp())]
    assert len(new) == 2
    assert all(_batches(sapp)[b] == {people["en"], people["km"], late} for b in new)


def test_a_cancellation_notifies_those_reminded_and_nothing_more_is_sent(
        sapp: App, clock: FakeClock, driver: Driver) -> None:
    people = _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    driver.run_until(pp(2026, 12, 14, 16, 0))
    with sapp.db.session() as session:  # one was delivered, one still waits in the outbox
        rows = outbox(sapp, "rem:")
        session.execute(update(OutboxMessage).where(OutboxMessage.id == rows[0].id)
                        .values(status="sent"))
    with sapp.db.session() as session:
        told = store.cancel_meeting(session, MeetingTexts(sapp.content, "Asia/Phnom_Penh"),
                                    meeting_id, by=operator("test"), now=clock.now())
    assert told == 1
    statuses = {r.user_id: r.status for r in outbox(sapp, "rem:")}
    assert sorted(statuses.values()) == ["sent", "withdrawn"]
    [notice] = outbox(sapp, "cancel:")
    assert notice.user_id == rows[0].user_id
    assert "cancelled" in notice.reply["text"] or "លុបចោល" in notice.reply["text"]
    driver.run_until(pp(2026, 12, 16, 0, 0))
    assert len(outbox(sapp, "rem:")) == 2 and driver.jobs() == {}
    assert people["not"] not in {r.user_id for r in outbox(sapp)}


def test_after_downtime_only_the_closest_useful_reminder_goes(sapp: App, clock: FakeClock,
                                                              driver: Driver) -> None:
    _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    driver.sync()
    clock.set(pp(2026, 12, 15, 13, 0))  # down from 1 December to one hour before the start
    driver.fire_due()
    results = {job_id: result for job_id, _, result in driver.fired}
    assert results[f"rem:{meeting_id}:1440"] is None  # stale: the 2-hour one covers it
    assert results[f"rem:{meeting_id}:120"] == 2
    assert len(_batches(sapp)) == 1


def test_a_meeting_that_started_during_downtime_is_never_reminded(
        sapp: App, clock: FakeClock, driver: Driver) -> None:
    _people(sapp)
    new_meeting(sapp, clock, START)
    driver.sync()
    clock.set(pp(2026, 12, 15, 14, 5))
    driver.fire_due()
    driver.sync()
    driver.fire_due()
    assert outbox(sapp) == []
    assert {result for _, _, result in driver.fired} <= {"misfired", None, 0}


def test_a_meeting_created_after_its_reminder_times_gets_the_closest_one(
        sapp: App, clock: FakeClock, driver: Driver) -> None:
    _people(sapp)
    clock.set(pp(2026, 12, 15, 9, 0))
    meeting_id = new_meeting(sapp, clock, START)  # 5 hours ahead: 1-day mark passed
    driver.sync()
    assert set(driver.jobs()) == {f"rem:{meeting_id}:1440", f"start:{meeting_id}",
                                  f"rem:{meeting_id}:120"}
    driver.run_until(pp(2026, 12, 15, 12, 30))
    assert [b.split(":")[2] for b in _batches(sapp)] == ["1440", "120"]


def test_held_messenger_reminders_are_withdrawn_when_the_meeting_starts(
        sapp: App, clock: FakeClock, driver: Driver) -> None:
    fb = make_user(sapp, "psid-1", channel="messenger", subscribed=True)
    meeting_id = new_meeting(sapp, clock, START)
    driver.run_until(pp(2026, 12, 15, 12, 5))
    with sapp.db.session() as session:  # the 24-hour window was closed: the policy held them
        session.execute(update(OutboxMessage).values(status="held"))
    driver.run_until(pp(2026, 12, 15, 14, 1))
    assert {r.status for r in outbox(sapp, f"rem:{meeting_id}:")} == {"withdrawn"}
    with sapp.db.session() as session:  # the user writes again after the meeting
        assert release_held(session, fb) == 0
    assert {r.status for r in outbox(sapp, f"rem:{meeting_id}:")} == {"withdrawn"}


# ------------------------------------------------------------------ the real scheduler

def test_the_real_scheduler_fires_a_due_reminder(tmp_path: Path, sqlite_url: str,
                                                 nlu: Any) -> None:
    """APScheduler itself, on the real clock: a meeting 90 minutes from now has its 2-hour
    reminder due at once; the service's sync plans it and the scheduler runs it."""
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=nlu, clock=SystemClock())
    try:
        subscriber = make_user(app, "real", subscribed=True)
        new_meeting(app, FakeClock(datetime.now(timezone.utc)),
                    datetime.now(timezone.utc) + timedelta(minutes=90))
        woken: list[int] = []

        async def run() -> list[OutboxMessage]:
            service = scheduler_service(app, wake=lambda: woken.append(1),
                                        every={"housekeeping": 0.5})
            await service.start()
            try:
                for _ in range(200):
                    rows = outbox(app, "rem:")
                    if rows:
                        return rows
                    await asyncio.sleep(0.1)
                return []
            finally:
                await service.stop()

        rows = asyncio.run(run())
        assert [r.user_id for r in rows] == [subscriber] and woken
        assert ":120:" in str(rows[0].batch)
    finally:
        app.close()


def test_one_scheduler_per_postgresql_deployment(tmp_path: Path, postgres_url: str,
                                                 nlu: Any) -> None:
    first_app = bootstrap(make_settings(tmp_path, postgres_url), nlu=nlu)
    second_app = bootstrap(make_settings(tmp_path, postgres_url), nlu=nlu)

    async def run() -> None:
        first = scheduler_service(first_app, retry_seconds=0.2, every={"housekeeping": 60})
        second = scheduler_service(second_app, retry_seconds=0.2, every={"housekeeping": 60})
        await first.start()
        await _until(lambda: first.leading)
        await second.start()
        for _ in range(5):  # the second keeps trying and keeps failing
            await asyncio.sleep(0.2)
            assert first.leading and not second.leading
        await first.stop()  # its connection closes: PostgreSQL releases the lock
        await _until(lambda: second.leading)
        assert not first.leading
        await second.stop()

    try:
        asyncio.run(run())
    finally:
        first_app.close()
        second_app.close()


async def _until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def test_a_new_place_replaces_a_reminder_still_waiting_in_the_outbox(
        sapp: App, clock: FakeClock, driver: Driver) -> None:
    people = _people(sapp)
    meeting_id = new_meeting(sapp, clock, START)
    driver.run_until(pp(2026, 12, 15, 12, 1))  # both reminders queued, none delivered yet
    with sapp.db.session() as session:
        store.update_meeting(session, MeetingTexts(sapp.content, "Asia/Phnom_Penh"), meeting_id,
                             by=operator("test"), now=clock.now(), place="Wat Kouk Khleang")
    assert {r.status for r in outbox(sapp, "rem:")} == {"withdrawn"}
    notices = {r.user_id: r.reply["text"] for r in outbox(sapp, "change:")}
    assert set(notices) == {people["en"], people["km"]}
    assert "Wat Kouk Khleang" in notices[people["en"]]
