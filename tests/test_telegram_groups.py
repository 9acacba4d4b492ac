"""Telegram groups (issue 12, point 8), with python-telegram-bot against the fake Bot API:
surveys and CAF tools never run where the group reads (a button opens the private chat,
`t.me/<bot>?start=svy_<facility>`), a reply goes to the forum topic the message came from, and
a group upgraded to a supergroup keeps what was queued for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from common.db.base import utcnow
from common.messages import Reply
from dialogues.core.models import CafCommune, User
from dialogues.core.outbox import OutboxMessage, enqueue
from dialogues.core.permissions import operator
from dialogues.scorecard.rounds import open_round
from tests import fake_telegram
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import USERNAME, LiveServer, buttons_of, live, tg, webhook_app  # noqa: F401 (its fixtures)

GROUP = -1_001_777_000_001
ALICE, BOB = 6_100_001, 6_100_002
PRIVATE_LINK = f"https://t.me/{USERNAME}?start="


def said(tg: FakeTelegram, text: str, user: int = ALICE, chat: int = GROUP,
         **extra: Any) -> dict[str, Any]:
    return tg.text_update(chat, text, user_id=user, language="en", **extra)


def pressed(tg: FakeTelegram, data: str, user: int = ALICE, chat: int = GROUP,
            **extra: Any) -> dict[str, Any]:
    return tg.callback_update(chat, data, user_id=user, language="en", **extra)


def links_of(sent: list[dict[str, Any]]) -> list[str]:
    return [b["url"] for record in sent
            for row in (record.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row if "url" in b]


def _open_round(live: LiveServer, facility: str = "hc_120809") -> None:
    with live.app.db.session() as session:
        open_round(session, live.app.content, facility, by=operator("test"))


def _rows(live: LiveServer) -> list[OutboxMessage]:
    with live.app.db.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
                    .scalars())


# ------------------------------------------------------------------ private flows

def test_a_survey_asked_for_in_a_group_continues_in_private(live: LiveServer,
                                                            tg: FakeTelegram) -> None:
    _open_round(live)
    live.deliver(said(tg, f"/start@{USERNAME} svy_hc_120809"), pressed(tg, "svy"),
                 pressed(tg, "svy:f:hc_120809", user=BOB))
    sent = tg.sent(GROUP)
    assert len(sent) == 3
    assert all("private chat" in (record.get("text") or "") for record in sent)
    assert links_of(sent) == [f"{PRIVATE_LINK}svy_hc_120809", f"{PRIVATE_LINK}svy",
                              f"{PRIVATE_LINK}svy_hc_120809"]
    assert not any("Rating" in (record.get("text") or "") for record in sent)
    # the link works: /start svy_hc_120809 in the private chat opens the rating there
    live.deliver(tg.text_update(ALICE, "/start svy_hc_120809", language="en"))
    assert "Rating Kouk Khleang Health Centre" in tg.texts(ALICE)[-1]


def test_a_survey_going_on_in_private_is_not_answered_in_the_group(
        live: LiveServer, tg: FakeTelegram) -> None:
    """The report: "your earlier answer" was posted to the group. A survey begun in private
    waits there; in the group the same person is answered as anyone else."""
    _open_round(live)
    live.deliver(tg.text_update(ALICE, "/start svy_hc_120809", language="en"))
    consent = next(p for _, p in buttons_of(tg.sent(ALICE)) if p.startswith("svy:yes:"))
    live.deliver(tg.callback_update(ALICE, consent, language="en"))
    question = tg.texts(ALICE)[-1]
    assert "Question 1/" in question
    live.deliver(said(tg, f"@{USERNAME} 4"), said(tg, f"@{USERNAME} how much is an ID card"))
    group = "\n".join(tg.texts(GROUP))
    assert "Question " not in group and "earlier answer" not in group
    assert not any(p.startswith("svy:") for _, p in buttons_of(tg.sent(GROUP)))
    assert "ID card: free" in group
    live.deliver(tg.text_update(ALICE, "4", language="en"))  # the private survey goes on
    assert "Question 2/" in tg.texts(ALICE)[-1]


def test_caf_tools_in_a_group_continue_in_private(live: LiveServer, tg: FakeTelegram) -> None:
    with live.app.db.session() as session:
        caf = User(channel="telegram", channel_user_id=str(ALICE), language="en",
                   language_chosen=True, role="caf", unreachable=False, commune_code="120809")
        session.add(caf)
        session.flush()
        session.add(CafCommune(user_id=caf.id, commune_code="120809"))
    live.deliver(said(tg, f"/rounds@{USERNAME}"), pressed(tg, "rnd:open:hc_120809"),
                 said(tg, f"/broadcast@{USERNAME}"), pressed(tg, "meet:list"),
                 said(tg, f"/caf@{USERNAME} ABCD2345"))
    assert links_of(tg.sent(GROUP)) == [f"{PRIVATE_LINK}rounds", f"{PRIVATE_LINK}rounds",
                                        f"{PRIVATE_LINK}meet", f"{PRIVATE_LINK}meet",
                                        f"{PRIVATE_LINK}caf"]
    with live.app.db.session() as session:
        assert session.execute(select(OutboxMessage).where(
            OutboxMessage.address == str(GROUP), OutboxMessage.reply["text"].as_string()
            .like("%Open:%"))).first() is None
    live.deliver(tg.text_update(ALICE, "/start rounds", language="en"))
    assert "rnd:open:hc_120809" in [p for _, p in buttons_of(tg.sent(ALICE))]


# ------------------------------------------------------------------ forum topics

def test_a_reply_goes_to_the_forum_topic_it_came_from(live: LiveServer,
                                                      tg: FakeTelegram) -> None:
    topic = tg.open_topic(GROUP, "Budget questions")
    live.deliver(said(tg, f"/help@{USERNAME}", topic=topic))
    (reply,) = tg.sent(GROUP)
    assert reply["message_thread_id"] == str(topic)  # not General
    live.deliver(pressed(tg, "lang", topic=topic))
    assert tg.sent(GROUP)[-1]["message_thread_id"] == str(topic)
    live.deliver(said(tg, f"/help@{USERNAME}"))  # written in General: answered there
    assert tg.sent(GROUP)[-1].get("message_thread_id") is None
    assert {r.address for r in _rows(live)} == {f"{GROUP}/{topic}", str(GROUP)}


def test_a_reply_thread_in_a_group_without_topics_is_not_a_topic(
        live: LiveServer, tg: FakeTelegram) -> None:
    """Telegram sets message_thread_id on replies in any supergroup; only is_topic_message
    makes it a topic (sending to a thread that is not one is refused)."""
    question = said(tg, f"@{USERNAME} how much is an ID card",
                    extra={"message_thread_id": 77, "reply_to_message": {
                        "message_id": 77, "date": 0, "chat": {"id": GROUP, "type": "supergroup"},
                        "from": {"id": BOB, "is_bot": False, "first_name": "Bob"},
                        "text": "anyone?"}})
    live.deliver(question)
    fee, rights = tg.sent(GROUP)  # the fee, then what to do if asked for more
    assert "ID card: free" in fee["text"] and rights["text"].startswith("🛡️")
    assert fee.get("message_thread_id") is None and rights.get("message_thread_id") is None


# ------------------------------------------------------------------ upgraded groups

def test_what_was_queued_for_a_group_follows_it_when_it_becomes_a_supergroup(
        live: LiveServer, tg: FakeTelegram) -> None:
    group = -4_200_001
    live.deliver(said(tg, f"/help@{USERNAME}", chat=group, chat_type="group"))
    with live.app.db.session() as session:  # a reply waiting for its retry at the upgrade
        alice = session.execute(select(User).where(
            User.channel_user_id == str(ALICE))).scalar_one()
        enqueue(session, user_id=alice.id, channel="telegram", address=str(group),
                replies=[Reply("The interface meeting is on Sunday.")],
                due_at=utcnow() + timedelta(hours=1))
    new_id, service = tg.migrate(group)
    live.deliver(*service)
    sent_first, moved = _rows(live)
    assert sent_first.address == str(group) and sent_first.status == "sent"
    assert moved.address == str(new_id) and moved.status == "pending"
    with live.app.db.session() as session:  # let its retry come now rather than in a minute
        session.execute(update(OutboxMessage).values(due_at=utcnow()))
    live.runtime.dispatcher.wake()
    live.wait_idle()
    assert tg.texts(new_id) == ["The interface meeting is on Sunday."]
    assert [r.status for r in _rows(live)] == ["sent", "sent"]
    assert "What can I help you with?" in tg.texts(group)[0]  # before the upgrade


def test_a_send_refused_because_the_group_moved_follows_it(live: LiveServer,
                                                           tg: FakeTelegram) -> None:
    """No migration message was seen (the bot was down, say): Telegram's refusal names the
    new id and the reply goes there, as do the next ones."""
    group = -4_200_002
    new_id, _ = tg.migrate(group)
    live.deliver(said(tg, f"/help@{USERNAME}", chat=group, chat_type="group"),
                 said(tg, f"/language@{USERNAME}", chat=group, chat_type="group"))
    assert len(tg.sent(new_id)) == 2 and tg.sent(group) == []
    assert all(r.status == "sent" for r in _rows(live))


def test_a_group_that_removed_the_bot_does_not_silence_its_members(
        live: LiveServer, tg: FakeTelegram) -> None:
    tg.fail(GROUP, fake_telegram.api_error(403, "Forbidden: bot was kicked from the "
                                                "supergroup chat"))
    live.deliver(said(tg, f"/help@{USERNAME}"))
    assert [r.status for r in _rows(live)] == ["unreachable"]
    live.deliver(tg.text_update(ALICE, "hello", language="en"))
    assert "Hello! I'm isaf-bot" in tg.texts(ALICE)[0]
    with live.app.db.session() as session:
        user = session.execute(select(User).where(
            User.channel_user_id == str(ALICE))).scalar_one()
        assert user.unreachable is False
