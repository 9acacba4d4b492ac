"""Issue 19, finding 5: opting out only when meant, in Khmer and English.

"ឈប់និយាយសិន ចាំថ្ងៃក្រោយសួរទៀត" (let's stop for now, I'll ask later) used to unsubscribe at
once. Now a bare stop word leaves at once, a longer sentence asks first with buttons, and the
confirmation of leaving says how to come back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from dialogues.meetings.models import MeetingSubscription
from dialogues.meetings.optout import is_bare_stop
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, make_user


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


@pytest.fixture
def oapp(settings: Settings, nlu: Any) -> Iterator[App]:
    application = bootstrap(settings, nlu=nlu)
    yield application
    application.close()


def _subscribed(app: App) -> int:
    with app.db.session() as session:
        return len(list(session.execute(select(MeetingSubscription)).scalars()))


CASES = [
    ("km", "ឈប់ផ្ញើការរំលឹកមកខ្ញុំទៀតទៅ", "ឈប់", "ចង់ទទួលការរំលឹក"),
    ("en", "ok stop the reminders for now", "stop", "remind me"),
]
# "Let's stop for now, I'll ask later", "ok stop, talk tomorrow": the people of finding 5.
TALK_LATER = [("km", "ឈប់និយាយសិន ចាំថ្ងៃក្រោយសួរទៀត"), ("en", "ok stop, talk tomorrow")]


@pytest.mark.parametrize(("lang", "sentence", "bare", "again"), CASES)
def test_a_sentence_with_stop_asks_and_a_bare_stop_leaves(
        oapp: App, lang: str, sentence: str, bare: str, again: str) -> None:
    make_user(oapp, "u1", language=lang, subscribed=True, commune=KK)
    chat = Chat(oapp, "u1")
    chat.send(sentence)
    assert _subscribed(oapp) == 1, chat.text  # still subscribed
    assert chat.payloads[:2] == ["meet:unsub", "unsub:keep"], chat.text
    chat.press("unsub:keep")
    assert _subscribed(oapp) == 1
    chat.send(sentence)
    chat.press("meet:unsub")
    assert _subscribed(oapp) == 0
    assert again in chat.text  # says how to subscribe again
    assert "meet:sub" in chat.payloads
    make_user(oapp, "u2", language=lang, subscribed=True, commune=KK)
    other = Chat(oapp, "u2")
    other.send(bare)
    assert _subscribed(oapp) == 0, other.text  # a bare stop leaves at once
    assert again in other.text


@pytest.mark.parametrize(("lang", "sentence"), TALK_LATER)
def test_stop_talking_for_now_never_unsubscribes(oapp: App, lang: str, sentence: str) -> None:
    make_user(oapp, "u1", language=lang, subscribed=True, commune=KK)
    chat = Chat(oapp, "u1")
    chat.send(sentence)
    assert _subscribed(oapp) == 1, chat.text
    assert "🔕" not in chat.text  # meet_unsubscribed's mark


def test_the_stop_command_always_leaves(oapp: App) -> None:
    make_user(oapp, "u1", language="km", subscribed=True, commune=KK)
    Chat(oapp, "u1").send("/stop")
    assert _subscribed(oapp) == 0


@pytest.mark.parametrize("text", ["stop", "STOP!", " ឈប់ ", "Unsubscribe", "កុំផ្ញើមកទៀត",
                                  "stop 🙏", "opt out"])
def test_bare_stop_words(text: str) -> None:
    assert is_bare_stop(text)


@pytest.mark.parametrize("text", ["ឈប់និយាយសិន ចាំថ្ងៃក្រោយសួរទៀត", "stop for now",
                                  "ឈប់សិន", "please stop sending me reminders", "stop it"])
def test_longer_sentences_are_not_bare(text: str) -> None:
    assert not is_bare_stop(text)


def test_a_sentence_with_stop_from_someone_not_subscribed_is_a_goodbye(oapp: App) -> None:
    make_user(oapp, "u1", language="km", subscribed=False, commune=KK)
    chat = Chat(oapp, "u1")
    chat.send("ឈប់និយាយសិន ចាំថ្ងៃក្រោយសួរទៀត")
    assert "លាហើយ" in chat.text and "meet:unsub" not in chat.payloads
