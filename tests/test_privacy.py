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
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.bootstrap import App
from content.surveys.section import surveys_of
from tests import live_server, test_messenger, test_telegram
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.scorecard_helpers import open_for

Server = TypeVar("Server", bound=live_server.LiveServer)

TG_USER = 5550173942
FIRST_NAME, LAST_NAME, USERNAME = "Chanthavy", "Sopheakdey", "chanthavy_sk"
PSID = "6543210987654321"

COMMENT_EN = "The midwife asked me for 20000 riel extra"
COMMENT_KM = "ឆ្មបសុំលុយបន្ថែមពីខ្ញុំ ២០០០០ រៀល"


# A whole survey as a person takes it: what they type, the buttons they press (by label), and
# what they must have been shown (their earlier answer, when they went back to it).
SURVEY_EN = [
    ("say", "i want to rate the health centre in Kouk Khleang"), ("press", "✅ Start"),
    ("press", "🙂 Good"), ("press", "⬅️ Back"), ("shown", "Your earlier answer: 🙂 Good"),
    ("press", "😐 Acceptable"),
    *[("press", label) for label in ["😡 Very bad", "🙁 Bad", "😄 Very good"] * 3],
    ("shown", "Any comment"), ("say", COMMENT_EN), ("press", "Answer"), ("press", "Woman"),
    ("say", "27"), *[("press", "Prefer not to say")] * 3, ("press", "Yes, send me the results"),
    ("shown", "Thank you for rating Kouk Khleang Health Centre")]
SURVEY_KM = [
    ("say", "ចង់វាយតម្លៃមណ្ឌលសុខភាព"), ("say", "គោកឃ្លាំង"), ("press", "✅ ចាប់ផ្តើម"),
    ("press", "🙂 ពេញចិត្ត"), ("press", "⬅️ ត្រឡប់ក្រោយ"), ("shown", "ចម្លើយមុនរបស់អ្នក៖ 🙂 ពេញចិត្ត"),
    ("press", "😐 ទទួលយកបាន"),
    *[("press", label) for label in ["😡 មិនពេញចិត្តខ្លាំង", "🙁 មិនពេញចិត្ត", "😄 ពេញចិត្តខ្លាំង"] * 3],
    ("say", COMMENT_KM), ("shown", "មតិយោបល់របស់អ្នកត្រូវបានរក្សាទុក"), ("press", "ឆ្លើយ"),
    ("press", "ស្រី"), ("say", "២៧"), *[("press", "មិនចង់ប្រាប់")] * 3,
    ("press", "បាទ/ចាស ផ្ញើមកខ្ញុំ"), ("shown", "អរគុណសម្រាប់ការវាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង")]


def walk(user: TelegramUser | MessengerUser, steps: list[tuple[str, str]]) -> None:
    """Say, press or check ("shown") each step in turn, as the user."""
    for action, value in steps:
        if action == "shown":
            assert value in user.shown(), f"{value!r} was not shown:\n{user.shown()}"
        else:
            getattr(user, action)(value)


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


@pytest.fixture
def open_app(make_app: Callable[..., App]) -> Callable[..., App]:
    """An app with a channel's settings and the health centre's round open."""
    def make(env: dict[str, str]) -> App:
        app = make_app(env)
        open_for(app)
        return app

    return make


def _unlimited(server: Server) -> Server:
    """The platforms' per-chat rate limits (one message a second) would make a survey of 25
    turns take half a minute; they are not what this test is about."""
    server.runtime.dispatcher.limiters.clear()
    return server


# ------------------------------------------------------------------ Telegram

class TelegramUser:
    """A person with a first and last name and a username, in a private chat with the bot
    (webhook mode), pressing the buttons they were shown."""

    def __init__(self, server: test_telegram.LiveServer) -> None:
        self.server, self.tg = server, server.tg
        self.names = {"first_name": FIRST_NAME, "last_name": LAST_NAME, "username": USERNAME,
                      "language": "en"}

    def say(self, words: str) -> None:
        self.server.deliver(self.tg.text_update(TG_USER, words, **self.names))

    def press(self, label: str) -> None:
        found = [b["callback_data"] for record in self.tg.sent(TG_USER)
                 for row in (record.get("reply_markup") or {}).get("inline_keyboard", [])
                 for b in row if b["text"] == label]
        assert found, f"no button {label!r} was shown:\n{self.shown()}"
        self.server.deliver(self.tg.callback_update(TG_USER, found[-1], **self.names))

    def shown(self) -> str:
        return "\n".join(self.tg.texts(TG_USER))


def test_a_telegram_survey_leaves_no_identity_beside_answers(
        open_app: Callable[..., App]) -> None:
    with FakeTelegram(test_telegram.TOKEN) as tg:
        app = open_app(test_telegram.telegram_env(tg, webhook=True))
        with _unlimited(test_telegram.LiveServer(app, tg)) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            walk(TelegramUser(server), SURVEY_EN)

    problems = scan(app.settings.database_url, [str(TG_USER), FIRST_NAME, LAST_NAME, USERNAME],
                    [COMMENT_EN, "Woman", *rating_labels(app)])
    assert problems == [], "\n".join(problems)


# ------------------------------------------------------------------ Messenger

class MessengerUser:
    """A person on the page's Messenger, tapping the quick replies and buttons they were
    shown (Meta sends their title back: a quick reply's as the message text)."""

    def __init__(self, server: test_messenger.LiveServer, graph: FakeGraph) -> None:
        self.server, self.graph = server, graph

    def say(self, words: str) -> None:
        self.server.deliver(test_messenger.text_event(PSID, words))

    def press(self, label: str) -> None:
        for title, payload, kind in reversed(self._choices()):
            if title == label or (title.endswith("…") and label.startswith(title[:-1])):
                make = test_messenger.quick_reply_event if kind == "quick_reply" else \
                    test_messenger.postback_event
                self.server.deliver(make(PSID, title, payload))
                return
        raise AssertionError(f"no choice {label!r} was shown:\n{self.shown()}")

    def _choices(self) -> list[tuple[str, str, str]]:
        found = []
        for body in self.graph.sent(PSID):
            message = body["message"]
            found += [(q["title"], q["payload"], "quick_reply")
                      for q in message.get("quick_replies", [])]
            payload = (message.get("attachment") or {}).get("payload") or {}
            found += [(b["title"], b["payload"], "postback") for b in payload.get("buttons", [])]
        return found

    def shown(self) -> str:
        return test_messenger.shown_text(self.graph.sent(PSID))


def test_a_messenger_survey_leaves_no_identity_beside_answers(
        open_app: Callable[..., App]) -> None:
    with FakeGraph(test_messenger.TOKEN, test_messenger.APP_SECRET) as graph:
        app = open_app(test_messenger.messenger_env(graph))
        with _unlimited(test_messenger.LiveServer(app)) as server:
            walk(MessengerUser(server, graph), SURVEY_KM)

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

