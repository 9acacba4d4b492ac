"""Issue 19, finding 7 (trust): "Is this official? Are you the government?", "who made you?",
"Who can see what I write?", "what is social accountability" got the menu or a refusal. Now
each has an answer, in Khmer and English, with its source; who runs the bot and the retention
periods are the deployment's settings, not invented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App, bootstrap
from tests.conftest import Chat, make_settings
from tests.fake_nlu import RecordedNlu


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


@pytest.fixture
def deployed(tmp_path: Path, sqlite_url: str, nlu: Any) -> Iterator[App]:
    """A deployment that names its NGO and keeps the message log 45 days."""
    settings = make_settings(tmp_path, sqlite_url,
                             ISAFBOT_OPERATOR_EN="Example Partners, an NGO working with ISAF",
                             ISAFBOT_OPERATOR_KM="អង្គការ Example Partners",
                             ISAFBOT_RETAIN_MESSAGE_LOG_DAYS="45")
    application = bootstrap(settings, nlu=nlu)
    yield application
    application.close()


@pytest.mark.parametrize("question", ["Is this official? Are you the government?",
                                      "who made you?"])
def test_who_runs_it_in_english(chat: Chat, question: str) -> None:
    chat.send(question)
    assert "not the government" in chat.text
    assert "non-governmental organisation" in chat.text  # the content's default phrase
    assert "hand:ask" in chat.payloads  # and a way to a person


def test_who_runs_it_in_khmer(chat: Chat) -> None:
    chat.send("នេះជារបស់រដ្ឋាភិបាលមែនទេ")
    assert "មិនមែនជារដ្ឋាភិបាល" in chat.text
    assert "អង្គការមិនមែនរដ្ឋាភិបាល" in chat.text


def test_the_deployment_names_its_operator_and_its_periods(deployed: App) -> None:
    english, khmer = Chat(deployed, "en-user"), Chat(deployed, "km-user")
    english.send("who made you?")
    assert "Example Partners, an NGO working with ISAF" in english.text
    english.send("Who can see what I write?")
    assert "deleted after 45 days" in english.text
    assert "isaf-bot privacy rules" in english.text  # the source line
    khmer.send("អ្នកណាអាចមើលឃើញសាររបស់ខ្ញុំ")
    assert "៤៥ ថ្ងៃ" in khmer.text and "ប្រភព" in khmer.text
    khmer.send("នេះជារបស់រដ្ឋាភិបាលមែនទេ")
    assert "អង្គការ Example Partners" in khmer.text


def test_privacy_with_the_default_periods(chat: Chat) -> None:
    chat.send("Who can see what I write?")
    assert "deleted after 90 days" in chat.text and "365 days" in chat.text
    assert "5 or more people" in chat.text


@pytest.mark.parametrize(("question", "expected"), [
    ("what is social accountability", "Social accountability means"),
    ("គណនេយ្យភាពសង្គមជាអ្វី", "គណនេយ្យភាពសង្គម មានន័យថា"),
])
def test_social_accountability_with_its_source(chat: Chat, question: str, expected: str
                                                ) -> None:
    chat.send(question)
    assert expected in chat.text
    assert "World Bank" in chat.text or "ធនាគារពិភពលោក" in chat.text
    assert "2026" in chat.text or "២០២៦" in chat.text  # the checked date
