"""Store only what is needed, for as long as needed (issue 12), on SQLite and PostgreSQL:

- what a channel stores of an update is what its handler reads, and the handler answers it
  exactly as it answers the whole update;
- a handled update keeps no payload or chat key, a final outbox row no message (held and
  pending ones keep theirs until they go);
- the retention settings, the purge (its job in the scheduler, `isafbot db purge`), and the
  migration that clears what older versions kept.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.channels.messenger import inbound as messenger
from bot.channels.telegram import inbound as telegram
from bot.dashboard.models import DashboardAccount, DashboardLoginLimit, DashboardSession
from bot.db import Database
from bot.delivery import Dispatcher, Recipient, Rejected, Unreachable
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import Claimed, Inbox
from bot.retention import Purged, purge
from bot.scheduling import scheduler_service
from bot.settings import Retention, Settings, SettingsError
from common.clock import SystemClock
from common.db.base import utcnow
from common.messages import Button, Reply
from dialogues.core.models import CafCommune, Conversation, MessageLog, User
from dialogues.core.outbox import OutboxMessage, enqueue
from dialogues.meetings.models import MeetingSubscription
from tests.conftest import make_settings, scratch_database
from tests.fake_telegram import FakeTelegram

ME = telegram.Me(123456789, "isaf_test_bot")
NAMES = {"first_name": "Chanthavy", "last_name": "Sopheakdey", "username": "chanthavy_sk"}


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


# ------------------------------------------------------------------ what channels store

def _telegram_updates() -> list[dict[str, Any]]:
    """Updates of every shape the bot answers, with everything Telegram puts in them."""
    with FakeTelegram("123456789:TEST-token-abcdefghijklmnopqrstu") as tg:
        keyboard = {"inline_keyboard": [[{"text": "🙂 Good", "callback_data": "svy:a:q1:x"}]]}
        pressed = tg.callback_update(77, "svy:a:q1:x", **NAMES)
        pressed["callback_query"]["message"].update(text="How clean?", reply_markup=keyboard)
        in_group = tg.callback_update(-100500, "menu", user_id=77, **NAMES)
        mention = tg.text_update(-100500, "hey", user_id=77, **NAMES, extra={"entities": [
            {"type": "text_mention", "offset": 0, "length": 3,
             "user": {"id": ME.id, "is_bot": True, "first_name": "isaf-bot"}}]})
        reply_to_bot = tg.text_update(-100500, "what about fees?", user_id=77, **NAMES,
                                      extra={"reply_to_message": {
                                          "message_id": 5, "text": "Menu", "date": 1,
                                          "chat": {"id": -100500, "type": "supergroup"},
                                          "from": {"id": ME.id, "is_bot": True,
                                                   "first_name": "isaf-bot"}}})
        joined = {"update_id": tg.next_update_id(), "my_chat_member": {
            "chat": {"id": -100500, "type": "group", "title": "Commune council"},
            "from": {"id": 77, "is_bot": False, "language_code": "en", **NAMES},
            "date": 1, "old_chat_member": {"status": "left", "user": {"id": ME.id}},
            "new_chat_member": {"status": "member", "user": {"id": ME.id}}}}
        return [
            tg.text_update(77, "how much is a birth certificate?", **NAMES),
            tg.text_update(77, "/start svy_hc_120809", **NAMES),
            tg.text_update(-100500, "/help@isaf_test_bot", user_id=77, **NAMES),
            tg.text_update(-100500, "@isaf_test_bot budget", user_id=77, **NAMES),
            mention, reply_to_bot, pressed, in_group, joined,
            tg.text_update(-100500, "just chatting", user_id=77, **NAMES),
            *(tg.media_update(77, kind, **NAMES) for kind in (
                "sticker", "photo", "voice", "video", "video_note", "animation", "audio",
                "document", "location", "venue", "contact", "poll")),
            tg.media_update(-100500, "photo", user_id=77, caption="@isaf_test_bot look",
                            **NAMES),
            {"update_id": tg.next_update_id(), "edited_message": tg.message(77, text="edit",
                                                                             **NAMES)},
        ]


def test_telegram_stores_only_what_the_handler_reads() -> None:
    for update in _telegram_updates():
        item = telegram.stored(update)
        assert item is not None
        external_id, chat_key, kept = item
        assert external_id == str(update["update_id"]) and chat_key.startswith("telegram:")
        assert telegram.to_incoming(kept, ME) == telegram.to_incoming(update, ME), update
        text = json.dumps(kept, ensure_ascii=False)
        for name in NAMES.values():
            assert name not in text
        for gone in ("reply_markup", "🙂 Good", "How clean?", "phone_number", "latitude",
                     "Commune council", "Wat Phnom"):
            assert gone not in text, (gone, text)
        # A file reference is kept only for what a report can attach (a photo, a voice
        # note), until the update is handled; a sticker's or a video's is not.
        incoming = telegram.to_incoming(kept, ME)
        file = incoming.file if incoming is not None else None
        assert ("file_id" in text) == (file is not None), text
        if file is not None:
            assert text.count('"file_id"') == 1 and file.ref in text
    pressed = telegram.stored(_telegram_updates()[6])
    assert pressed is not None and pressed[2]["callback_query"]["data"] == "svy:a:q1:x"


def _messenger_events() -> list[dict[str, Any]]:
    base = {"sender": {"id": "6543210987654321"}, "recipient": {"id": "1000000000001"},
            "timestamp": 1_790_000_000_000}
    url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/private-photo"
    return [
        {**base, "message": {"mid": "m_1", "text": "ល្អ"}},
        {**base, "message": {"mid": "m_2", "text": "🙂 ពេញចិត្ត",
                             "quick_reply": {"payload": "svy:a:q1:abc"}}},
        {**base, "message": {"mid": "m_3", "text": "typed over", "quick_reply": {
            "payload": "not a payload!"}}},
        {**base, "postback": {"mid": "m_4", "title": "🙁 Bad", "payload": "svy:a:q2:def"}},
        {**base, "postback": {"mid": "m_5", "title": "Get Started", "payload": "get_started",
                              "referral": {"ref": "svy_hc_120809", "source": "SHORTLINK"}}},
        {**base, "referral": {"ref": "caf-AB12CD", "source": "SHORTLINK"}},
        {**base, "message": {"mid": "m_6", "sticker_id": 369239263222822, "attachments": [
            {"type": "image", "payload": {"url": url, "sticker_id": 369239263222822}}]}},
        {**base, "message": {"mid": "m_7", "attachments": [
            {"type": "image", "payload": {"url": url}}]}},
        {**base, "message": {"mid": "m_8", "attachments": [{"type": "location", "payload": {
            "coordinates": {"lat": 11.5564, "long": 104.9282}}}]}},
        {**base, "message": {"mid": "m_9", "text": "/start caf-AB12CD"}},
    ]


def test_messenger_stores_only_what_the_handler_reads() -> None:
    body = {"object": "page", "entry": [{"id": "1", "time": 1,
                                         "messaging": _messenger_events()}]}
    stored = messenger.events_of(body)
    assert len(stored) == len(_messenger_events())
    for (external_id, _, kept), event in zip(stored, _messenger_events(), strict=True):
        full, reduced = messenger.to_incoming(event), messenger.to_incoming(kept)
        assert full is not None and reduced is not None
        if full.kind.value == "button":  # the label the person tapped is not kept
            assert replace(full, text="") == reduced
        else:
            assert full == reduced
        text = json.dumps(kept, ensure_ascii=False) + external_id
        for gone in ("ពេញចិត្ត", "Bad", "11.5564", "SHORTLINK"):
            assert gone not in text, (gone, text)
        # The attachment's URL is kept only for a photo a report can attach (not for a
        # sticker), until the update is handled.
        assert ("fbcdn" in text) == (reduced.file is not None), text
    assert "6543210987654321" not in stored[5][0]  # the referral's id is a digest


# ------------------------------------------------------------------ handled rows

def test_a_handled_update_keeps_only_what_deduplication_needs(db: Database) -> None:
    inbox = Inbox(db, max_attempts=2)
    assert inbox.accept("telegram", "1", "telegram:77", {"update_id": 1, "text": "hi"})
    assert inbox.accept("telegram", "2", "telegram:78", {"update_id": 2, "text": "boom"})

    async def handle(claimed: Claimed) -> None:
        if claimed.payload["text"] == "boom":
            raise RuntimeError("the handler failed")
        return None

    def rows() -> dict[str, InboundUpdate]:
        with db.session() as session:
            return {r.external_id: r for r in session.execute(select(InboundUpdate)).scalars()}

    for _ in range(2):  # "1" is done; "2" fails once and waits, whole, to be tried again
        claimed = inbox.claim()
        assert claimed is not None
        asyncio.run(inbox.process(claimed, handle))
    retried = rows()["2"]
    assert retried.status == "pending" and retried.chat_key == "telegram:78"
    assert retried.payload == {"update_id": 2, "text": "boom"}
    claimed = inbox.claim()
    assert claimed is not None and claimed.attempts == 2
    asyncio.run(inbox.process(claimed, handle))  # the last attempt
    handled = rows()
    assert (handled["1"].status, handled["2"].status) == ("done", "failed")
    for row in handled.values():
        assert row.payload is None and row.chat_key is None and row.received_at
    assert "the handler failed" in str(handled["2"].error)
    assert not inbox.accept("telegram", "1", "telegram:77", {"update_id": 1})  # still deduped


class Sender:
    channel = "test"

    def __init__(self) -> None:
        self.failures: dict[str, Exception] = {}

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        if reply.text in self.failures:
            raise self.failures[reply.text]


class HoldAutomated:
    def may_send(self, recipient: Recipient, automated: bool, now: datetime) -> bool:
        return not automated


def test_a_message_is_dropped_from_the_outbox_once_final(db: Database) -> None:
    with db.session() as session:
        user = User(channel="test", channel_user_id="u1", language="en")
        other = User(channel="test", channel_user_id="u2", language="en")
        session.add_all([user, other])
        session.flush()
        enqueue(session, user_id=user.id, channel="test", address="u1", replies=[
            Reply("Your earlier answer: 🙂 Good", (Button("⬅️ Back", "svy:back"),)),
            Reply("refused")])
        enqueue(session, user_id=user.id, channel="test", address="u1",
                replies=[Reply("Meeting tomorrow")], automated=True, batch="rem:1")
        enqueue(session, user_id=other.id, channel="test", address="u2",
                replies=[Reply("blocked"), Reply("queued after it")])
    sender = Sender()
    sender.failures = {"refused": Rejected("400"), "blocked": Unreachable("403")}
    dispatcher = Dispatcher(db, {"test": sender}, {}, {"test": HoldAutomated()})
    asyncio.run(dispatcher.deliver_due())
    with db.session() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    assert [r.status for r in rows] == ["sent", "failed", "held", "unreachable", "unreachable"]
    assert [r.reply is None for r in rows] == [True, True, False, True, True]
    assert rows[2].reply["text"] == "Meeting tomorrow"  # held: it still has to go
    assert rows[0].sent_at is not None and rows[0].user_id == rows[2].user_id


# ------------------------------------------------------------------ settings

def test_retention_settings() -> None:
    assert Settings.from_env({"ISAFBOT_SECRET_KEY": "k" * 20}).retention == Retention()
    custom = Retention.from_env({"ISAFBOT_RETAIN_MESSAGE_LOG_DAYS": "30",
                                 "ISAFBOT_RETAIN_DELIVERIES_DAYS": "7",
                                 "ISAFBOT_RETAIN_INBOX_DAYS": "3",
                                 "ISAFBOT_RETAIN_CONVERSATION_DAYS": "2",
                                 "ISAFBOT_RETAIN_INACTIVE_USERS_DAYS": "180"})
    assert custom == Retention(30, 7, 3, 2, 180)
    for name, bad in (("ISAFBOT_RETAIN_INBOX_DAYS", "1"),  # Meta retries for 36 hours
                      ("ISAFBOT_RETAIN_MESSAGE_LOG_DAYS", "0"),
                      ("ISAFBOT_RETAIN_DELIVERIES_DAYS", "1.5"),
                      ("ISAFBOT_RETAIN_CONVERSATION_DAYS", "a week"),
                      ("ISAFBOT_RETAIN_INACTIVE_USERS_DAYS", "7")):
        with pytest.raises(SettingsError, match=name):
            Retention.from_env({name: bad})


# ------------------------------------------------------------------ the purge

NOW = datetime(2027, 3, 1, 12, 0)
OLD, RECENT = NOW - timedelta(days=400), NOW - timedelta(hours=1)


def _seed(db: Database) -> dict[str, int]:
    """Rows on both sides of every period (defaults: log 90, deliveries 30, inbox 7,
    conversations 30, inactive users 365 days)."""
    with db.session() as session:
        def user(uid: str, seen: datetime, role: str = "citizen") -> User:
            found = User(channel="test", channel_user_id=uid, language="en", role=role,
                         created_at=OLD, last_inbound_at=seen)
            session.add(found)
            session.flush()
            return found

        gone, subscribed, caf = user("gone", OLD), user("subscribed", OLD), user("caf", OLD,
                                                                                  "caf")
        waiting, active = user("waiting", OLD), user("active", RECENT)
        session.add_all([MeetingSubscription(user_id=subscribed.id, commune_code="120809"),
                         CafCommune(user_id=caf.id, commune_code="120809")])
        for who in (gone, active):
            session.add(MessageLog(user_id=who.id, channel="test", direction="in", text="hi",
                                   created_at=OLD))
            session.add(MessageLog(user_id=who.id, channel="test", direction="in", text="hi",
                                   created_at=RECENT))
        session.add(Conversation(user_id=active.id, state={"flow": {"name": "survey"}},
                                 updated_at=NOW - timedelta(days=31)))
        session.add(Conversation(user_id=caf.id, state={"flow": {"name": "form"}},
                                 updated_at=RECENT))
        rows = [("sent", OLD, None), ("sent", RECENT, {"text": "left by an old version"}),
                ("failed", OLD, None), ("held", OLD, {"text": "stale reminder"}),
                ("held", RECENT, {"text": "reminder"}), ("pending", OLD, {"text": "due"})]
        for status, at, reply in rows:
            session.add(OutboxMessage(user_id=active.id, channel="test", address="active",
                                      reply=reply, status=status, created_at=at,
                                      sent_at=at if status == "sent" else None))
        session.add(OutboxMessage(user_id=waiting.id, channel="test", address="waiting",
                                  reply={"text": "held for them"}, status="held",
                                  created_at=RECENT))
        for n, (status, at, payload) in enumerate([
                ("done", OLD, None), ("failed", OLD, None),
                ("done", RECENT, {"text": "left by an old version"}),
                ("pending", OLD, {"text": "not handled yet"})]):
            session.add(InboundUpdate(channel="test", external_id=str(n),
                                      chat_key=None if payload is None or status == "done"
                                      else "test:active",
                                      payload=payload, status=status, received_at=at,
                                      processed_at=at if status == "done" else None))
        account = DashboardAccount(username="admin", password_hash="x", role="admin")
        session.add(account)
        session.flush()
        session.add_all([
            DashboardSession(id="a" * 64, account_id=account.id, csrf_token="c",
                             expires_at=NOW - timedelta(minutes=1)),
            DashboardSession(id="b" * 64, account_id=account.id, csrf_token="c",
                             expires_at=NOW + timedelta(hours=1)),
            DashboardLoginLimit(key="user:admin", attempts=2,
                                window_started_at=NOW - timedelta(hours=2)),
            DashboardLoginLimit(key="ip:10.0.0.1", attempts=1,
                                window_started_at=NOW - timedelta(minutes=5))])
        return {"gone": gone.id, "active": active.id, "caf": caf.id}


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_purge_keeps_each_thing_as_long_as_its_period(db: Database) -> None:
    ids = _seed(db)
    done = purge(db, Retention(), NOW)
    assert done == Purged(inbox_deleted=2, inbox_cleared=1, deliveries_deleted=3,
                          messages_cleared=1, message_log_deleted=2, conversations_emptied=1,
                          users_deleted=1, dashboard_deleted=2)
    with db.session() as session:
        users = set(session.execute(select(User.channel_user_id)).scalars())
        assert users == {"subscribed", "caf", "waiting", "active"}
        log = session.execute(select(MessageLog.user_id, MessageLog.created_at)).all()
        assert log == [(ids["active"], RECENT)]
        outbox = sorted((r.status, r.reply is None) for r in
                        session.execute(select(OutboxMessage)).scalars())
        assert outbox == [("held", False), ("held", False), ("pending", False),
                          ("sent", True)]
        inbox = {r.external_id: (r.status, r.payload, r.chat_key) for r in
                 session.execute(select(InboundUpdate)).scalars()}
        assert inbox == {"2": ("done", None, None),
                         "3": ("pending", {"text": "not handled yet"}, "test:active")}
        states = {c.user_id: c.state for c in session.execute(select(Conversation)).scalars()}
        assert states == {ids["active"]: {}, ids["caf"]: {"flow": {"name": "form"}}}
    assert _count(db, DashboardSession) == 1 and _count(db, DashboardLoginLimit) == 1
    assert purge(db, Retention(), NOW) == Purged()  # nothing more to do
    shorter = purge(db, Retention(message_log_days=1, deliveries_days=1), NOW + timedelta(
        days=2))
    # the recent rows' turn: held ones that never went are dropped with the rest
    assert shorter.message_log_deleted == 1 and shorter.deliveries_deleted == 3


def test_db_purge_command(tmp_path: Path, database_url: str,
                          monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        user = User(channel="test", channel_user_id="u", language="en")
        session.add(user)
        session.flush()
        session.add(MessageLog(user_id=user.id, channel="test", direction="in",
                               created_at=utcnow() - timedelta(days=10)))
    database.dispose()
    monkeypatch.setenv("ISAFBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("ISAFBOT_RETAIN_MESSAGE_LOG_DAYS", "7")
    assert main(["db", "purge"]) == 0
    printed = capsys.readouterr().out
    assert "message log 7" in printed and "message log deleted: 1" in printed
    database = Database(database_url)
    assert _count(database, MessageLog) == 0
    database.dispose()


def test_the_scheduler_purges_at_start_and_every_period(tmp_path: Path, database_url: str,
                                                        nlu: Any) -> None:
    app = bootstrap(make_settings(tmp_path, database_url, ISAFBOT_RETAIN_MESSAGE_LOG_DAYS="1"),
                    nlu=nlu, clock=SystemClock())
    try:
        with app.db.session() as session:
            user = User(channel="test", channel_user_id="u", language="en")
            session.add(user)
            session.flush()
            session.add(MessageLog(user_id=user.id, channel="test", direction="in",
                                   created_at=utcnow() - timedelta(days=2)))

        async def run() -> None:
            service = scheduler_service(app, retry_seconds=0.1,
                                        every={"housekeeping": 60, "purge": 0.3})
            await service.start()
            try:
                for _ in range(200):
                    if not _count(app.db, MessageLog):
                        break
                    await asyncio.sleep(0.05)
                assert _count(app.db, MessageLog) == 0  # at start
                with app.db.session() as session:
                    session.add(MessageLog(user_id=user.id, channel="test", direction="in",
                                           created_at=utcnow() - timedelta(days=3)))
                for _ in range(200):
                    if not _count(app.db, MessageLog):
                        break
                    await asyncio.sleep(0.05)
                assert _count(app.db, MessageLog) == 0  # and again, a period later
            finally:
                await service.stop()

        asyncio.run(run())
    finally:
        app.close()


# ------------------------------------------------------------------ the migration

@pytest.fixture
def empty_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """A database with no schema at all, of the kind `database_url` is."""
    with scratch_database(database_url.split(":", 1)[0], tmp_path) as url:
        yield url


def test_upgrading_clears_what_older_versions_kept(empty_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from common.db.session import alembic_config

    database = Database(empty_url)
    config = alembic_config(database)
    command.upgrade(config, "0007_dashboard")
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (channel, channel_user_id, language, language_chosen, role, "
            "unreachable, created_at) VALUES ('test', 'u', 'en', false, 'citizen', false, "
            ":at)"), {"at": NOW})
        connection.execute(text(
            "INSERT INTO inbound_updates (channel, external_id, chat_key, payload, status, "
            "attempts, received_at) VALUES ('telegram', '1', 'telegram:77', :p, 'done', 1, "
            ":at), ('telegram', '2', 'telegram:78', :p, 'pending', 0, :at)"),
            {"p": json.dumps({"from": NAMES}), "at": NOW})
        connection.execute(text(
            "INSERT INTO outbox (user_id, channel, address, reply, automated, status, "
            "attempts, due_at, created_at) VALUES (1, 'test', 'u', :r, false, 'sent', 1, :at, "
            ":at), (1, 'test', 'u', :r, true, 'held', 0, :at, :at)"),
            {"r": json.dumps({"text": "Your earlier answer: 🙂 Good"}), "at": NOW})
    database.migrate()
    with database.session() as session:
        inbox = {r.external_id: (r.payload is None, r.chat_key) for r in
                 session.execute(select(InboundUpdate)).scalars()}
        outbox = {r.status: r.reply is None for r in
                  session.execute(select(OutboxMessage)).scalars()}
    assert inbox == {"1": (True, None), "2": (False, "telegram:78")}
    assert outbox == {"sent": True, "held": False}
    command.downgrade(config, "0007_dashboard")  # and back, for an operator who must
    command.upgrade(config, "heads")
    database.dispose()
