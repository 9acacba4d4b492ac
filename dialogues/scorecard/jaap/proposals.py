"""The propose phase before a round: a CAF opens a call for a facility, citizens suggest what
should be scored, the CAF moderates, merges duplicates and turns the most raised into custom
indicators of the facility's next round.

Privacy (docs/privacy.md): a proposal is keyed by `proposer_key`, an HMAC of the respondent
pseudonym and the call, so one person's proposals can be counted (the flood limit) and nobody
can join them to a platform id or to that person's ratings without the secret. A proposal is
seen by the CAFs of the facility's commune only, until a CAF approves it; then others may see
it (as a button to support it) but never who wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.db.base import utcnow
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.scorecard.jaap.models import CustomIndicator, Proposal, ProposalCall
from dialogues.scorecard.jaap.store import valid_id
from dialogues.scorecard.store import new_id, open_round_of

MAX_PER_PERSON = 3  # proposals (and supports) of one person in one call: the flood limit
MAX_TEXT_CHARS = 200
MAX_LABEL_CHARS = 120
MODERATIONS = ("approved", "rejected")


class ProposalError(Exception):
    """A call, proposal or custom indicator cannot be changed as asked; `reason` is the
    message key that tells the user why (content/messages.yml)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def proposer_key(secret: bytes, respondent: str, call_id: int) -> str:
    """The pseudonym of a proposer in one call (another HMAC of the respondent pseudonym)."""
    message = f"proposal\x1f{respondent}\x1f{call_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def open_call_of(session: Session, facility_id: str) -> ProposalCall | None:
    return session.execute(select(ProposalCall).where(
        ProposalCall.open_facility == facility_id)).scalar_one_or_none()


def open_calls(session: Session, facility_ids: list[str]) -> dict[str, ProposalCall]:
    if not facility_ids:
        return {}
    rows = session.execute(select(ProposalCall).where(
        ProposalCall.open_facility.in_(facility_ids))).scalars()
    return {str(row.facility_id): row for row in rows}


def call_row(session: Session, call_id: int) -> ProposalCall | None:
    return session.get(ProposalCall, call_id) if valid_id(call_id) else None


def _check(content: Content, by: Actor, facility_id: str) -> None:
    if not by.may_act_on_facility(surveys_of(content), facility_id):
        raise NotAllowed(f"{by.name} may not act on {facility_id}")


def checked_call(session: Session, content: Content, call_id: int, by: Actor) -> ProposalCall:
    """The call, when it exists and `by` acts on its facility's commune."""
    row = call_row(session, call_id)
    if row is None:
        raise ProposalError("jaap_error", f"there is no call {call_id}")
    _check(content, by, str(row.facility_id))
    return row


def open_call(session: Session, content: Content, facility_id: str, *, by: Actor,
              now: datetime | None = None) -> ProposalCall:
    """Open the propose phase of a facility: before its round opens, one at a time."""
    if facility_id not in surveys_of(content).facilities:
        raise ProposalError("jaap_error", f"unknown facility {facility_id!r}")
    _check(content, by, facility_id)
    if open_round_of(session, facility_id) is not None:
        raise ProposalError("jaap_propose_round_open")
    if open_call_of(session, facility_id) is not None:
        raise ProposalError("jaap_propose_already_open")
    row = ProposalCall(facility_id=facility_id, open_facility=facility_id,
                       opened_at=now or utcnow(), opened_by=by.name[:64])
    session.add(row)
    session.flush()  # the unique open_facility refuses a second call from a racing CAF
    return row


def close_call(session: Session, content: Content, call_id: int, *, by: Actor,
               now: datetime | None = None) -> ProposalCall:
    row = checked_call(session, content, call_id, by)
    if row.closed_at is None:
        row.closed_at = now or utcnow()
        row.open_facility = None
    return row


def attach_to_round(session: Session, facility_id: str, round_id: int,
                    now: datetime | None = None) -> ProposalCall | None:
    """When a facility's round opens: its latest call not yet used gives the round its custom
    indicators, and closes (citizens now score instead of proposing)."""
    row = session.execute(select(ProposalCall).where(
        ProposalCall.facility_id == facility_id, ProposalCall.round_id.is_(None))
        .order_by(ProposalCall.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    row.round_id = round_id
    if row.closed_at is None:
        row.closed_at = now or utcnow()
        row.open_facility = None
    session.flush()
    return row


# ------------------------------------------------------------------ citizens propose

def proposals_of(session: Session, call_id: int, proposer: str) -> int:
    return int(session.execute(select(func.count()).select_from(Proposal).where(
        Proposal.call_id == call_id, Proposal.proposer == proposer)).scalar_one())


def propose(session: Session, call_id: int, proposer: str, *, indicator: str | None = None,
            text: str | None = None, supports: str | None = None) -> Proposal:
    """A citizen's suggestion: a standard indicator id, free text, or support of an approved
    proposal. Refused when the call is closed or the person reached MAX_PER_PERSON."""
    call = session.get(ProposalCall, call_id, with_for_update=True) if valid_id(call_id) \
        else None
    if call is None or call.closed_at is not None:
        raise ProposalError("jaap_propose_closed")
    if proposals_of(session, call_id, proposer) >= MAX_PER_PERSON:
        raise ProposalError("jaap_propose_flood")
    cleaned = " ".join((text or "").split())[:MAX_TEXT_CHARS] or None
    state, merged_into = "pending", None
    if supports is not None:
        target = session.get(Proposal, supports)
        if target is None or target.call_id != call_id or target.state != "approved":
            raise ProposalError("jaap_propose_closed")
        state, merged_into, cleaned, indicator = "merged", supports, None, None
    elif indicator is None and cleaned is None:
        raise ProposalError("jaap_propose_empty")
    row = Proposal(id=new_id(), call_id=call_id, proposer=proposer, indicator=indicator,
                   text=cleaned, state=state, merged_into=merged_into)
    session.add(row)
    session.flush()
    return row


def approved(session: Session, call_id: int) -> list[Proposal]:
    """The proposals a CAF let others see (free text only; standard indicators need none)."""
    return list(session.execute(select(Proposal).where(
        Proposal.call_id == call_id, Proposal.state == "approved",
        Proposal.text.is_not(None)).order_by(Proposal.id)).scalars())


# ------------------------------------------------------------------ the CAF moderates

@dataclass(frozen=True)
class Tally:
    """A proposal standing for itself and the duplicates merged into it."""

    proposal: Proposal
    supporters: int


def tally(session: Session, call_id: int) -> list[Tally]:
    """Every proposal not merged, with its supporters (itself and those merged into it), the
    most raised first: what the CAF sees (and only the CAF: pending ones too)."""
    rows = list(session.execute(select(Proposal).where(Proposal.call_id == call_id))
                .scalars())
    merged = Counter(str(r.merged_into) for r in rows if r.merged_into)
    standing = [r for r in rows if r.state != "merged"]
    by_indicator = Counter(str(r.indicator) for r in standing if r.indicator)
    first_of: dict[str, str] = {}
    result = []
    for row in sorted(standing, key=lambda r: str(r.id)):
        if row.indicator:  # the same standard indicator proposed by many: one line
            if str(row.indicator) in first_of:
                continue
            first_of[str(row.indicator)] = str(row.id)
            count = by_indicator[str(row.indicator)]
        else:
            count = 1
        result.append(Tally(row, count + merged[str(row.id)]))
    return sorted(result, key=lambda t: (-t.supporters, str(t.proposal.id)))


def _proposals(session: Session, call: ProposalCall, ids: list[str]) -> list[Proposal]:
    rows = list(session.execute(select(Proposal).where(
        Proposal.call_id == call.id, Proposal.id.in_(ids))).scalars())
    if len(rows) != len(set(ids)):
        raise ProposalError("jaap_error", "unknown proposal")
    return rows


def moderate(session: Session, content: Content, call_id: int, proposal_id: str, state: str,
             *, by: Actor) -> Proposal:
    """Approve (others may see it) or reject a proposal."""
    if state not in MODERATIONS:
        raise ProposalError("jaap_error", f"unknown state {state!r}")
    call = checked_call(session, content, call_id, by)
    (row,) = _proposals(session, call, [proposal_id])
    if row.state == "merged":
        raise ProposalError("jaap_error", "a merged proposal has no state of its own")
    row.state = state
    return row


def merge(session: Session, content: Content, call_id: int, into: str, others: list[str],
          *, by: Actor) -> int:
    """The CAF says `others` are duplicates of `into`: they count as its supporters and are
    never shown. Returns how many were merged."""
    call = checked_call(session, content, call_id, by)
    others = [o for o in others if o != into]
    _proposals(session, call, [into, *others])
    if not others:
        return 0
    session.execute(update(Proposal).where(Proposal.merged_into.in_(others))
                    .values(merged_into=into))
    session.execute(update(Proposal).where(Proposal.id.in_(others))
                    .values(state="merged", merged_into=into))
    return len(others)


def add_custom_indicator(session: Session, content: Content, call_id: int, *, label_km: str,
                         label_en: str, by: Actor, proposal_id: str | None = None,
                         supporters: int = 0) -> CustomIndicator:
    """A custom indicator of the call's round, in Khmer and English, before the round opens
    (a round's questions never change while people answer it)."""
    call = checked_call(session, content, call_id, by)
    if call.round_id is not None:
        raise ProposalError("jaap_custom_too_late")
    km, en = " ".join(label_km.split()), " ".join(label_en.split())
    if not km or not en:
        raise ProposalError("jaap_custom_two_languages")
    if len(km) > MAX_LABEL_CHARS or len(en) > MAX_LABEL_CHARS:
        raise ProposalError("jaap_custom_too_long")
    if proposal_id is not None:
        _proposals(session, call, [proposal_id])
    row = CustomIndicator(call_id=call.id, label_km=km, label_en=en, proposal_id=proposal_id,
                          supporters=supporters, created_by=by.name[:64])
    session.add(row)
    session.flush()
    return row


def remove_custom_indicator(session: Session, content: Content, indicator_id: int, *,
                            by: Actor) -> None:
    row = session.get(CustomIndicator, indicator_id) if valid_id(indicator_id) else None
    if row is None:
        raise ProposalError("jaap_error", "unknown custom indicator")
    call = checked_call(session, content, int(row.call_id), by)
    if call.round_id is not None:
        raise ProposalError("jaap_custom_too_late")
    session.delete(row)


def call_indicators(session: Session, call_id: int) -> list[CustomIndicator]:
    return list(session.execute(select(CustomIndicator).where(
        CustomIndicator.call_id == call_id).order_by(CustomIndicator.id)).scalars())
