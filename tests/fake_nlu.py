"""A fake NLU for dialogue tests: the real model's answers, recorded.

Dialogue tests check what the bot does with an understanding; tests/test_nlu*.py check how the
model understands. `RecordedNlu` answers from tests/nlu_answers.json, the real model's parse of
exactly the texts the dialogue tests send (intent, confidence, entities and their spans), so a
dialogue test sees what production would see without importing Rasa and TensorFlow, loading the
model or running it for every message: `pytest tests/test_dialogues.py` needs no trained model.

The table cannot drift from the model unnoticed: tests/test_nlu.py parses every recorded text
with the real model and fails, naming the texts, when an intent or an entity changed or a
confidence crossed one of the thresholds the dialogues act on (`THRESHOLDS`). Then record again:

    ISAFBOT_RECORD_NLU=1 .venv/bin/pytest tests/test_dialogues.py ...   (adds and updates)
    ISAFBOT_RECORD_NLU=new .venv/bin/pytest <every module using it>     (starts from empty)

A text missing from the table fails its test at once with that command (`UnrecordedText`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from common.khmer import has_words
from common.messages import Understanding
from nlu.engine import MAX_PARSE_CHARS, Nlu

ANSWERS = Path(__file__).resolve().parent / "nlu_answers.json"
RECORD_ENV = "ISAFBOT_RECORD_NLU"
# The confidences the dialogues decide on: the fallback threshold (0.6, settings' default) and
# 0.15 below it with evidence (dialogues' engine), a place taken from a sure answer and leaving
# a survey (0.8), a survey's yes/no (0.6); 0.5 is what test_dialogues asserts of a fee question.
THRESHOLDS = (0.45, 0.5, 0.6, 0.8)


class UnrecordedText(LookupError):
    """A dialogue test sent a text the table does not have (not an NLU outage: a test to fix)."""

    def __init__(self, text: str) -> None:
        super().__init__(f"no recorded NLU answer for {text[:80]!r}: record the answers again "
                         f"({RECORD_ENV}=1 .venv/bin/pytest <this test module>), see "
                         "tests/fake_nlu.py")


def band(confidence: float) -> int:
    """Which side of each threshold a confidence is on: equal bands, equal behaviour."""
    return sum(confidence >= threshold for threshold in THRESHOLDS)


def load_answers(path: Path = ANSWERS) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    answers: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return answers


class RecordedNlu:
    """The `Nlu` interface (async `parse`), answered from the recorded table; while recording
    (`real` set) it asks the real model and keeps its answers."""

    def __init__(self, answers: dict[str, dict[str, Any]], real: Nlu | None = None) -> None:
        self.answers = answers
        self.real = real
        self.asked: set[str] = set()

    @classmethod
    def from_environment(cls, load_real: Any) -> RecordedNlu:
        """Replaying, or recording with the model `load_real()` returns when
        ISAFBOT_RECORD_NLU is set ("new": forget the old answers first)."""
        mode = os.environ.get(RECORD_ENV, "")
        if not mode:
            return cls(load_answers())
        return cls({} if mode == "new" else load_answers(), real=load_real())

    async def parse(self, text: str) -> Understanding:
        if not has_words(text[:MAX_PARSE_CHARS]):  # as the real engine: no model asked
            return Understanding(text=text, intent=None, confidence=0.0)
        self.asked.add(text)
        if self.real is not None:
            understanding = await self.real.parse(text)
            answer = understanding.to_json()
            del answer["text"]
            self.answers[text] = answer
            return understanding
        recorded = self.answers.get(text)
        if recorded is None:
            raise UnrecordedText(text)
        return Understanding.from_rasa({**recorded, "text": text})

    def save(self, path: Path = ANSWERS) -> None:
        """Write the table (only while recording), sorted so a diff shows what changed."""
        if self.real is None:
            return
        path.write_text(json.dumps(dict(sorted(self.answers.items())), ensure_ascii=False,
                                   indent=1) + "\n", encoding="utf-8")
