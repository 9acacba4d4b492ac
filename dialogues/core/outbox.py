"""The outbox every feature and job writes to: the table, and enqueueing in the caller's
transaction (replies, reminders, broadcasts, round summaries). bot.delivery's dispatcher sends
what it holds through the channels; see there for what each status means.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from common.db.base import Base, utcnow
from common.messages import Reply

FINAL = ("sent", "failed", "unreachable", "withdrawn")  # the message body is dropped
# session.info key: the rows `enqueue` added in this session (the server hands a turn's replies
# straight to its sender when they commit: bot.delivery.Dispatcher.take_fresh)
NEW_ROWS = "outbox_new_rows"


class OutboxMessage(Base):
    """One message to one user, written in the same transaction as the state that caused it.

    Replies, reminders and broadcasts all go out from here, through one sender per channel and
    one rate limiter; `status` records what happened (pending, sent, failed, held, unreachable,
    withdrawn). The message itself is dropped once the status is final; the row is delivery
    history, deleted after ISAFBOT_RETAIN_DELIVERIES_DAYS (bot.retention).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        Index("ix_outbox_user_id_id", "user_id", "id"),
        UniqueConstraint("dedup_key"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    channel = Column(String(20), nullable=False)
    address = Column(String(64), nullable=False)  # the chat to send to (a group, or the user)
    # Reply.to_json(); NULL once final (FINAL)
    reply = Column(JSON(none_as_null=True), nullable=True)
    automated = Column(Boolean, nullable=False, default=False)  # reminder/broadcast, not answer
    status = Column(String(12), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    due_at = Column(DateTime, nullable=False, default=utcnow)
    lease_until = Column(DateTime, nullable=True)
    dedup_key = Column(String(128), nullable=True)  # e.g. "broadcast:12:user:40"
    batch = Column(String(64), nullable=True)  # groups a broadcast or reminder for reports
    error = Column(Text, nullable=True)
    # when the current run of temporary failures began: the send gives up `horizon` after it
    retry_since = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime, nullable=True)


def enqueue(session: Session, *, user_id: int, channel: str, address: str,
            replies: Iterable[Reply], automated: bool = False, batch: str | None = None,
            dedup_key: str | None = None, due_at: datetime | None = None) -> list[OutboxMessage]:
    """Add messages in the caller's transaction. `dedup_key` makes a second enqueue of the
    same logical message (a reminder job run twice) a no-op."""
    rows: list[OutboxMessage] = []
    for index, reply in enumerate(replies):
        key = f"{dedup_key}:{index}" if dedup_key else None
        if key and session.execute(select(OutboxMessage.id).where(
                OutboxMessage.dedup_key == key)).first():
            continue
        data = reply.to_json()
        data["automated"] = automated or reply.automated
        row = OutboxMessage(user_id=user_id, channel=channel, address=address, reply=data,
                            automated=automated or reply.automated, status="pending",
                            attempts=0, due_at=due_at or utcnow(), batch=batch, dedup_key=key)
        session.add(row)
        rows.append(row)
    session.flush()
    session.info.setdefault(NEW_ROWS, []).extend(rows)
    return rows


def release_held(session: Session, user_id: int) -> int:
    """The user wrote to us: what the policy held for them goes out with the reply."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == "held")
        .values(status="pending", due_at=utcnow())
    )
    return int(result.rowcount or 0)


def readdress(session: Session, channel: str, old: str, new: str) -> int:
    """Send what is still queued for a chat to its new address (a Telegram group upgraded to
    a supergroup gets a new id; the old one refuses messages). Returns how many rows moved."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.address == old,
               OutboxMessage.status.in_(("pending", "sending", "held")))
        .values(address=new)
    )
    return int(result.rowcount or 0)


def batch_report(session: Session, batch: str) -> dict[str, int]:
    """Counts per status for one broadcast or reminder: what a CAF's report shows."""
    rows = session.execute(
        select(OutboxMessage.status, func.count(func.distinct(OutboxMessage.user_id)))
        .where(OutboxMessage.batch == batch).group_by(OutboxMessage.status)
    ).all()
    return {status: int(count) for status, count in rows}
