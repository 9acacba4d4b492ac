"""Reading a round's cycle: its indicators (standard and custom), the discussion of each, its
JAAP actions and their history. The writes live in the modules of each step (proposals, plan);
this is what the survey walker, the results, the exports and the public page read."""

from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.model import Text
from content.surveys.model import Indicator, Survey, Surveys
from dialogues.scorecard.jaap.models import (
    CUSTOM_PREFIX,
    CustomIndicator,
    IndicatorDiscussion,
    JaapAction,
    JaapStatusChange,
    ProposalCall,
)
from dialogues.scorecard.models import ScoringRound

OPEN_STATUSES = ("planned", "in_progress")
MAX_ID = 2**31 - 1  # integer keys: a forged id beyond this is none (SQLite refuses 2**63)


def valid_id(value: int | str) -> int | None:
    """An id from a button, a form or a path when it can be one, else None."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def custom_key(indicator_id: int) -> str:
    return f"{CUSTOM_PREFIX}{indicator_id}"


def custom_indicators(session: Session, round_id: int) -> list[CustomIndicator]:
    """The custom indicators a round asks: those of the proposal call linked to it."""
    return list(session.execute(
        select(CustomIndicator).join(ProposalCall, ProposalCall.id == CustomIndicator.call_id)
        .where(ProposalCall.round_id == round_id).order_by(CustomIndicator.id)).scalars())


def as_indicator(row: CustomIndicator) -> Indicator:
    return Indicator(custom_key(row.id), Text(km=str(row.label_km), en=str(row.label_en)))


def round_survey(session: Session, surveys: Surveys, row: ScoringRound) -> Survey | None:
    """The round's survey with its custom indicators after the standard ones: what the walker
    asks, what results and exports list. None when the survey left the content."""
    survey = next((s for s in surveys.by_type.values() if s.id == row.survey_id), None)
    if survey is None:
        return None
    extra = tuple(as_indicator(c) for c in custom_indicators(session, row.id))
    return dataclasses.replace(survey, indicators=survey.indicators + extra) if extra else survey


def round_indicators(session: Session, surveys: Surveys, round_id: int) -> list[Indicator]:
    row = session.get(ScoringRound, round_id)
    survey = round_survey(session, surveys, row) if row is not None else None
    return list(survey.indicators) if survey else []


def discussion(session: Session, round_id: int) -> dict[str, IndicatorDiscussion]:
    """Strengths, weaknesses and suggested actions by indicator id."""
    rows = session.execute(select(IndicatorDiscussion).where(
        IndicatorDiscussion.round_id == round_id)).scalars()
    return {str(row.indicator): row for row in rows}


def actions(session: Session, round_id: int) -> list[JaapAction]:
    """The round's JAAP, by due date."""
    return list(session.execute(select(JaapAction).where(JaapAction.round_id == round_id)
                                .order_by(JaapAction.due_date, JaapAction.id)).scalars())


def history(session: Session, action_id: int) -> list[JaapStatusChange]:
    return list(session.execute(select(JaapStatusChange).where(
        JaapStatusChange.action_id == action_id).order_by(JaapStatusChange.id)).scalars())


def is_overdue(action: JaapAction, today: date) -> bool:
    return action.status in OPEN_STATUSES and action.due_date < today


def call_of_round(session: Session, round_id: int) -> ProposalCall | None:
    return session.execute(select(ProposalCall).where(
        ProposalCall.round_id == round_id)).scalar_one_or_none()
