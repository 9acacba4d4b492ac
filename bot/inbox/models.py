"""The inbox table: platform updates stored before they are acknowledged (bot.inbox.queue)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text, UniqueConstraint

from common.db.base import Base, utcnow


class InboundUpdate(Base):
    """A platform update, stored before it is acknowledged: the unique key drops redeliveries,
    and a worker that dies mid-way leaves the row to be picked up again.

    `payload` is the update reduced to what its handler needs (no names, no keyboards), and
    only until it is handled: a done or failed row keeps channel, external id, status and
    times (deduplication), then is deleted after ISAFBOT_RETAIN_INBOX_DAYS (bot.retention).
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbound_updates_status_id", "status", "id"),
        Index("ix_inbound_updates_chat_key_id", "chat_key", "id"),
    )

    id = Column(Integer, primary_key=True)
    channel = Column(String(20), nullable=False)
    external_id = Column(String(128), nullable=False)  # update_id, message mid, ...
    # updates of one chat are handled in order; NULL once handled, like the payload
    chat_key = Column(String(96), nullable=True)
    payload = Column(JSON(none_as_null=True), nullable=True)  # None: SQL NULL, not 'null'
    status = Column(String(12), nullable=False, default="pending")  # pending|processing|done|failed
    attempts = Column(Integer, nullable=False, default=0)
    lease_until = Column(DateTime, nullable=True)
    # not before this time (naive UTC): an update waiting out an outage (the NLU server's)
    retry_at = Column(DateTime, nullable=True)
    error = Column(Text, nullable=True)
    received_at = Column(DateTime, nullable=False, default=utcnow)
    processed_at = Column(DateTime, nullable=True)
