"""Closing the loop of a scorecard round, and the CAFs' JAAP deadlines (issue 16).

A periodic job (`announce`, the scorecard record's) queues in the outbox, at most once per
person and message (dedup keys), for the round's respondents who asked for results and the
commune's meeting subscribers (the audience; scheduler is the layer that may read both
features):
- the round's summary to the commune's subscribers once it closed (respondents who asked got it
  at close, under the same dedup key, so nobody gets it twice);
- the agreed plan once a CAF shared it;
- afterwards each action's latest status change ("the health centre now opens at 7:30: done").
Messenger's 24-hour rule is the outbox's: outside the window messages are held until the
person writes.

The respondents' summary requests (`round_subscriptions`) are kept after close only as long as
they serve: until the plan is finished (every action done or dropped) and announced, and never
longer than KEEP_WITHOUT_PLAN_DAYS after close when no plan was shared, nor KEEP_AT_MOST_DAYS in
any case (docs/privacy.md).

Deadline reminders follow the meeting reminders' pattern: `wanted_jobs` lists a persistent job
per open action and day offset with plain ids as arguments (scheduler.reminders.sync keeps the
job store in line), and `remind_deadline` turns one into outbox rows for the commune's CAFs, at
most once (the unique key of `jaap_reminders`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from common.messages import Button, Reply
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.core.models import CafCommune, User
from dialogues.core.outbox import enqueue
from dialogues.meetings.store import subscribers
from dialogues.scorecard.jaap import loop
from dialogues.scorecard.jaap.models import (
    JaapAction,
    JaapReminder,
    JaapStatusChange,
    RoundPlan,
)
from dialogues.scorecard.jaap.plan import plan_row
from dialogues.scorecard.jaap.store import OPEN_STATUSES, actions
from dialogues.scorecard.models import RoundSubscription, ScoringRound
from dialogues.scorecard.results import round_results
from dialogues.scorecard.rounds import SUMMARY_BATCH, summary_text
from scheduler import jobs

log = logging.getLogger(__name__)

DAYS_BEFORE = (7, 1)  # deadline reminders to the CAFs, days before an action's date
REMIND_AT = time(8, 0)  # local time of a deadline reminder
REMIND = "scheduler.jaap:remind_deadline"
SUMMARY_FRESH_DAYS = 14  # a round closed longer ago is not announced to subscribers any more
KEEP_WITHOUT_PLAN_DAYS = 90
KEEP_AT_MOST_DAYS = 365
PLAN_BATCH = "jaap-plan:{round_id}"
STATUS_BATCH = "jaap-status:{change_id}"
DEADLINE_BATCH = "jaap-deadline:{action_id}:{days}:{due}"


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def audience(session: Session, content: Content, round_: ScoringRound) -> list[User]:
    """Who hears about a round's results and plan: its respondents who asked, and the
    subscribers of its facility's commune, once each, never someone who blocked us."""
    asked = list(session.execute(
        select(User).join(RoundSubscription, RoundSubscription.user_id == User.id)
        .where(RoundSubscription.round_id == round_.id, User.unreachable.is_(False))).scalars())
    facility = surveys_of(content).facilities.get(str(round_.facility_id))
    commune = subscribers(session, facility.commune) if facility else []
    people = {int(user.id): user for user in [*asked, *commune]}
    return [people[key] for key in sorted(people)]


def _send(session: Session, people: list[User], text: Callable[[str], str], *, batch: str,
          buttons: Callable[[str], tuple[Button, ...]] = lambda lang: ()) -> int:
    """One automated message per person in their language; `batch:user` is its dedup key."""
    texts: dict[str, Reply] = {}
    for user in people:
        lang = user.language if user.language in ("km", "en") else "km"
        if lang not in texts:
            texts[lang] = Reply(text(lang), buttons(lang), automated=True)
        enqueue(session, user_id=int(user.id), channel=str(user.channel),
                address=str(user.channel_user_id), replies=[texts[lang]], automated=True,
                batch=batch, dedup_key=f"{batch}:{user.id}")
    return len(people)


def _stop_button(content: Content, round_id: int) -> Callable[[str], tuple[Button, ...]]:
    return lambda lang: (Button(content.message("jaap_stop_updates_button", lang),
                                f"prop:stop:{round_id}"),)


def send_summaries(session: Session, content: Content, now: datetime, tz: str) -> int:
    """The summary of each freshly closed round, to its commune's subscribers."""
    rounds = session.execute(
        select(ScoringRound).outerjoin(RoundPlan, RoundPlan.round_id == ScoringRound.id)
        .where(ScoringRound.closed_at.is_not(None),
               ScoringRound.closed_at >= now - timedelta(days=SUMMARY_FRESH_DAYS),
               RoundPlan.summary_sent_at.is_(None))).scalars().all()
    sent = 0
    for round_ in rounds:
        results = round_results(session, surveys_of(content), int(round_.id))
        sent += _send(session, audience(session, content, round_),
                      partial(summary_text, content, results, tz=tz),
                      batch=SUMMARY_BATCH.format(round_id=round_.id))
        plan_row(session, int(round_.id)).summary_sent_at = now
    return sent


def send_plans(session: Session, content: Content, now: datetime, tz: str) -> int:
    """Each plan a CAF shared, once; the changes made before it are in it already."""
    plans = session.execute(select(RoundPlan, ScoringRound)
                            .join(ScoringRound, ScoringRound.id == RoundPlan.round_id)
                            .where(RoundPlan.shared_at.is_not(None),
                                   RoundPlan.actions_sent_at.is_(None))).all()
    sent = 0
    for plan, round_ in plans:
        agreed = actions(session, int(round_.id))
        sent += _send(session, audience(session, content, round_),
                      partial(loop.plan_text, content, round_, agreed, tz=tz),
                      batch=PLAN_BATCH.format(round_id=round_.id),
                      buttons=_stop_button(content, int(round_.id)))
        plan.actions_sent_at = now
        for change in _pending_changes(session, int(round_.id)):
            change.announced = 0
    return sent


def _pending_changes(session: Session, round_id: int | None = None) -> list[JaapStatusChange]:
    query = (select(JaapStatusChange).join(JaapAction, JaapAction.id == JaapStatusChange.action_id)
             .where(JaapStatusChange.announced.is_(None)).order_by(JaapStatusChange.id))
    if round_id is not None:
        query = query.where(JaapAction.round_id == round_id)
    return list(session.execute(query).scalars())


def send_changes(session: Session, content: Content, tz: str) -> int:
    """Each action's latest change since the plan was sent (older ones it replaces: the
    message says the action's status now)."""
    shared = set(session.execute(select(RoundPlan.round_id).where(
        RoundPlan.actions_sent_at.is_not(None))).scalars())
    latest: dict[int, JaapStatusChange] = {}
    for change in _pending_changes(session):
        action = session.get(JaapAction, change.action_id)
        if action is None or action.round_id not in shared:
            continue
        if int(change.action_id) in latest:
            latest[int(change.action_id)].announced = 0
        latest[int(change.action_id)] = change
    sent = 0
    for change in latest.values():
        action = session.get(JaapAction, change.action_id)
        round_ = session.get(ScoringRound, action.round_id) if action is not None else None
        if action is None or round_ is None:
            continue
        change.announced = _send(
            session, audience(session, content, round_),
            partial(loop.status_text, content, round_, action, tz=tz),
            batch=STATUS_BATCH.format(change_id=change.id),
            buttons=_stop_button(content, int(round_.id)))
        sent += int(change.announced)
    return sent


def forget_subscriptions(session: Session, now: datetime) -> int:
    """Delete the summary requests no longer needed (see the module's docstring)."""
    pending = exists().where(JaapStatusChange.announced.is_(None),
                             JaapStatusChange.action_id == JaapAction.id,
                             JaapAction.round_id == ScoringRound.id)
    finished = exists().where(RoundPlan.round_id == ScoringRound.id,
                              RoundPlan.finished_at.is_not(None),
                              RoundPlan.actions_sent_at.is_not(None))
    shared = exists().where(RoundPlan.round_id == ScoringRound.id,
                            RoundPlan.shared_at.is_not(None))
    done = select(ScoringRound.id).where(ScoringRound.closed_at.is_not(None), or_(
        and_(finished, ~pending),
        and_(~shared, ScoringRound.closed_at < now - timedelta(days=KEEP_WITHOUT_PLAN_DAYS)),
        ScoringRound.closed_at < now - timedelta(days=KEEP_AT_MOST_DAYS)))
    result = session.execute(delete(RoundSubscription).where(
        RoundSubscription.round_id.in_(done)).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def announce(ctx: jobs.JobContext) -> int:
    """The periodic job: summaries, plans and status changes queued, stale requests
    forgotten. Returns how many messages it queued."""
    now = _naive(ctx.clock.now())
    with ctx.db.session() as session:
        queued = send_summaries(session, ctx.content, now, ctx.timezone)
        queued += send_plans(session, ctx.content, now, ctx.timezone)
        queued += send_changes(session, ctx.content, ctx.timezone)
        forget_subscriptions(session, now)
    if queued:
        log.info("jaap: %s message(s) queued to respondents and subscribers", queued)
        ctx.wake()
    return queued


# ------------------------------------------------------------------ deadline reminders

def reminder_time(due: date, days: int, tz: str) -> datetime:
    """When the reminder `days` before `due` fires (aware, UTC)."""
    local = datetime.combine(due - timedelta(days=days), REMIND_AT, tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc)


def wanted_jobs(ctx: jobs.JobContext, now: datetime) -> dict[str, dict[str, Any]]:
    """A job per open action and offset not sent yet: the closest offset already due runs
    now (after downtime), those ahead at their time; none once the date has passed."""
    today = now.astimezone(ZoneInfo(ctx.timezone)).date()
    wanted: dict[str, dict[str, Any]] = {}
    with ctx.db.session() as session:
        rows = session.execute(select(JaapAction.id, JaapAction.due_date).where(
            JaapAction.status.in_(OPEN_STATUSES), JaapAction.due_date >= today)).all()
        done = set(session.execute(select(JaapReminder.action_id, JaapReminder.days_before,
                                          JaapReminder.due_date)).all())
    for action_id, due in rows:
        due_now = [d for d in DAYS_BEFORE if reminder_time(due, d, ctx.timezone) <= now]
        for days in DAYS_BEFORE:
            if (action_id, days, due) in done or (due_now and days != min(due_now)
                                                 and days in due_now):
                continue
            run = max(reminder_time(due, days, ctx.timezone), now)
            wanted[f"jaap:{action_id}:{days}"] = {
                "func": REMIND, "args": (int(action_id), days, due.isoformat()),
                "run_date": run, "misfire_grace_time": 24 * 3600}
    return wanted


def send_deadline(session: Session, content: Content, action_id: int, days: int, due: date
                  ) -> int | None:
    """Outbox rows for the CAFs of the action's commune; None when it no longer applies
    (done, dropped, moved, or sent already)."""
    action = session.get(JaapAction, action_id)
    if action is None or action.status not in OPEN_STATUSES or action.due_date != due:
        return None
    if session.execute(select(JaapReminder.id).where(
            JaapReminder.action_id == action_id, JaapReminder.days_before == days,
            JaapReminder.due_date == due)).first():
        return None
    round_ = session.get(ScoringRound, action.round_id)
    facility = surveys_of(content).facilities.get(str(round_.facility_id)) if round_ else None
    cafs = list(session.execute(
        select(User).join(CafCommune, CafCommune.user_id == User.id)
        .where(CafCommune.commune_code == (facility.commune if facility else ""),
               User.unreachable.is_(False)).order_by(User.id)).scalars())
    session.add(JaapReminder(action_id=action_id, days_before=days, due_date=due,
                             recipients=len(cafs)))
    session.flush()  # the unique key: a racing second run fails here and rolls back
    assert round_ is not None
    return _send(session, cafs,
                 lambda lang: loop.deadline_text(content, round_, action, days, lang),
                 batch=DEADLINE_BATCH.format(action_id=action_id, days=days, due=due),
                 buttons=lambda lang: (Button(content.message("jaap_update_button", lang),
                                              f"jaap:act:{action_id}"),))


@jobs.ContextJob
def remind_deadline(ctx: jobs.JobContext, action_id: int, days: int, due: str) -> int | None:
    """The reminder `days` before action `action_id`'s date `due` (ISO)."""
    with ctx.db.session() as session:
        count = send_deadline(session, ctx.content, action_id, days, date.fromisoformat(due))
    if count is not None:
        log.info("jaap action %s: %s-day reminder queued for %s CAF(s)", action_id, days, count)
        ctx.wake()
    return count
