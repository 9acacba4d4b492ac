"""The handover queue's operations, the same for every door (chat `/handover`, the dashboard):
open one for a person, list those an actor may see, take, relay and close. Every staff action
checks the actor's communes (dialogues.core.permissions): a handover without a commune is the
NGO's staff's, i.e. admins only.

Messages between the person and staff go through the outbox in the caller's transaction. A
staff reply is marked `human` (Messenger's HUMAN_AGENT tag, 7 days; bot/channels/messenger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db.base import utcnow
from common.messages import Button, Reply
from common.redact import mask_personal_data
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import enqueue
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.talk.models import ACTIVE, CLOSED, OPEN, TAKEN, Handover

if TYPE_CHECKING:
    from content.model import Content

RECENT = 12  # messages of the conversation shown to staff


class HandoverGone(LookupError):
    """No such handover, or it is closed."""


@dataclass(frozen=True)
class Line:
    """One message of the conversation as staff see it (phone numbers masked)."""

    at: datetime
    direction: str  # in | out
    text: str


def active_for(session: Session, user_id: int) -> Handover | None:
    return session.execute(select(Handover).where(
        Handover.user_id == user_id, Handover.status.in_(ACTIVE))
        .order_by(Handover.id.desc()).limit(1)).scalar_one_or_none()


def open_for(session: Session, user: User, *, commune_code: str | None = None
             ) -> tuple[Handover, bool]:
    """The person's active handover, or a new one for the commune they named (else their
    own); (row, new)."""
    found = active_for(session, int(user.id))
    if found is not None:
        return found, False
    row = Handover(user_id=user.id, commune_code=commune_code or user.commune_code, status=OPEN,
                   opened_at=utcnow())
    session.add(row)
    session.flush()
    return row, True


def may_handle(actor: Actor, row: Handover) -> bool:
    return actor.is_admin or (row.commune_code is not None and actor.may_act_on(row.commune_code))


def visible(session: Session, actor: Actor) -> list[Handover]:
    """Active handovers the actor may take, oldest first."""
    if not actor.is_staff:
        return []
    rows = session.execute(select(Handover).where(Handover.status.in_(ACTIVE))
                           .order_by(Handover.opened_at, Handover.id)).scalars()
    return [row for row in rows if may_handle(actor, row)]


def get(session: Session, handover_id: int, actor: Actor) -> Handover:
    row = session.get(Handover, handover_id)
    if row is None or row.status == CLOSED:
        raise HandoverGone(handover_id)
    if not may_handle(actor, row):
        raise NotAllowed(f"{actor.name} may not handle handover {handover_id}")
    return row


def take(session: Session, row: Handover, actor: Actor, staff_user_id: int | None = None
         ) -> None:
    row.status, row.taken_by, row.taken_at = TAKEN, actor.name, utcnow()
    row.staff_user_id = staff_user_id


def close(session: Session, row: Handover, by: str) -> None:
    row.status, row.closed_at, row.closed_by = CLOSED, utcnow(), by


def recent(session: Session, user_id: int, limit: int = RECENT) -> list[Line]:
    """The last messages of the conversation the log kept (never a survey's or a form's:
    those are withheld from the log), phone numbers and e-mails masked."""
    rows = session.execute(select(MessageLog).where(
        MessageLog.user_id == user_id, MessageLog.text.is_not(None),
        MessageLog.kind == "text").order_by(MessageLog.id.desc()).limit(limit)).scalars()
    return [Line(r.created_at, r.direction, mask_personal_data(r.text or ""))
            for r in reversed(list(rows))]


def send_to(session: Session, user: User, reply: Reply, batch: str) -> None:
    """One message to a chat user, through the outbox (their private chat)."""
    enqueue(session, user_id=int(user.id), channel=str(user.channel),
            address=str(user.channel_user_id), replies=[reply], batch=batch)


def citizen_of(session: Session, row: Handover) -> User:
    user = session.get(User, row.user_id)
    if user is None:
        raise HandoverGone(row.id)
    return user


def end_button(title: str) -> tuple[Button, ...]:
    return (Button(title, "hand:end"),)


def _to_citizen(session: Session, content: Content, row: Handover, key: str, *,
                human: bool, end: bool = True, **values: object) -> None:
    citizen = citizen_of(session, row)
    lang = str(citizen.language)
    buttons = end_button(content.message("hand_end_button", lang)) if end else (
        Button(content.message("menu_button", lang), "menu"),)
    send_to(session, citizen, Reply(content.message(key, lang, **values), buttons=buttons,
                                    human=human), f"handover:{row.id}")


def take_and_tell(session: Session, content: Content, row: Handover, actor: Actor,
                  staff_user_id: int | None = None) -> None:
    """Staff take the conversation; the person is told a human joined."""
    take(session, row, actor, staff_user_id)
    _to_citizen(session, content, row, "hand_joined", human=True)


def staff_reply(session: Session, content: Content, row: Handover, text: str) -> None:
    """A staff member's message to the person: a person's reply (HUMAN_AGENT)."""
    _to_citizen(session, content, row, "hand_staff_says", human=True, text=text.strip()[:1500])


def close_and_tell(session: Session, content: Content, row: Handover, by: str) -> None:
    """Staff end the handover; the person is told the bot is back."""
    close(session, row, by)
    _to_citizen(session, content, row, "hand_ended", human=False, end=False)


__all__ = ["ACTIVE", "CLOSED", "OPEN", "TAKEN", "Handover", "HandoverGone", "Line",
           "active_for", "citizen_of", "close", "close_and_tell", "end_button", "get",
           "may_handle", "open_for", "recent", "send_to", "staff_reply", "take",
           "take_and_tell", "visible"]
