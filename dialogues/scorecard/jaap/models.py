"""Tables of the scorecard cycle around a round: proposals, custom indicators, the discussion of
each indicator, JAAP actions and their status history.

What protects people (docs/privacy.md):
- a proposal's `proposer` is an HMAC of the respondent pseudonym and the call (the deployment's
  secret key), so proposals by one person can be counted (the flood limit) but never joined to
  a platform id, a name or that person's survey answers; proposals store no time;
- everything else here is written by CAFs about facilities, not about citizens; the actor
  columns hold the actor key used across the dashboard and the chat (`tg:123`, `web:anna`).
A photo of an action's progress is a file outside the web root (`photo` is its random name),
re-encoded without EXIF (place, device, time) before it is stored.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)

from common.db.base import Base, utcnow

RESPONSIBLE = ("provider", "commune_council", "citizens")
STATUSES = ("planned", "in_progress", "done", "dropped")
PROPOSAL_STATES = ("pending", "approved", "rejected", "merged")
CUSTOM_PREFIX = "custom"  # a custom indicator's id in ratings and payloads: custom<id>


class ProposalCall(Base):
    """A "propose" phase for one facility, opened by a CAF before its round: citizens suggest
    what should be scored. `open_facility` equals `facility_id` while it is open (one open call
    per facility, as for rounds). `round_id` is set when the next round of the facility opens:
    that round asks the call's custom indicators."""

    __tablename__ = "proposal_calls"

    id = Column(Integer, primary_key=True)
    facility_id = Column(String(40), nullable=False, index=True)
    open_facility = Column(String(40), nullable=True, unique=True)
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    opened_by = Column(String(64), nullable=False)
    closed_at = Column(DateTime, nullable=True)
    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="SET NULL"),
                      nullable=True, unique=True)


class Proposal(Base):
    """What a citizen suggested to score: free text or a standard indicator id. Seen by the
    CAF only until `state` is approved; `merged_into` points at the proposal that stands for
    the duplicates the CAF merged."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_call_proposer", "call_id", "proposer"),)

    id = Column(String(32), primary_key=True)  # random
    call_id = Column(Integer, ForeignKey("proposal_calls.id", ondelete="CASCADE"),
                     nullable=False)
    proposer = Column(String(64), nullable=False)  # HMAC(secret, respondent, call)
    indicator = Column(String(40), nullable=True)  # a standard indicator, or NULL
    text = Column(Text, nullable=True)  # free text, or NULL
    state = Column(String(10), nullable=False, default="pending")
    merged_into = Column(String(32), nullable=True)


class CustomIndicator(Base):
    """An indicator a CAF added to the calls's round, in Khmer and English, rated on the same
    five faces as the standard ones. Its id in ratings is `custom<id>`."""

    __tablename__ = "custom_indicators"

    id = Column(Integer, primary_key=True)
    call_id = Column(Integer, ForeignKey("proposal_calls.id", ondelete="CASCADE"),
                     nullable=False, index=True)
    label_km = Column(Text, nullable=False)
    label_en = Column(Text, nullable=False)
    proposal_id = Column(String(32), nullable=True)  # the (merged) proposal it came from
    supporters = Column(Integer, nullable=False, default=0)  # proposals merged into it
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    @property
    def key(self) -> str:
        return f"{CUSTOM_PREFIX}{self.id}"


class IndicatorDiscussion(Base):
    """What the CAFs and the meeting concluded about one indicator of a closed round."""

    __tablename__ = "indicator_discussions"

    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      primary_key=True)
    indicator = Column(String(40), primary_key=True)
    strengths = Column(Text, nullable=True)
    weaknesses = Column(Text, nullable=True)
    suggested_actions = Column(Text, nullable=True)
    updated_by = Column(String(64), nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class JaapAction(Base):
    """One agreed action of a round's Joint Accountability Action Plan. `what` is CAF-written
    (in the language of the meeting); its status is what the public page and citizens see."""

    __tablename__ = "jaap_actions"
    __table_args__ = (
        CheckConstraint("responsible IN ('provider', 'commune_council', 'citizens')",
                        name="responsible_kind"),
        CheckConstraint("status IN ('planned', 'in_progress', 'done', 'dropped')",
                        name="status_kind"),
        Index("ix_jaap_actions_status_due", "status", "due_date"),
    )

    id = Column(Integer, primary_key=True)
    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      nullable=False, index=True)
    indicator = Column(String(40), nullable=True)
    what = Column(Text, nullable=False)
    responsible = Column(String(16), nullable=False)
    due_date = Column(Date, nullable=False)
    status = Column(String(12), nullable=False, default="planned")
    progress_note = Column(Text, nullable=True)
    photo = Column(String(64), nullable=True)  # file name in the photo directory, EXIF-free
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class JaapStatusChange(Base):
    """The history of an action: each status set, with the note and who set it. `announced`
    counts the outbox rows queued to respondents and subscribers for it."""

    __tablename__ = "jaap_status_changes"

    id = Column(Integer, primary_key=True)
    action_id = Column(Integer, ForeignKey("jaap_actions.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    status = Column(String(12), nullable=False)
    note = Column(Text, nullable=True)
    changed_by = Column(String(64), nullable=False)
    changed_at = Column(DateTime, nullable=False, default=utcnow)
    announced = Column(Integer, nullable=True)


class JaapReminder(Base):
    """A deadline reminder turned into an outbox row for the CAFs; the unique key (action,
    days before, the due date it announced) makes a second run of the same job a no-op."""

    __tablename__ = "jaap_reminders"
    __table_args__ = (UniqueConstraint("action_id", "days_before", "due_date"),)

    id = Column(Integer, primary_key=True)
    action_id = Column(Integer, ForeignKey("jaap_actions.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    days_before = Column(SmallInteger, nullable=False)
    due_date = Column(Date, nullable=False)
    recipients = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class RoundPlan(Base):
    """The state of a round's plan for closing the loop: when a CAF shared the agreed plan, when
    the scheduler queued the summary (to the commune's subscribers) and the plan, and when every
    action was done or dropped. The round's subscriptions are kept until the plan is finished
    and announced, or a limit after close (scheduler/jaap.py, docs/privacy.md)."""

    __tablename__ = "round_plans"

    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      primary_key=True)
    shared_at = Column(DateTime, nullable=True)
    summary_sent_at = Column(DateTime, nullable=True)
    actions_sent_at = Column(DateTime, nullable=True)
    finished_at = Column(DateTime, nullable=True)
