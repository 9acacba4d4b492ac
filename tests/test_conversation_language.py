"""Issue 19, finding 6: one Latin word no longer flips the language, and what is stored for
broadcasts changes by the same rule (dialogues/core/language.py), in Khmer and English."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from common.khmer import script_of
from dialogues.core.language import shown_language
from dialogues.core.models import User
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _stored(app: App, user: str) -> str:
    with app.db.session() as session:
        return str(session.execute(select(User.language).where(
            User.channel_user_id == user)).scalar_one())


def _language_of(chat: Chat) -> str | None:
    return script_of(chat.last[0].text)


def test_a_khmer_user_typing_ok_keeps_khmer(sqlite_app: App) -> None:
    chat = Chat(sqlite_app, "grandma")
    chat.send("សំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert _language_of(chat) == "km"
    for word in ("ok", "hi", "thanks", "👍", "2"):
        chat.send(word)
        assert _language_of(chat) == "km", (word, chat.text)
        assert _stored(sqlite_app, "grandma") == "km"


def test_an_english_user_typing_one_khmer_word_keeps_english(sqlite_app: App) -> None:
    chat = Chat(sqlite_app, "visitor")
    chat.send("how much is a birth certificate")
    assert _language_of(chat) == "en"
    chat.send("អរគុណ")
    assert _language_of(chat) == "en", chat.text
    assert _stored(sqlite_app, "visitor") == "en"
    chat.send("how much is a birth certificate")  # back to English: the streak is over
    chat.send("អរគុណ")
    assert _stored(sqlite_app, "visitor") == "en"


@pytest.mark.parametrize(("first", "other", "then"), [
    ("សំបុត្រកំណើតអស់ប៉ុន្មាន", "km", ["how much is a birth certificate",
                                        "what documents do I need for an id card"]),
    ("how much is a birth certificate", "en", ["សំបុត្រកំណើតអស់ប៉ុន្មាន",
                                               "ធ្វើអត្តសញ្ញាណប័ណ្ណត្រូវការអ្វីខ្លះ"]),
])
def test_two_messages_in_a_row_in_the_other_language_switch(
        sqlite_app: App, first: str, other: str, then: list[str]) -> None:
    chat = Chat(sqlite_app, "switcher")
    chat.send(first)
    assert _stored(sqlite_app, "switcher") == other
    chat.send(then[0])
    assert _language_of(chat) == other, "one message is not a sustained change"
    chat.send(then[1])
    switched = "en" if other == "km" else "km"
    assert _language_of(chat) == switched
    assert _stored(sqlite_app, "switcher") == switched


def test_a_deliberate_choice_applies_at_once(sqlite_app: App) -> None:
    chat = Chat(sqlite_app, "chooser")
    chat.send("សំបុត្រកំណើតអស់ប៉ុន្មាន")
    chat.press("lang:en")
    assert _stored(sqlite_app, "chooser") == "en"
    chat.send("ok")
    assert _language_of(chat) == "en"


@pytest.mark.parametrize(("text", "shown"), [
    ("ok", None), ("OK!", None), ("stop", None), ("hi", None), ("thank you", None),
    ("👍", None), ("123", None), ("២០២៦", None), ("yes", None), ("no", None),
    ("how much", "en"), ("passport", "en"), ("ឈប់", "km"), ("birth certificate តម្លៃប៉ុន្មាន", "km"),
])
def test_what_a_message_shows(text: str, shown: str | None) -> None:
    assert shown_language(text) == shown
