"""Reading and writing reports: the one API the chat, the CLI and the dashboard share.

Every function that shows or changes a report takes the `Actor` (dialogues.core.permissions)
and checks it here, so no door can forget: a CAF sees and changes the reports of the communes
granted to them, an admin every report, nobody else anything. A status change and the
follow-up it sends (through the outbox, in the reporter's language; Messenger's 24-hour rule is
the dispatcher's: the message is held until they write) commit together; once the final answer
is queued the follow-up link is deleted, the only link between a report and a person.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from common.messages import Reply
from dialogues.core.models import User
from dialogues.core.outbox import enqueue
from dialogues.core.permissions import Actor
from dialogues.core.small_groups import MIN_GROUP, hidden_groups
from dialogues.reports.models import (
    CURRENCIES,
    FINAL_STATUSES,
    KINDS,
    MODERATION,
    STATUSES,
    Report,
    ReportFollowup,
    ReportLimit,
    ReportMedia,
    ReportStatusChange,
)

DAILY_LIMIT = 5  # reports per person and day
REFERENCE_LETTERS = "ACDEFHJKMNPQRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G
FOLLOWUP_BATCH = "report-followup"  # no reference in the outbox row: it outlives the message
AGGREGATE_KEYS = ("commune_code", "facility_type", "facility_id", "service", "kind",
                  "created_month")

Notice = Callable[[Report, str], Reply]  # the follow-up of a status change, in a language


class LimitReached(Exception):
    """The reporter already sent DAILY_LIMIT reports today."""


class UnknownReport(LookupError):
    """No report with that reference (or the actor may not know it exists)."""


def _hmac(secret: bytes, *parts: str) -> str:
    if not secret:
        raise ValueError("a secret key is needed to make pseudonymous reporter ids")
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def reporter_key(secret: bytes, channel: str, channel_user_id: str) -> str:
    """The pseudonymous reporter: HMAC-SHA256 of channel and platform id, with its own purpose
    string (a report cannot be joined to a survey response by its key)."""
    return _hmac(secret, "reporter", channel, channel_user_id)


def submission_key(secret: bytes, reporter: str, nonce: str) -> str:
    """Keys one filled-in form: confirming it twice stores one report."""
    return _hmac(secret, "report-submission", reporter, nonce)


def new_id() -> str:
    return secrets.token_hex(16)


def normal_reference(text: str) -> str:
    """'r7k3q', 'R 7K3Q', 'r-7k3q' → 'R-7K3Q' (what a CAF types)."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    if letters.startswith("R") and len(letters) == 5:
        letters = letters[1:]
    return f"R-{letters}"


def _new_reference(session: Session) -> str:
    while True:
        reference = "R-" + "".join(secrets.choice(REFERENCE_LETTERS) for _ in range(4))
        if session.execute(select(Report.id).where(Report.reference == reference)).first() \
                is None:
            return reference


# ------------------------------------------------------------------ submitting

@dataclass
class Draft:
    """What the reporter told, ready to store (the form's answers, checked)."""

    commune_code: str
    kind: str
    facility_type: str | None = None
    facility_id: str | None = None
    service: str | None = None
    happened_on: date | None = None
    amount_minor: int | None = None  # riel, or US cents
    currency: str | None = None
    official_fee_riel: int | None = None
    official_fee_source: str | None = None
    official_fee_checked: date | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown report kind {self.kind!r}")
        if self.currency is not None and self.currency not in CURRENCIES:
            raise ValueError(f"unknown currency {self.currency!r}")


def _limit_key(secret: bytes, reporter: str, day: date) -> str:
    return _hmac(secret, "report-day", reporter, day.isoformat())


def reports_today(session: Session, secret: bytes, reporter: str, day: date) -> int:
    count = session.execute(select(ReportLimit.count).where(
        ReportLimit.key == _limit_key(secret, reporter, day))).scalar_one_or_none()
    return int(count or 0)


def _count_one(session: Session, secret: bytes, reporter: str, day: date) -> None:
    """One more report today (LimitReached past DAILY_LIMIT); forgets earlier days."""
    session.execute(delete(ReportLimit).where(ReportLimit.day < day - timedelta(days=1)))
    key = _limit_key(secret, reporter, day)
    row = session.get(ReportLimit, key)
    if row is None:
        session.add(ReportLimit(key=key, day=day, count=1))
    elif row.count >= DAILY_LIMIT:
        raise LimitReached(reporter)
    else:
        row.count += 1
    session.flush()


def find_submission(session: Session, submission: str) -> Report | None:
    return session.execute(select(Report).where(
        Report.submission == submission)).scalar_one_or_none()


def submit(session: Session, draft: Draft, *, secret: bytes, reporter: str, submission: str,
           today: date, followup_user: int | None = None) -> tuple[Report, bool]:
    """Store the report (and the follow-up link if asked); (report, created). The same
    submission key again returns the first report unchanged: a second confirm stores nothing."""
    earlier = find_submission(session, submission)
    if earlier is not None:
        return earlier, False
    _count_one(session, secret, reporter, today)
    report = Report(id=new_id(), reference=_new_reference(session), reporter=reporter,
                    submission=submission, status="new", text_state="pending",
                    created_month=today.strftime("%Y-%m"), **draft.__dict__)
    session.add(report)
    session.flush()
    if followup_user is not None:
        session.add(ReportFollowup(report_id=report.id, user_id=followup_user))
    return report, True


def add_media(session: Session, report: Report, *, kind: str, file_name: str,
              size: int) -> ReportMedia:
    media = ReportMedia(id=file_name.split(".")[0], report_id=report.id, kind=kind,
                        file_name=file_name, bytes=size)
    session.add(media)
    return media


def media_names(session: Session) -> set[str]:
    """Every stored media file's name (what `media.sweep_orphans` must keep)."""
    return set(session.execute(select(ReportMedia.file_name)).scalars())


def media_of(session: Session, actor: Actor, report: Report) -> list[ReportMedia]:
    actor.require(report.commune_code)
    return list(session.execute(select(ReportMedia).where(
        ReportMedia.report_id == report.id).order_by(ReportMedia.id)).scalars())


# ------------------------------------------------------------------ reading

@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to (None: any)."""

    status: str | None = None
    kind: str | None = None
    commune: str | None = None
    facility: str | None = None  # a facility id or a facility type
    statuses: tuple[str, ...] = field(default=())


def list_reports(session: Session, actor: Actor, filters: Filters = Filters(),
                 *, limit: int | None = None) -> list[Report]:
    """Reports the actor may see, newest month first (within a month by reference: there is
    no finer time, on purpose)."""
    query = select(Report)
    scope = actor.commune_scope()
    if scope is not None:
        query = query.where(Report.commune_code.in_(scope))
    if filters.status:
        query = query.where(Report.status == filters.status)
    if filters.statuses:
        query = query.where(Report.status.in_(filters.statuses))
    if filters.kind:
        query = query.where(Report.kind == filters.kind)
    if filters.commune:
        query = query.where(Report.commune_code == filters.commune)
    if filters.facility:
        query = query.where((Report.facility_id == filters.facility)
                            | (Report.facility_type == filters.facility))
    query = query.order_by(Report.created_month.desc(), Report.reference)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def get_report(session: Session, actor: Actor, reference: str) -> Report:
    """The report, if the actor may see it (UnknownReport otherwise: a CAF of another
    commune is not told that it exists)."""
    report = session.execute(select(Report).where(
        Report.reference == normal_reference(reference))).scalar_one_or_none()
    if report is None or not actor.may_act_on(report.commune_code):
        raise UnknownReport(reference)
    return report


def history(session: Session, actor: Actor, report: Report) -> list[ReportStatusChange]:
    actor.require(report.commune_code)
    return list(session.execute(select(ReportStatusChange).where(
        ReportStatusChange.report_id == report.id).order_by(ReportStatusChange.at)).scalars())


def wants_followup(session: Session, report: Report) -> bool:
    return session.execute(select(ReportFollowup.user_id).where(
        ReportFollowup.report_id == report.id)).first() is not None


# ------------------------------------------------------------------ changing

def change_status(session: Session, actor: Actor, reference: str, status: str, *,
                  notice: Notice, note: str | None = None) -> int:
    """Set the status (re-checking the actor: a payload can be forged), record who did it,
    and queue the follow-up for the reporter if they asked; returns how many were queued.
    `note` is whom it was forwarded to, or the answer."""
    if status not in STATUSES or status == "new":
        raise ValueError(f"cannot set status {status!r}")
    note = (note or "").strip() or None
    if status in ("forwarded", "answered") and not note:
        raise ValueError(f"status {status!r} needs a text")
    report = get_report(session, actor, reference)
    actor.require(report.commune_code)
    report.status = status
    if status == "forwarded":
        report.forwarded_to = note
    elif note:
        report.answer = note
    session.add(ReportStatusChange(id=new_id(), report_id=report.id, status=status,
                                   actor=actor.name, note=note))
    session.flush()
    return _follow_up(session, report, notice)


def _follow_up(session: Session, report: Report, notice: Notice) -> int:
    user_ids = list(session.execute(select(ReportFollowup.user_id).where(
        ReportFollowup.report_id == report.id)).scalars())
    users = session.execute(select(User).where(User.id.in_(user_ids),
                                               User.unreachable.is_(False))).scalars()
    queued = 0
    for user in users:
        enqueue(session, user_id=user.id, channel=str(user.channel),
                address=str(user.channel_user_id), replies=[notice(report, str(user.language))],
                automated=True, batch=FOLLOWUP_BATCH)
        queued += 1
    if report.status in FINAL_STATUSES:
        session.execute(delete(ReportFollowup).where(ReportFollowup.report_id == report.id))
    return queued


def moderate(session: Session, actor: Actor, reference: str, state: str) -> Report:
    """Approve or reject the reporter's text for anything beyond the CAF's own view."""
    if state not in MODERATION:
        raise ValueError(f"unknown moderation state {state!r}")
    report = get_report(session, actor, reference)
    report.text_state = state
    session.add(ReportStatusChange(id=new_id(), report_id=report.id,
                                   status=f"text_{state}", actor=actor.name))
    return report


# ------------------------------------------------------------------ aggregates

@dataclass(frozen=True)
class Count:
    """Reports of one group (`keys`: column → value); `count` None when too few to show."""

    keys: dict[str, Any]
    count: int | None


def aggregate(session: Session, communes: Sequence[str] | None,
              by: Sequence[str] = ("commune_code", "facility_id", "kind", "created_month")
              ) -> list[Count]:
    """Counts of reports per group (rows only, unsuppressed: pass them to `shown_counts`).
    `communes` None means every commune (an admin, or the public pages of all)."""
    unknown = set(by) - set(AGGREGATE_KEYS)
    if unknown:
        raise ValueError(f"cannot group reports by {sorted(unknown)}")
    columns = [getattr(Report, key) for key in by]
    query = select(*columns, func.count()).group_by(*columns).order_by(*columns)
    if communes is not None:
        query = query.where(Report.commune_code.in_(list(communes)))
    return [Count(dict(zip(by, row[:-1], strict=True)), int(row[-1]))
            for row in session.execute(query).all()]


def shown_counts(rows: Sequence[Count], *, within: Sequence[str] = (),
                 minimum: int = MIN_GROUP) -> list[Count]:
    """The small-group rule, for the dashboard, the CSV and the chart alike: a count under
    `minimum` is hidden, and within each set of rows sharing the `within` keys (the groups
    that add up to a total shown elsewhere), more of the smallest until the hidden ones add up
    to none or at least `minimum`, so that none can be worked out by subtraction."""
    families: dict[tuple[Any, ...], list[int]] = {}
    for index, row in enumerate(rows):
        families.setdefault(tuple(row.keys.get(k) for k in within), []).append(index)
    hidden: set[int] = set()
    for members in families.values():
        hidden |= hidden_groups({i: int(rows[i].count or 0) for i in members}, minimum=minimum,
                                complementary=bool(within))
    return [Count(row.keys, None if i in hidden else row.count) for i, row in enumerate(rows)]

