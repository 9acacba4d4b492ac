"""Reports of overcharging and service problems, their media, status history and follow-ups.

What protects reporters (docs/privacy.md, "Reports"):
- a report is keyed by `reporter`, an HMAC of the channel and platform user id with the
  deployment's secret key and its own purpose ("reporter"), so it cannot be joined to a survey
  response either; no column here holds a platform id, a user id, a name or a raw payload,
  except `report_followups`, the only link to a person, deleted once the final answer is
  queued;
- ids are random (the short `reference` too), never a sequence;
- no exact time: `created_month` ("2026-12") is all the listing, the aggregates by month and
  the dashboard need. An exact timestamp could be lined up with the message log ("user 42 was
  at the report's confirm step at 10:03:15") and name the reporter; the per-day limit counts
  in `report_limits`, keyed by another HMAC per day, not here. `happened_on` is what the
  reporter said (today, this week, this month...), coarse on purpose;
- media files live under the data directory (never the web root) with random names, EXIF
  stripped, and are deleted with their report.

Status changes are staff acts: their history keeps the CAF's or operator's actor name and time.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)

from common.db.base import Base, utcnow

KINDS = ("overcharged", "informal_payment", "absent_closed", "rude_refused", "other")
FEE_KINDS = ("overcharged", "informal_payment")
STATUSES = ("new", "raised", "forwarded", "answered", "closed")
FINAL_STATUSES = ("answered", "closed")  # the reporter's follow-up link goes after these
MODERATION = ("pending", "approved", "rejected")
CURRENCIES = ("riel", "usd")
MEDIA_KINDS = ("photo", "voice")


class Report(Base):
    """One citizen's report: what happened where, how much was asked, and its handling."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_commune_status", "commune_code", "status"),
        Index("ix_reports_reporter", "reporter"),
    )

    id = Column(String(32), primary_key=True)  # random
    reference = Column(String(8), nullable=False, unique=True)  # "R-7K3Q", told to the reporter
    reporter = Column(String(64), nullable=False)  # HMAC-SHA256 (hex), purpose "reporter"
    submission = Column(String(64), nullable=False, unique=True)  # confirm is idempotent
    commune_code = Column(String(6), nullable=False)  # gazetteer
    facility_type = Column(String(20), nullable=True)  # health_centre, school, commune_office
    facility_id = Column(String(40), nullable=True)  # content/surveys/facilities, if known
    service = Column(String(40), nullable=True)  # content/services id, if known
    kind = Column(String(20), nullable=False)  # KINDS
    happened_on = Column(Date, nullable=True)  # coarse: the start of the period named
    # asked for (fee kinds), in the currency's smallest unit: riel, or US cents ($1.50 → 150)
    amount_minor = Column(BigInteger, nullable=True)
    currency = Column(String(4), nullable=True)  # riel | usd
    official_fee_riel = Column(Integer, nullable=True)  # snapshot of content at the time
    official_fee_source = Column(String(60), nullable=True)
    official_fee_checked = Column(Date, nullable=True)
    text = Column(Text, nullable=True)  # the reporter's words, shown outside the CAF's view
    text_state = Column(String(10), nullable=False, default="pending")  # only once approved
    status = Column(String(12), nullable=False, default="new")  # STATUSES
    forwarded_to = Column(Text, nullable=True)
    answer = Column(Text, nullable=True)
    created_month = Column(String(7), nullable=False)  # "YYYY-MM" (see the module docstring)


class ReportMedia(Base):
    """A photo or voice note of a report: a file under the data directory, random name."""

    __tablename__ = "report_media"

    id = Column(String(32), primary_key=True)  # random; also the file's name (with suffix)
    report_id = Column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    kind = Column(String(6), nullable=False)  # photo | voice
    file_name = Column(String(48), nullable=False)
    bytes = Column(Integer, nullable=False)


class ReportStatusChange(Base):
    """Who (a CAF, an operator: staff acting) set which status when, for the audit trail."""

    __tablename__ = "report_history"

    id = Column(String(32), primary_key=True)  # random
    report_id = Column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    status = Column(String(16), nullable=False)  # a status, or text_approved...
    actor = Column(String(64), nullable=False)  # "user:12", "cli:sophea", "dashboard:dara"
    note = Column(Text, nullable=True)  # forwarded to whom, or the answer
    at = Column(DateTime, nullable=False, default=utcnow)


class ReportFollowup(Base):
    """The reporter asked to hear what happens: the one link between a report and a person,
    never in the report's table, deleted once the final answer is queued."""

    __tablename__ = "report_followups"

    report_id = Column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                       primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ReportLimit(Base):
    """How many reports a pseudonym sent on one day, keyed by HMAC(secret, reporter, day), so
    it cannot be joined to the reports; rows of past days are deleted."""

    __tablename__ = "report_limits"

    key = Column(String(64), primary_key=True)
    day = Column(Date, nullable=False, index=True)
    count = Column(Integer, nullable=False, default=0)
