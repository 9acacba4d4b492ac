"""Reading and writing scorecard answers, safely under concurrency.

Every write is an upsert on a natural key (a respondent's response per round, a rating per
response and indicator...), so a duplicated message, a double tap or two workers racing never
create a second row, and each answer is committed with the turn that received it (a crash loses
nothing). A write first takes a shared lock on its round and checks the round is still open;
closing a round takes that lock exclusively, so it waits for answers being saved and nothing is
accepted once it is closed. On PostgreSQL the lock is a transaction-scoped advisory lock (a
shared row lock would make every answer write the round's row); SQLite serialises writers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from dialogues.scorecard.models import (
    RoundSubscription,
    ScoringRound,
    SurveyComment,
    SurveyProfileAnswer,
    SurveyRating,
    SurveyResponse,
)

IN_PROGRESS, STOPPED, COMPLETE = "in_progress", "stopped", "complete"
MAX_COMMENT_CHARS = 1000
ROUND_LOCKS = 734_211_006  # advisory lock namespace of rounds (migrations use 734_211_001)
_CHECKED = "scorecard_rounds_checked"  # session.info: rounds locked in this transaction


class RoundClosed(Exception):
    """The round does not exist any more or was closed: it accepts nothing."""


def respondent_key(secret: bytes, channel: str, channel_user_id: str) -> str:
    """The pseudonymous respondent id: HMAC-SHA256 of channel and platform user id. Without the
    secret nobody can tell whose it is; with it, the same person always gets the same id (so a
    second attempt edits the first)."""
    if not secret:
        raise ValueError("a secret key is needed to make pseudonymous respondent ids")
    message = f"respondent\x1f{channel}\x1f{channel_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def comment_author(secret: bytes, respondent: str, round_id: int) -> str:
    """Another HMAC, per round: lets a respondent's comment be replaced, but not joined to the
    response (and its profile answers) by anyone without the secret."""
    message = f"comment\x1f{respondent}\x1f{round_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def new_id() -> str:
    """A random id: unlike a sequence it says nothing about when a row was written."""
    return secrets.token_hex(16)


def _insert(session: Session, model: Any) -> Any:
    """An INSERT that supports ON CONFLICT, for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def _upsert(session: Session, model: Any, values: Mapping[str, Any], keys: list[str],
            update: Mapping[str, Any] | None) -> None:
    statement = _insert(session, model).values(**values)
    if update:
        statement = statement.on_conflict_do_update(index_elements=keys, set_=dict(update))
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    session.execute(statement)


# ------------------------------------------------------------------ rounds

def open_round_of(session: Session, facility_id: str) -> ScoringRound | None:
    return session.execute(select(ScoringRound).where(
        ScoringRound.open_facility == facility_id)).scalar_one_or_none()


def open_rounds(session: Session, facility_ids: list[str]) -> dict[str, ScoringRound]:
    """Open rounds by facility id, for a list of facilities (one query)."""
    if not facility_ids:
        return {}
    rows = session.execute(select(ScoringRound).where(
        ScoringRound.open_facility.in_(facility_ids))).scalars()
    return {row.facility_id: row for row in rows}


def round_row(session: Session, round_id: int) -> ScoringRound | None:
    return session.get(ScoringRound, round_id)


def lock_round(session: Session, round_id: int, *, exclusive: bool = False) -> None:
    """The round's lock until this transaction ends: shared to write answers, exclusive to
    close it (PostgreSQL; SQLite transactions already exclude each other)."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.execute(text(f"SELECT {function}(:space, :id)"),
                        {"space": ROUND_LOCKS, "id": round_id})


def writable_round(session: Session, round_id: int) -> None:
    """Lock the round against closing until this transaction ends, and check it is open
    (RoundClosed otherwise). Done once per round and transaction."""
    transaction = session.get_transaction()
    checked = session.info.get(_CHECKED)
    if transaction is not None and checked and checked[0] is transaction \
            and round_id in checked[1]:
        return
    lock_round(session, round_id)
    closed = session.execute(select(ScoringRound.closed_at).where(
        ScoringRound.id == round_id)).first()
    if closed is None or closed.closed_at is not None:
        raise RoundClosed(round_id)
    transaction = session.get_transaction()
    if not checked or checked[0] is not transaction:
        checked = session.info[_CHECKED] = (transaction, set())
    checked[1].add(round_id)


# ------------------------------------------------------------------ responses

@dataclass(frozen=True)
class ResponseState:
    """What the dialogue needs to know about a response, read in one place."""

    id: str
    round_id: int
    status: str
    position: int


def find_response(session: Session, round_id: int, respondent: str) -> ResponseState | None:
    row = session.execute(select(
        SurveyResponse.id, SurveyResponse.round_id, SurveyResponse.status,
        SurveyResponse.position).where(SurveyResponse.round_id == round_id,
                                       SurveyResponse.respondent == respondent)).first()
    return ResponseState(row.id, row.round_id, row.status, row.position) if row else None


def unfinished_responses(session: Session, respondent: str) -> list[tuple[ResponseState, str]]:
    """In-progress responses of this respondent in rounds still open, with the facility id."""
    rows = session.execute(
        select(SurveyResponse.id, SurveyResponse.round_id, SurveyResponse.status,
               SurveyResponse.position, ScoringRound.facility_id)
        .join(ScoringRound, ScoringRound.id == SurveyResponse.round_id)
        .where(SurveyResponse.respondent == respondent,
               SurveyResponse.status == IN_PROGRESS,
               ScoringRound.closed_at.is_(None))
        .order_by(ScoringRound.id)).all()
    return [(ResponseState(r.id, r.round_id, r.status, r.position), r.facility_id)
            for r in rows]


def start_response(session: Session, round_id: int, respondent: str) -> ResponseState:
    """The respondent's response for the round, created when missing (race-safe), set back to
    in progress at the first step: a second attempt walks the questions again and edits."""
    writable_round(session, round_id)
    _upsert(session, SurveyResponse, {"id": new_id(), "round_id": round_id,
                                      "respondent": respondent, "status": IN_PROGRESS,
                                      "position": 0}, ["round_id", "respondent"], None)
    state = find_response(session, round_id, respondent)
    assert state is not None  # just inserted or already there
    return state


def set_progress(session: Session, response: ResponseState, *, position: int,
                 status: str = IN_PROGRESS) -> None:
    writable_round(session, response.round_id)
    session.execute(SurveyResponse.__table__.update()
                    .where(SurveyResponse.id == response.id)
                    .values(position=position, status=status))


def save_rating(session: Session, response: ResponseState, indicator: str,
                score: int | None) -> None:
    """A score replaces any earlier one; a skip (None) records "skipped" but never erases an
    earlier score (on a second attempt, skipping keeps the earlier answer)."""
    writable_round(session, response.round_id)
    values = {"response_id": response.id, "indicator": indicator, "score": score}
    _upsert(session, SurveyRating, values, ["response_id", "indicator"],
            {"score": score} if score is not None else None)


def ratings(session: Session, response_id: str) -> dict[str, int | None]:
    rows = session.execute(select(SurveyRating.indicator, SurveyRating.score).where(
        SurveyRating.response_id == response_id)).all()
    return {row.indicator: row.score for row in rows}


def save_profile_answer(session: Session, response: ResponseState, question: str,
                        option: str) -> None:
    writable_round(session, response.round_id)
    _upsert(session, SurveyProfileAnswer, {"response_id": response.id, "question": question,
                                           "option": option},
            ["response_id", "question"], {"option": option})


def profile_answers(session: Session, response_id: str) -> dict[str, str]:
    rows = session.execute(select(SurveyProfileAnswer.question, SurveyProfileAnswer.option)
                           .where(SurveyProfileAnswer.response_id == response_id)).all()
    return {row.question: row.option for row in rows}


# ------------------------------------------------------------------ comments

def save_comment(session: Session, round_id: int, author: str, text: str) -> bool:
    """Store (or replace) a comment; True when it had to be shortened."""
    writable_round(session, round_id)
    cut = text.strip()[:MAX_COMMENT_CHARS]
    _upsert(session, SurveyComment, {"id": new_id(), "round_id": round_id, "author": author,
                                     "text": cut}, ["round_id", "author"], {"text": cut})
    return len(text.strip()) > MAX_COMMENT_CHARS


def has_comment(session: Session, round_id: int, author: str) -> bool:
    return session.execute(select(SurveyComment.id).where(
        SurveyComment.round_id == round_id, SurveyComment.author == author)).first() is not None


# ------------------------------------------------------------------ summaries when a round closes

def subscribe(session: Session, round_id: int, user_id: int) -> None:
    writable_round(session, round_id)
    _upsert(session, RoundSubscription, {"round_id": round_id, "user_id": user_id},
            ["round_id", "user_id"], None)


def unsubscribe(session: Session, round_id: int, user_id: int) -> None:
    session.execute(delete(RoundSubscription).where(RoundSubscription.round_id == round_id,
                                                    RoundSubscription.user_id == user_id))


def is_subscribed(session: Session, round_id: int, user_id: int) -> bool:
    return session.execute(select(RoundSubscription.user_id).where(
        RoundSubscription.round_id == round_id,
        RoundSubscription.user_id == user_id)).first() is not None


def comment_text(session: Session, round_id: int, author: str) -> str | None:
    return session.execute(select(SurveyComment.text).where(
        SurveyComment.round_id == round_id, SurveyComment.author == author)).scalar_one_or_none()


def delete_comment(session: Session, round_id: int, author: str) -> None:
    writable_round(session, round_id)
    session.execute(delete(SurveyComment).where(
        SurveyComment.round_id == round_id, SurveyComment.author == author))
