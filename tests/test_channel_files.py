"""Photos and voice notes sent in a report, through the fake Telegram Bot API (getFile and its
file URL, python-telegram-bot's own download) and the fake Graph CDN (Messenger attachment
URLs), on the real server path (webhook, inbox, workers, dispatcher), on SQLite and PostgreSQL.

The webhook stores only the file's reference; the worker fetches it while the report's form is
open: a receipt photo is stored without its EXIF metadata, under a random name outside the web
root, and the commune's CAF sees it in /reports and on the dashboard; a redelivered update or
the same photo sent twice is kept once; a 20 MB photo and a 10-minute voice note are refused
(in Khmer and English) without any download; a Messenger body larger than its cap, or than it
announced, is cut. A JAAP action's progress photo sent by its CAF goes through the same port.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from dialogues.reports import media
from dialogues.reports.models import Report, ReportMedia
from dialogues.scorecard.jaap.chat_photo import FOLDER as JAAP_PHOTOS
from dialogues.scorecard.jaap.models import JaapAction
from tests import test_messenger, test_telegram
from tests.conftest import Chat
from tests.dashboard_helpers import add_accounts, login
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.meetings_helpers import KK, invite, make_user
from tests.test_jaap_chat import _round_with_action
from tests.test_privacy import PSID, TG_USER, MessengerUser, TelegramUser, _unlimited, walk
from tests.test_reports_media import photo_with_exif

ROOT = Path(__file__).resolve().parent.parent
TO_TEXT_EN = [("say", "they charged me 20,000 riel for a birth certificate"),
              ("say", "Kouk Khleang"), ("press", "Today")]
FINISH_EN = [("say", "The receipt shows 20,000 riel"), ("press", "✅ Yes, tell me"),
             ("press", "✅ Confirm")]
TO_TEXT_KM = [("say", "គេយកលុយខ្ញុំ២ម៉ឺនរៀល ធ្វើសំបុត្រកំណើត"), ("say", "គោកឃ្លាង"),
              ("press", "ថ្ងៃនេះ")]
FINISH_KM = [("say", "បង្កាន់ដៃបង្ហាញ២ម៉ឺនរៀល"), ("press", "✅ បាទ/ចាស ប្រាប់ខ្ញុំ"),
             ("press", "✅ បញ្ជាក់")]
KEPT = {"en": "I kept this photo", "km": "ខ្ញុំបានរក្សាទុករូបថតនេះ"}
KEPT_VOICE = {"en": "I kept this voice note", "km": "ខ្ញុំបានរក្សាទុកសារជាសំឡេងនេះ"}
TOO_BIG = {"en": "This file is too big (at most 5 MB)", "km": "ឯកសារនេះធំពេក (យ៉ាងច្រើន ៥ MB)"}
TOO_LONG = {"en": "This voice note is too long (at most 3 minutes)",
            "km": "សារជាសំឡេងនេះវែងពេក (យ៉ាងច្រើន ៣ នាទី)"}
GOES_ON = {"en": "your report goes on", "km": "របាយការណ៍របស់អ្នកនៅតែបន្ត"}


@pytest.fixture
def staffed_app(make_app: Callable[..., App], quick_passwords: None) -> Callable[..., App]:
    """An app with a channel's settings and the dashboard's accounts."""
    def make(env: dict[str, str]) -> App:
        app = make_app(env)
        add_accounts(app)
        return app

    return make


def media_rows(app: App) -> list[ReportMedia]:
    with app.db.session() as session:
        rows = list(session.execute(select(ReportMedia)).scalars())
        session.expunge_all()
        return rows


def stored_files(app: App) -> list[Path]:
    directory = app.settings.data_dir / media.MEDIA_DIR
    return sorted(directory.iterdir()) if directory.exists() else []


def reference_of(app: App) -> str:
    with app.db.session() as session:
        return str(session.execute(select(Report.reference)).scalar_one())


def send_photo(user: TelegramUser, file: dict[str, Any], kind: str = "photo") -> dict[str, Any]:
    update = user.tg.media_update(TG_USER, kind, file=file, **user.names)
    user.server.deliver(update)
    return update


def test_a_telegram_receipt_photo_is_kept_once_without_exif_and_the_caf_sees_it(
        staffed_app: Callable[..., App]) -> None:
    with FakeTelegram(test_telegram.TOKEN) as tg:
        app = staffed_app(test_telegram.telegram_env(tg, webhook=True))
        with _unlimited(test_telegram.LiveServer(app, tg)) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            user = TelegramUser(server)
            walk(user, TO_TEXT_EN)
            receipt = tg.add_file(photo_with_exif((1600, 1200)))
            update = send_photo(user, receipt)
            assert KEPT["en"] in user.shown()
            server.deliver(update)  # Telegram redelivers the same update: dropped by the inbox
            send_photo(user, receipt)  # the person sends the same photo again
            assert "I already kept this file." in user.shown()
            assert "Attached: photos 1, voice notes 0" not in user.shown()
            walk(user, FINISH_EN[:2])
            assert "Attached: photos 1, voice notes 0" in user.shown()  # the preview
            walk(user, FINISH_EN[2:])
            assert "20,000 riel of that was not due" in user.shown()
            reference = reference_of(app)
            assert server.http is not None
            assert login(server.http, "caf").status_code == 303
            page = server.http.get(f"/dashboard/reports/{reference}")
            assert page.status_code == 200
            links = re.findall(rf"/dashboard/reports/{reference}/media/[0-9a-f]+", page.text)
            assert len(set(links)) == 1
            served = server.http.get(links[0])
            assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    rows, files = media_rows(app), stored_files(app)
    assert [(row.kind, row.file_name) for row in rows] == [("photo", files[0].name)]
    assert len(files) == 1 and re.fullmatch(r"[0-9a-f]{32}\.jpg", files[0].name)
    kept = files[0].read_bytes()
    assert b"SecretPhoneMaker" not in kept and served.content == kept
    assert not files[0].resolve().is_relative_to(ROOT / "bot" / "dashboard" / "static")
    assert tg.downloads.count(tg.downloads[0]) == 2  # fetched twice, stored once
    caf = Chat(app, user="caf-kk")
    make_user(app, "caf-kk", commune=None)
    caf.send(f"/caf {invite(app, KK)}")
    caf.press(f"rptc:o:{reference}")
    assert "• Attachments: photo" in caf.text


@pytest.mark.parametrize("lang", ["en", "km"])
def test_a_huge_photo_and_a_long_voice_note_are_refused_without_downloading(
        staffed_app: Callable[..., App], lang: str) -> None:
    with FakeTelegram(test_telegram.TOKEN) as tg:
        app = staffed_app(test_telegram.telegram_env(tg, webhook=True))
        with _unlimited(test_telegram.LiveServer(app, tg)) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            user = TelegramUser(server)
            walk(user, TO_TEXT_EN if lang == "en" else TO_TEXT_KM)
            send_photo(user, tg.add_file(b"\xff\xd8" + b"\0" * 100, size=20 * 1024 * 1024))
            assert TOO_BIG[lang] in user.shown() and GOES_ON[lang] in user.shown()
            long_voice = tg.add_file(b"OggS" + b"\0" * 500, suffix="ogg")
            send_photo(user, {**long_voice, "duration": 600}, kind="voice")
            assert TOO_LONG[lang] in user.shown()
            assert tg.downloads == [] and "getFile" not in tg.methods()
            short_voice = tg.add_file(b"OggS" + b"\1" * 800, suffix="ogg")
            send_photo(user, {**short_voice, "duration": 12}, kind="voice")
            assert KEPT_VOICE[lang] in user.shown()
            walk(user, FINISH_EN if lang == "en" else FINISH_KM)
    assert tg.downloads == ["files/file_" + short_voice["file_id"][4:] + ".ogg"]
    rows, files = media_rows(app), stored_files(app)
    assert [(row.kind, row.bytes) for row in rows] == [("voice", 804)]
    assert [path.name for path in files] == [rows[0].file_name]


def test_messenger_photos_are_fetched_with_a_cap_and_cut_when_larger(
        staffed_app: Callable[..., App]) -> None:
    with FakeGraph(test_messenger.TOKEN, test_messenger.APP_SECRET) as graph:
        app = staffed_app(test_messenger.messenger_env(graph))
        with _unlimited(test_messenger.LiveServer(app)) as server:
            user = MessengerUser(server, graph)
            walk(user, TO_TEXT_KM)
            huge = b"\xff" * 30_000_000
            urls = {"told": graph.add_attachment(huge),  # Content-Length over the cap
                    "untold": graph.add_attachment(huge, announce=None),  # no length: cut
                    "lying": graph.add_attachment(huge, announce=1000),  # says 1,000 bytes
                    "receipt": graph.add_attachment(photo_with_exif())}
            for name in ("told", "untold", "lying", "receipt"):
                server.deliver(image_event(urls[name]))
            walk(user, FINISH_KM)
    shown = user.shown()
    assert shown.count(TOO_BIG["km"]) == 2  # announced too big; cut at the cap
    assert "ខ្ញុំមិនអាចអានរូបថតនេះបានទេ" in shown  # 1,000 bytes of no image
    assert KEPT["km"] in shown
    served = {name: graph.served[url.split("/cdn/")[1].split("?")[0]]
              for name, url in urls.items()}
    assert served["told"] < len(huge) and served["untold"] < len(huge)
    assert served["lying"] < len(huge)
    rows, files = media_rows(app), stored_files(app)
    assert [row.kind for row in rows] == ["photo"] and len(files) == 1
    assert b"SecretPhoneMaker" not in files[0].read_bytes()


def image_event(url: str) -> dict[str, Any]:
    event = test_messenger.attachment_event(PSID, "image")
    event["message"]["attachments"][0]["payload"]["url"] = url
    return event


def test_a_jaap_actions_progress_photo_from_telegram(staffed_app: Callable[..., App]) -> None:
    caf = 7_300_001
    with FakeTelegram(test_telegram.TOKEN) as tg:
        app = staffed_app(test_telegram.telegram_env(tg, webhook=True))
        _, action_id = _round_with_action(app)
        with _unlimited(test_telegram.LiveServer(app, tg)) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            server.deliver(tg.text_update(caf, f"/start caf-{invite(app, KK)}", language="en"))
            server.deliver(tg.callback_update(caf, "lang:en", language="en"))
            server.deliver(tg.callback_update(caf, f"jaap:st:{action_id}:done", language="en"))
            too_big = tg.add_file(b"\xff\xd8", size=15 * 1024 * 1024)
            server.deliver(tg.media_update(caf, "photo", file=too_big, language="en"))
            assert "This photo is too big (at most 8 MB)" in "\n".join(tg.texts(caf))
            progress = tg.add_file(photo_with_exif())
            server.deliver(tg.media_update(caf, "photo", file=progress, language="en"))
            assert "I kept this photo" in "\n".join(tg.texts(caf))
            server.deliver(tg.text_update(caf, "The roof is fixed", language="en"))
            server.deliver(tg.callback_update(caf, "frm:yes", language="en"))
    assert len(tg.downloads) == 1
    with app.db.session() as session:
        row = session.get(JaapAction, action_id)
        assert row is not None and row.status == "done" and row.photo
        photo = str(row.photo)
    kept = (app.settings.data_dir / JAAP_PHOTOS / photo).read_bytes()
    assert b"SecretPhoneMaker" not in kept and kept[:2] == b"\xff\xd8"
