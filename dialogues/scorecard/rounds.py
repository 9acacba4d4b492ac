"""Scoring rounds: opened and closed by a CAF or an admin; closing one queues the summaries of
its results for the respondents who asked for them, in the same transaction.

The summary requests (`round_subscriptions`) say who asked, never what they answered. They are
kept after close so the same people hear about the agreed plan and its progress, and deleted
once that is done (scheduler/jaap.py, docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import formatting as fmt
from common.clock import local_date
from common.db.base import utcnow
from common.khmer import arabic_to_khmer_digits, script_of
from common.messages import Reply
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.core.models import User
from dialogues.core.outbox import enqueue
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.scorecard.jaap.proposals import attach_to_round
from dialogues.scorecard.models import RoundSubscription, ScoringRound
from dialogues.scorecard.results import MIN_GROUP, RoundResults, round_results
from dialogues.scorecard.store import lock_round, open_round_of

SUMMARY_BATCH = "scorecard-summary:{round_id}"


class RoundError(Exception):
    """A round cannot be opened or closed as asked; the message says why."""


def open_round(session: Session, content: Content, facility_id: str, *, by: Actor,
               label: str | None = None, now: datetime | None = None) -> ScoringRound:
    """Raises NotAllowed when the facility is not in a commune `by` acts on."""
    surveys = surveys_of(content)
    facility = surveys.facilities.get(facility_id)
    if facility is None:
        raise RoundError(f"unknown facility {facility_id!r} (see `isafbot facilities`)")
    if not by.may_act_on_facility(surveys, facility_id):
        raise NotAllowed(f"{by.name} may not open rounds of {facility_id}")
    existing = open_round_of(session, facility_id)
    if existing is not None:
        raise RoundError(f"round {existing.id} is already open for {facility_id}")
    row = ScoringRound(facility_id=facility_id, survey_id=surveys.survey_for(facility).id,
                       label=(label or "").strip()[:80] or None, open_facility=facility_id,
                       opened_at=now or utcnow(), opened_by=by.name[:64])
    session.add(row)
    session.flush()  # the unique open_facility refuses a second open round from a racing CAF
    attach_to_round(session, facility_id, int(row.id), now)  # its custom indicators, if any
    return row


def close_round(session: Session, content: Content, round_id: int, *, by: Actor,
                now: datetime | None = None, tz: str = "Asia/Phnom_Penh") -> ScoringRound:
    """Close the round (it accepts nothing afterwards) and queue the summaries. Raises
    NotAllowed when the round's facility is not in a commune `by` acts on."""
    lock_round(session, round_id, exclusive=True)  # waits for answers being saved
    row = session.execute(select(ScoringRound).where(ScoringRound.id == round_id)
                          ).scalar_one_or_none()
    if row is None:
        raise RoundError(f"there is no round {round_id}")
    if not by.may_act_on_facility(surveys_of(content), row.facility_id):
        raise NotAllowed(f"{by.name} may not close round {round_id}")
    if row.closed_at is not None:
        raise RoundError(f"round {round_id} is already closed")
    row.closed_at = now or utcnow()
    row.closed_by = by.name[:64]
    row.open_facility = None
    session.flush()
    results = round_results(session, surveys_of(content), round_id)
    users = session.execute(select(User).join(
        RoundSubscription, RoundSubscription.user_id == User.id).where(
        RoundSubscription.round_id == round_id).order_by(User.id)).scalars().all()
    for user in users:
        text = summary_text(content, results, str(user.language), tz=tz)
        enqueue(session, user_id=user.id, channel=str(user.channel),
                address=str(user.channel_user_id), replies=[Reply(text, automated=True)],
                automated=True, batch=SUMMARY_BATCH.format(round_id=round_id),
                dedup_key=f"{SUMMARY_BATCH.format(round_id=round_id)}:{user.id}")
    row.summaries = len(users)
    return row


def list_rounds(session: Session, *, facility_id: str | None = None,
                open_only: bool = False) -> list[ScoringRound]:
    query = select(ScoringRound).order_by(ScoringRound.id)
    if facility_id:
        query = query.where(ScoringRound.facility_id == facility_id)
    if open_only:
        query = query.where(ScoringRound.closed_at.is_(None))
    return list(session.execute(query).scalars())


# ------------------------------------------------------------------ the summary

@dataclass(frozen=True)
class MedianLabel:
    face: str
    label: str


def median_label(content: Content, median: float, lang: str) -> MedianLabel:
    """The face and label of a median; a median between two levels shows both."""
    surveys = surveys_of(content)
    low, high = surveys.level(int(median)), surveys.level(min(int(median + 0.5), 5))
    if low.value == high.value:
        return MedianLabel(low.face, low.label(lang))
    return MedianLabel(f"{low.face}{high.face}", f"{low.label(lang)} – {high.label(lang)}")


def round_name(content: Content, round_id: int, label: str | None, lang: str) -> str:
    """The round's label in the reader's language: a label may be written in both
    ("ឆមាសទី១ ២០២៦ / 2026 first half"); one written only in the other script is shown
    after the translated "round 12" (ជុំទី ១២ (2026 first half)), never alone in a Khmer
    sentence."""
    name = content.message("survey_round_name", lang, n=fmt.digits(round_id, lang))
    parts = [p.strip() for p in (label or "").split("/") if p.strip()]
    mine = [p for p in parts if script_of(p) in (lang, None)]
    if mine:  # a label of digits only (2026) is either language's, in its digits
        return arabic_to_khmer_digits(mine[0]) if lang == "km" else mine[0]
    return f"{name} ({parts[0]})" if parts else name


def summary_text(content: Content, results: RoundResults, lang: str, *,
                 tz: str = "Asia/Phnom_Penh") -> str:
    """A short summary of a closed round for respondents: medians of indicators with at least
    MIN_GROUP ratings; nothing at all when fewer than MIN_GROUP people answered."""
    facility = results.facility.name(lang) if results.facility else results.round.facility_id
    name = round_name(content, results.round.id, results.round.label, lang)
    if results.responses < MIN_GROUP:
        return content.message("survey_summary_too_few", lang, facility=facility, round=name)
    survey = results.survey
    lines = []
    for stats in results.indicators:
        indicator = survey.indicator(stats.indicator) if survey else None
        title = indicator.text(lang) if indicator else stats.indicator
        if stats.count < MIN_GROUP or stats.median is None:
            lines.append(content.message("survey_summary_hidden", lang, indicator=title))
            continue
        shown = median_label(content, stats.median, lang)
        lines.append(content.message("survey_summary_line", lang, face=shown.face,
                                     indicator=title, label=shown.label,
                                     count=fmt.integer(stats.count, lang)))
    opened = fmt.day(local_date(results.round.opened_at, tz), lang)
    closed_at = results.round.closed_at or utcnow()
    closed = fmt.day(local_date(closed_at, tz), lang)
    source = content.message("survey_summary_source", lang, opened=opened, closed=closed)
    return content.message("survey_summary", lang, facility=facility, round=name,
                           respondents=fmt.integer(results.responses, lang),
                           lines="\n".join(lines), source=source)
