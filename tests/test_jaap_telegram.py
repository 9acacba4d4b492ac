"""The scorecard cycle end to end through Telegram (the real python-telegram-bot against the
fake Bot API, the project's web app in webhook mode, the scheduler service of `isafbot run` on
the real clock), on SQLite and PostgreSQL: a CAF opens the propose phase with buttons, a citizen
suggests, the custom question is asked in the Telegram survey, the round closes, the CAF
records and sends the plan, and the citizen receives the summary, the plan and later the
status change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from content.surveys.section import surveys_of
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.jaap.models import JaapAction, Proposal, ProposalCall
from dialogues.scorecard.jaap.store import round_indicators
from dialogues.scorecard.models import ScoringRound
from tests.fake_nlu import RecordedNlu
from tests.fake_telegram import FakeTelegram
from tests.meetings_helpers import KK, invite
from tests.test_meetings_telegram import _said, live, tg
from tests.test_telegram import LiveServer

HC = "hc_120809"
CAF, CITIZEN = 7_200_009, 7_200_001


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    """Nothing here goes to the NLU (commands, buttons, and texts the flows read)."""
    return recorded_nlu


__all__ = ["live", "tg"]  # the fixtures of tests/test_meetings_telegram.py


def _buttons(tg: FakeTelegram, chat: int) -> list[tuple[str, str]]:
    """(label, data) of the buttons under the last message with any."""
    for message in reversed(tg.sent(chat)):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows:
            return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]
    return []


def _press(live: LiveServer, tg: FakeTelegram, chat: int, data: str) -> None:
    live.deliver(tg.callback_update(chat, data, language="en"))


def _suggest(live: LiveServer, tg: FakeTelegram) -> int:
    live.deliver(tg.text_update(CAF, f"/start caf-{invite(live.app, KK)}", language="en"))
    _press(live, tg, CAF, "lang:en")
    live.deliver(tg.text_update(CAF, "/jaap", language="en"))
    _press(live, tg, CAF, f"jaap:co:{HC}")
    assert "Suggestions for Kouk Khleang Health Centre are open" in _said(tg, CAF)
    live.deliver(tg.text_update(CITIZEN, f"/start prop_{HC}", language="en"))
    if "What should people rate" not in _said(tg, CITIZEN):
        _press(live, tg, CITIZEN, "lang:en")
        live.deliver(tg.text_update(CITIZEN, f"/start prop_{HC}", language="en"))
    live.deliver(tg.text_update(CITIZEN, "Open on time in the morning", language="en"))
    assert "The CAFs will read it" in _said(tg, CITIZEN)
    with live.app.db.session() as session:
        call_id = int(session.execute(select(ProposalCall.id)).scalar_one())
        found = session.execute(select(Proposal)).scalar_one()
        assert found.text == "Open on time in the morning"
        proposals.add_custom_indicator(session, live.app.content, call_id,
                                       label_km="បើកទ្វារទាន់ម៉ោងពេលព្រឹក",
                                       label_en="Opens on time in the morning",
                                       proposal_id=found.id, by=operator("caf"))
    return call_id


def _rate_on_telegram(live: LiveServer, tg: FakeTelegram) -> None:
    live.deliver(tg.text_update(CITIZEN, f"/start svy_{HC}", language="en"))
    _press(live, tg, CITIZEN, "svy:yes:consent")
    for _ in range(11):
        faces = [data for _, data in _buttons(tg, CITIZEN) if data.startswith("svy:a:")]
        _press(live, tg, CITIZEN, faces[3])  # good
    assert "Opens on time in the morning" in _said(tg, CITIZEN)
    for data in ("svy:skip:comment", "svy:skip:profile", "svy:yes:notify"):
        _press(live, tg, CITIZEN, data)


def test_the_cycle_through_telegram(live: LiveServer, tg: FakeTelegram) -> None:
    _suggest(live, tg)
    _press(live, tg, CAF, f"rnd:open:{HC}")
    _rate_on_telegram(live, tg)
    with live.app.db.session() as session:
        round_id = int(session.execute(select(ScoringRound.id)).scalar_one())
        custom = next(i.id for i in round_indicators(session, surveys_of(live.app.content),
                                                     round_id) if i.id.startswith("custom"))
        for number in range(4):  # four more respondents
            response = store.start_response(session, round_id, f"other-{number}")
            for indicator in ("enough_staff", custom):
                store.save_rating(session, response, indicator, 4)
    _press(live, tg, CAF, f"rnd:close:{round_id}:yes")
    tg.wait_for(lambda: "Scorecard results for Kouk Khleang Health Centre" in
                _said(tg, CITIZEN), timeout=60)
    assert "Opens on time in the morning: Good (5 ratings)" in _said(tg, CITIZEN)

    for data in (f"jaap:r:{round_id}", f"jaap:add:{round_id}", f"jaap:ai:{round_id}:11"):
        _press(live, tg, CAF, data)
    live.deliver(tg.text_update(CAF, "The health centre opens at 7:30 every day",
                                language="en"))
    _press(live, tg, CAF, "frm:c:0")
    due = date.today() + timedelta(days=40)
    live.deliver(tg.text_update(CAF, due.strftime("%d/%m/%Y"), language="en"))
    _press(live, tg, CAF, "frm:yes")
    assert "Recorded: 🗓 The health centre opens at 7:30 every day" in _said(tg, CAF)
    _press(live, tg, CAF, f"jaap:share:{round_id}")
    tg.wait_for(lambda: "Joint Accountability Action Plan (JAAP) agreed" in
                _said(tg, CITIZEN), timeout=90)

    with live.app.db.session() as session:
        action_id = int(session.execute(select(JaapAction.id)).scalar_one())
    for data in (f"jaap:act:{action_id}", f"jaap:st:{action_id}:done"):
        _press(live, tg, CAF, data)
    live.deliver(tg.text_update(CAF, "Posted on the door", language="en"))
    _press(live, tg, CAF, "frm:yes")
    tg.wait_for(lambda: "News of the action plan" in _said(tg, CITIZEN), timeout=90)
    news = [t for t in tg.texts(CITIZEN) if "News of the action plan" in t]
    assert len(news) == 1 and "7:30 every day (service provider, by" in news[0]
    assert ": done" in news[0] and "Posted on the door" not in news[0]
