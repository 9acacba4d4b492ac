"""Store only what is needed, for as long as needed: the purge that applies the retention
settings (bot.settings.Retention; docs/privacy.md lists every table).

Run by the scheduler every hour (scheduler.jobs.purge) and by `isafbot db purge`. Each step
deletes in chunks, each chunk its own short transaction, so that SQLite's write lock is never
held for long (and webhooks storing updates meanwhile get it between chunks) and a purge
interrupted half-way has still done something. What it does:

- handled inbox updates older than the inbox period are deleted (younger ones keep only what
  deduplication needs: any payload or chat key still there is cleared);
- outbox rows in a final status older than the delivery period are deleted, and so are held
  ones (never sent) that old; a final row still holding its message loses it;
- message log rows older than the message-log period are deleted;
- the state of conversations idle longer than the conversation period is emptied;
- citizens who have not written for the inactive-users period, and have nothing that needs
  them (a subscription, a summary asked for, a CAF commune, a message on its way), are deleted
  with all that is linked to them;
- expired dashboard sessions and login-limit counters whose window is over are deleted;
- questions dismissed on the NLU review page (only their hash is kept, so that they are not
  offered again) are forgotten after the message-log period, when the log has no copy left;
- the reports' chart images (the dashboard's and public page's figures, a meeting's attachment;
  `data_dir/report-charts`) untouched for the delivery period are deleted: by then any message
  carrying one is final or gone, and a page draws its chart again when asked;
- report photos and voice notes no report names (`data_dir/report-media`: what a form that
  was cancelled or never finished left) are deleted once older than the conversation period,
  when no form can be resumed to claim them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update

from bot.dashboard.auth import forget_finished_windows
from bot.dashboard.models import DashboardSession
from bot.dashboard.report_figures import CHART_DIR as REPORT_CHARTS
from bot.dashboard.review_models import NluReviewed
from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import HANDLED
from bot.settings import Retention
from dialogues.core.models import CafCommune, Conversation, MessageLog, User
from dialogues.core.outbox import FINAL, OutboxMessage
from dialogues.meetings.models import MeetingSubscription
from dialogues.reports import media as report_media
from dialogues.reports.models import ReportFollowup
from dialogues.reports.store import media_names
from dialogues.scorecard.models import RoundSubscription

log = logging.getLogger(__name__)

CHUNK = 2000  # rows per transaction
_HANDLED_STATUSES = ("done", "failed")


@dataclass(frozen=True)
class Purged:
    """What one purge did, per kind of row (for the log and `isafbot db purge`)."""

    inbox_deleted: int = 0
    inbox_cleared: int = 0
    deliveries_deleted: int = 0
    messages_cleared: int = 0
    message_log_deleted: int = 0
    conversations_emptied: int = 0
    users_deleted: int = 0
    dashboard_deleted: int = 0
    dismissed_reviews_deleted: int = 0
    report_charts_deleted: int = 0
    report_media_orphans_deleted: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name.replace('_', ' ')}: {getattr(self, f.name)}"
                         for f in fields(self))

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def purge(db: Database, retention: Retention, now: datetime, data_dir: Path | None = None
          ) -> Purged:
    """Apply the retention periods as of `now` (naive or aware UTC); files too when given the
    deployment's `data_dir`."""
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)  # stored times are naive UTC
    before = {name: now - timedelta(days=days) for name, days in (
        ("inbox", retention.inbox_days), ("deliveries", retention.deliveries_days),
        ("log", retention.message_log_days), ("conversation", retention.conversation_days),
        ("users", retention.inactive_users_days))}
    handled = InboundUpdate.status.in_(_HANDLED_STATUSES)
    result = Purged(
        inbox_cleared=_update_chunks(
            db, InboundUpdate.id, and_(handled, or_(InboundUpdate.payload.is_not(None),
                                                    InboundUpdate.chat_key.is_not(None))),
            HANDLED),
        inbox_deleted=_delete_chunks(db, InboundUpdate.id, and_(
            handled, func.coalesce(InboundUpdate.processed_at, InboundUpdate.received_at)
            < before["inbox"])),
        messages_cleared=_update_chunks(
            db, OutboxMessage.id, and_(OutboxMessage.status.in_(FINAL),
                                       OutboxMessage.reply.is_not(None)), {"reply": None}),
        deliveries_deleted=_delete_chunks(db, OutboxMessage.id, or_(
            and_(OutboxMessage.status.in_(FINAL),
                 func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
                 < before["deliveries"]),
            and_(OutboxMessage.status == "held",
                 OutboxMessage.created_at < before["deliveries"]))),
        message_log_deleted=_delete_chunks(db, MessageLog.id,
                                           MessageLog.created_at < before["log"]),
        conversations_emptied=_empty_conversations(db, before["conversation"]),
        users_deleted=_delete_chunks(db, User.id, _inactive_citizen(before["users"])),
        dashboard_deleted=_delete_dashboard(db, now),
        dismissed_reviews_deleted=_delete_chunks(db, NluReviewed.id, and_(
            NluReviewed.status == "dismissed", NluReviewed.reviewed_at < before["log"])),
        report_charts_deleted=_delete_files(data_dir / REPORT_CHARTS, before["deliveries"])
        if data_dir is not None else 0,
        report_media_orphans_deleted=_sweep_report_media(db, data_dir, before["conversation"])
        if data_dir is not None else 0,
    )
    if result.total:
        log.info("retention purge: %s", result)
    return result


def _inactive_citizen(before: datetime) -> Any:
    """A citizen silent since `before` with nothing that still needs their row."""
    waiting = OutboxMessage.status.in_(("pending", "sending", "held"))
    return and_(
        User.role == "citizen",
        func.coalesce(User.last_inbound_at, User.created_at) < before,
        ~exists().where(MeetingSubscription.user_id == User.id),
        ~exists().where(RoundSubscription.user_id == User.id),
        ~exists().where(ReportFollowup.user_id == User.id),  # waits for a report's answer
        ~exists().where(CafCommune.user_id == User.id),
        ~exists().where(OutboxMessage.user_id == User.id, waiting))


def _delete_chunks(db: Database, key: Any, condition: Any) -> int:
    return _in_chunks(db, key, condition, lambda chosen: delete(key.class_).where(chosen))


def _update_chunks(db: Database, key: Any, condition: Any, values: dict[str, Any]) -> int:
    return _in_chunks(db, key, condition,
                      lambda chosen: update(key.class_).where(chosen).values(**values))


def _in_chunks(db: Database, key: Any, condition: Any, statement: Callable[[Any], Any]
               ) -> int:
    """Run the statement on CHUNK rows at a time (`key IN (SELECT key ... LIMIT CHUNK)`), one
    transaction each. On SQLite it then pauses as long as the chunk took: a writer that waited
    for the lock (a webhook storing an update) gets it, instead of losing every race to the
    next chunk (SQLite's busy handler polls; measured in bench/retention_bench.py)."""
    chosen = key.in_(select(key).where(condition).order_by(key).limit(CHUNK)
                     .scalar_subquery())
    done = 0
    while True:
        started = time.monotonic()
        with db.session() as session:
            count = int(session.execute(statement(chosen).execution_options(
                synchronize_session=False)).rowcount or 0)
        done += count
        if count < CHUNK:
            return done
        if db.is_sqlite:
            time.sleep(min(time.monotonic() - started, 0.2))


def _empty_conversations(db: Database, before: datetime) -> int:
    """Idle conversations lose their state. JSON cannot be compared in SQL on every database
    (PostgreSQL's json has no equality), so the candidates are read and checked here; the
    version check leaves alone a conversation that moved on in the meantime."""
    emptied = 0
    last = -1
    while True:
        with db.session() as session:
            rows = session.execute(
                select(Conversation.user_id, Conversation.state, Conversation.version)
                .where(Conversation.updated_at < before, Conversation.user_id > last)
                .order_by(Conversation.user_id).limit(CHUNK)).all()
            for user_id, state, version in rows:
                if state:
                    emptied += int(session.execute(update(Conversation).where(
                        Conversation.user_id == user_id, Conversation.version == version)
                        .values(state={}, version=version + 1)
                        .execution_options(synchronize_session=False)).rowcount or 0)
        if len(rows) < CHUNK:
            return emptied
        last = rows[-1][0]


def _delete_dashboard(db: Database, now: datetime) -> int:
    with db.session() as session:
        sessions = session.execute(delete(DashboardSession).where(
            DashboardSession.expires_at < now)).rowcount or 0
        limits = forget_finished_windows(session, now)
    return int(sessions) + limits


def _sweep_report_media(db: Database, data_dir: Path, before: datetime) -> int:
    """Report files no report names, written before `before` (naive UTC): a form in progress
    can wait no longer than that (its state is emptied), so nothing can still claim them."""
    with db.read_session() as session:
        kept = media_names(session)
    now = time.time()
    cutoff = before.replace(tzinfo=timezone.utc).timestamp()
    return report_media.sweep_orphans(data_dir, kept, now - cutoff, now)


def _delete_files(directory: Path, before: datetime) -> int:
    """PNG files in `directory` last written before `before` (naive UTC), half-written ones
    (`.name-*.png`) included."""
    cutoff = before.replace(tzinfo=timezone.utc).timestamp()
    deleted = 0
    for path in directory.glob("*.png") if directory.is_dir() else ():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # another process's purge, or the page's own clean-up
            continue
    return deleted
