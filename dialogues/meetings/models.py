"""Meetings, subscriptions, reminders and broadcasts (issue 7); the CAF grants are core
(dialogues.core.models).

APScheduler keeps its own job table (`apscheduler_jobs`, created by the job store itself);
these tables are the source of truth the jobs are rebuilt from.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from common.db.base import Base, utcnow


class Meeting(Base):
    """A meeting of one commune. Times are naive UTC; shown in Asia/Phnom_Penh."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_commune_starts", "commune_code", "starts_at"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(20), nullable=False)  # interface | scorecard | jaap | other
    commune_code = Column(String(6), nullable=False)
    place = Column(Text, nullable=False)
    starts_at = Column(DateTime, nullable=False)
    agenda = Column(Text, nullable=True)
    status = Column(String(12), nullable=False, default="scheduled")  # scheduled | cancelled
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    withdrawn_at = Column(DateTime, nullable=True)  # unsent reminders withdrawn at the start


class MeetingSubscription(Base):
    """A citizen who wants reminders and broadcasts for a commune."""

    __tablename__ = "meeting_subscriptions"
    __table_args__ = (Index("ix_meeting_subscriptions_commune", "commune_code"),)

    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    commune_code = Column(String(6), primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class MeetingReminder(Base):
    """One reminder that was turned into outbox rows. The unique key (meeting, offset, the
    start time it announced) makes a second run of the same job a no-op."""

    __tablename__ = "meeting_reminders"
    __table_args__ = (UniqueConstraint("meeting_id", "offset_minutes", "starts_at"),)

    id = Column(Integer, primary_key=True)
    meeting_id = Column(Integer, ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    offset_minutes = Column(Integer, nullable=False)
    starts_at = Column(DateTime, nullable=False)
    batch = Column(String(64), nullable=False, unique=True)
    recipients = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Broadcast(Base):
    """A CAF's message to the subscribers of a commune; its outbox rows share `batch`."""

    __tablename__ = "broadcasts"

    id = Column(Integer, primary_key=True)
    commune_code = Column(String(6), nullable=False)
    text = Column(Text, nullable=False)
    created_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    batch = Column(String(64), nullable=False, unique=True)
    recipients = Column(Integer, nullable=False, default=0)
    reported_at = Column(DateTime, nullable=True)  # the final report was queued to the CAF
