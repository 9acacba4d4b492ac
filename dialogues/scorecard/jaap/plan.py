"""After a round closes: the discussion of each indicator (strengths, weaknesses, suggested
actions) and the Joint Accountability Action Plan, whose actions a CAF records and follows to
done. Every write takes the actor and checks it acts on the round's commune, whatever the door
(chat, dashboard, CLI).

Each status change is kept (`jaap_status_changes`) and announced to the round's respondents who
asked for results and the commune's subscribers by the scheduler (scheduler/jaap.py), through
the outbox. What they are told is the action and its status, never the CAF's progress note:
notes are for the CAFs and the dashboard (docs/results.md).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db.base import utcnow
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.scorecard.jaap import store
from dialogues.scorecard.jaap.models import (
    RESPONSIBLE,
    STATUSES,
    IndicatorDiscussion,
    JaapAction,
    JaapStatusChange,
    RoundPlan,
)
from dialogues.scorecard.models import ScoringRound

MAX_DISCUSSION_CHARS = 1000
MAX_WHAT_CHARS = 300
MAX_NOTE_CHARS = 500
FINISHED = ("done", "dropped")


class PlanError(Exception):
    """Refused, with `reason`: the message key that says why (content/messages.yml)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def checked_round(session: Session, content: Content, round_id: int, by: Actor, *,
                  closed: bool = True) -> ScoringRound:
    """The round when it exists, `by` acts on its facility's commune and (by default) it is
    closed: a round's plan is made on its results."""
    row = session.get(ScoringRound, round_id) if store.valid_id(round_id) else None
    if row is None:
        raise PlanError("jaap_error", f"there is no round {round_id}")
    if not by.may_act_on_facility(surveys_of(content), str(row.facility_id)):
        raise NotAllowed(f"{by.name} may not act on round {round_id}")
    if closed and row.closed_at is None:
        raise PlanError("jaap_round_still_open")
    return row


def _clean(text: str | None, limit: int) -> str | None:
    cleaned = (text or "").strip()
    return cleaned[:limit] if cleaned else None


# ------------------------------------------------------------------ discussion

def save_discussion(session: Session, content: Content, round_id: int, indicator: str, *,
                    strengths: str | None, weaknesses: str | None,
                    suggested_actions: str | None, by: Actor) -> IndicatorDiscussion:
    """Record (or replace) what was concluded about one indicator of a closed round."""
    checked_round(session, content, round_id, by)
    known = {i.id for i in store.round_indicators(session, surveys_of(content), round_id)}
    if indicator not in known:
        raise PlanError("jaap_unknown_indicator", f"{indicator!r} is not asked in this round")
    row = session.get(IndicatorDiscussion, (round_id, indicator))
    if row is None:
        row = IndicatorDiscussion(round_id=round_id, indicator=indicator)
        session.add(row)
    row.strengths = _clean(strengths, MAX_DISCUSSION_CHARS)
    row.weaknesses = _clean(weaknesses, MAX_DISCUSSION_CHARS)
    row.suggested_actions = _clean(suggested_actions, MAX_DISCUSSION_CHARS)
    row.updated_by = by.name[:64]
    row.updated_at = utcnow()
    session.flush()
    return row


# ------------------------------------------------------------------ actions

def check_action(what: str | None, responsible: str | None, due: date | None,
                 today: date) -> str | None:
    """Why an action cannot be recorded (a message key), or None. The plan is followed by
    who and by when: an action without either is refused."""
    if not (what or "").strip():
        return "jaap_action_no_what"
    if len((what or "").strip()) > MAX_WHAT_CHARS:
        return "jaap_action_too_long"
    if not responsible:
        return "jaap_action_no_responsible"
    if responsible not in RESPONSIBLE:
        return "jaap_action_bad_responsible"
    if due is None:
        return "jaap_action_no_date"
    if due < today:
        return "jaap_action_past_date"
    return None


def add_action(session: Session, content: Content, round_id: int, *, what: str | None,
               responsible: str | None, due: date | None, by: Actor, today: date,
               indicator: str | None = None) -> JaapAction:
    """An agreed action of the round's plan; refused (PlanError with the reason) without what,
    who or by when, with a date in the past or an indicator the round did not ask."""
    checked_round(session, content, round_id, by)
    reason = check_action(what, responsible, due, today)
    if reason:
        raise PlanError(reason)
    if indicator:
        known = {i.id for i in store.round_indicators(session, surveys_of(content), round_id)}
        if indicator not in known:
            raise PlanError("jaap_unknown_indicator")
    now = utcnow()
    row = JaapAction(round_id=round_id, indicator=indicator or None, what=(what or "").strip(),
                     responsible=responsible, due_date=due, status="planned",
                     created_by=by.name[:64], created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    plan = plan_row(session, round_id)
    # before the plan is shared, sharing it announces the action; after, the scheduler does
    session.add(JaapStatusChange(action_id=row.id, status="planned", changed_by=by.name[:64],
                                 changed_at=now,
                                 announced=0 if plan.shared_at is None else None))
    plan.finished_at = None
    session.flush()
    return row


def checked_action(session: Session, content: Content, action_id: int, by: Actor
                   ) -> JaapAction:
    row = session.get(JaapAction, action_id) if store.valid_id(action_id) else None
    if row is None:
        raise PlanError("jaap_error", f"there is no action {action_id}")
    checked_round(session, content, int(row.round_id), by)
    return row


def set_status(session: Session, content: Content, action_id: int, status: str, *,
               note: str | None, by: Actor, photo: str | None = None) -> JaapStatusChange:
    """A new status with the CAF's progress note (and photo file name): kept in the history,
    announced by the scheduler once the plan was shared."""
    if status not in STATUSES:
        raise PlanError("jaap_bad_status", f"unknown status {status!r}")
    row = checked_action(session, content, action_id, by)
    now = utcnow()
    cleaned = _clean(note, MAX_NOTE_CHARS)
    same = row.status == status  # a new note only: citizens are not told (they never see notes)
    row.status, row.updated_at = status, now
    if cleaned:
        row.progress_note = cleaned
    if photo:
        row.photo = photo
    change = JaapStatusChange(action_id=row.id, status=status, note=cleaned,
                              changed_by=by.name[:64], changed_at=now,
                              announced=0 if same else None)
    session.add(change)
    session.flush()
    _mark_finished(session, int(row.round_id), now)
    return change


def plan_row(session: Session, round_id: int) -> RoundPlan:
    row = session.get(RoundPlan, round_id)
    if row is None:
        row = RoundPlan(round_id=round_id)
        session.add(row)
        session.flush()
    return row


def _mark_finished(session: Session, round_id: int, now: datetime) -> None:
    """A plan whose every action is done or dropped is finished (the round's subscriptions
    can go once its last change is announced)."""
    statuses = set(session.execute(select(JaapAction.status).where(
        JaapAction.round_id == round_id)).scalars())
    plan_row(session, round_id).finished_at = now if statuses <= set(FINISHED) else None


def share_plan(session: Session, content: Content, round_id: int, *, by: Actor,
               now: datetime | None = None) -> RoundPlan:
    """The CAF says the plan is agreed: the scheduler sends it to respondents and subscribers
    (once), and from then on each status change."""
    checked_round(session, content, round_id, by)
    if not store.actions(session, round_id):
        raise PlanError("jaap_plan_empty")
    row = plan_row(session, round_id)
    if row.shared_at is None:
        row.shared_at = now or utcnow()
    return row


def overdue(session: Session, facility_ids: list[str] | None, today: date
            ) -> list[tuple[JaapAction, ScoringRound]]:
    """Actions not done or dropped whose date has passed, of these facilities (None: all)."""
    query = (select(JaapAction, ScoringRound)
             .join(ScoringRound, ScoringRound.id == JaapAction.round_id)
             .where(JaapAction.status.in_(store.OPEN_STATUSES), JaapAction.due_date < today)
             .order_by(JaapAction.due_date, JaapAction.id))
    if facility_ids is not None:
        query = query.where(ScoringRound.facility_id.in_(facility_ids))
    return [(action, round_) for action, round_ in session.execute(query).all()]


# ------------------------------------------------------------------ progress photos

def store_photo(data: bytes, folder: Path, *, max_side: int = 1600) -> str:
    """Re-encode an uploaded picture as JPEG without its metadata (EXIF holds the place, the
    device and the time) into `folder`, outside the web root; returns its random file name.
    Raises PlanError("jaap_photo_unreadable") for anything that is not a picture."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise PlanError("jaap_photo_unreadable") from error
    picture.thumbnail((max_side, max_side))
    clean = Image.new("RGB", picture.size)
    clean.paste(picture)  # pixels only: no EXIF, no ICC, no comments
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.jpg"
    clean.save(folder / name, "JPEG", quality=85)
    return name
