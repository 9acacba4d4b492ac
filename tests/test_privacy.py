"""The privacy scan: a whole survey (ratings, going back to an earlier answer, a comment, a
profile answer, asking for the summary) over Telegram and over Messenger, through the fake
platform servers, the real libraries and the real server path (webhook, inbox, workers,
dispatcher), on SQLite and PostgreSQL; then every column of every table is read back.

What "beside a platform identity" means here, precisely: a table is identity-bearing when any
of its rows holds the platform user id, a first or last name or a username (anywhere in any
column, JSON and binary columns included), or when it has a foreign key to `users` (its rows
are linked to one). In such a table, no row may hold the comment text, a rating label (km or
en, as the buttons show it) or the profile answer's label. Names and usernames are not needed
for anything: they may not be stored anywhere at all.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.bootstrap import App, bootstrap
from content.sections.surveys import surveys_of
from tests import live_server
from tests.conftest import make_settings
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.scorecard_helpers import open_for

TG_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstu"
TG_SECRET = "test-webhook-secret-0123456789"
TG_USER = 5550173942
FIRST_NAME, LAST_NAME, USERNAME = "Chanthavy", "Sopheakdey", "chanthavy_sk"

FB_TOKEN = "test-page-access-token"
FB_SECRET = "test-app-secret-5f1c"
PSID = "6543210987654321"
PAGE_ID = "1000000000001"

COMMENT_EN = "The midwife asked me for 20000 riel extra"
COMMENT_KM = "ឆ្មបសុំលុយបន្ថែមពីខ្ញុំ ២០០០០ រៀល"


def rating_labels(app: App) -> list[str]:
    """Every level of the scale as its button shows it, in Khmer and English."""
    return [level.button_label(lang) for level in surveys_of(app.content).scale
            for lang in ("km", "en")]


# ------------------------------------------------------------------ the scan

def _flatten(value: Any) -> str:
    """A stored value as searchable text: JSON unescaped, bytes decoded."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "ignore")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    found = str(value)
    if isinstance(value, str) and found[:1] in "{[\"":
        with contextlib.suppress(ValueError):  # JSON kept as text: \\u escapes hide Khmer
            found += "\n" + json.dumps(json.loads(found), ensure_ascii=False)
    return found


def scan(url: str, identities: list[str], sensitive: list[str]) -> list[str]:
    """Violations of the rule in this module's docstring, as readable lines."""
    engine = create_engine(url, future=True)
    problems: list[str] = []
    try:
        inspector = inspect(engine)
        with engine.connect() as connection:
            for table in sorted(inspector.get_table_names()):
                linked = any(fk["referred_table"] == "users"
                             for fk in inspector.get_foreign_keys(table))
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                cells = [(row, column, _flatten(value)) for row in rows
                         for column, value in row.items()]
                holds_identity = linked or any(
                    identity in cell for _, _, cell in cells for identity in identities)
                for _row, column, cell in cells:
                    for name in (FIRST_NAME, LAST_NAME, USERNAME):
                        if name in cell:
                            problems.append(f"{table}.{column} holds the name {name!r}")
                    if holds_identity:
                        problems += [f"{table}.{column} holds {secret!r} beside an identity"
                                     for secret in sensitive if secret in cell]
    finally:
        engine.dispose()
    return sorted(set(problems))


def _unlimited(server: live_server.LiveServer) -> live_server.LiveServer:
    """The platforms' per-chat rate limits (one message a second) would make a survey of 25
    turns take half a minute; they are not what this test is about."""
    server.runtime.dispatcher.limiters.clear()
    return server


# ------------------------------------------------------------------ Telegram

class TelegramUser:
    """A person with a first and last name and a username, in a private chat with the bot
    (webhook mode), pressing the buttons they were shown."""

    def __init__(self, server: live_server.LiveServer, tg: FakeTelegram) -> None:
        self.server, self.tg = server, tg
        self.names = {"first_name": FIRST_NAME, "last_name": LAST_NAME, "username": USERNAME}

    def _post(self, update: dict[str, Any]) -> None:
        assert self.server.http is not None
        response = self.server.http.post(
            "/webhooks/telegram", content=json.dumps(update).encode(),
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        assert response.status_code == 200, response.text
        self.server.wait_idle()

    def say(self, words: str) -> None:
        self._post(self.tg.text_update(TG_USER, words, language="en", **self.names))

    def press(self, label: str) -> None:
        for record in reversed(self.tg.sent(TG_USER)):
            for row in (record.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        self._post(self.tg.callback_update(
                            TG_USER, button["callback_data"], language="en", **self.names))
                        return
        raise AssertionError(f"no button {label!r} was shown:\n{self.shown()}")

    def shown(self) -> str:
        return "\n".join(self.tg.texts(TG_USER))


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(TG_TOKEN, username="isaf_test_bot") as fake:
        yield fake


@pytest.fixture
def telegram_app(tmp_path: Path, database_url: str, nlu: Any, tg: FakeTelegram
                 ) -> Iterator[App]:
    env = {"TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
           "TELEGRAM_TIMEOUT": "2", "TELEGRAM_RETRY_SECONDS": "0.3",
           "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
           "TELEGRAM_WEBHOOK_SECRET": TG_SECRET}
    application = bootstrap(make_settings(tmp_path, database_url, **env), nlu=nlu)
    yield application
    application.close()


def test_a_telegram_survey_leaves_no_identity_beside_answers(telegram_app: App,
                                                            tg: FakeTelegram) -> None:
    app = telegram_app
    open_for(app)
    with _unlimited(live_server.LiveServer(app)) as server:
        tg.wait_for(lambda: "getMe" in tg.methods())
        user = TelegramUser(server, tg)
        user.say("i want to rate the health centre in Kouk Khleang")
        user.press("✅ Start")
        user.press("🙂 Good")
        user.press("⬅️ Back")
        assert "Your earlier answer: 🙂 Good" in user.shown()
        user.press("😐 Acceptable")
        for label in ["😡 Very bad", "🙁 Bad", "😄 Very good"] * 3:
            user.press(label)
        assert "Any comment" in user.shown()
        user.say(COMMENT_EN)
        user.press("Answer")
        user.press("Woman")
        user.say("27")
        for _ in range(3):
            user.press("Prefer not to say")
        user.press("Yes, send me the results")
        assert "Thank you for rating Kouk Khleang Health Centre" in user.shown()

    problems = scan(app.settings.database_url, [str(TG_USER), FIRST_NAME, LAST_NAME, USERNAME],
                    [COMMENT_EN, "Woman", *rating_labels(app)])
    assert problems == [], "\n".join(problems)


# ------------------------------------------------------------------ Messenger

class MessengerUser:
    """A person on the page's Messenger, tapping the quick replies and buttons they were
    shown (Meta sends their title back: a quick reply's as the message text)."""

    def __init__(self, server: live_server.LiveServer, graph: FakeGraph) -> None:
        self.server, self.graph = server, graph
        self._mids = iter(range(1, 10_000))

    def _post(self, event: dict[str, Any]) -> None:
        import hashlib
        import hmac

        event = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
                 "timestamp": int(time.time() * 1000), **event}
        raw = json.dumps({"object": "page", "entry": [
            {"id": PAGE_ID, "time": event["timestamp"], "messaging": [event]}]}).encode()
        signature = "sha256=" + hmac.new(FB_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert self.server.http is not None
        response = self.server.http.post("/webhooks/messenger", content=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})
        assert response.status_code == 200, response.text
        self.server.wait_idle()

    def say(self, words: str) -> None:
        self._post({"message": {"mid": f"m_in_{next(self._mids)}", "text": words}})

    def press(self, label: str) -> None:
        for body in reversed(self.graph.sent(PSID)):
            message = body["message"]
            for reply in message.get("quick_replies", []):
                if _shows(reply["title"], label):
                    self._post({"message": {"mid": f"m_in_{next(self._mids)}",
                                            "text": reply["title"],
                                            "quick_reply": {"payload": reply["payload"]}}})
                    return
            payload = (message.get("attachment") or {}).get("payload") or {}
            for button in payload.get("buttons", []):
                if _shows(button["title"], label):
                    self._post({"postback": {"mid": f"m_pb_{next(self._mids)}",
                                             "title": button["title"],
                                             "payload": button["payload"]}})
                    return
        raise AssertionError(f"no choice {label!r} was shown:\n{self.shown()}")

    def shown(self) -> str:
        parts = []
        for body in self.graph.sent(PSID):
            message = body["message"]
            payload = (message.get("attachment") or {}).get("payload") or {}
            parts.append(message.get("text") or payload.get("text") or "")
        return "\n".join(parts)


def _shows(title: str, label: str) -> bool:
    """A Messenger title shows the label, whole or shortened ("Yes, send me the…")."""
    return title == label or (title.endswith("…") and label.startswith(title[:-1]))


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(FB_TOKEN, FB_SECRET) as fake:
        yield fake


@pytest.fixture
def messenger_app(tmp_path: Path, database_url: str, nlu: Any, graph: FakeGraph
                  ) -> Iterator[App]:
    env = {"MESSENGER_PAGE_ACCESS_TOKEN": FB_TOKEN, "MESSENGER_APP_SECRET": FB_SECRET,
           "MESSENGER_VERIFY_TOKEN": "test-verify-token", "MESSENGER_GRAPH_URL": graph.url,
           "MESSENGER_API_VERSION": "26.0", "MESSENGER_RETRY_SECONDS": "0.3",
           "MESSENGER_TIMEOUT": "1.5"}
    application = bootstrap(make_settings(tmp_path, database_url, **env), nlu=nlu)
    yield application
    application.close()


def test_a_messenger_survey_leaves_no_identity_beside_answers(messenger_app: App,
                                                             graph: FakeGraph) -> None:
    app = messenger_app
    open_for(app)
    with _unlimited(live_server.LiveServer(app)) as server:
        user = MessengerUser(server, graph)
        user.say("ចង់វាយតម្លៃមណ្ឌលសុខភាព")
        user.say("គោកឃ្លាំង")
        user.press("✅ ចាប់ផ្តើម")
        user.press("🙂 ពេញចិត្ត")
        user.press("⬅️ ត្រឡប់ក្រោយ")
        assert "ចម្លើយមុនរបស់អ្នក៖ 🙂 ពេញចិត្ត" in user.shown()
        user.press("😐 ទទួលយកបាន")
        for label in ["😡 មិនពេញចិត្តខ្លាំង", "🙁 មិនពេញចិត្ត", "😄 ពេញចិត្តខ្លាំង"] * 3:
            user.press(label)
        user.say(COMMENT_KM)
        assert "មតិយោបល់របស់អ្នកត្រូវបានរក្សាទុក" in user.shown()
        user.press("ឆ្លើយ")
        user.press("ស្រី")
        user.say("២៧")
        for _ in range(3):
            user.press("មិនចង់ប្រាប់")
        user.press("បាទ/ចាស ផ្ញើមកខ្ញុំ")
        assert "អរគុណសម្រាប់ការវាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង" in user.shown()

    problems = scan(app.settings.database_url, [PSID],
                    [COMMENT_KM, "ស្រី", *rating_labels(app)])
    assert problems == [], "\n".join(problems)


def test_the_scan_finds_what_it_looks_for(sqlite_url: str) -> None:
    """The scan is not blind: a name anywhere, and a label in a table linked to users, are
    reported; the same label in a table without identity is not."""
    from bot.db import Database

    database = Database(sqlite_url)
    database.migrate()
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (channel, channel_user_id, language, language_chosen, role, "
            "unreachable, created_at) VALUES ('telegram', '42', 'en', 0, 'citizen', 0, "
            "'2026-01-01')"))
        connection.execute(text(
            "INSERT INTO message_log (user_id, channel, direction, kind, text, created_at) "
            "VALUES (1, 'telegram', 'in', 'text', :t, '2026-01-01')"),
            {"t": json.dumps({"said": "🙂 Good", "by": FIRST_NAME})})
        connection.execute(text(
            "INSERT INTO scoring_rounds (facility_id, survey_id, opened_at, opened_by) "
            "VALUES ('hc_1', 'health_centre', '2026-01-01', 'test')"))
        connection.execute(text(
            "INSERT INTO survey_comments (id, round_id, author, text) "
            "VALUES ('c1', 1, 'a', '🙂 Good')"))
    database.dispose()
    assert scan(sqlite_url, ["42"], ["🙂 Good"]) == [
        "message_log.text holds '🙂 Good' beside an identity",
        f"message_log.text holds the name {FIRST_NAME!r}",
    ]

