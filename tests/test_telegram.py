"""The Telegram channel end to end: the real Starlette app served by uvicorn on 127.0.0.1, the
real inbox workers and dispatcher, python-telegram-bot's Bot against the fake Bot API
(tests/fake_telegram.py) in webhook and in long-polling mode, the real NLU model, on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import App, bootstrap
from bot.channels.telegram.inbound import Me, stored, to_incoming
from bot.channels.telegram.outbound import TelegramSender, delivery_error, render
from bot.channels.telegram.settings import TelegramSettings
from bot.delivery import Recipient, Rejected, RetryLater, Unreachable
from bot.inbox.models import InboundUpdate
from bot.ratelimit import RateLimiter
from bot.settings import SettingsError
from common.messages import Button, Incoming, Kind, Reply
from common.splitting import units
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage, batch_report, enqueue
from tests import fake_telegram, live_server
from tests.conftest import ROOT, make_settings
from tests.fake_graph import cluster_problem
from tests.fake_telegram import FakeTelegram

TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstu"
SECRET = "test-webhook-secret-0123456789"
BOT_ID = 123456789
USERNAME = "isaf_test_bot"


# ------------------------------------------------------------------ harness

def telegram_env(tg: FakeTelegram, *, webhook: bool) -> dict[str, str]:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
           "TELEGRAM_POLL_TIMEOUT": "1", "TELEGRAM_TIMEOUT": "2",
           "TELEGRAM_RETRY_SECONDS": "0.3"}
    if webhook:
        env |= {"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
                "TELEGRAM_WEBHOOK_SECRET": SECRET}
    return env


class LiveServer(live_server.LiveServer):
    """The web server, receiving updates by webhook or by polling the fake Bot API."""

    def __init__(self, app: App, tg: FakeTelegram, *, workers: int = 2) -> None:
        super().__init__(app, workers=workers)
        self.tg = tg

    @property
    def polling(self) -> bool:
        return not self.runtime.channels["telegram"].settings.webhook_mode  # type: ignore

    def post(self, body: dict[str, Any] | bytes, *, secret: str | None = SECRET
             ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        assert self.http is not None
        return self.http.post("/webhooks/telegram", content=raw, headers=headers)

    def deliver(self, *updates: dict[str, Any]) -> None:
        """Updates reach the bot the way this server receives them, then it finishes."""
        for update in updates:
            if self.polling:
                self.tg.push(update)
            else:
                response = self.post(update)
                assert response.status_code == 200, response.text
        if self.polling:  # fetched, stored, and confirmed by the next getUpdates
            self.tg.wait_for(lambda: self.tg.pending() == 0)
        self.wait_idle()

    def stored_ids(self) -> set[str]:
        with self.app.db.session() as session:
            return set(session.execute(select(InboundUpdate.external_id)).scalars())


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, username=USERNAME) as fake:
        yield fake


def _app(tmp_path: Path, database_url: str, nlu: Any, tg: FakeTelegram, *,
         webhook: bool) -> App:
    return bootstrap(make_settings(tmp_path, database_url, **telegram_env(tg, webhook=webhook)),
                     nlu=nlu)


@pytest.fixture
def webhook_app(tmp_path: Path, database_url: str, nlu: Any, tg: FakeTelegram
                ) -> Iterator[App]:
    application = _app(tmp_path, database_url, nlu, tg, webhook=True)
    yield application
    application.close()


@pytest.fixture
def polling_app(tmp_path: Path, database_url: str, nlu: Any, tg: FakeTelegram
                ) -> Iterator[App]:
    application = _app(tmp_path, database_url, nlu, tg, webhook=False)
    yield application
    application.close()


@pytest.fixture
def live(webhook_app: App, tg: FakeTelegram) -> Iterator[LiveServer]:
    with LiveServer(webhook_app, tg) as server:
        tg.wait_for(lambda: "getMe" in tg.methods())  # the bot knows its username
        yield server


@pytest.fixture
def polling(polling_app: App, tg: FakeTelegram) -> Iterator[LiveServer]:
    with LiveServer(polling_app, tg) as server:
        tg.wait_for(lambda: "getUpdates" in tg.methods())
        yield server


def _user(app: App, user_id: int) -> User:
    with app.db.session() as session:
        return session.execute(select(User).where(
            User.channel == "telegram", User.channel_user_id == str(user_id))).scalar_one()


def _rows(app: App) -> list[OutboxMessage]:
    with app.db.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
                    .scalars())


# ------------------------------------------------------------------ what a user saw

def buttons_of(sent: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button, in order."""
    return [(b["text"], b["callback_data"]) for record in sent
            for row in (record.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row]


def shown_text(sent: list[dict[str, Any]]) -> str:
    return "\n".join(record.get("text") or record.get("caption") or "" for record in sent)


def _norm(text: str) -> str:
    return " ".join(text.split())


def assert_equivalent(console: list[Reply], sent: list[dict[str, Any]]) -> None:
    """Telegram showed the console's replies: every text in order, every image as a photo,
    every button with the same label and payload."""
    assert sent, "nothing was sent on Telegram"
    text = _norm(shown_text(sent))
    position = 0
    for reply in console:
        found = text.find(_norm(reply.text), position)
        assert found >= 0, f"{reply.text!r} not shown on Telegram:\n{text}"
        position = found + len(_norm(reply.text))
    photos = [record for record in sent if record["method"] == "sendPhoto"]
    assert len(photos) == sum(1 for reply in console if reply.image)
    assert buttons_of(sent) == [(b.title, b.payload) for r in console for b in r.buttons]


class Conversation:
    """One user doing the same things on Telegram and on the console, turn by turn."""

    def __init__(self, live: LiveServer, console: App, chat_id: int, language: str) -> None:
        self.live, self.tg, self.console = live, live.tg, console
        self.chat_id, self.language = chat_id, language
        self.offered: list[tuple[str, str]] = []

    def step(self, action: str, value: Any = None) -> list[dict[str, Any]]:
        if action == "press_index":
            action, value = "press", self.offered[value][1]
        console_replies = asyncio.run(self.console.handle(self._incoming(action, value)))
        before = len(self.tg.sent(self.chat_id))
        answered = len(self.tg.answered_callbacks)
        self.live.deliver(self._update(action, value))
        sent = self.tg.sent(self.chat_id)[before:]
        assert_equivalent(console_replies, sent)
        if action == "press":  # the client's spinner was stopped
            self.tg.wait_for(lambda: len(self.tg.answered_callbacks) == answered + 1)
        self.offered = buttons_of(sent)
        return sent

    def _incoming(self, action: str, value: Any) -> Incoming:
        user = f"tg{self.chat_id}"
        if action == "text" and value.startswith("/"):
            command, _, argument = value[1:].partition(" ")
            return Incoming("console", user, Kind.COMMAND, text=value, command=command,
                            argument=argument or None, language_hint=self.language)
        if action == "text":
            return Incoming("console", user, Kind.TEXT, text=value, language_hint=self.language)
        if action == "press":
            return Incoming("console", user, Kind.BUTTON, payload=value,
                            language_hint=self.language)
        kind = {"sticker": Kind.STICKER, "voice": Kind.VOICE, "photo": Kind.IMAGE,
                "video": Kind.VIDEO, "document": Kind.FILE, "location": Kind.LOCATION,
                "contact": Kind.CONTACT, "poll": Kind.UNSUPPORTED}[action]
        return Incoming("console", user, kind, language_hint=self.language)

    def _update(self, action: str, value: Any) -> dict[str, Any]:
        if action == "text":
            return self.tg.text_update(self.chat_id, value, language=self.language)
        if action == "press":
            return self.tg.callback_update(self.chat_id, value, language=self.language)
        return self.tg.media_update(self.chat_id, action, language=self.language)


# ------------------------------------------------------------------ conversations

def test_english_conversation_by_webhook_matches_the_console(live: LiveServer,
                                                             console_app: App) -> None:
    chat = Conversation(live, console_app, 5_000_001, "en")
    sent = chat.step("text", "/start")
    assert "Hello! I'm isaf-bot" in shown_text(sent)
    assert ("Commune services", "svcs") in chat.offered
    chat.step("press", "svcs")
    chat.step("press", "svc:birth_certificate")
    sent = chat.step("text", "how much does it cost")
    assert "Birth certificate: free" in shown_text(sent) and "Source:" in shown_text(sent)
    chat.step("press", "svc:birth_certificate:place")
    sent = chat.step("text", "how much does Kok Khleang sangkat have?")  # a chart
    photo = next(record for record in sent if record["method"] == "sendPhoto")
    assert photo["photo"].startswith(b"\x89PNG") and "Sample figures" in shown_text(sent)
    chat.step("press_index", 0)
    for kind in ("sticker", "voice", "video", "contact", "poll"):
        chat.step(kind)
    chat.step("text", "/help")
    chat.step("text", "/language")
    chat.step("press", "lang:en")
    chat.step("text", "thank you")
    chat.step("text", "bye")
    user = _user(live.app, chat.chat_id)
    assert user.language == "en"
    assert {r.status for r in _rows(live.app)} == {"sent"}


def test_khmer_conversation_by_polling_matches_the_console(polling: LiveServer,
                                                           console_app: App) -> None:
    chat = Conversation(polling, console_app, 5_000_002, "km")
    sent = chat.step("text", "/start nonsense_123")  # a deep link that leads nowhere
    assert "តំណនេះមិនត្រឹមត្រូវ" in shown_text(sent)
    sent = chat.step("text", "ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert "ឥតគិតថ្លៃ" in shown_text(sent) and "ប្រភព" in shown_text(sent)
    chat.step("press", "svc:birth_certificate:documents")
    chat.step("press", "svcs")
    chat.step("press", "svc:id_card")
    sent = chat.step("text", "ថវិកាសង្កាត់ទឹកថ្លាប៉ុន្មាន")  # namesakes, then a Khmer chart
    assert len(chat.offered) >= 2
    sent = chat.step("press_index", 0)
    assert "តួលេខគំរូ" in shown_text(sent)
    assert any(record["method"] == "sendPhoto" for record in sent)
    chat.step("text", "ID card ធ្វើនៅណា")
    for kind in ("location", "photo", "document"):
        chat.step(kind)
    chat.step("press", "commune:change")
    sent = chat.step("text", "ស្វាយជ្រុំ")  # communes of that name in several districts
    assert len(chat.offered) >= 2
    chat.step("press_index", 1)
    chat.step("text", "អរគុណ")
    assert _user(polling.app, chat.chat_id).language == "km"
    # every callback answered once, every update stored once
    assert len(polling.tg.answered_callbacks) == 6
    assert len(polling.stored_ids()) == 15


# ------------------------------------------------------------------ the webhook's defences

def test_webhook_secret_is_required_and_bodies_are_checked(live: LiveServer,
                                                           tg: FakeTelegram) -> None:
    update = tg.text_update(5_000_003, "hello", language="en")
    for secret in (None, "", "wrong-secret-0123456789", SECRET[:-1], SECRET + "x",
                   SECRET.upper()):
        assert live.post(update, secret=secret).status_code == 403, secret
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe", b'{"message": {}}',
                 b'{"update_id": "12"}', b'{"update_id": true}', b"null"):
        assert live.post(body).status_code == 400, body
    live.wait_idle()
    assert live.stored_ids() == set() and tg.sent() == []
    assert live.http is not None
    assert live.http.get("/healthz").json()["channels"] == ["telegram"]
    assert live.http.get("/webhooks/telegram").status_code == 405
    # the same update with the right secret is taken
    live.deliver(update)
    assert "Hello! I'm isaf-bot" in shown_text(tg.sent(5_000_003))


def test_a_duplicated_update_is_answered_once_by_webhook(live: LiveServer,
                                                         tg: FakeTelegram) -> None:
    chat = 5_000_004
    update = tg.text_update(chat, "how much is a birth certificate", language="en")
    for _ in range(3):  # Telegram redelivers when it did not see our 200
        assert live.post(update).status_code == 200
    press = tg.callback_update(chat, "svc:birth_certificate:place", language="en")
    live.deliver(press, press)
    assert len(live.stored_ids()) == 2
    texts = tg.texts(chat)
    assert sum("Birth certificate: free" in t for t in texts) == 1
    assert sum("📍 Birth certificate:" in t for t in texts) == 1
    assert len(tg.answered_callbacks) == 1


def test_a_duplicated_update_is_answered_once_by_polling(polling: LiveServer,
                                                         tg: FakeTelegram) -> None:
    chat = 5_000_005
    update = tg.text_update(chat, "how much is a birth certificate", language="en")
    polling.deliver(update)
    # Telegram sends it again (as when the bot restarted before confirming it)
    tg.redeliver(dict(update))
    polling.deliver(tg.text_update(chat, "thank you", language="en"))
    served = [u["update_id"] for c in tg.calls if c.method == "getUpdates"
              for u in c.answer["result"]]
    assert served.count(update["update_id"]) == 2  # the bot did get it twice
    texts = tg.texts(chat)
    assert sum("Birth certificate: free" in t for t in texts) == 1
    assert any("welcome" in t.lower() for t in texts)
    calls = [c for c in tg.calls if c.method == "getUpdates"]
    assert all(c.params.get("allowed_updates") == ["message", "edited_message",
                                                   "callback_query", "my_chat_member"]
               for c in calls)
    assert "deleteWebhook" in tg.methods()  # polling starts by removing any webhook


def test_updates_posted_at_once_are_answered_in_order_per_chat(live: LiveServer,
                                                               tg: FakeTelegram,
                                                               console_app: App) -> None:
    lines = ["hello", "how much is a birth certificate", "what documents for a death "
             "certificate", "thank you", "goodbye"]
    expected = []
    for line in lines:
        replies = asyncio.run(console_app.handle(Incoming("console", "ref", Kind.TEXT,
                                                          text=line, language_hint="en")))
        expected.extend(reply.text for reply in replies)  # a fee answer is two messages
    chats = [5_100_000 + n for n in range(4)]
    updates = [tg.text_update(chat, line, language="en") for line in lines for chat in chats]
    for update in updates:  # interleaved, without waiting for answers
        assert live.post(update).status_code == 200
    live.wait_idle()
    for chat in chats:
        assert tg.texts(chat) == expected, chat


def test_polling_mode_stores_then_confirms_and_survives_a_restart(
        polling_app: App, tg: FakeTelegram) -> None:
    chat = 5_000_006
    with LiveServer(polling_app, tg, workers=0) as dying:  # stores, never handles
        first = tg.push(tg.text_update(chat, "hello", language="en"))
        tg.wait_for(lambda: str(first["update_id"]) in dying.stored_ids())
    assert tg.sent() == []
    with LiveServer(polling_app, tg) as restarted:
        tg.redeliver(first)  # Telegram sends it again (not confirmed): stored once
        restarted.deliver(tg.text_update(chat, "thank you", language="en"))
    assert len(tg.sent(chat)) == 2 and "Hello! I'm isaf-bot" in tg.texts(chat)[0]
    assert "You're welcome" in tg.texts(chat)[1]
    with polling_app.db.session() as session:
        assert session.execute(select(func.count()).select_from(InboundUpdate)).scalar() == 2


def test_updates_polled_while_the_database_is_down_are_fetched_again(
        polling: LiveServer, tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = 5_000_014
    real_accept = polling.runtime.accept
    failures = []

    def flaky(*args: Any) -> bool:
        if not failures:
            failures.append(args[1])
            raise ConnectionError("the database went away")
        return real_accept(*args)

    monkeypatch.setattr(polling.runtime, "accept", flaky)
    update = tg.text_update(chat, "hello", language="en")
    polling.deliver(update)
    assert failures == [str(update["update_id"])]  # the first try failed...
    served = [u["update_id"] for c in tg.calls if c.method == "getUpdates"
              for u in c.answer["result"]]
    assert served.count(update["update_id"]) == 2  # ...so it was not confirmed, and came again
    assert len(tg.sent(chat)) == 1 and "Hello! I'm isaf-bot" in tg.texts(chat)[0]


def test_only_a_leading_process_polls(tg: FakeTelegram) -> None:
    """With processes electing a leader, a process that does not lead never calls getUpdates
    (Telegram would answer the second poller 409 Conflict)."""
    from bot.channels.telegram.channel import TelegramChannel
    from common.supervise import Backoff, Supervisor

    settings = TelegramSettings.from_env(telegram_env(tg, webhook=False))
    assert settings is not None
    stored_ids: list[str] = []

    class Intake:
        """The channel's view of a process that does not lead (yet)."""

        leading = False
        supervisor: Supervisor | None = None

        def accept(self, _channel: str, external_id: str, *_: Any) -> bool:
            stored_ids.append(external_id)
            return True

        def wake(self) -> None:
            return None

        def supervise(self, name: str, loop: Any, *, base_backoff: float) -> None:
            self.supervisor = Supervisor(backoff=Backoff(base=base_backoff))
            self.supervisor.spawn(name, loop)

        async def retire(self, name: str) -> None:
            assert self.supervisor is not None
            await self.supervisor.retire(name)

    intake = Intake()

    async def run() -> None:
        channel = TelegramChannel(settings)
        await channel.start(intake)  # type: ignore[arg-type]
        await asyncio.sleep(1.5)
        assert "getUpdates" not in tg.methods() and "deleteWebhook" not in tg.methods()
        intake.leading = True  # elected
        update = tg.push(tg.text_update(42, "hello"))
        deadline = time.monotonic() + 30
        while not stored_ids and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert stored_ids == [str(update["update_id"])]
        await channel.stop()

    asyncio.run(run())
    assert tg.methods().count("deleteWebhook") == 1


# ------------------------------------------------------------------ Bot API errors

def test_retry_after_is_honoured(live: LiveServer, tg: FakeTelegram) -> None:
    chat = 5_000_007
    tg.fail(chat, fake_telegram.RETRY_AFTER(1))
    live.deliver(tg.text_update(chat, "what documents for an ID card", language="en"))
    tg.wait_for(lambda: len(tg.sent(chat)) == 1)
    live.wait_idle()
    refused, accepted = tg.attempts(chat)
    assert refused.status == 429 and accepted.status == 200
    assert accepted.at - refused.at >= 1.0  # not before Telegram's retry_after
    (row,) = _rows(live.app)
    assert row.status == "sent" and row.attempts == 2
    assert tg.texts(chat)[0].startswith("📄 Khmer nationality ID card: bring")


def test_a_user_who_blocked_the_bot_is_marked_unreachable(live: LiveServer,
                                                          tg: FakeTelegram) -> None:
    chat = 5_000_008
    tg.fail(chat, fake_telegram.BLOCKED)
    live.deliver(tg.text_update(chat, "hello", language="en"))
    assert _user(live.app, chat).unreachable is True
    assert [r.status for r in _rows(live.app)] == ["unreachable"]
    with live.app.db.session() as session:  # a broadcast afterwards is not even tried
        user = _user(live.app, chat)
        enqueue(session, user_id=user.id, channel="telegram", address=str(chat),
                replies=[Reply("The meeting is tomorrow.")], automated=True, batch="b1")
    live.runtime.dispatcher.wake()
    live.wait_idle()
    with live.app.db.session() as session:
        assert batch_report(session, "b1") == {"unreachable": 1}
    assert len(tg.attempts(chat)) == 1 and tg.sent(chat) == []
    live.deliver(tg.text_update(chat, "hello again", language="en"))  # they unblocked us
    assert _user(live.app, chat).unreachable is False
    assert "Hello! I'm isaf-bot" in tg.texts(chat)[0]


def test_a_message_telegram_refuses_is_failed_and_the_next_goes(live: LiveServer,
                                                                tg: FakeTelegram) -> None:
    chat = 5_000_009
    tg.fail(chat, fake_telegram.BAD_REQUEST)
    live.deliver(tg.text_update(chat, "hello", language="en"))
    (row,) = _rows(live.app)
    assert row.status == "failed" and "Message text is empty" in row.error
    live.deliver(tg.text_update(chat, "thanks", language="en"))
    assert "You're welcome" in tg.texts(chat)[0]


def test_outages_and_timeouts_are_retried(live: LiveServer, tg: FakeTelegram) -> None:
    down, slow = 5_000_010, 5_000_011
    tg.fail(down, fake_telegram.SERVER_DOWN)
    tg.delay(slow, 2.5)  # over TELEGRAM_TIMEOUT: the library times out
    for chat in (down, slow):
        live.deliver(tg.text_update(chat, "what documents for an ID card", language="en"))
    tg.wait_for(lambda: len(tg.sent(slow)) >= 1 and len(tg.sent(down)) == 1)
    live.wait_idle()
    assert len(tg.sent(down)) == 1
    assert all(r.status == "sent" for r in _rows(live.app))


def test_bot_api_errors_map_to_what_the_dispatcher_does() -> None:
    from telegram.error import (
        BadRequest,
        ChatMigrated,
        Forbidden,
        InvalidToken,
        NetworkError,
        RetryAfter,
        TimedOut,
    )

    later = delivery_error(RetryAfter(7), 1.0)
    assert isinstance(later, RetryLater) and later.seconds == 7
    assert isinstance(delivery_error(Forbidden("bot was blocked by the user"), 1), Unreachable)
    assert isinstance(delivery_error(BadRequest("Chat not found"), 1), Unreachable)
    assert isinstance(delivery_error(BadRequest("message is too long"), 1), Rejected)
    assert isinstance(delivery_error(ChatMigrated(-100123), 1), Rejected)
    assert isinstance(delivery_error(TimedOut(), 1), RetryLater)
    assert isinstance(delivery_error(NetworkError("Bad Gateway"), 1), RetryLater)
    token = delivery_error(InvalidToken(), 1.0)
    assert isinstance(token, RetryLater) and token.seconds >= 300


# ------------------------------------------------------------------ what people send

def test_media_and_odd_messages_get_the_kind_replies(live: LiveServer, tg: FakeTelegram,
                                                     console_app: App) -> None:
    chat = Conversation(live, console_app, 5_000_012, "km")
    for kind in ("voice", "sticker", "location", "photo", "video", "document", "contact",
                 "poll"):
        chat.step(kind)
    texts = tg.texts(chat.chat_id)
    assert "សំឡេង" in texts[0] and "ស្ទីគ័រ" in texts[1] and "ទីតាំង" in texts[2]


def test_edited_messages_and_service_messages_are_ignored(live: LiveServer,
                                                          tg: FakeTelegram) -> None:
    chat = 5_000_013
    live.deliver(tg.text_update(chat, "hello", language="en"))
    original = tg.text_update(chat, "how much is an ID card", language="en")["message"]
    live.deliver({"update_id": tg.next_update_id(),
                  "edited_message": {**original, "edit_date": int(time.time())}})
    live.deliver({"update_id": tg.next_update_id(), "message": tg.message(
        chat, pinned_message={"message_id": 1, "date": 0, "chat": {"id": chat}})})
    assert len(tg.sent(chat)) == 1  # only the answer to "hello"


def test_in_groups_only_what_is_addressed_to_the_bot_is_answered(
        live: LiveServer, tg: FakeTelegram) -> None:
    group, alice, bob = -1_001_234_567, 6_000_001, 6_000_002

    def said(text: str, user: int = alice, **extra: Any) -> dict[str, Any]:
        return tg.text_update(group, text, user_id=user, language="en", **extra)

    chatter = [said("see you at the meeting"), said("how much is an ID card"),
               said("/help@other_bot"), tg.media_update(group, "sticker", user_id=bob),
               {"update_id": tg.next_update_id(), "message": tg.message(
                   group, user_id=bob, new_chat_members=[{"id": 7, "is_bot": False,
                                                          "first_name": "Dara"}])}]
    live.deliver(*chatter)
    assert tg.sent(group) == [] and tg.sent(alice) == [] and tg.sent(bob) == []
    live.deliver(said(f"@{USERNAME} how much is an ID card"))
    fee, rights = tg.texts(group)[-2:]  # the fee, then what to do if asked for more
    assert "ID card: free" in fee and rights.startswith("🛡️")
    bot_message = {"message_id": 9, "date": 0, "chat": {"id": group, "type": "supergroup"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "isaf-bot"},
                   "text": "…"}
    live.deliver(said("thank you", user=bob, extra={"reply_to_message": bot_message}))
    assert "You're welcome" in tg.texts(group)[-1]
    live.deliver(said(f"/help@{USERNAME}"))
    assert "What can I help you with?" in tg.texts(group)[-1]
    live.deliver(said("/language"))
    assert buttons_of(tg.sent(group)[-1:]) == [("ភាសាខ្មែរ", "lang:km"), ("English", "lang:en")]
    added = {"update_id": tg.next_update_id(), "my_chat_member": {
        "chat": {"id": -42, "type": "group", "title": "CAF team"},
        "from": {"id": alice, "is_bot": False, "first_name": "Sokha", "language_code": "en"},
        "date": int(time.time()),
        "old_chat_member": {"status": "left", "user": {"id": BOT_ID, "is_bot": True,
                                                       "first_name": "isaf-bot"}},
        "new_chat_member": {"status": "member", "user": {"id": BOT_ID, "is_bot": True,
                                                         "first_name": "isaf-bot"}}}}
    live.deliver(added)
    assert "Hello! I'm isaf-bot" in tg.texts(-42)[0]  # it introduces itself in the group
    assert all(r.address.startswith("-") for r in _rows(live.app))


def test_odd_update_shapes_never_crash(live: LiveServer, tg: FakeTelegram) -> None:
    me = Me(BOT_ID, USERNAME)
    odd: list[Any] = [
        {"update_id": 1},
        {"update_id": 2, "message": None},
        {"update_id": 3, "message": "text"},
        {"update_id": 4, "message": {"chat": {"id": "x"}, "from": {"id": 1}, "text": "hi"}},
        {"update_id": 5, "message": {"chat": {"id": 5, "type": "private"}, "text": "hi"}},
        {"update_id": 6, "message": {"chat": {"id": 6, "type": "private"},
                                     "from": {"id": 6}, "text": 42}},
        {"update_id": 7, "callback_query": {"id": "q", "from": {"id": 7}, "data": "x" * 99}},
        {"update_id": 8, "callback_query": {"id": "q", "from": {"id": 8}}},
        {"update_id": 9, "callback_query": []},
        {"update_id": 10, "my_chat_member": {"chat": {"id": -10, "type": "group"}}},
        {"update_id": 11, "channel_post": {"chat": {"id": -100, "type": "channel"},
                                           "text": "news"}},
        {"update_id": 12, "message": {"chat": {"id": 12, "type": "private"},
                                      "from": {"id": 12, "is_bot": False},
                                      "entities": "nonsense", "text": "/"}},
        {"update_id": 13, "message": {"chat": {"id": -13, "type": "group"},
                                      "from": {"id": 13}, "text": "@isaf_test_bot",
                                      "entities": [None, {"type": "text_mention"}]}},
        {"update_id": 14, "inline_query": {"id": "1", "from": {"id": 1}, "query": "x"}},
        {"update_id": 15, "message": {"chat": {"id": 15, "type": "private"},
                                      "from": {"id": 15}, "photo": "not a list"}},
    ]
    results = [to_incoming(update, me) for update in odd]
    assert results[6] is not None and results[6].payload == "menu"  # forged data: the menu
    assert results[7] is not None and results[7].payload == "menu"
    assert results[14] is not None and results[14].kind == Kind.IMAGE
    for update in odd:
        assert live.post(update).status_code == 200
    live.wait_idle()
    with live.app.db.session() as session:
        statuses = set(session.execute(select(InboundUpdate.status)).scalars())
    assert statuses == {"done"}  # none failed, none left behind


# ------------------------------------------------------------------ commands and kinds

def test_updates_become_the_right_incoming() -> None:
    me = Me(BOT_ID, USERNAME)
    with FakeTelegram(TOKEN, username=USERNAME) as fake:
        def one(update: dict[str, Any]) -> Incoming:
            item = stored(update)
            assert item is not None and item[0] == str(update["update_id"])
            incoming = to_incoming(item[2], me)
            assert incoming is not None
            return incoming

        start = one(fake.text_update(42, "/start caf-AB12CD"))
        assert (start.kind, start.command, start.argument) == (Kind.COMMAND, "start",
                                                              "caf-AB12CD")
        assert start.user_id == "42" and start.chat_id is None and start.language_hint == "km"
        caf = one(fake.text_update(42, f"/CAF@{USERNAME}  AB12CD "))
        assert (caf.command, caf.argument) == ("caf", "AB12CD")
        assert one(fake.text_update(42, "/help")).argument is None
        assert one(fake.text_update(42, "/start " + "c" * 100)).argument == "c" * 64
        assert one(fake.text_update(42, "/ not a command")).kind == Kind.TEXT
        press = one(fake.callback_update(42, "svc:id_card:fee", language="en"))
        assert (press.kind, press.payload, press.language_hint) == (Kind.BUTTON,
                                                                   "svc:id_card:fee", "en")
        kinds = {kind: one(fake.media_update(42, kind)).kind for kind in (
            "sticker", "photo", "voice", "audio", "video", "video_note", "animation",
            "document", "location", "venue", "contact", "poll")}
        assert kinds == {"sticker": Kind.STICKER, "photo": Kind.IMAGE, "voice": Kind.VOICE,
                         "audio": Kind.AUDIO, "video": Kind.VIDEO, "video_note": Kind.VIDEO,
                         "animation": Kind.VIDEO, "document": Kind.FILE,
                         "location": Kind.LOCATION, "venue": Kind.LOCATION,
                         "contact": Kind.CONTACT, "poll": Kind.UNSUPPORTED}
        group = one(fake.text_update(-100, f"@{USERNAME} ID card price", user_id=9))
        assert (group.text, group.chat_id, group.user_id) == ("ID card price", "-100", "9")
        key = stored(fake.callback_update(-100, "menu", user_id=9))
        assert key is not None and key[1] == "telegram:-100"  # ordered per chat


# ------------------------------------------------------------------ replies on Telegram

def _send(tg: FakeTelegram, chat: int, reply: Reply) -> None:
    settings = TelegramSettings.from_env(telegram_env(tg, webhook=False))
    assert settings is not None

    async def run() -> None:
        async with settings.bot() as bot:
            sender = TelegramSender(bot, RateLimiter(), settings.retry_seconds)
            await sender.send(Recipient(1, str(chat), str(chat), None), reply)

    asyncio.run(run())


def test_long_text_is_split_on_sentences_without_breaking_khmer(tg: FakeTelegram) -> None:
    sentence = "ឯកសារដែលត្រូវយកមក មានសំបុត្រកំណើត និងសៀវភៅគ្រួសារ។ "
    reply = Reply(sentence * 200, (Button("ម៉ឺនុយ", "menu"),))
    _send(tg, 77, reply)
    sent = tg.sent(77)
    assert len(sent) == 3
    texts = [record["text"] for record in sent]
    assert all(units(t) <= 4096 and t.endswith("។") and cluster_problem(t) is None
               for t in texts)
    assert "".join(texts).replace(" ", "") == reply.text.replace(" ", "")
    assert buttons_of(sent) == [("ម៉ឺនុយ", "menu")] and "reply_markup" in sent[-1]
    unbroken = "ស្ត្រី" * 1500  # no space, no sentence end: cut between clusters
    parts = render(Reply(unbroken))
    assert len(parts) == 3 and all(cluster_problem(p.text or "") is None for p in parts)


def test_a_photo_takes_its_caption_or_is_followed_by_the_text(tg: FakeTelegram,
                                                              tmp_path: Path) -> None:
    from PIL import Image

    chart = tmp_path / "chart.png"
    Image.new("RGB", (40, 20), "white").save(chart)
    buttons = (Button("Menu", "menu"),)
    _send(tg, 78, Reply("Budget 2026 (sample figures)", buttons, image=chart))
    (photo,) = tg.sent(78)
    assert photo["method"] == "sendPhoto" and photo["caption"] == "Budget 2026 (sample figures)"
    assert photo["photo"] == chart.read_bytes() and buttons_of([photo]) == [("Menu", "menu")]
    long_caption = "The commune's budget, line by line. " * 40  # over 1,024 characters
    _send(tg, 79, Reply(long_caption, buttons, image=chart))
    photo, text = tg.sent(79)
    assert photo["method"] == "sendPhoto" and "caption" not in photo
    assert text["text"] == long_caption.strip() and buttons_of([text]) == [("Menu", "menu")]
    with pytest.raises(Rejected):
        _send(tg, 80, Reply("chart", image=tmp_path / "gone.png"))


def test_the_token_never_reaches_the_logs(tg: FakeTelegram,
                                          caplog: pytest.LogCaptureFixture) -> None:
    from bot.channels.telegram.settings import protect_token
    from common.redact import Redactor

    protect_token(Redactor.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}))
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="telegram")
    _send(tg, 82, Reply("hello"))
    assert "sendMessage" in caplog.text and "<TELEGRAM_BOT_TOKEN>" in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_a_reply_interrupted_by_a_429_resumes_where_it_stopped(tg: FakeTelegram) -> None:
    reply = Reply("First sentence here. " * 300)  # two messages
    tg.fail(81, None, fake_telegram.RETRY_AFTER(1))  # the first goes, the second not
    settings = TelegramSettings.from_env(telegram_env(tg, webhook=False))
    assert settings is not None

    async def run() -> None:
        async with settings.bot() as bot:
            sender = TelegramSender(bot, RateLimiter(), settings.retry_seconds)
            recipient = Recipient(1, "81", "81", None)
            with pytest.raises(RetryLater):
                await sender.send(recipient, reply)
            await sender.send(recipient, reply)  # the dispatcher's retry

    asyncio.run(run())
    assert len(tg.sent(81)) == 2  # nothing sent twice
    assert [c.status for c in tg.attempts(81)] == [200, 429, 200]


def test_short_labels_share_a_row_long_ones_do_not() -> None:
    from bot.channels.telegram.outbound import keyboard

    labels = ["តម្លៃ", "រយៈពេល", "ទីកន្លែង", "លិខិតបញ្ជាក់ភាពនៅលីវ មេម៉ាយ ឬពោះម៉ាយ", "Fee", "Where",
              "Menu"]
    markup = keyboard(tuple(Button(label, f"x:{n}") for n, label in enumerate(labels)))
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert [[text for text, _ in row] for row in rows] == [
        ["តម្លៃ", "រយៈពេល"], ["ទីកន្លែង"], ["លិខិតបញ្ជាក់ភាពនៅលីវ មេម៉ាយ ឬពោះម៉ាយ"], ["Fee", "Where"],
        ["Menu"]]
    assert [data for row in rows for _, data in row] == [f"x:{n}" for n in range(7)]
    assert keyboard(()) is None


# ------------------------------------------------------------------ settings and CLI

def test_settings_are_checked() -> None:
    assert TelegramSettings.from_env({}) is None
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": "not-a-token"})
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                   "TELEGRAM_WEBHOOK_URL": "https://x.org/webhooks/telegram"})
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                   "TELEGRAM_WEBHOOK_URL": "https://x.org/webhooks/telegram",
                                   "TELEGRAM_WEBHOOK_SECRET": "short"})
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        TelegramSettings.from_env({"TELEGRAM_WEBHOOK_URL": "https://x.org/webhooks/telegram"})
    with pytest.raises(SettingsError, match="TELEGRAM_API_BASE_URL"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                   "TELEGRAM_API_BASE_URL": "api.telegram.org"})
    polling = TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert polling is not None and not polling.webhook_mode and polling.bot_id == BOT_ID
    assert polling.bot().base_url == f"https://api.telegram.org/bot{TOKEN}"
    short = TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                       "TELEGRAM_POLL_TIMEOUT": "0"})  # short polling
    assert short is not None and short.poll_timeout == 0
    for name, value in (("TELEGRAM_TIMEOUT", "0"), ("TELEGRAM_POLL_TIMEOUT", "51"),
                        ("TELEGRAM_RETRY_SECONDS", "-1"), ("TELEGRAM_TIMEOUT", "soon")):
        with pytest.raises(SettingsError, match=name):
            TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})


def test_set_webhook_command_registers_the_secret_and_update_types(tg: FakeTelegram,
                                                                   tmp_path: Path) -> None:
    env = {**os.environ, **telegram_env(tg, webhook=True),
           "ISAFBOT_DATA_DIR": str(tmp_path / "var"), "ISAFBOT_MODEL_DIR": str(ROOT / "models")}
    url = "https://bot.example.org/webhooks/telegram"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "set-webhook", url],
                          capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert tg.webhook == {"url": url, "secret_token": SECRET, "allowed_updates": [
        "message", "edited_message", "callback_query", "my_chat_member"]}
    assert f"url: {url}" in done.stdout.decode()
    no_secret = {k: v for k, v in env.items() if k not in ("TELEGRAM_WEBHOOK_SECRET",
                                                          "TELEGRAM_WEBHOOK_URL")}
    refused = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "set-webhook", url],
                             capture_output=True, timeout=120, env=no_secret)
    assert refused.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in refused.stderr.decode()
    tg.webhook = {}
    default = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "set-webhook"],
                             capture_output=True, timeout=120, env=env)  # TELEGRAM_WEBHOOK_URL
    assert default.returncode == 0 and tg.webhook["url"] == url
    deleted = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "delete-webhook"],
                             capture_output=True, timeout=120, env=env)
    assert deleted.returncode == 0 and tg.webhook == {}


# ------------------------------------------------------------------ the fake itself

def test_the_fake_enforces_telegrams_limits(tg: FakeTelegram) -> None:
    base = f"{tg.base_url}{TOKEN}"
    ok = httpx.post(f"{base}/sendMessage", data={"chat_id": "5", "text": "hi"})
    assert ok.json()["ok"] is True
    assert httpx.post(f"{tg.base_url}wrong/getMe").status_code == 401
    too_long = httpx.post(f"{base}/sendMessage", data={"chat_id": "5", "text": "x" * 4097})
    assert too_long.status_code == 400
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]}
    refused = httpx.post(f"{base}/sendMessage", data={
        "chat_id": "5", "text": "hi", "reply_markup": json.dumps(markup)})
    assert refused.status_code == 400 and "BUTTON_DATA_INVALID" in refused.text
    assert httpx.post(f"{base}/sendMessage", data={
        "chat_id": "5", "text": "hi", "reply_markup": "{nope"}).status_code == 400
    tg.enforce_limits(max_per_second=30)
    answers = [httpx.post(f"{base}/sendMessage", data={"chat_id": "6", "text": "hi"})
               for _ in range(4)]  # a burst of 3 is tolerated in one chat, not 4
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["parameters"]["retry_after"] >= 1
    assert tg.limit_violations == ["6"]
