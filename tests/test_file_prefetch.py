"""A photo sent while a form is open is downloaded before the turn's transaction (App.prepare),
never inside it: a slow platform must not hold the database (SQLite's write lock). Outside a
flow nothing is downloaded. Through the queued path's real `App.prepare`, with a channel
fetcher that records when it is called."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from common.files import (
    PHOTO,
    PREFETCH_MAX_BYTES,
    PREFETCH_MAX_SECONDS,
    FetchRefused,
    FileRef,
    register,
)
from common.messages import Incoming, Kind
from content.reports.section import ReportRules
from dialogues.core.outbox import OutboxMessage
from dialogues.scorecard.jaap.chat_photo import MAX_BYTES as JAAP_MAX_BYTES
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, make_user
from tests.reports_dashboard_helpers import a_photo


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


class RecordingFetcher:
    """Gives a photo, and fails the test if asked while a transaction runs."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[int] = []
        self.in_transaction = False

    def fetch(self, file: FileRef, max_bytes: int) -> bytes:
        assert not self.in_transaction, "downloaded inside the turn's transaction"
        self.calls.append(max_bytes)
        if len(self.data) > max_bytes:
            raise FetchRefused("too_big")
        return self.data


def _photo_from(user: str, size: int) -> Incoming:
    return Incoming("console", user, Kind.IMAGE, message_id="m1",
                    file=FileRef(PHOTO, "file-1", size=size))


def _run(app: App, fetcher: RecordingFetcher, incoming: Incoming) -> list[str]:
    """Prepare (outside any transaction), then the effects in their transaction; the texts
    queued for the user."""
    effects = asyncio.run(app.prepare(incoming))
    assert effects is not None
    fetcher.in_transaction = True
    try:
        with app.db.session() as session:
            effects(session)
    finally:
        fetcher.in_transaction = False
    with app.db.read_session() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        return [str((row.reply or {}).get("text", "")) for row in rows]


def test_a_photo_in_an_open_report_is_fetched_before_the_transaction(chat: Chat) -> None:
    fetcher = RecordingFetcher(a_photo())
    register(chat.app.dialogues.ctx.extras, "console", fetcher)
    make_user(chat.app, "u1", commune=KK)
    chat.press("report")
    assert "frm:cancel" in chat.payloads  # the report's form is open
    texts = _run(chat.app, fetcher, _photo_from("u1", len(fetcher.data)))
    assert fetcher.calls == [PREFETCH_MAX_BYTES]  # once, before the transaction
    assert chat.app.content.message("rpt_media_kept_photo", "en") in texts


def test_a_photo_sent_outside_any_flow_is_not_downloaded(sqlite_app: App) -> None:
    fetcher = RecordingFetcher(a_photo())
    register(sqlite_app.dialogues.ctx.extras, "console", fetcher)
    _run(sqlite_app, fetcher, _photo_from("someone", 2000))
    assert fetcher.calls == []


def test_every_flow_keeps_at_most_what_is_fetched_ahead(sqlite_app: App) -> None:
    """A flow keeping a bigger file than PREFETCH_MAX_BYTES would be refused it."""
    rules = sqlite_app.content.sections.get(ReportRules)
    assert rules is not None
    assert max(rules.photo_max_bytes, JAAP_MAX_BYTES) <= PREFETCH_MAX_BYTES
    assert rules.voice_max_seconds <= PREFETCH_MAX_SECONDS


def test_a_photo_over_the_reports_limit_is_refused_from_the_prefetched_bytes(
        chat: Chat) -> None:
    rules = chat.app.content.sections.get(ReportRules)
    assert rules is not None
    big: Any = RecordingFetcher(a_photo() + b"\0" * (rules.photo_max_bytes + 1))
    register(chat.app.dialogues.ctx.extras, "console", big)
    make_user(chat.app, "u1", commune=KK)
    chat.press("report")
    texts = _run(chat.app, big, _photo_from("u1", 1000))  # the platform said it was small
    assert big.calls == [PREFETCH_MAX_BYTES]
    assert any(t.startswith(chat.app.content.message("rpt_media_too_big", "en", mb="5")[:20])
               for t in texts)
