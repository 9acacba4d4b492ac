"""The whole scorecard cycle on the console, on SQLite and PostgreSQL: a CAF opens the propose
phase, citizens suggest (pseudonymous, flood-limited, moderated), the CAF merges duplicates and
adds a custom question, the round asks it and its results count it, the round closes, the CAF
records the discussion and the plan in the chat, citizens who asked get the summary, the plan
and later each status change through the outbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from content.surveys.section import surveys_of
from dialogues.core.permissions import operator
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.jaap import store as jaap_store
from dialogues.scorecard.jaap.models import JaapAction, Proposal, ProposalCall
from dialogues.scorecard.models import RoundSubscription
from dialogues.scorecard.results import round_results
from tests.fake_nlu import RecordedNlu
from tests.jaap_helpers import citizen, make_caf, queued, rate_all, run_announce, user_id
from tests.meetings_helpers import make_user

HC = "hc_120809"


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _call(app: App) -> ProposalCall:
    with app.db.session() as session:
        row = session.execute(select(ProposalCall)).scalar_one()
        session.expunge(row)
        return row


def _suggest(app: App, caf: Any) -> int:
    """The CAF opens the phase in chat; three citizens suggest; returns the call id."""
    caf.send("/jaap")
    assert "The scorecard cycle in Kouk Khleang" in caf.text
    assert f"jaap:co:{HC}" in caf.payloads
    caf.press(f"jaap:co:{HC}")
    assert "Suggestions for Kouk Khleang Health Centre are open" in caf.text
    assert f"prop_{HC}" in caf.text
    call_id = int(_call(app).id)
    first = citizen(app, "c1")
    first.send(f"/start prop_{HC}")
    assert "What should people rate about Kouk Khleang Health Centre?" in first.text
    assert "You can make 3 more" in first.text
    assert f"prop:i:{call_id}:1" in first.payloads  # the usual questions as buttons
    first.send("Opening on time in the morning")
    assert "Thank you! The CAFs will read it" in first.text and "2 more" in first.text
    second = citizen(app, "c2")
    second.send(f"/start prop_{HC}")
    second.send("the centre opens late in the mornings")
    third = citizen(app, "c3")
    third.send(f"/start prop_{HC}")
    third.press(f"prop:i:{call_id}:3")  # clean water, a usual question
    assert "Thank you" in third.text
    return call_id


def test_the_whole_cycle_on_the_console(app: App) -> None:
    caf = make_caf(app, "caf-sophea")
    call_id = _suggest(app, caf)
    subscriber = make_user(app, "sub-1", subscribed=True, language="km")

    # Nothing a citizen wrote is shown to others before a CAF approves it.
    fourth = citizen(app, "c4")
    fourth.send(f"/start prop_{HC}")
    assert not [p for p in fourth.payloads if p.startswith("prop:s:")]
    caf.press(f"jaap:cv:{call_id}")
    assert "Suggestions for Kouk Khleang Health Centre (3)" in caf.text
    assert "Opening on time in the morning (to review)" in caf.text

    # The CAF merges the duplicate, approves, adds the custom question (dashboard functions).
    with app.db.session() as session:
        texts = {p.text: p.id for p in session.execute(select(Proposal)).scalars() if p.text}
        first = texts["Opening on time in the morning"]
        proposals.merge(session, app.content, call_id, first,
                        [texts["the centre opens late in the mornings"]], by=operator("caf"))
        proposals.moderate(session, app.content, call_id, first, "approved", by=operator("caf"))
        tally = proposals.tally(session, call_id)
        assert (tally[0].proposal.id, tally[0].supporters) == (first, 2)
        custom = proposals.add_custom_indicator(
            session, app.content, call_id, label_km="បើកទ្វារទាន់ម៉ោងពេលព្រឹក",
            label_en="Opens on time in the morning", proposal_id=first, supporters=2,
            by=operator("caf"))
        custom_key = custom.key
    fourth.send(f"/start prop_{HC}")
    support = [p for p in fourth.payloads if p.startswith("prop:s:")]
    assert support == [f"prop:s:{call_id}:{first}"]
    fourth.press(support[0])
    assert "Thank you" in fourth.text

    # The round asks the standard and the custom question; results count it like the others.
    caf.send("/rounds")
    caf.press(f"rnd:open:{HC}")
    for number in range(1, 6):
        seen = rate_all(citizen(app, f"r{number}"), HC, 2 + number % 3)
        assert len(seen) == 11 and "Opens on time in the morning" in seen[-1]
        assert "Question 11/12" in seen[-1]
    with app.db.session() as session:
        round_id = int(_call_round(session))
        results = round_results(session, surveys_of(app.content), round_id)
        stats = {s.indicator: s for s in results.indicators}
        assert stats[custom_key].count == 5 and stats[custom_key].median == 3.0
        assert results.survey is not None
        assert results.survey.indicator(custom_key).text("km") == "បើកទ្វារទាន់ម៉ោងពេលព្រឹក"
        with pytest.raises(proposals.ProposalError):  # the round's questions are fixed now
            proposals.add_custom_indicator(session, app.content, call_id, label_km="ក",
                                           label_en="a", by=operator("caf"))

    # Close: the respondents who asked get the summary at once (with the custom question).
    close = next(p for p in (caf.send("/rounds") and caf.payloads) if p.startswith("rnd:close"))
    caf.press(close + ":yes")
    summaries = queued(app, "scorecard-summary")
    assert len(summaries) == 5 and "Opens on time in the morning" in summaries[0]["text"]
    run_announce(app)  # and the commune's subscribers, once, in Khmer
    summaries = queued(app, "scorecard-summary")
    in_khmer = next(s for s in summaries if s["user"] == subscriber)
    assert len(summaries) == 6 and "បើកទ្វារទាន់ម៉ោងពេលព្រឹក" in in_khmer["text"]

    _plan_in_chat(app, caf, round_id, custom_key)
    _news_follow(app, caf, round_id, subscriber)


def _call_round(session: Any) -> int:
    return int(session.execute(select(ProposalCall.round_id)).scalar_one())


def _plan_in_chat(app: App, caf: Any, round_id: int, custom_key: str) -> None:
    """Discussion and one action through the chat forms."""
    caf.send("/jaap")
    caf.press(f"jaap:r:{round_id}")
    assert "Joint Accountability Action Plan (JAAP) for Kouk Khleang Health Centre" in caf.text
    assert "No action recorded yet" in caf.text
    caf.press(f"jaap:d:{round_id}")
    caf.press(f"jaap:di:{round_id}:11")  # the custom question
    assert "Strengths" in caf.text
    caf.send("Staff are kind once they arrive")
    caf.send("Opens at 8:30 instead of 7:00")
    caf.send("Post the opening hours; a duty roster")
    assert "Opens on time in the morning" in caf.text
    caf.press("frm:yes")
    assert 'The discussion of "Opens on time in the morning" is recorded' in caf.text
    with app.db.session() as session:
        talk = jaap_store.discussion(session, round_id)[custom_key]
        assert talk.weaknesses == "Opens at 8:30 instead of 7:00"

    caf.press(f"jaap:add:{round_id}")
    caf.press(f"jaap:ai:{round_id}:11")
    caf.send("The health centre opens at 7:30 every day")
    caf.press("frm:c:0")  # the provider
    caf.send("01/01/2020")
    assert "already passed" in caf.text
    due = date.today() + timedelta(days=30)
    caf.send(due.strftime("%d/%m/%Y"))
    assert "Record this action?" in caf.text and "Responsible: service provider" in caf.text
    caf.press("frm:yes")
    assert "Recorded: 🗓 The health centre opens at 7:30 every day (service provider" in caf.text
    assert f"jaap:share:{round_id}" in caf.payloads
    caf.press(f"jaap:share:{round_id}")
    assert "goes out to the respondents" in caf.text


def _news_follow(app: App, caf: Any, round_id: int, subscriber: int) -> None:
    """The plan goes to respondents and subscribers once; then each status change, without
    the CAF's note; then the summary requests are forgotten once the plan is done."""
    run_announce(app)
    plans = queued(app, "jaap-plan")
    assert len(plans) == 6
    assert "The health centre opens at 7:30 every day" in plans[0]["text"]
    assert f"prop:stop:{round_id}" in plans[0]["buttons"]
    in_khmer = next(p for p in plans if p["user"] == subscriber)
    assert "ផែនការសកម្មភាពរួម" in in_khmer["text"] and "បានគ្រោងទុក" in in_khmer["text"]
    run_announce(app)
    assert len(queued(app, "jaap-plan")) == 6  # once

    with app.db.session() as session:
        action_id = int(session.execute(select(JaapAction.id)).scalar_one())
    caf.press(f"jaap:act:{action_id}")
    caf.press(f"jaap:st:{action_id}:done")
    caf.send("The director agreed; roster posted on the door")
    caf.press("frm:yes")
    assert "Updated: ✅ The health centre opens at 7:30 every day" in caf.text
    run_announce(app)
    news = queued(app, "jaap-status")
    english = next(n for n in news if n["user"] == user_id(app, "r1"))
    assert len(news) == 6 and "7:30 every day (service provider, by" in english["text"]
    assert english["text"].split("\n")[1].endswith(": done")
    assert all("roster" not in n["text"] for n in news)  # the note stays with the CAFs
    with app.db.session() as session:  # plan done and announced: the requests go
        assert session.execute(select(RoundSubscription)).first() is None
    assert user_id(app, "r1") in {n["user"] for n in news}
