"""Helpers for the scorecard tests: open and close rounds, press the buttons a person would
press, read what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from dialogues.core.permissions import operator
from dialogues.scorecard.models import (
    RoundSubscription,
    SurveyComment,
    SurveyProfileAnswer,
    SurveyRating,
    SurveyResponse,
)
from dialogues.scorecard.rounds import close_round, open_round
from tests.conftest import Chat

HC = "hc_120809"  # Kouk Khleang health centre (sample facility)
HC_INDICATORS = ["enough_staff", "equipment_medicines", "clean_water", "building",
                 "staff_management", "fair_pay", "friendly_staff", "attentive_care", "duty_24h",
                 "punctuality"]


def open_for(app: App, facility: str = HC, label: str | None = None) -> int:
    with app.db.session() as session:
        return int(open_round(session, app.content, facility, by=operator("test"), label=label).id)


def close(app: App, round_id: int) -> int:
    with app.db.session() as session:
        return int(close_round(session, app.content, round_id, by=operator("test")).summaries or 0)


def level_payload(chat: Chat, value: int) -> str:
    """The payload of the face button for `value` (1-5) in the last reply."""
    answers = [p for p in chat.payloads if p.startswith("svy:a:")]
    assert len(answers) == 5, chat.text
    return answers[value - 1]


def button_payload(chat: Chat, title: str) -> str:
    """The payload of the button whose label contains `title`."""
    found = [b.payload for reply in chat.last for b in reply.buttons if title in b.title]
    assert found, f"no button {title!r} in {[b.title for r in chat.last for b in r.buttons]}"
    return found[0]


@dataclass
class Stored:
    responses: list[Any]
    ratings: dict[str, dict[str, int | None]]
    profile: dict[str, dict[str, str]]
    comments: list[str]
    subscriptions: list[tuple[int, int]]


def stored(app: App) -> Stored:
    with app.db.session() as session:
        responses = session.execute(select(SurveyResponse)).scalars().all()
        ratings: dict[str, dict[str, int | None]] = {r.id: {} for r in responses}
        for row in session.execute(select(SurveyRating)).scalars():
            ratings[row.response_id][row.indicator] = row.score
        profile: dict[str, dict[str, str]] = {r.id: {} for r in responses}
        for answer in session.execute(select(SurveyProfileAnswer)).scalars():
            profile[answer.response_id][answer.question] = answer.option
        comments = [c.text for c in session.execute(select(SurveyComment)).scalars()]
        subscriptions = [(s.round_id, s.user_id) for s in
                         session.execute(select(RoundSubscription)).scalars()]
        return Stored(list(responses), ratings, profile, comments, subscriptions)
