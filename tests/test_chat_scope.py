"""Every CAF action of the chat, on a commune the actor was granted and on one they were not,
with the button payloads a forger would send (issue 12, point 3: a CAF granted commune 200401
named commune 200402 as "their" place and closed the round of hc_200402).

The table below lists each action once; every row runs for a CAF on their own commune, the
same CAF on a foreign commune (whose place they named, the exploit), an admin on a foreign
commune and a citizen living in the commune. What counts is the database afterwards (a round
opened or closed, a meeting changed, a broadcast queued) or what the reply revealed (the
number of respondents of a round, a meeting's details), never only the wording of a refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from common.messages import Incoming, Kind
from dialogues.core.models import CafCommune, Conversation, User
from dialogues.core.permissions import NotAllowed, chat_actor, operator
from dialogues.meetings import broadcasts
from dialogues.meetings import store as meetings
from dialogues.meetings.models import Broadcast, Meeting
from dialogues.meetings.texts import MeetingTexts
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.rounds import close_round, open_round
from tests.conftest import Chat

OWN = "200401"  # granted to the CAF (Ampil)
OWN_TOO = "200403"  # also granted: the forms then ask which commune
FOREIGN = "200402"  # not granted; the CAF names it as their place
FUTURE = datetime.now(timezone.utc) + timedelta(days=60)


# ------------------------------------------------------------------ the people

def _person(app: App, name: str, role: str, *, lives_in: str | None,
            granted: tuple[str, ...] = ()) -> Chat:
    with app.db.session() as session:
        user = User(channel="console", channel_user_id=name, language="en",
                    language_chosen=True, role=role, unreachable=False, commune_code=lives_in)
        session.add(user)
        session.flush()
        for code in granted:
            session.add(CafCommune(user_id=user.id, commune_code=code))
    return Chat(app, user=name)


def _caf_by_invite(app: App) -> Chat:
    """A CAF the way one becomes one (an invite), who then names the foreign commune as the
    place they live in (buttons `commune:<code>`, as anyone can press)."""
    caf = Chat(app, user="caf")
    with app.db.session() as session:
        code = meetings.create_invite(session, [OWN, OWN_TOO], by="test").code
    caf.press("lang:en")
    caf.send(f"/caf {code}")
    assert "Welcome! You are now" in caf.text, caf.text
    caf.press("commune:change")
    caf.press(f"commune:{FOREIGN}")
    return caf


def actor_chat(app: App, who: str) -> Chat:
    if who == "caf":
        return _caf_by_invite(app)
    if who == "admin":
        return _person(app, "admin", "admin", lives_in=OWN)
    return _person(app, "citizen", "citizen", lives_in=OWN)


# ------------------------------------------------------------------ objects to act on

def _round(app: App, facility: str, *, closed: bool = False) -> int:
    with app.db.session() as session:
        row = open_round(session, app.content, facility, by=operator("test"))
        round_id = int(row.id)
    if closed:
        with app.db.session() as session:
            close_round(session, app.content, round_id, by=operator("test"))
    return round_id


def _row(app: App, model: Any, row_id: int) -> Any:
    """A row as it is now in the database (detached, to read after the session)."""
    with app.db.session() as session:
        row = session.get(model, row_id)
        assert row is not None
        session.expunge(row)
        return row


def _round_row(app: App, round_id: int) -> ScoringRound:
    return _row(app, ScoringRound, round_id)


def _meeting(app: App, commune: str) -> int:
    with app.db.session() as session:
        return int(meetings.create_meeting(
            session, kind="interface", commune=commune, place="Commune hall",
            starts_at=FUTURE, agenda=None, by=operator("test"),
            now=datetime.now(timezone.utc)).id)


def _meeting_row(app: App, meeting_id: int) -> Meeting:
    return _row(app, Meeting, meeting_id)


def _flow(app: App, chat: Chat) -> dict[str, Any] | None:
    with app.db.session() as session:
        user = session.execute(select(User).where(
            User.channel_user_id == chat.user)).scalar_one()
        state = session.get(Conversation, user.id)
        return (state.state or {}).get("flow") if state else None


# ------------------------------------------------------------------ the table

@dataclass(frozen=True)
class Case:
    """One CAF action: `act` does it as the user would (or as a forger would, with payloads
    naming `commune`'s objects) and returns whether it took effect."""

    name: str
    act: Callable[[App, Chat, str], bool]


def open_a_round(app: App, chat: Chat, commune: str) -> bool:
    chat.press(f"rnd:open:hc_{commune}")
    with app.db.session() as session:
        return session.execute(select(ScoringRound).where(
            ScoringRound.facility_id == f"hc_{commune}")).first() is not None


def ask_to_close(app: App, chat: Chat, commune: str) -> bool:
    """The confirmation tells how many people answered: a figure of that round."""
    round_id = _round(app, f"hc_{commune}")
    chat.press(f"rnd:close:{round_id}")
    return "Close the scoring round" in chat.text


def close_a_round(app: App, chat: Chat, commune: str) -> bool:
    round_id = _round(app, f"hc_{commune}")
    chat.press(f"rnd:close:{round_id}:yes")
    return _round_row(app, round_id).closed_at is not None


def read_a_summary(app: App, chat: Chat, commune: str) -> bool:
    round_id = _round(app, f"hc_{commune}", closed=True)
    chat.press(f"rnd:results:{round_id}")
    return "Fewer than 5 people rated it" in chat.text


def list_rounds(app: App, chat: Chat, commune: str) -> bool:
    """`/rounds` offers buttons for a commune's facilities."""
    chat.send("/rounds")
    offered = [p for p in chat.payloads if p.startswith("rnd:")]
    return any(p.endswith(f"_{commune}") for p in offered)


def _press_on_a_meeting(press: str, offered: str, app: App, chat: Chat, commune: str) -> bool:
    """Press `press` for a meeting of the commune: was `offered` among the buttons?"""
    meeting_id = _meeting(app, commune)
    chat.press(press.format(id=meeting_id))
    return offered.format(id=meeting_id) in chat.payloads


def _edit_a_meeting(button: str, typed: str, field: str, app: App, chat: Chat,
                    commune: str) -> bool:
    """Change a meeting of the commune with its form: did `field` change?"""
    meeting_id = _meeting(app, commune)
    before = getattr(_meeting_row(app, meeting_id), field)
    chat.press(f"meet:{button}:{meeting_id}")
    chat.send(typed)
    chat.press("frm:yes")
    return bool(getattr(_meeting_row(app, meeting_id), field) != before)


show_a_meeting = partial(_press_on_a_meeting, "meet:show:{id}", "meet:cancel:{id}")
ask_to_cancel = partial(_press_on_a_meeting, "meet:cancel:{id}", "meet:cancel:{id}:yes")
move_a_meeting = partial(_edit_a_meeting, "time",
                         f"{(FUTURE + timedelta(days=3)):%d/%m/%Y} 09:00", "starts_at")
relocate_a_meeting = partial(_edit_a_meeting, "place", "Pagoda hall", "place")


def cancel_a_meeting(app: App, chat: Chat, commune: str) -> bool:
    meeting_id = _meeting(app, commune)
    chat.press(f"meet:cancel:{meeting_id}:yes")  # straight to the confirmation's payload
    return _meeting_row(app, meeting_id).status == "cancelled"


def _fill_a_form(steps: list[str], model: Any, app: App, chat: Chat, commune: str) -> bool:
    """Walk a form pressing (`frm:...`, `meet:new`, `bc:new`) or typing each step, the
    commune step naming `commune` as a forger would: does a `model` row exist there?"""
    for step in steps:
        step = step.format(commune=commune)
        if step.startswith(("frm:", "meet:", "bc:")):
            chat.press(step)
        else:
            chat.send(step)
    with app.db.session() as session:
        return session.execute(select(model).where(
            model.commune_code == commune)).first() is not None


create_a_meeting = partial(_fill_a_form, [
    "meet:new", "frm:c:0", "frm:m:{commune}", "Commune hall", f"{FUTURE:%d/%m/%Y} 14:00",
    "frm:skip", "frm:yes"], Meeting)
broadcast = partial(_fill_a_form, [
    "bc:new", "frm:m:{commune}", "Interface meeting on Sunday at the pagoda", "frm:yes"],
    Broadcast)


CASES = [Case("rounds: open", open_a_round), Case("rounds: ask to close", ask_to_close),
         Case("rounds: close", close_a_round), Case("rounds: summary", read_a_summary),
         Case("rounds: list", list_rounds), Case("meetings: show", show_a_meeting),
         Case("meetings: move", move_a_meeting), Case("meetings: relocate", relocate_a_meeting),
         Case("meetings: ask to cancel", ask_to_cancel),
         Case("meetings: cancel", cancel_a_meeting),
         Case("meetings: create", create_a_meeting), Case("broadcast", broadcast)]

# (who, which commune's objects, may they act)
ACTORS = [("caf", OWN, True), ("caf", FOREIGN, False), ("admin", FOREIGN, True),
          ("citizen", OWN, False)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize(("who", "commune", "allowed"), ACTORS,
                         ids=[f"{who}-{'own' if c == OWN else 'foreign'}"
                              for who, c, _ in ACTORS])
def test_every_caf_action_in_the_chat_is_scoped(app: App, case: Case, who: str, commune: str,
                                                allowed: bool) -> None:
    chat = actor_chat(app, who)
    if who == "admin":  # an admin's /rounds and forms offer the commune they name
        chat.press(f"commune:{commune}")
    acted = case.act(app, chat, commune)
    assert acted == allowed, f"{who} on {commune}: {case.name}\n{chat.text}"


# ------------------------------------------------------------------ the report's exploit

def test_naming_another_commune_does_not_make_a_caf_its_caf(app: App) -> None:
    """The exact steps of the report: granted 200401, the CAF presses `commune:200402` and then
    closes hc_200402's round: the round stays open and the CAF is told it is not theirs."""
    foreign_round = _round(app, f"hc_{FOREIGN}")
    caf = _caf_by_invite(app)
    caf.send("/rounds")
    assert f"rnd:open:hc_{FOREIGN}" not in caf.payloads
    assert f"rnd:open:hc_{OWN}" in caf.payloads
    caf.press(f"rnd:close:{foreign_round}:yes")
    assert _round_row(app, foreign_round).closed_at is None
    assert "could not be done" in caf.text


def test_a_role_revoked_between_two_messages_is_revoked(app: App) -> None:
    caf = _caf_by_invite(app)
    meeting_id = _meeting(app, OWN)
    caf.press(f"meet:cancel:{meeting_id}")
    assert f"meet:cancel:{meeting_id}:yes" in caf.payloads
    with app.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "caf")).scalar_one()
        meetings.revoke(session, by="test", now=datetime.now(timezone.utc), user_id=user.id)
    caf.press(f"meet:cancel:{meeting_id}:yes")
    assert _meeting_row(app, meeting_id).status == "scheduled"
    assert _flow(app, caf) is None


def test_the_store_refuses_whoever_calls_it(app: App) -> None:
    """The check is in the store functions too: a door that forgot it still cannot act."""
    _caf_by_invite(app)
    with app.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "caf")).scalar_one()
        actor, user_id = chat_actor(session, user), user.id
    assert actor.may_act_on(OWN) and actor.may_act_on(OWN_TOO)
    assert not actor.may_act_on(FOREIGN) and not actor.may_act_on(None)
    meeting_id = _meeting(app, FOREIGN)
    round_id = _round(app, f"hc_{FOREIGN}")
    notices = MeetingTexts(app.content, "Asia/Phnom_Penh")
    attempts: list[Callable[[Any], Any]] = [
        lambda s: open_round(s, app.content, f"co_{FOREIGN}", by=actor),
        lambda s: close_round(s, app.content, round_id, by=actor),
        lambda s: meetings.create_meeting(s, kind="other", commune=FOREIGN, place="x",
                                          starts_at=FUTURE, agenda=None, by=actor,
                                          now=datetime.now(timezone.utc)),
        lambda s: meetings.update_meeting(s, notices, meeting_id, by=actor,
                                          now=datetime.now(timezone.utc), place="elsewhere"),
        lambda s: meetings.cancel_meeting(s, notices, meeting_id, by=actor,
                                          now=datetime.now(timezone.utc)),
        lambda s: broadcasts.create_broadcast(s, notices, s.get(User, user_id), FOREIGN,
                                              "hello", now=datetime.now(timezone.utc)),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed), app.db.session() as session:
            attempt(session)
    assert _round_row(app, round_id).closed_at is None
    assert _meeting_row(app, meeting_id).status == "scheduled"


def test_a_button_for_nothing_is_answered(app: App) -> None:
    """Forged ids that name nothing (or not a number) get a reply, never an error."""
    _caf_by_invite(app)
    for payload in ("rnd:close:999999:yes", "rnd:results:x", "rnd:open:nowhere",
                    "meet:show:999999", "meet:cancel:abc:yes", "meet:time:", "bc:status:77",
                    "frm:m:999999", "frm:yes"):
        replies = asyncio.run(app.handle(Incoming("console", "caf", Kind.BUTTON,
                                                  payload=payload)))
        assert replies and all(r.text for r in replies), payload
