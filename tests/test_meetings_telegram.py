"""Meetings end to end through Telegram (the real python-telegram-bot against the fake Bot
API, the project's web app in webhook mode, the scheduler service of `isafbot run` on the real
clock), on SQLite and PostgreSQL: citizens subscribe in Khmer and English, a CAF redeems a deep
link and creates a meeting with buttons, the reminder arrives, a broadcast arrives, a user who
blocked the bot is marked unreachable and never retried, and the CAF gets the final report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage
from tests import fake_telegram
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram
from tests.meetings_helpers import KK, PP, invite
from tests.test_telegram import TOKEN, USERNAME, LiveServer, telegram_env


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, username=USERNAME) as fake:
        yield fake


@pytest.fixture
def live(tmp_path: Path, database_url: str, nlu: Any, tg: FakeTelegram) -> Iterator[LiveServer]:
    app = bootstrap(make_settings(tmp_path, database_url, **telegram_env(tg, webhook=True)),
                    nlu=nlu)
    try:
        with LiveServer(app, tg) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            yield server
    finally:
        app.close()


def _said(tg: FakeTelegram, chat: int) -> str:
    return "\n".join(tg.texts(chat))


def _subscribe(live: LiveServer, tg: FakeTelegram, chat: int, ask: str, commune: str,
               language: str) -> None:
    live.deliver(tg.text_update(chat, ask, language=language))
    live.deliver(tg.text_update(chat, commune, language=language))


def test_reminder_and_broadcast_through_telegram(live: LiveServer, tg: FakeTelegram) -> None:
    english, khmer, blocked, caf = 7_000_001, 7_000_002, 7_000_003, 7_000_009
    _subscribe(live, tg, english, "remind me about meetings", "Kouk Khleang", "en")
    assert "You are subscribed" in _said(tg, english)
    _subscribe(live, tg, khmer, "ជូនដំណឹងខ្ញុំពេលមានប្រជុំ", "គោកឃ្លាង", "km")
    assert "អ្នកបានជាវហើយ" in _said(tg, khmer)
    _subscribe(live, tg, blocked, "remind me about meetings", "Kouk Khleang", "en")
    tg.fail(blocked, fake_telegram.BLOCKED)  # then they block the bot

    code = invite(live.app, KK)
    live.deliver(tg.text_update(caf, f"/start caf-{code}", language="en"))
    assert "You are now the Community Accountability Facilitator" in _said(tg, caf) or \
        "អ្នកជាអ្នកសម្របសម្រួលគណនេយ្យភាពសហគមន៍ (CAF)" in _said(tg, caf)
    live.deliver(tg.callback_update(caf, "lang:en", language="en"))
    live.deliver(tg.callback_update(caf, "meet:new", language="en"))
    live.deliver(tg.callback_update(caf, "frm:c:0", language="en"))
    live.deliver(tg.text_update(caf, "Commune hall", language="en"))
    starts = (datetime.now(timezone.utc) + timedelta(minutes=90)).astimezone(PP)
    live.deliver(tg.text_update(caf, f"{starts:%d/%m/%Y %H:%M}", language="en"))
    live.deliver(tg.callback_update(caf, "frm:skip", language="en"))
    live.deliver(tg.callback_update(caf, "frm:yes", language="en"))
    assert "The meeting is saved. 3 subscribers will get reminders." in _said(tg, caf)

    # the scheduler service of `isafbot run` plans it (within its 10 s sync) and the 2-hour
    # reminder, due at once, goes out through the dispatcher and the Bot API
    tg.wait_for(lambda: "Reminder: Interface meeting in Kouk Khleang" in _said(tg, english)
                and "ការរំលឹក៖" in _said(tg, khmer), timeout=60)
    live.wait_idle()
    with live.app.db.session() as session:
        reminders = {r.address: r.status for r in session.execute(
            select(OutboxMessage).where(OutboxMessage.batch.like("rem:%"))).scalars()}
        assert reminders == {str(english): "sent", str(khmer): "sent",
                             str(blocked): "unreachable"}
        assert session.execute(select(User.unreachable).where(
            User.channel_user_id == str(blocked))).scalar_one()
    refused = [c for c in tg.attempts(blocked) if c.status == 403]
    assert len(refused) == 1 and "Reminder" in refused[0].params["text"]  # never retried

    live.deliver(tg.text_update(caf, "/broadcast", language="en"))
    live.deliver(tg.text_update(caf, "Bring your family book to the meeting.", language="en"))
    assert "Recipients: 2" in _said(tg, caf)  # the blocked user is not counted
    live.deliver(tg.callback_update(caf, "frm:yes", language="en"))
    tg.wait_for(lambda: "Bring your family book" in _said(tg, english)
                and "Bring your family book" in _said(tg, khmer), timeout=30)
    # the final report reaches the CAF (the service's housekeeping, every 10 s)
    tg.wait_for(lambda: "Your news to Kouk Khleang is done (2 people)" in _said(tg, caf),
                timeout=60)
    assert "sent: 2" in _said(tg, caf)
    # everyone got each message once
    for chat in (english, khmer):
        texts = tg.texts(chat)
        assert sum("Reminder" in t or "ការរំលឹក" in t for t in texts) == 1
        assert sum("Bring your family book" in t for t in texts) == 1
