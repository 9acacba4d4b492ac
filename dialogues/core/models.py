"""Core tables: people, their conversation, what they said, and the durable in/out queues.

Feature tables (surveys, budgets, meetings...) live in their own modules and share `Base`;
`bot.db.all_models` imports them all so that metadata and migrations see every table.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.db.base import Base, utcnow


class User(Base):
    """Someone who talks to the bot on one channel. No names are stored."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(20), nullable=False)
    channel_user_id = Column(String(64), nullable=False)
    language = Column(String(2), nullable=False, default="km")
    language_chosen = Column(Boolean, nullable=False, default=False)  # set by the user, not guessed
    commune_code = Column(String(6), nullable=True)  # the user's commune (gazetteer code)
    role = Column(String(10), nullable=False, default="citizen")  # citizen | caf | admin
    unreachable = Column(Boolean, nullable=False, default=False)  # blocked the bot, deactivated
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_inbound_at = Column(DateTime, nullable=True)  # starts Messenger's 24-hour window


class Conversation(Base):
    """What the bot remembers between messages of one user (JSON), with a version for
    optimistic concurrency when several workers share the database."""

    __tablename__ = "conversations"

    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state = Column(JSON, nullable=False, default=dict)
    version = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class MessageLog(Base):
    """Every message in and out, with what the NLU made of it: the dashboard reads this.

    While a survey is in progress the text is not stored (`text` is NULL and `step` says where
    the user was), so the log cannot link a person to their ratings.
    """

    __tablename__ = "message_log"
    __table_args__ = (
        Index("ix_message_log_created_at", "created_at"),
        Index("ix_message_log_user_id", "user_id"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    channel = Column(String(20), nullable=False)
    direction = Column(String(3), nullable=False)  # in | out
    kind = Column(String(12), nullable=False, default="text")
    text = Column(Text, nullable=True)
    step = Column(String(64), nullable=True)  # e.g. "survey:q3" when the text is withheld
    intent = Column(String(40), nullable=True)
    confidence = Column(Float, nullable=True)
    entities = Column(JSON, nullable=True)
    language = Column(String(2), nullable=True)
    handled_as = Column(String(40), nullable=True)  # what the bot did: "fallback", "service"...
    created_at = Column(DateTime, nullable=False, default=utcnow)


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
    # Reply.to_json(); NULL once final (delivery.FINAL)
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
