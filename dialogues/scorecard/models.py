"""Community scorecard tables: scoring rounds, pseudonymous responses, comments, and who asked
for a summary when a round closes.

What protects respondents (docs/privacy.md):
- responses are keyed by `respondent`, an HMAC of the channel and platform user id with the
  deployment's secret key; no table here holds a platform id, a user id or a name (except
  `round_subscriptions`, which holds who asked for a summary and nothing about their answers);
- ids of responses and comments are random, and nothing here stores a time: neither can be
  lined up with the message log to find who answered what;
- comments live apart from responses (their `author` is another HMAC, per round), so a comment
  cannot be joined to the profile answers without the secret key.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)

from common.db.base import Base, utcnow


class ScoringRound(Base):
    """A period during which one facility can be rated, opened and closed by a CAF or admin.

    `open_facility` equals `facility_id` while the round is open and is NULL once closed: its
    unique constraint allows one open round per facility, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "scoring_rounds"

    id = Column(Integer, primary_key=True)
    facility_id = Column(String(40), nullable=False, index=True)
    survey_id = Column(String(40), nullable=False)
    label = Column(String(80), nullable=True)
    open_facility = Column(String(40), nullable=True, unique=True)
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    opened_by = Column(String(64), nullable=False)
    closed_at = Column(DateTime, nullable=True)
    closed_by = Column(String(64), nullable=True)
    summaries = Column(Integer, nullable=True)  # summaries enqueued when the round closed

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class SurveyResponse(Base):
    """One respondent's answers for one round; a second attempt edits it (unique key)."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("round_id", "respondent"),)

    id = Column(String(32), primary_key=True)  # random, never a sequence
    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      nullable=False)
    respondent = Column(String(64), nullable=False)  # HMAC-SHA256 (hex) of channel + user id
    status = Column(String(12), nullable=False, default="in_progress")  # or stopped, complete
    position = Column(SmallInteger, nullable=False, default=0)  # next step, to resume


class SurveyRating(Base):
    """A score (1-5) for one indicator; NULL when the respondent skipped it."""

    __tablename__ = "survey_ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    response_id = Column(String(32), ForeignKey("survey_responses.id", ondelete="CASCADE"),
                         primary_key=True)
    indicator = Column(String(40), primary_key=True)
    score = Column(SmallInteger, nullable=True)


class SurveyProfileAnswer(Base):
    """An answer to an optional question about the respondent (an option id)."""

    __tablename__ = "survey_profile_answers"

    response_id = Column(String(32), ForeignKey("survey_responses.id", ondelete="CASCADE"),
                         primary_key=True)
    question = Column(String(40), primary_key=True)
    option = Column(String(40), nullable=False)


class SurveyComment(Base):
    """A free-text comment, apart from the response: `author` is HMAC(secret, respondent and
    round), so a second attempt edits it but it cannot be joined to profile answers."""

    __tablename__ = "survey_comments"
    __table_args__ = (UniqueConstraint("round_id", "author"),)

    id = Column(String(32), primary_key=True)  # random
    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      nullable=False)
    author = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)


class RoundSubscription(Base):
    """Someone asked for a summary of a round's results. It says that they took part, never
    what they answered, and is deleted once the summaries are queued at close."""

    __tablename__ = "round_subscriptions"

    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
