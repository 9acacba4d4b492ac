"""Meetings, CAF roles, subscriptions, reminders and broadcasts: the database side, shared by
the chat (dialogues/meetings/handlers.py), the CLI (bot/cli/meetings.py) and the scheduler's jobs.
Broadcasts are dialogues/meetings/broadcasts.py.

Every function works in the caller's session, so what it changes commits together with what
caused it (the dialogue turn, the CLI command, the job). Times in the database are naive UTC.
The store decides who is told what and when; what the messages say comes from the caller's
`Notices` (dialogues/meetings/texts.py), and what time it is from the caller's `now` (the
injected clock), so the store neither words a message nor reads the system clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from common.messages import Reply
from content.places import gazetteer
from dialogues.core.models import CafAudit, CafCommune, CafInvite, User
from dialogues.core.outbox import OutboxMessage, enqueue
from dialogues.core.permissions import ROLES, Actor, granted_communes
from dialogues.meetings.models import Broadcast, Meeting, MeetingReminder, MeetingSubscription

if TYPE_CHECKING:
    from dialogues.meetings.broadcasts import Progress

KINDS = ("interface", "scorecard", "jaap", "other")
MAX_PLACE = 200
MAX_AGENDA = 600
MAX_BROADCAST = 1000
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
# Final statuses of an outbox row; a batch is finished when none of its rows is in another.
FINAL = ("sent", "failed", "held", "unreachable", "withdrawn")


class MeetingError(ValueError):
    """Refused: the message says why (shown to the CLI user; the chat has its own texts)."""


class Notices(Protocol):
    """What the store queues for others, in a user's language (`texts.MeetingTexts`)."""

    def reminder(self, meeting: Meeting, lang: str) -> Reply: ...

    def changed(self, meeting: Meeting, lang: str) -> Reply: ...

    def cancelled(self, meeting: Meeting, lang: str) -> Reply: ...

    def broadcast(self, broadcast: Broadcast, lang: str) -> Reply: ...

    def finished(self, state: Progress, lang: str) -> Reply: ...


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# ------------------------------------------------------------------ roles, invites, audit

def audit(session: Session, actor: str, action: str, commune: str | None = None,
          **detail: Any) -> None:
    session.add(CafAudit(actor=actor, action=action, commune_code=commune,
                         detail=detail or None))


def check_communes(codes: Iterable[str]) -> list[str]:
    found = []
    for code in codes:
        if gazetteer().get(code) is None:
            raise MeetingError(f"unknown commune code {code!r}")
        if code not in found:
            found.append(code)
    if not found:
        raise MeetingError("give at least one commune")
    return found


def create_invite(session: Session, communes: Iterable[str], *, by: str) -> CafInvite:
    codes = check_communes(communes)
    invite = CafInvite(code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
                       communes=codes, created_by=by)
    session.add(invite)
    session.flush()
    audit(session, by, "invite.create", codes[0], invite=invite.id, communes=codes)
    return invite


def redeem_invite(session: Session, user: User, code: str, *, now: datetime) -> list[str]:
    """Make `user` a CAF of the invite's communes; a code works once."""
    invite = session.execute(
        select(CafInvite).where(CafInvite.code == code.strip().upper()).with_for_update()
    ).scalar_one_or_none()
    if invite is None or invite.revoked_at is not None:
        raise MeetingError("unknown or revoked code")
    if invite.redeemed_at is not None:
        raise MeetingError("code already used")
    invite.redeemed_at = naive_utc(now)
    invite.redeemed_by = user.id
    if user.role != "admin":
        user.role = "caf"
    have = set(granted_communes(session, user))
    for commune in invite.communes:
        if commune not in have:
            session.add(CafCommune(user_id=user.id, commune_code=commune, invite_id=invite.id))
    if not user.commune_code:  # /rounds reads the CAF's own commune
        user.commune_code = invite.communes[0]
    audit(session, f"user:{user.id}", "invite.redeem", invite.communes[0], invite=invite.id,
          communes=list(invite.communes))
    return list(invite.communes)


@dataclass(frozen=True)
class CafRow:
    user_id: int
    channel: str
    channel_user_id: str
    role: str
    communes: list[str]


def list_cafs(session: Session) -> tuple[list[CafRow], list[CafInvite]]:
    """CAFs and admins with their communes, and the invites not used yet."""
    users = session.execute(select(User).where(User.role.in_(ROLES)).order_by(User.id)).scalars()
    rows = [CafRow(u.id, u.channel, u.channel_user_id, u.role, granted_communes(session, u))
            for u in users]
    invites = list(session.execute(select(CafInvite).where(
        CafInvite.redeemed_at.is_(None), CafInvite.revoked_at.is_(None))
        .order_by(CafInvite.id)).scalars())
    return rows, invites


def revoke(session: Session, *, by: str, now: datetime, code: str | None = None,
           user_id: int | None = None) -> str:
    """Revoke an unused invite code, or take a CAF's role and communes away."""
    if code:
        invite = session.execute(select(CafInvite).where(
            CafInvite.code == code.strip().upper())).scalar_one_or_none()
        if invite is None or invite.revoked_at is not None:
            raise MeetingError(f"no invite {code!r}")
        if invite.redeemed_at is not None:
            raise MeetingError(f"invite {code!r} was already used: revoke the CAF "
                               f"(--user {invite.redeemed_by}) instead")
        invite.revoked_at = naive_utc(now)
        audit(session, by, "invite.revoke", invite.communes[0], invite=invite.id)
        return f"invite {invite.code} revoked"
    user = session.get(User, user_id) if user_id else None
    if user is None or user.role != "caf":
        raise MeetingError(f"user {user_id} is not a CAF")
    communes = granted_communes(session, user)
    session.execute(delete(CafCommune).where(CafCommune.user_id == user.id))
    user.role = "citizen"
    audit(session, by, "caf.revoke", communes[0] if communes else None, user=user.id,
          communes=communes)
    return f"user {user.id} is no longer a CAF ({', '.join(communes) or 'no communes'})"


def set_admin(session: Session, *, by: str, user_id: int, admin: bool = True) -> str:
    """Make a chat user an admin (acts for every commune), or take the role back.

    The user must have written to the bot before (so they have a user id: `isafbot caf list`
    shows CAFs'); a former admin goes back to CAF if they still hold communes, else citizen."""
    user = session.get(User, user_id)
    if user is None:
        raise MeetingError(f"no user {user_id}")
    if admin:
        if user.role == "admin":
            raise MeetingError(f"user {user_id} is already an admin")
        user.role = "admin"
    else:
        if user.role != "admin":
            raise MeetingError(f"user {user_id} is not an admin")
        user.role = "caf" if granted_communes(session, user) else "citizen"
    audit(session, by, "admin.grant" if admin else "admin.revoke", None, user=user.id)
    return f"user {user.id} is now {'an admin' if admin else 'a ' + user.role}"


# ------------------------------------------------------------------ meetings

def create_meeting(session: Session, *, kind: str, commune: str, place: str,
                   starts_at: datetime, agenda: str | None, by: Actor,
                   now: datetime) -> Meeting:
    """`starts_at` and `now` are aware; a meeting in the past is refused, one in a commune
    `by` does not act on raises NotAllowed."""
    if kind not in KINDS:
        raise MeetingError(f"unknown meeting type {kind!r} (one of {', '.join(KINDS)})")
    check_communes([commune])
    by.require(commune)
    place = (place or "").strip()
    if not place:
        raise MeetingError("the place is missing")
    if starts_at <= now:
        raise MeetingError("that time is in the past")
    meeting = Meeting(kind=kind, commune_code=commune, place=place[:MAX_PLACE],
                      starts_at=naive_utc(starts_at),
                      agenda=(agenda or "").strip()[:MAX_AGENDA] or None,
                      status="scheduled", created_by=by.name, updated_at=naive_utc(now))
    session.add(meeting)
    session.flush()
    audit(session, by.name, "meeting.create", commune, meeting=meeting.id, kind=kind,
          starts_at=meeting.starts_at.isoformat())
    return meeting


def get_meeting(session: Session, meeting_id: int, *, lock: bool = False) -> Meeting:
    query = select(Meeting).where(Meeting.id == meeting_id)
    if lock:
        query = query.with_for_update()
    meeting = session.execute(query).scalar_one_or_none()
    if meeting is None:
        raise MeetingError(f"no meeting {meeting_id}")
    return meeting


def _changeable(session: Session, meeting_id: int, by: Actor, now: datetime, *,
                cancelled: str) -> Meeting:
    """The meeting, locked, once `by` may act on its commune and it is still ahead and
    scheduled (`cancelled`: what to say when it is not)."""
    meeting = get_meeting(session, meeting_id, lock=True)
    by.require(meeting.commune_code)
    if meeting.status != "scheduled":
        raise MeetingError(cancelled)
    if meeting.starts_at <= naive_utc(now):
        raise MeetingError("the meeting has already started")
    return meeting


def update_meeting(session: Session, notices: Notices, meeting_id: int, *, by: Actor,
                   now: datetime, starts_at: datetime | None = None,
                   place: str | None = None) -> Meeting:
    """Move or relocate a meeting. Those already reminded are told of the change; the
    scheduler reschedules the reminders (the new start time makes new reminder keys)."""
    meeting = _changeable(session, meeting_id, by, now, cancelled="the meeting was cancelled")
    changes: dict[str, str] = {}
    if starts_at is not None:
        if starts_at <= now:
            raise MeetingError("that time is in the past")
        meeting.starts_at = naive_utc(starts_at)
        changes["starts_at"] = meeting.starts_at.isoformat()
    if place is not None:
        if not place.strip():
            raise MeetingError("the place is missing")
        meeting.place = place.strip()[:MAX_PLACE]
        changes["place"] = meeting.place
    if not changes:
        return meeting
    meeting.updated_at = naive_utc(now)
    audit(session, by.name, "meeting.edit", meeting.commune_code, meeting=meeting.id, **changes)
    _notify_reminded(session, meeting, notices.changed, "change", now)
    return meeting


def cancel_meeting(session: Session, notices: Notices, meeting_id: int, *, by: Actor,
                   now: datetime) -> int:
    """Cancel; reminders not sent yet are withdrawn and those already reminded are told.
    Returns how many people are told."""
    meeting = _changeable(session, meeting_id, by, now,
                          cancelled="the meeting was already cancelled")
    meeting.status = "cancelled"
    meeting.updated_at = naive_utc(now)
    audit(session, by.name, "meeting.cancel", meeting.commune_code, meeting=meeting.id)
    return _notify_reminded(session, meeting, notices.cancelled, "cancel", now)


def _reminder_batches(session: Session, meeting_id: int) -> list[str]:
    return list(session.execute(select(MeetingReminder.batch).where(
        MeetingReminder.meeting_id == meeting_id)).scalars())


def _notify_reminded(session: Session, meeting: Meeting,
                     notice: Callable[[Meeting, str], Reply], kind: str, now: datetime) -> int:
    """Withdraw the meeting's reminders not sent yet; tell those who got one what changed
    (`kind` "change"; after an edit, also those whose reminder was withdrawn: the notice
    replaces it) or that it is cancelled (`kind` "cancel")."""
    batches = _reminder_batches(session, meeting.id)
    if not batches:
        return 0
    waiting = set(session.execute(select(OutboxMessage.user_id).where(
        OutboxMessage.batch.in_(batches),
        OutboxMessage.status.in_(("pending", "held")))).scalars())
    session.execute(update(OutboxMessage).where(
        OutboxMessage.batch.in_(batches), OutboxMessage.status.in_(("pending", "held")))
        .values(status="withdrawn", error=f"meeting {meeting.id} changed", reply=None))
    reminded = set(session.execute(select(OutboxMessage.user_id).where(
        OutboxMessage.batch.in_(batches),
        OutboxMessage.status.in_(("sent", "sending")))).scalars())
    if kind == "change":  # a withdrawn reminder would have told them: the notice does
        reminded |= waiting
    stamp = int(naive_utc(now).timestamp())
    batch = f"{kind}:{meeting.id}:{stamp}"
    users = session.execute(select(User).where(User.id.in_(reminded),
                                               User.unreachable.is_(False))).scalars()
    count = 0
    for user in users:
        enqueue(session, user_id=user.id, channel=user.channel, address=user.channel_user_id,
                replies=[notice(meeting, user.language)],
                automated=True, batch=batch, dedup_key=f"{batch}:u{user.id}")
        count += 1
    return count


def next_meetings(session: Session, commune: str, now: datetime, limit: int = 3
                  ) -> list[Meeting]:
    return list(session.execute(select(Meeting).where(
        Meeting.commune_code == commune, Meeting.status == "scheduled",
        Meeting.starts_at > naive_utc(now)).order_by(Meeting.starts_at).limit(limit)).scalars())


def list_meetings(session: Session, *, communes: list[str] | None = None,
                  now: datetime | None = None, include_cancelled: bool = False
                  ) -> list[Meeting]:
    query = select(Meeting).order_by(Meeting.starts_at)
    if communes is not None:
        query = query.where(Meeting.commune_code.in_(communes))
    if now is not None:
        query = query.where(Meeting.starts_at > naive_utc(now))
    if not include_cancelled:
        query = query.where(Meeting.status == "scheduled")
    return list(session.execute(query).scalars())


# ------------------------------------------------------------------ subscriptions

def subscribe(session: Session, user: User, commune: str) -> bool:
    """True when this is a new subscription."""
    if session.get(MeetingSubscription, (user.id, commune)) is not None:
        return False
    session.add(MeetingSubscription(user_id=user.id, commune_code=commune))
    session.flush()
    return True


def unsubscribe(session: Session, user: User) -> int:
    """Leave every commune's reminders and broadcasts; returns how many were left."""
    result = session.execute(delete(MeetingSubscription).where(
        MeetingSubscription.user_id == user.id))
    return int(result.rowcount or 0)


def subscriptions(session: Session, user: User) -> list[str]:
    return list(session.execute(select(MeetingSubscription.commune_code).where(
        MeetingSubscription.user_id == user.id)).scalars())


def subscribers(session: Session, commune: str) -> list[User]:
    """Who gets reminders and broadcasts of a commune: subscribers who have not blocked us."""
    return list(session.execute(
        select(User).join(MeetingSubscription, MeetingSubscription.user_id == User.id)
        .where(MeetingSubscription.commune_code == commune, User.unreachable.is_(False))
        .order_by(User.id)).scalars())


def subscriber_count(session: Session, commune: str) -> int:
    return int(session.execute(
        select(func.count()).select_from(MeetingSubscription)
        .join(User, MeetingSubscription.user_id == User.id)
        .where(MeetingSubscription.commune_code == commune,
               User.unreachable.is_(False))).scalar_one())


# ------------------------------------------------------------------ reminders

def reminder_batch(meeting_id: int, offset: int, starts_at: datetime) -> str:
    return f"rem:{meeting_id}:{offset}:{int(starts_at.replace(tzinfo=timezone.utc).timestamp())}"


def reminder_due(starts_at: datetime, offset: int, offsets: Iterable[int],
                 now: datetime) -> bool:
    """Whether the reminder `offset` minutes before `starts_at` (naive UTC) should go out at
    `now` (aware): its time has come, the meeting has not started, and no reminder closer to
    the start is also due (after downtime only the closest one goes, not two at once)."""
    current = naive_utc(now)
    if current >= starts_at or current < starts_at - timedelta(minutes=offset):
        return False
    return not any(o < offset and current >= starts_at - timedelta(minutes=o)
                   for o in offsets)


def send_reminder(session: Session, notices: Notices, meeting_id: int, offset: int,
                  starts_at: datetime, *, now: datetime, offsets: Iterable[int]
                  ) -> int | None:
    """Turn one reminder into outbox rows, one per subscriber, in this transaction.

    None when it does not apply (meeting moved, cancelled, started, stale, or already done):
    the (meeting, offset, start) key is unique, so a second run enqueues nothing.
    """
    meeting = session.execute(select(Meeting).where(Meeting.id == meeting_id)
                              .with_for_update()).scalar_one_or_none()
    if meeting is None or meeting.status != "scheduled" or meeting.starts_at != starts_at:
        return None
    if not reminder_due(meeting.starts_at, offset, offsets, now):
        return None
    if session.execute(select(MeetingReminder.id).where(
            MeetingReminder.meeting_id == meeting_id, MeetingReminder.offset_minutes == offset,
            MeetingReminder.starts_at == starts_at)).first():
        return None
    batch = reminder_batch(meeting_id, offset, starts_at)
    people = subscribers(session, meeting.commune_code)
    session.add(MeetingReminder(meeting_id=meeting_id, offset_minutes=offset,
                                starts_at=starts_at, batch=batch, recipients=len(people)))
    session.flush()  # the unique key: a racing second run fails here and rolls back
    texts: dict[str, Reply] = {}
    for user in people:
        lang = user.language if user.language in ("km", "en") else "km"
        if lang not in texts:
            texts[lang] = notices.reminder(meeting, lang)
        enqueue(session, user_id=user.id, channel=user.channel, address=user.channel_user_id,
                replies=[texts[lang]], automated=True, batch=batch,
                dedup_key=f"{batch}:u{user.id}")
    return len(people)


def withdraw_started(session: Session, now: datetime) -> int:
    """Reminders of meetings that have started are no use any more: the ones still pending
    or held (Messenger's 24-hour window) are withdrawn so they are never released later."""
    started = list(session.execute(select(Meeting).where(
        Meeting.starts_at <= naive_utc(now), Meeting.withdrawn_at.is_(None))).scalars())
    total = 0
    for meeting in started:
        batches = _reminder_batches(session, meeting.id)
        if batches:
            result = session.execute(update(OutboxMessage).where(
                OutboxMessage.batch.in_(batches),
                OutboxMessage.status.in_(("pending", "held")))
                .values(status="withdrawn", error="the meeting has started", reply=None))
            total += int(result.rowcount or 0)
        meeting.withdrawn_at = naive_utc(now)
    return total
