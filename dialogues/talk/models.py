"""The handover queue: a conversation a person asked to hand to a human (issue 19).

A row says whose conversation (the `users` row), for which commune's CAF (the commune the person
named; none: the NGO's staff, i.e. admins), its state and who holds it. It holds no text and no
platform identity: what the person wrote stays in the message log (docs/privacy.md), which is
where the dashboard's handover page reads the recent messages from.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String

from common.db.base import Base, utcnow

OPEN, TAKEN, CLOSED = "open", "taken", "closed"
ACTIVE = (OPEN, TAKEN)


class Handover(Base):
    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_status", "status"),
                      Index("ix_handovers_user_id", "user_id"))

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    commune_code = Column(String(6), nullable=True)  # whose CAF; NULL: the NGO's staff
    status = Column(String(8), nullable=False, default=OPEN)  # open | taken | closed
    taken_by = Column(String(64), nullable=True)  # "user:12" (a CAF in chat), "dashboard:x"
    # the chat user who holds it: the citizen's messages are relayed to them
    staff_user_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    taken_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    closed_by = Column(String(64), nullable=True)  # "user:<id>" (either side), "dashboard:x"
