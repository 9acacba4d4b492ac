"""Issue 19, finding 8: personal data in free text. A survey comment with a phone number (or an
e-mail, an ID number, a name introduced as one) is not thanked and kept as typed any more: the
person is offered to remove it, keep it or rewrite it; the dashboard masks what was detected.
In Khmer (Khmer digits) and English. The detector is common.redact.find_personal_data."""

from __future__ import annotations

import pytest

from bot.dashboard import data
from common.redact import find_personal_data, mask_personal_data
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.scorecard_helpers import HC, HC_INDICATORS, open_for, stored


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _to_the_comment(chat: Chat, greeting: str) -> int:
    round_id = open_for(chat.app)
    chat.send(greeting)
    chat.press(f"svy:f:{HC}")
    chat.press("svy:yes:consent")
    for number in range(1, len(HC_INDICATORS) + 1):
        chat.press(f"svy:skip:q{number}")
    assert "svy:skip:comment" in chat.payloads, chat.text
    return round_id


def test_an_english_comment_with_a_phone_number_is_offered_removal(chat: Chat) -> None:
    _to_the_comment(chat, "hello")
    chat.send("The nurse asked for money, call me on 012 345 678")
    assert "phone number" in chat.text
    assert chat.payloads == ["svy:pii:comment:remove", "svy:pii:comment:keep",
                             "svy:pii:comment:rewrite"]
    chat.press("svy:pii:comment:remove")
    assert stored(chat.app).comments == ["The nurse asked for money, call me on […]"]
    assert "Removed" in chat.text and "optional questions" in chat.text


def test_a_khmer_comment_with_a_name_and_khmer_digits(chat: Chat) -> None:
    round_id = _to_the_comment(chat, "សួស្តី")
    comment = "ពេទ្យឈ្មោះសុខា យកលុយ ទូរស័ព្ទ ០១២ ៣៤៥ ៦៧៨"
    chat.send(comment)
    assert "លេខទូរស័ព្ទ" in chat.text and "ឈ្មោះមនុស្ស" in chat.text
    chat.press("svy:pii:comment:rewrite")
    assert stored(chat.app).comments == []  # rewriting drops what was typed
    chat.send("ពេទ្យមិនរួសរាយ")
    assert stored(chat.app).comments == ["ពេទ្យមិនរួសរាយ"]
    chat.send("back")
    chat.send(comment)
    chat.press("svy:pii:comment:keep")
    assert stored(chat.app).comments == [comment]  # kept as typed, as the person chose
    with chat.app.db.read_session() as session:
        shown = data.comments(session, round_id)
    assert shown and "០១២" not in shown[0] and "សុខា" not in shown[0]


def test_a_comment_without_personal_data_is_thanked_at_once(chat: Chat) -> None:
    _to_the_comment(chat, "hello")
    chat.send("The waiting room is clean")
    assert "svy:pii:comment:remove" not in chat.payloads
    assert stored(chat.app).comments == ["The waiting room is clean"]


@pytest.mark.parametrize(("text", "kinds"), [
    ("call 012 345 678", ["phone"]),
    ("097-123-4567 or +855 12 345 678", ["phone", "phone"]),
    ("ទូរស័ព្ទ០៩៦១២៣៤៥៦៧ណា", ["phone"]),
    ("write to sokha.k@example.org", ["email"]),
    ("my ID card 123456789", ["id"]),
    ("passport N1234567", ["id"]),
    ("Dr Sokha was late", ["name"]),
    ("គ្រូឈ្មោះដារ៉ា", ["name"]),
    ("fee 10.000 riel in 2026, 1,000,000 riel", []),
    ("ថ្ងៃទី៨ ខែ១២ ម៉ោង២រសៀល", []),
    ("08.12.2026 at 14:00", []),
    ("the midwife was rude", []),  # a role, not a name
])
def test_the_detector(text: str, kinds: list[str]) -> None:
    assert [item.kind for item in find_personal_data(text)] == kinds


def test_names_count_only_where_the_form_does_not_ask_for_them() -> None:
    assert find_personal_data("Dr Sokha", names=False) == []
    assert mask_personal_data("call 012 345 678 now") == "call ▒▒▒ now"


def test_the_usage_page_masks_phone_numbers_in_unanswered_questions(chat: Chat) -> None:
    from datetime import datetime

    from sqlalchemy import select

    from bot.dashboard.auth import Principal
    from dialogues.core.models import MessageLog, User

    chat.send("hello")
    with chat.app.db.session() as session:
        user = session.execute(select(User)).scalar_one()
        session.add(MessageLog(user_id=user.id, channel="console", direction="in", kind="text",
                               text="my neighbour 012 345 678 cheats", handled_as="fallback"))
    admin = Principal(1, "admin", "admin", frozenset(), "csrf")
    with chat.app.db.read_session() as session:
        usage = data.usage(session, admin, since=datetime(2000, 1, 1))
    shown = " ".join(text for text, _ in usage.unanswered)
    assert "neighbour" in shown and "345" not in shown
