"""JAAP deadline reminders with a frozen clock (Asia/Phnom_Penh), on SQLite and PostgreSQL:
the persistent jobs follow the actions (plain ids as arguments), each reminder reaches the
commune's CAFs through the outbox at 8:00 seven days and one day before the date, at most
once, not for a done action, and the closest only after downtime; and the summary requests of
a round are forgotten once no longer needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from dialogues.core.models import CafCommune
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.jaap import plan
from dialogues.scorecard.models import RoundSubscription
from scheduler import jaap as jaap_job
from tests.dashboard_helpers import seed_round
from tests.jaap_helpers import queued, run_announce
from tests.meetings_helpers import Driver, FakeClock, make_user, pp
from tests.test_scheduler import driver

__all__ = ["driver"]  # the fixture of tests/test_scheduler.py, over this module's `sapp`

HC = "hc_120809"
DUE = date(2027, 1, 20)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(pp(2027, 1, 1, 9, 0).astimezone(timezone.utc))


@pytest.fixture
def sapp(settings: Settings, nlu: Any, clock: FakeClock) -> Iterator[App]:
    application = bootstrap(settings, nlu=object(), clock=clock)  # type: ignore[arg-type]
    yield application
    application.close()


def _action(app: App, clock: FakeClock, due: date = DUE) -> tuple[int, int]:
    round_id = seed_round(app, HC, [{"enough_staff": 2} for _ in range(5)],
                          [{} for _ in range(5)], [], close=True)
    with app.db.session() as session:
        row = plan.add_action(session, app.content, round_id, what="Repair the water tank",
                              responsible="commune_council", due=due, by=operator("t"),
                              today=clock.now().date())
        return round_id, int(row.id)


def _cafs(app: App) -> tuple[int, int]:
    here = make_user(app, "caf-here", role="caf", commune="120809")
    there = make_user(app, "caf-there", role="caf", commune="200401")
    with app.db.session() as session:
        session.add_all([CafCommune(user_id=here, commune_code="120809"),
                         CafCommune(user_id=there, commune_code="200401")])
    return here, there


def test_deadline_reminders_fire_through_the_outbox(sapp: App, driver: Driver,
                                                    clock: FakeClock) -> None:
    here, _ = _cafs(sapp)
    _, action_id = _action(sapp, clock)
    driver.sync()
    jobs = driver.jobs()
    assert jobs[f"jaap:{action_id}:7"] == pp(2027, 1, 13, 8, 0)
    assert jobs[f"jaap:{action_id}:1"] == pp(2027, 1, 19, 8, 0)
    driver.run_until(pp(2027, 1, 13, 7, 59))
    assert queued(sapp, "jaap-deadline") == []
    driver.run_until(pp(2027, 1, 13, 8, 1))
    sent = queued(sapp, "jaap-deadline")
    assert [s["user"] for s in sent] == [here]  # the commune's CAF only
    assert "7 day(s) left" in sent[0]["text"] and "Repair the water tank" in sent[0]["text"]
    assert f"jaap:act:{action_id}" in sent[0]["buttons"]
    driver.run_until(pp(2027, 1, 19, 9, 0))
    assert len(queued(sapp, "jaap-deadline")) == 2
    with sapp.db.session() as session:  # a second run of the same job sends nothing
        assert jaap_job.send_deadline(session, sapp.content, action_id, 1, DUE) is None
    driver.run_until(pp(2027, 1, 25, 9, 0))
    assert len(queued(sapp, "jaap-deadline")) == 2
    assert not [j for j in driver.jobs() if j.startswith("jaap:")]


def test_done_actions_are_not_reminded_and_downtime_sends_the_closest(
        sapp: App, driver: Driver, clock: FakeClock) -> None:
    _cafs(sapp)
    _, done_id = _action(sapp, clock)
    with sapp.db.session() as session:
        plan.set_status(session, sapp.content, done_id, "done", note=None, by=operator("t"))
    _, late_id = _action(sapp, clock, DUE + timedelta(days=1))
    clock.set(pp(2027, 1, 20, 10, 0))  # the scheduler was down for weeks
    driver.run_until(pp(2027, 1, 20, 10, 1))
    sent = queued(sapp, "jaap-deadline")
    assert len(sent) == 1 and sent[0]["text"].startswith("⏰ 1 day(s) left")
    assert not [j for j in driver.jobs() if j.startswith(f"jaap:{done_id}:")]
    assert late_id


def test_summary_requests_are_kept_until_the_plan_is_done(sapp: App, clock: FakeClock) -> None:
    round_id, action_id = _action(sapp, clock)
    person = make_user(sapp, "asked")
    with sapp.db.session() as session:
        session.add(RoundSubscription(round_id=round_id, user_id=person))
        plan.share_plan(session, sapp.content, round_id, by=operator("t"))
    run_announce(sapp, clock)
    assert len(queued(sapp, "jaap-plan")) == 1
    with sapp.db.session() as session:
        assert session.execute(select(RoundSubscription)).first() is not None
        plan.set_status(session, sapp.content, action_id, "done", note="ok", by=operator("t"))
    run_announce(sapp, clock)  # the change is announced, then the request is forgotten
    assert len(queued(sapp, "jaap-status")) == 1
    with sapp.db.session() as session:
        assert session.execute(select(RoundSubscription)).first() is None
        assert not store.is_subscribed(session, round_id, person)


def test_without_a_plan_requests_go_after_90_days(sapp: App, clock: FakeClock) -> None:
    round_id = seed_round(sapp, HC, [{"enough_staff": 2}], [{}], [], close=True)
    person = make_user(sapp, "asked")
    with sapp.db.session() as session:
        session.add(RoundSubscription(round_id=round_id, user_id=person))
    run_announce(sapp, clock)
    with sapp.db.session() as session:
        assert session.execute(select(RoundSubscription)).first() is not None
    clock.current = datetime.now(timezone.utc) + timedelta(days=91)
    run_announce(sapp, clock)
    with sapp.db.session() as session:
        assert session.execute(select(RoundSubscription)).first() is None


def test_a_new_note_without_a_new_status_is_not_announced(sapp: App, clock: FakeClock) -> None:
    round_id, action_id = _action(sapp, clock)
    make_user(sapp, "sub", subscribed=True)
    with sapp.db.session() as session:
        plan.share_plan(session, sapp.content, round_id, by=operator("t"))
    run_announce(sapp, clock)
    with sapp.db.session() as session:
        plan.set_status(session, sapp.content, action_id, "planned", note="waiting for funds",
                        by=operator("t"))
    run_announce(sapp, clock)
    assert queued(sapp, "jaap-status") == []
    with sapp.db.session() as session:
        plan.set_status(session, sapp.content, action_id, "in_progress", note=None,
                        by=operator("t"))
    run_announce(sapp, clock)
    assert len(queued(sapp, "jaap-status")) == 1
