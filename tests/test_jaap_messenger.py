"""Closing the loop through Messenger (the fake Graph API, the project's web app), on SQLite and
PostgreSQL: the plan sent to a respondent whose 24-hour window has closed is held, then goes
out (as an UPDATE) with the reply to the next thing they write; someone inside the window gets
it at once. Nothing sent breaks Meta's rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from common.db.base import utcnow
from dialogues.core.models import User
from dialogues.core.outbox import batch_report
from dialogues.core.permissions import operator
from dialogues.scorecard.jaap import plan
from dialogues.scorecard.models import RoundSubscription
from scheduler.jaap import PLAN_BATCH
from tests.dashboard_helpers import seed_round
from tests.fake_graph import FakeGraph
from tests.fake_nlu import RecordedNlu
from tests.jaap_helpers import run_announce
from tests.test_messenger import graph, live, messenger_app, shown_text, text_event
from tests.test_telegram import LiveServer

__all__ = ["graph", "live", "messenger_app"]  # the fixtures of tests/test_messenger.py


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def test_the_plan_waits_for_the_window(live: LiveServer, graph: FakeGraph) -> None:
    graph.enforce_window = True
    away, here = "7000000000000101", "7000000000000102"
    for psid in (away, here):
        graph.user_wrote(psid)
        live.deliver(text_event(psid, "hello"))
    graph.user_wrote(away, datetime.now(timezone.utc) - timedelta(hours=25))
    app = live.app
    round_id = seed_round(app, "hc_120809", [{"enough_staff": 4} for _ in range(5)],
                          [{} for _ in range(5)], [], close=True)
    with app.db.session() as session:
        session.execute(update(User).where(User.channel_user_id == away).values(
            last_inbound_at=utcnow() - timedelta(hours=25)))
        for psid in (away, here):
            user = session.execute(select(User).where(User.channel_user_id == psid)
                                   ).scalar_one()
            session.add(RoundSubscription(round_id=round_id, user_id=user.id))
        plan.add_action(session, app.content, round_id, what="Two nurses on night duty",
                        responsible="provider", due=date.today() + timedelta(days=30),
                        by=operator("caf"), today=date.today())
        plan.share_plan(session, app.content, round_id, by=operator("caf"))
    run_announce(app)
    live.wait_idle()
    batch = PLAN_BATCH.format(round_id=round_id)
    with app.db.session() as session:
        assert batch_report(session, batch) == {"held": 1, "sent": 1}
    assert "Two nurses on night duty" in shown_text(graph.sent(here))
    before = len(graph.sent(away))
    graph.user_wrote(away)
    live.deliver(text_event(away, "hello"))
    after = graph.sent(away)[before:]  # the held summary and plan, then the reply
    assert [m["messaging_type"] for m in after][:2] == ["UPDATE", "UPDATE"]
    assert "Scorecard results" in shown_text([after[0]])
    assert "Two nurses on night duty" in shown_text([after[1]])
    with app.db.session() as session:
        assert batch_report(session, batch) == {"sent": 2}
    assert graph.window_violations == []
