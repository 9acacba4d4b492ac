"""A CAF's message to every subscriber of a commune: queued in the caller's transaction, its
progress counted from the outbox, and its final report queued to the CAF once every row is
final. The texts come from the caller's `Notices`, the time from the caller's `now`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialogues.core.models import User
from dialogues.core.outbox import batch_report, enqueue
from dialogues.core.permissions import chat_actor
from dialogues.meetings.models import Broadcast
from dialogues.meetings.store import (
    FINAL,
    MAX_BROADCAST,
    MeetingError,
    Notices,
    audit,
    check_communes,
    naive_utc,
    subscribers,
)


def create_broadcast(session: Session, notices: Notices, user: User, commune: str, text: str,
                     *, now: datetime) -> Broadcast:
    """Queue a CAF's message to every subscriber of the commune, in this transaction
    (NotAllowed when `user` does not act on the commune)."""
    check_communes([commune])
    chat_actor(session, user).require(commune)
    text = (text or "").strip()
    if not text:
        raise MeetingError("the message is empty")
    broadcast = Broadcast(commune_code=commune, text=text[:MAX_BROADCAST], created_by=user.id,
                          batch=f"bc:{secrets.token_hex(6)}", recipients=0)
    session.add(broadcast)
    session.flush()
    broadcast.batch = f"bc:{broadcast.id}"
    people = subscribers(session, commune)
    for person in people:
        lang = person.language if person.language in ("km", "en") else "km"
        enqueue(session, user_id=person.id, channel=person.channel,
                address=person.channel_user_id,
                replies=[notices.broadcast(broadcast, lang)],
                automated=True, batch=broadcast.batch,
                dedup_key=f"{broadcast.batch}:u{person.id}")
    broadcast.recipients = len(people)
    audit(session, f"user:{user.id}", "broadcast.send", commune, broadcast=broadcast.id,
          recipients=len(people), chars=len(broadcast.text))
    return broadcast


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    counts: dict[str, int]

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in FINAL)

    @property
    def finished(self) -> bool:
        return self.done >= self.broadcast.recipients


def progress(session: Session, broadcast: Broadcast) -> Progress:
    return Progress(broadcast, batch_report(session, broadcast.batch))


def latest_broadcasts(session: Session, user: User, limit: int = 3) -> list[Broadcast]:
    return list(session.execute(select(Broadcast).where(Broadcast.created_by == user.id)
                                .order_by(Broadcast.id.desc()).limit(limit)).scalars())


def report_finished(session: Session, notices: Notices, *, now: datetime) -> int:
    """Queue the final report to the CAF of every broadcast whose rows are all final."""
    pending = list(session.execute(select(Broadcast).where(Broadcast.reported_at.is_(None))
                                   .with_for_update()).scalars())
    reported = 0
    for broadcast in pending:
        state = progress(session, broadcast)
        if not state.finished:
            continue
        broadcast.reported_at = naive_utc(now)
        caf = session.get(User, broadcast.created_by) if broadcast.created_by else None
        if caf is None:
            continue
        enqueue(session, user_id=caf.id, channel=caf.channel, address=caf.channel_user_id,
                replies=[notices.finished(state, caf.language)],
                automated=True, dedup_key=f"bcreport:{broadcast.id}")
        reported += 1
    return reported
