"""The step kinds every form, survey and quiz is made of, and how each reads a typed answer.

A step's kind decides what a typed text can mean there; the feature decides the words (its
content data). Reading is pure: no database, no NLU, no reply, so a step answers when the NLU
server is down and the same reading serves a meeting form and the scorecard. Khmer and Arabic
digits, Khmer particles and punctuation are all handled by `answer_key` / `typed_number`.

Kinds: choice (one of some options), rating (the five faces, 1-5), text (free text), place (a
commune, from buttons), datetime (a local date and time, refused in the past), date (a day, a
deadline: refused before today), confirm (yes or no), amount (a sum of money in riel or
dollars). The result is a `Read`: a value, a problem (a message-key suffix such as "too_long"),
or neither (the text is not an answer of this kind: the feature may ask the NLU, or say "press a
button").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from common.amounts import AmountError, parse_amount
from common.when import parse_day, parse_when
from content.surveys.section import answer_key, typed_number

KINDS = ("choice", "rating", "text", "place", "datetime", "date", "confirm", "amount")
RATING_TOP = 5  # the five faces


@dataclass(frozen=True)
class Read:
    """What a typed text means at a step."""

    value: Any = None
    problem: str | None = None  # why it was refused: "out_of_range", "too_long", ...
    values: dict[str, Any] = field(default_factory=dict)  # for the problem's message

    @property
    def ok(self) -> bool:
        return self.value is not None and self.problem is None

    @property
    def understood(self) -> bool:
        """Whether the text was meant as an answer of this kind (accepted or refused)."""
        return self.value is not None or self.problem is not None


NOTHING = Read()


def read_choice(text: str, words: Mapping[str, str], *,
                by_number: Callable[[int], str | None] | None = None) -> Read:
    """An option by one of its words ("female", "ស្រី"), or by a typed number when the feature
    says what a number means (an age for an age-bracket question)."""
    key = answer_key(text)
    if key in words:
        return Read(words[key])
    number = typed_number(text)
    if number is not None and by_number is not None:
        option = by_number(number)
        if option is not None:
            return Read(option)
    return NOTHING


def read_rating(text: str, words: Mapping[str, int], top: int = RATING_TOP) -> Read:
    """A score: a number ("4", "៤", "4/5", "៣ ពិន្ទុ") from 1 to `top`, or a word of the
    scale ("good", "ល្អ")."""
    number = typed_number(text)
    if number is not None:
        return Read(number) if 1 <= number <= top else Read(problem="out_of_range")
    value = words.get(answer_key(text))
    return Read(value) if value is not None else NOTHING


def read_text(text: str, limit: int, *, needs_letters: bool = False) -> Read:
    """Free text, stripped: refused when empty, longer than `limit` (0: any length, the
    feature cuts it), or without a single letter when the step needs words."""
    text = text.strip()
    if not text:
        return Read(problem="empty")
    if limit and len(text) > limit:
        return Read(problem="too_long", values={"max": limit})
    if needs_letters and not any(ch.isalpha() for ch in text):
        return Read(problem="no_words")
    return Read(text)


def read_place(code: str, allowed: Sequence[str]) -> Read:
    """A commune code from a button, accepted only among the communes offered."""
    return Read(code) if code in allowed else Read(problem="not_offered")


def read_datetime(text: str, now_local: datetime, base: datetime | None = None) -> Read:
    """A local date and time (common/when.py), as an aware datetime; the problem is the
    parser's (unreadable, no_date, no_time, bad_date, past), with the time it did read.
    `base` (the answer being changed) keeps the date or the time the text leaves out."""
    when = parse_when(text, now_local, base)
    if when.problem or when.at is None:
        return Read(problem=when.problem or "unreadable",
                    values={"at": when.at} if when.at else {})
    return Read(when.at)


def read_date(text: str, today: date) -> Read:
    """A day (common/when.py), as a date; the problem is the parser's (unreadable, bad_date,
    past), with the day it did read."""
    when = parse_day(text, today)
    if when.problem or when.at is None:
        return Read(problem=when.problem or "unreadable",
                    values={"at": when.at.date()} if when.at else {})
    return Read(when.at.date())


def read_amount(text: str, *, currency: str | None = None) -> Read:
    """A sum of money (common/amounts.py: "20,000", "២ម៉ឺន", "$5"), as its canonical text
    ("20000 riel"); the problem is the parser's (not_a_number, zero, several, too_large)."""
    try:
        return Read(parse_amount(text, currency=currency).canonical())
    except AmountError as error:
        return Read(problem=error.reason)


def read_confirm(text: str, words: Mapping[str, str]) -> Read:
    """"yes" or "no", from the words that mean them ("បាទ", "ចាស", "yeah", "អត់")."""
    meaning = words.get(answer_key(text))
    return Read(meaning) if meaning in ("yes", "no") else NOTHING
