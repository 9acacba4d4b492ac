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


def test_two_english_messages_in_a_row_switch_a_khmer_user(sqlite_app: App) -> None:
    chat = Chat(sqlite_app, "switcher")
    chat.send("សំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert _stored(sqlite_app, "switcher") == "km"
    chat.send("how much is a birth certificate")
    assert _language_of(chat) == "km", "one message is not a sustained change"
    chat.send("what documents do I need for an id card")
    assert _language_of(chat) == "en"
    assert _stored(sqlite_app, "switcher") == "en"


def test_one_khmer_sentence_switches_an_english_user_who_never_chose(sqlite_app: App) -> None:
    """Whoever writes a Khmer sentence reads Khmer (a Khmer word alone does not switch:
    test_an_english_user_typing_one_khmer_word_keeps_english)."""
    chat = Chat(sqlite_app, "switcher")
    chat.send("how much is a birth certificate")
    assert _stored(sqlite_app, "switcher") == "en"
    chat.send("សំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert _language_of(chat) == "km"
    assert _stored(sqlite_app, "switcher") == "km"


def test_a_khmer_sentence_does_not_undo_a_choice_of_english(sqlite_app: App) -> None:
    chat = Chat(sqlite_app, "visitor")
    chat.send("how much is a birth certificate")
    chat.press("lang:en")
    chat.send("សំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert _language_of(chat) == "en"
    assert _stored(sqlite_app, "visitor") == "en"


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
