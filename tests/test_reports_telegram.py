"""The reports' figures reach a meeting's subscribers through Telegram (the project's web app
under uvicorn with its dispatcher, python-telegram-bot against the fake Bot API), on SQLite and
PostgreSQL: a CAF presses "send" in the dashboard and each subscriber receives the chart as a
photo with the caption in their language."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from bot.bootstrap import App
from dialogues.core.models import User
from dialogues.core.permissions import operator
from dialogues.meetings import store as meetings
from tests.dashboard_helpers import HC_COMMUNE, add_accounts, csrf_of, dashboard_app, login
from tests.fake_telegram import FakeTelegram
from tests.reports_dashboard_helpers import add_many
from tests.test_telegram import TOKEN, USERNAME, LiveServer, telegram_env

KHMER_CHAT, ENGLISH_CHAT = 7_100_001, 7_100_002


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, username=USERNAME) as fake:
        yield fake


@pytest.fixture
def app(tmp_path: Path, database_url: str, quick_passwords: None,
        tg: FakeTelegram) -> Iterator[App]:
    application = dashboard_app(tmp_path, database_url, **telegram_env(tg, webhook=True))
    add_accounts(application)
    yield application
    application.close()


def _meeting_with_subscribers(app: App) -> int:
    now = datetime.now(timezone.utc)
    with app.db.session() as session:
        for chat, lang in ((KHMER_CHAT, "km"), (ENGLISH_CHAT, "en")):
            user = User(channel="telegram", channel_user_id=str(chat), language=lang)
            session.add(user)
            session.flush()
            meetings.subscribe(session, user, HC_COMMUNE)
        meeting = meetings.create_meeting(session, kind="interface", commune=HC_COMMUNE,
                                          place="Kouk Khleang sangkat hall",
                                          starts_at=now + timedelta(days=3), agenda=None,
                                          by=operator("test"), now=now)
        return int(meeting.id)


def test_the_figures_reach_the_subscribers_as_a_photo(app: App, tg: FakeTelegram) -> None:
    meeting = _meeting_with_subscribers(app)
    add_many(app, HC_COMMUNE, 5)
    with LiveServer(app, tg) as live:
        assert live.http is not None
        assert login(live.http, "caf").status_code == 303
        token = csrf_of(live.http.get("/dashboard/reports/figures").text)
        sent = live.http.post(f"/dashboard/reports/figures/meetings/{meeting}?lang=en",
                              data={"csrf": token})
        assert sent.status_code == 200 and "queued for 2 subscribers" in sent.text
        tg.wait_for(lambda: len(tg.sent(KHMER_CHAT)) == 1 and len(tg.sent(ENGLISH_CHAT)) == 1)
    khmer, english = tg.sent(KHMER_CHAT)[0], tg.sent(ENGLISH_CHAT)[0]
    assert khmer["method"] == english["method"] == "sendPhoto"
    assert khmer["caption"].startswith("📊 របាយការណ៍ពលរដ្ឋនៅគោកឃ្លាង")
    assert english["caption"].startswith("📊 Citizen reports in Kouk Khleang, for the ")
    assert "Kouk Khleang sangkat hall" in english["caption"]
    for message in (khmer, english):
        with Image.open(io.BytesIO(message["photo"])) as image:
            assert image.format == "PNG" and image.width == 1080
    assert khmer["photo"] != english["photo"]  # each drawn in its reader's language
