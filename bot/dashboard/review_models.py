"""The NLU's reviewed questions (the dashboard's review page; `isafbot nlu export-reviewed`
writes them out as training data).

A row holds the question only as reviewed: personal data redacted (common.redact), normalised,
with no user, channel, platform id or time of asking, so it links to nobody. A dismissed
question (not something to learn from, or too personal) keeps only the hash of its text, so it
is not offered again while the message log still has it (docs/privacy.md).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Text

from common.db.base import Base, utcnow


class NluReviewed(Base):
    """A reviewed question: an example (an intent, possibly out_of_scope, and its entities in
    Rasa markup) or dismissed (its hash only)."""

    __tablename__ = "nlu_reviewed"

    id = Column(Integer, primary_key=True)
    key = Column(String(64), nullable=False, unique=True)  # SHA-256 of the reviewed text
    status = Column(String(10), nullable=False)  # example | dismissed
    intent = Column(String(40), nullable=True)  # None when dismissed
    annotated = Column(Text, nullable=True)  # Rasa markup; None when dismissed
    reviewed_by = Column(String(80), nullable=False)  # "dashboard:<account>" (staff, not users)
    reviewed_at = Column(DateTime, nullable=False, default=utcnow)
