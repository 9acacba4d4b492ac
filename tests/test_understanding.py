"""The context rules of dialogues/core/understanding.py, one by one (the conversations that
use them are tests/test_context_dialogues.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from bot.features import FEATURES
from common.messages import Entity, Understanding
from content.loader import load_content
from dialogues.core.context import DialogueContext
from dialogues.core.understanding import (
    BUDGET_PLACE,
    BUDGET_PLACE_AT,
    EXPECT,
    LAST_SERVICE,
    LAST_SERVICE_AT,
    read_in_context,
)

CONTENT = load_content(sections=FEATURES.sections)
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def turn(text: str, intent: str | None, confidence: float, *entities: Entity,
         **state: Any) -> Any:
    understanding = Understanding(text, intent, confidence, tuple(entities))
    return SimpleNamespace(text=text, understanding=understanding, state=state, now=NOW,
                           ctx=DialogueContext(CONTENT), content=CONTENT)


def after_service(minutes_ago: int = 1) -> dict[str, Any]:
    return {LAST_SERVICE: "family_book",
            LAST_SERVICE_AT: (NOW - timedelta(minutes=minutes_ago)).isoformat()}


def test_an_aspect_after_a_service_answer_is_a_follow_up_whatever_the_confidence() -> None:
    reading = read_in_context(turn("and the price?", "affirm", 0.3,
                                   Entity("aspect", "fee", 8, 13), **after_service()))
    assert reading.rule == "follow_up"
    assert reading.understanding.intent == "ask_service"
    assert reading.understanding.first("service") == "family_book"
    assert reading.understanding.first("aspect") == "fee"


def test_an_old_service_answer_is_not_the_topic_any_more() -> None:
    reading = read_in_context(turn("and the price?", "affirm", 0.3,
                                   Entity("aspect", "fee", 8, 13), **after_service(90)))
    assert reading.rule is None


def test_a_sure_budget_question_is_not_taken_for_a_follow_up() -> None:
    reading = read_in_context(turn("how much money", "ask_budget", 0.9,
                                   Entity("aspect", "fee", 0, 8), **after_service()))
    assert reading.rule is None and reading.understanding.intent == "ask_budget"


def test_a_longer_question_without_a_service_is_asked_back() -> None:
    reading = read_in_context(turn("where do my answers go", "ask_service", 0.7,
                                   Entity("aspect", "place", 0, 5), **after_service()))
    assert reading.rule == "off_topic" and reading.topic == "service:family_book"


def test_a_service_named_alone_is_a_service_question() -> None:
    reading = read_in_context(turn("ID", "affirm", 0.36, Entity("service", "id_card", 0, 2)))
    assert reading.rule == "bare_service" and reading.understanding.intent == "ask_service"


def test_yes_or_no_answers_the_question_that_offered_it() -> None:
    expect = {EXPECT: {"yes": "svy:yes:x", "no": "svy:no:x"}}
    assert read_in_context(turn("បាទ", "greet", 0.3, **expect)).understanding.intent == "affirm"
    assert read_in_context(turn("no", "out_of_scope", 0.4, **expect)).understanding.intent \
        == "deny"
    assert read_in_context(turn("បាទ", "greet", 0.3)).rule is None  # no question asked


def test_a_bare_place_after_a_budget_answer_asks_that_budget() -> None:
    state = {BUDGET_PLACE: "120809", BUDGET_PLACE_AT: NOW.isoformat()}
    reading = read_in_context(turn("Khmuonh", "out_of_scope", 0.5, **state))
    assert reading.rule == "budget_place"
    assert reading.understanding.intent == "ask_budget"
    assert reading.understanding.first("place") == "Khmuonh"


def test_a_ratings_results_question_is_answered_not_started() -> None:
    reading = read_in_context(turn("when will I know the results of the rating?",
                                   "rate_service", 0.9))
    assert reading.rule == "results" and reading.topic is None
    assert reading.understanding.intent == "ask_results"


def test_a_khmer_duration_follow_up_with_its_time_words_is_a_follow_up() -> None:
    text = "ចំណាយពេលប៉ុន្មានថ្ងៃ"
    start = text.index("ប៉ុន្មានថ្ងៃ")
    reading = read_in_context(turn(text, "ask_service", 0.9,
                                   Entity("aspect", "duration", start, len(text)),
                                   **after_service()))
    assert reading.rule == "follow_up"
    assert reading.understanding.first("service") == "family_book"
