"""Core tables: people, their conversation, what they said, and the CAF grants (invites,
communes, audit) every CAF door checks (dialogues.core.permissions).

The outbox is in dialogues.core.outbox, the inbox in bot.inbox.models; feature tables (surveys,
meetings...) live in their feature's `models` and share `Base`; `bot.db.all_models` imports
them all so that metadata and migrations see every table.
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

from common.db.base import Base, utcnow


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


class CafInvite(Base):
    """A one-time code an admin gives a CAF; redeeming it grants the listed communes."""

    __tablename__ = "caf_invites"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    communes = Column(JSON, nullable=False)  # gazetteer codes
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    redeemed_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    redeemed_at = Column(DateTime, nullable=True)
    revoked_at = Column(DateTime, nullable=True)


class CafCommune(Base):
    """A commune a CAF acts for."""

    __tablename__ = "caf_communes"

    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    commune_code = Column(String(6), primary_key=True)
    granted_at = Column(DateTime, nullable=False, default=utcnow)
    invite_id = Column(Integer, ForeignKey("caf_invites.id", ondelete="SET NULL"),
                       nullable=True)


class CafAudit(Base):
    """Every CAF and admin action on meetings, invites and broadcasts: who, when, what."""

    __tablename__ = "caf_audit"
    __table_args__ = (Index("ix_caf_audit_at", "at"),)

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)  # "user:12" or "cli:<login>"
    action = Column(String(40), nullable=False)  # meeting.create, broadcast.send, ...
    commune_code = Column(String(6), nullable=True)
    detail = Column(JSON, nullable=True)
