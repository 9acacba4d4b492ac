"""A CAF asking how to use the CAF tools, typed in Khmer or English, gets the tools; anyone
else learns how a CAF joins, and is not subscribed to reminders by the question (it used to be
read as `subscribe_reminders`). The real model: the wording is what is under test."""

from __future__ import annotations

from sqlalchemy import select

from bot.bootstrap import App
from dialogues.meetings.models import MeetingSubscription
from tests.conftest import Chat
from tests.meetings_helpers import KK, invite


def _payloads(chat: Chat) -> list[str]:
    return [b.payload for r in chat.last for b in r.buttons]


def _subscriptions(app: App) -> int:
    with app.db.session() as session:
        return len(list(session.execute(select(MeetingSubscription)).scalars()))


def test_a_caf_asking_in_khmer_is_shown_the_tools(sqlite_app: App) -> None:
    caf = Chat(sqlite_app, user="caf1")
    caf.send(f"/caf {invite(sqlite_app, KK)}")
    caf.send("ខ្ញុំជា CAF ចង់រៀបចំប្រជុំ")
    assert "/meetings" in caf.text and "/broadcast" in caf.text
    assert "meet:new" in _payloads(caf) and "bc:new" in _payloads(caf)


def test_a_caf_asking_in_english_is_shown_the_tools(sqlite_app: App) -> None:
    caf = Chat(sqlite_app, user="caf2")
    caf.send(f"/caf {invite(sqlite_app, KK)}")
    caf.send("I am a CAF, how do I send a meeting reminder to my commune?")
    assert "CAF tools" in caf.text
    assert "meet:new" in _payloads(caf)
    assert _subscriptions(sqlite_app) == 0


def test_someone_without_an_invite_learns_how_a_caf_joins(sqlite_app: App) -> None:
    citizen = Chat(sqlite_app, user="c1")
    citizen.send("I am a CAF, how do I send a meeting reminder to my commune?")
    assert "/caf" in citizen.text and "invite code" in citizen.text
    assert "meet:new" not in _payloads(citizen)
    assert _subscriptions(sqlite_app) == 0
    khmer = Chat(sqlite_app, user="c2")
    khmer.send("ខ្ញុំជា CAF ចង់រៀបចំប្រជុំ")
    assert "កូដអញ្ជើញ" in khmer.text
