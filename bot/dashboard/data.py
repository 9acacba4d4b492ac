"""What the dashboard shows, read from the database with the viewer's scope in every query.

A CAF sees rounds of facilities in their communes only (facilities belong to communes in the
survey content, so the scope is the list of those facility ids, applied in SQL), and usage and
deliveries of users whose commune is theirs. Admins see everything. The results computations
are `dialogues.scorecard.results`; nothing is recomputed here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.dashboard.auth import Principal
from bot.dashboard.models import PublishedRound
from common.redact import mask_personal_data
from content.surveys.section import Surveys
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import OutboxMessage, batch_report
from dialogues.meetings.models import Broadcast, Meeting, MeetingReminder, MeetingSubscription
from dialogues.scorecard.models import ScoringRound, SurveyComment, SurveyResponse

UNANSWERED = ("fallback", "out_of_scope", "fallback_long")  # handled_as values: not answered
LOW_CONFIDENCE = 0.6


def facility_scope(surveys: Surveys, who: Principal) -> list[str] | None:
    """Facility ids the viewer may see; None means all (admins)."""
    return who.actor.facility_scope(surveys)


def visible_rounds(session: Session, surveys: Surveys, who: Principal) -> list[ScoringRound]:
    query = select(ScoringRound).order_by(ScoringRound.id.desc())
    scope = facility_scope(surveys, who)
    if scope is not None:
        query = query.where(ScoringRound.facility_id.in_(scope))
    return list(session.execute(query).scalars())


def visible_round(session: Session, surveys: Surveys, who: Principal,
                  round_id: int) -> ScoringRound | None:
    """The round when the viewer may see it, else None (the caller refuses)."""
    query = select(ScoringRound).where(ScoringRound.id == round_id)
    scope = facility_scope(surveys, who)
    if scope is not None:
        query = query.where(ScoringRound.facility_id.in_(scope))
    return session.execute(query).scalar_one_or_none()


def round_exists(session: Session, round_id: int) -> bool:
    return session.get(ScoringRound, round_id) is not None


def published_ids(session: Session) -> set[int]:
    return set(session.execute(select(PublishedRound.round_id)).scalars())


@dataclass(frozen=True)
class Published:
    round: ScoringRound
    at: datetime  # when it was published (a new publication changes it)


def published_rounds_of(session: Session, surveys: Surveys, commune: str) -> list[Published]:
    """Closed, published rounds of the commune's facilities (the public page)."""
    facilities = [f.id for f in surveys.facilities.values() if f.commune == commune]
    if not facilities:
        return []
    return [Published(row, at) for row, at in session.execute(
        select(ScoringRound, PublishedRound.published_at)
        .join(PublishedRound, PublishedRound.round_id == ScoringRound.id)
        .where(ScoringRound.facility_id.in_(facilities), ScoringRound.closed_at.is_not(None))
        .order_by(ScoringRound.id.desc()))]


def published_communes(session: Session, surveys: Surveys) -> list[str]:
    """Communes with at least one published, closed round (the public index)."""
    facilities = set(session.execute(
        select(ScoringRound.facility_id).join(PublishedRound,
                                              PublishedRound.round_id == ScoringRound.id)
        .where(ScoringRound.closed_at.is_not(None))).scalars())
    return sorted({surveys.facilities[f].commune for f in facilities
                   if f in surveys.facilities})


def publish(session: Session, round_id: int, by: str) -> bool:
    """Publish a closed round (False when it is still open)."""
    row = session.get(ScoringRound, round_id)
    if row is None or row.closed_at is None:
        return False
    if session.get(PublishedRound, round_id) is None:
        session.add(PublishedRound(round_id=round_id, published_by=by))
    return True


def unpublish(session: Session, round_id: int) -> None:
    row = session.get(PublishedRound, round_id)
    if row is not None:
        session.delete(row)


def response_counts(session: Session, round_ids: list[int]) -> dict[int, int]:
    """Responses per round (all an open round shows)."""
    if not round_ids:
        return {}
    return {int(round_id): int(n) for round_id, n in session.execute(
        select(SurveyResponse.round_id, func.count()).where(
            SurveyResponse.round_id.in_(round_ids)).group_by(SurveyResponse.round_id))}


def comments(session: Session, round_id: int) -> list[str]:
    """The round's comments as the dashboard shows them: phone numbers, e-mails, ID numbers
    and names introduced as names masked (issue 19: the dashboard never shows them)."""
    return [mask_personal_data(text) for text in session.execute(
        select(SurveyComment.text).where(SurveyComment.round_id == round_id)
        .order_by(SurveyComment.id)).scalars()]


def facility_rounds(session: Session, facility_id: str) -> list[ScoringRound]:
    """A facility's rounds, oldest first (the trend)."""
    return list(session.execute(select(ScoringRound).where(
        ScoringRound.facility_id == facility_id).order_by(ScoringRound.id)).scalars())


# ------------------------------------------------------------------ usage

def week_of(moment: datetime) -> date:
    """The Monday of the moment's ISO week."""
    return (moment - timedelta(days=moment.weekday())).date()


@dataclass(frozen=True)
class Usage:
    weeks: list[date]
    by_intent: dict[str, Counter[date]]
    by_language: dict[str, Counter[date]]
    by_channel: dict[str, Counter[date]]
    unanswered: list[tuple[str, int]]
    subscribers: list[tuple[str, int]]


def _user_scope(query: Any, who: Principal) -> Any:
    scope = who.actor.commune_scope()
    if scope is None:
        return query
    return query.join(User, User.id == MessageLog.user_id).where(User.commune_code.in_(scope))


def usage(session: Session, who: Principal, *, since: datetime, top: int = 20) -> Usage:
    """Incoming text questions per week by intent, language and channel; the most frequent
    questions the bot did not answer or understood with low confidence. Answers inside a flow
    (survey steps, whose text private flows do not even keep) are not questions."""
    query = _user_scope(
        select(MessageLog.created_at, MessageLog.intent, MessageLog.language,
               MessageLog.channel, MessageLog.text, MessageLog.confidence,
               MessageLog.handled_as)
        .where(MessageLog.direction == "in", MessageLog.kind == "text",
               MessageLog.text.is_not(None), MessageLog.created_at >= since,
               or_(MessageLog.handled_as.is_(None), ~MessageLog.handled_as.like("flow:%"))),
        who)
    by_intent: dict[str, Counter[date]] = defaultdict(Counter)
    by_language: dict[str, Counter[date]] = defaultdict(Counter)
    by_channel: dict[str, Counter[date]] = defaultdict(Counter)
    unanswered: Counter[str] = Counter()
    weeks: set[date] = set()
    for created, intent, language, channel, text, confidence, handled in session.execute(query):
        week = week_of(created)
        weeks.add(week)
        by_intent[intent or "-"][week] += 1
        by_language[language or "-"][week] += 1
        by_channel[channel][week] += 1
        if handled in UNANSWERED or (confidence is not None and confidence < LOW_CONFIDENCE):
            # shown on the usage page: phone numbers and the like masked (issue 19)
            unanswered[mask_personal_data(" ".join(text.split())).lower()[:200]] += 1
    return Usage(sorted(weeks), dict(by_intent), dict(by_language), dict(by_channel),
                 unanswered.most_common(top), subscribers_per_commune(session, who))


def subscribers_per_commune(session: Session, who: Principal) -> list[tuple[str, int]]:
    """Subscribers to a commune's meetings and broadcasts who can still be reached."""
    query = (select(MeetingSubscription.commune_code, func.count())
             .join(User, User.id == MeetingSubscription.user_id)
             .where(User.unreachable.is_(False))
             .group_by(MeetingSubscription.commune_code)
             .order_by(MeetingSubscription.commune_code))
    scope = who.actor.commune_scope()
    if scope is not None:
        query = query.where(MeetingSubscription.commune_code.in_(scope))
    return [(str(code), int(n)) for code, n in session.execute(query)]


# ------------------------------------------------------------------ deliveries

@dataclass(frozen=True)
class Batch:
    name: str
    queued: datetime
    report: dict[str, int]


def batches(session: Session, who: Principal, *, limit: int = 100) -> list[Batch]:
    """Reminder and broadcast batches, newest first, with `dialogues.core.outbox.batch_report`'s
    counts. A CAF sees batches that reached users of their communes, and counts of those
    users only."""
    query = (select(OutboxMessage.batch, func.min(OutboxMessage.created_at))
             .where(OutboxMessage.batch.is_not(None)).group_by(OutboxMessage.batch)
             .order_by(func.min(OutboxMessage.created_at).desc()).limit(limit))
    scope = who.actor.commune_scope()
    if scope is None:
        return [Batch(name, queued, batch_report(session, name))
                for name, queued in session.execute(query)]
    query = query.join(User, User.id == OutboxMessage.user_id).where(
        User.commune_code.in_(scope))
    out = []
    for name, queued in session.execute(query):
        rows = session.execute(
            select(OutboxMessage.status, func.count(func.distinct(OutboxMessage.user_id)))
            .join(User, User.id == OutboxMessage.user_id)
            .where(OutboxMessage.batch == name, User.commune_code.in_(scope))
            .group_by(OutboxMessage.status)).all()
        out.append(Batch(name, queued, {status: int(n) for status, n in rows}))
    return out


# ------------------------------------------------------------------ meetings (issue 7)

@dataclass(frozen=True)
class MeetingReport:
    meeting: Meeting
    reminders: list[tuple[MeetingReminder, dict[str, int]]]  # with batch_report counts


def meetings(session: Session, who: Principal, *, limit: int = 100) -> list[MeetingReport]:
    """Meetings of the viewer's communes, newest first, each with its reminders' delivery."""
    query = select(Meeting).order_by(Meeting.starts_at.desc()).limit(limit)
    scope = who.actor.commune_scope()
    if scope is not None:
        query = query.where(Meeting.commune_code.in_(scope))
    found = list(session.execute(query).scalars())
    reminders: dict[int, list[MeetingReminder]] = defaultdict(list)
    if found:
        for row in session.execute(select(MeetingReminder).where(
                MeetingReminder.meeting_id.in_([m.id for m in found]))
                .order_by(MeetingReminder.offset_minutes.desc())).scalars():
            reminders[row.meeting_id].append(row)
    return [MeetingReport(m, [(r, batch_report(session, r.batch)) for r in reminders[m.id]])
            for m in found]


def broadcasts(session: Session, who: Principal, *, limit: int = 100
               ) -> list[tuple[Broadcast, dict[str, int]]]:
    """Broadcasts to the viewer's communes, newest first, with batch_report counts."""
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    scope = who.actor.commune_scope()
    if scope is not None:
        query = query.where(Broadcast.commune_code.in_(scope))
    return [(b, batch_report(session, b.batch)) for b in session.execute(query).scalars()]
