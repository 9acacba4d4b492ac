"""The durable inbox: platform updates are stored before they are acknowledged.

A webhook stores the update (the unique (channel, external_id) drops redeliveries, across
restarts and workers) and answers 200 at once; workers then handle stored updates, each chat's
in arrival order and different chats concurrently. Handling an update (dialogue, state, message
log, outbox rows, marking it done) is one transaction: a worker killed mid-way leaves the update
to be taken again when its lease expires, with no half-done effects.

A stored update holds only what its handler needs (each channel reduces the platform's update
before storing it: no names, no keyboards), and once it is handled (done, or failed for good)
only what deduplication needs: the channel, the platform's update id, the status and the times;
the payload and the chat key are cleared. Errors are stored through the redaction filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.db.base import utcnow
from bot.db.models import InboundUpdate
from bot.redact import Redactor

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# What a handled update (done, or failed for good) no longer keeps: deduplication needs only
# (channel, external_id); ordering looks at unfinished updates only.
HANDLED: dict[str, Any] = {"payload": None, "chat_key": None}
_INSERT_CHUNK = 500  # ids per IN (...): well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    chat_key: str
    payload: dict[str, Any]
    attempts: int


# Handles one stored update inside the given session (the caller commits it with the update
# marked done).
UpdateHandler = Callable[[Claimed], Awaitable[Callable[[Session], None] | None]]


class Inbox:
    def __init__(self, db: Database, *, lease_seconds: int = 120,
                 max_attempts: int = MAX_ATTEMPTS,
                 redact: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.redact = redact or Redactor()
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self._arrived = asyncio.Event()

    # -- receiving

    def accept(self, channel: str, external_id: str, chat_key: str,
               payload: dict[str, Any]) -> bool:
        """Store an update; False when it was already stored (a redelivery)."""
        try:
            with self.db.session() as session:
                session.add(InboundUpdate(channel=channel, external_id=external_id,
                                          chat_key=chat_key, payload=payload,
                                          status="pending", attempts=0))
        except IntegrityError:
            return False
        self._notify()  # webhooks call this in a thread: asyncio.Event is not thread-safe
        return True

    def accept_many(self, channel: str,
                    updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Store a batch of (external_id, chat_key, payload) in one transaction, in order
        (a Messenger webhook carries up to 1000 events); the ones already stored, or repeated
        within the batch, are dropped. Returns how many were new."""
        unique: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for item in updates:
            unique.setdefault(item[0], item)
        if not unique:
            return 0
        insert = _insert_ignoring_duplicates(self.db)
        if insert is None:  # another database: one row at a time
            return sum(self.accept(channel, *item) for item in unique.values())
        now = utcnow()
        with self.db.session() as session:
            known: set[str] = set()
            ids = list(unique)
            for start in range(0, len(ids), _INSERT_CHUNK):
                known.update(session.execute(select(InboundUpdate.external_id).where(
                    InboundUpdate.channel == channel,
                    InboundUpdate.external_id.in_(ids[start:start + _INSERT_CHUNK]))).scalars())
            rows = [{"channel": channel, "external_id": external_id, "chat_key": chat_key,
                     "payload": payload, "status": "pending", "attempts": 0, "received_at": now}
                    for external_id, chat_key, payload in unique.values()
                    if external_id not in known]
            if rows:
                # one statement run for every row (executemany); ON CONFLICT covers a
                # concurrent delivery of the same events
                session.execute(insert, rows)
        if rows:
            self._notify()
        return len(rows)

    def wake(self) -> None:
        """Tell idle workers that updates arrived (call on the event loop's thread)."""
        self._arrived.set()

    def _notify(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # in a thread: asyncio.Event is not thread-safe; the caller
            return  # wakes the workers with `wake()`, or they find the rows at their next poll
        self._arrived.set()

    # -- working

    def claim(self) -> Claimed | None:
        """The oldest update whose chat has nothing earlier unfinished.

        The unfinished updates (ids and chats only, oldest first) are walked once: the first
        of each chat is its only candidate, taken if pending or if its lease ran out. The cost
        grows with the backlog, not with the history of done updates; a correlated NOT EXISTS
        per row made a backlog of 1000 events cost seconds per claim.
        """
        now = utcnow()
        with self.db.session() as session:
            unfinished = session.execute(
                select(InboundUpdate.id, InboundUpdate.chat_key)
                .where(InboundUpdate.status.in_(("pending", "processing")))
                .order_by(InboundUpdate.id)).all()
            seen: set[str] = set()
            for update_id, chat_key in unfinished:
                if chat_key in seen:
                    continue  # an earlier update of this chat is not done
                seen.add(chat_key)
                row = self._take(session, update_id, now)  # None while another worker has it
                if row is not None:
                    return Claimed(row.id, row.channel, row.chat_key, dict(row.payload),
                                   row.attempts)
            return None

    def _take(self, session: Session, update_id: int, now: datetime) -> InboundUpdate | None:
        """Lease one update, unless another worker took it since the scan (PostgreSQL: the row
        lock is skipped if held, and the status is checked again on the newest version)."""
        query = select(InboundUpdate).where(
            InboundUpdate.id == update_id,
            or_(InboundUpdate.status == "pending",
                and_(InboundUpdate.status == "processing", InboundUpdate.lease_until < now)))
        if self.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            return None
        row.status = "processing"
        row.lease_until = now + self.lease
        row.attempts = (row.attempts or 0) + 1
        return row

    def complete(self, session: Session, update_id: int) -> None:
        """Mark done inside the session that holds the update's effects (the payload goes)."""
        session.execute(update(InboundUpdate).where(InboundUpdate.id == update_id).values(
            status="done", processed_at=utcnow(), lease_until=None, error=None, **HANDLED))

    def fail(self, claimed: Claimed, error: str) -> None:
        """Try again later, or give up after `max_attempts` (the row keeps the error, not the
        payload)."""
        status = "failed" if claimed.attempts >= self.max_attempts else "pending"
        with self.db.session() as session:
            session.execute(update(InboundUpdate).where(InboundUpdate.id == claimed.id).values(
                status=status, lease_until=None, error=self.redact(error)[:2000],
                **(HANDLED if status == "failed" else {})))

    async def work(self, handle: UpdateHandler, *, poll_seconds: float = 0.5,
                   stop: asyncio.Event | None = None) -> None:
        """One worker loop; run several for concurrency across chats."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            claimed = await asyncio.to_thread(self.claim)
            if claimed is None:
                self._arrived.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), poll_seconds)
                continue
            await self.process(claimed, handle)

    async def process(self, claimed: Claimed, handle: UpdateHandler) -> None:
        try:
            effects = await handle(claimed)

            def commit() -> None:
                with self.db.session() as session:
                    if effects is not None:
                        effects(session)
                    self.complete(session, claimed.id)

            await asyncio.to_thread(commit)
        except Exception as error:  # one bad update must not stop the worker
            log.exception("update %s (%s) failed", claimed.id, claimed.channel)
            await asyncio.to_thread(self.fail, claimed, repr(error))

    def drain(self) -> int:
        """Updates not yet done (for graceful shutdown and tests)."""
        with self.db.session() as session:
            return len(session.execute(select(InboundUpdate.id).where(
                InboundUpdate.status.in_(("pending", "processing")))).all())


def _insert_ignoring_duplicates(db: Database) -> Any:
    """INSERT ... ON CONFLICT (channel, external_id) DO NOTHING, for SQLite and PostgreSQL."""
    if db.is_postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(InboundUpdate.__table__).on_conflict_do_nothing(
            index_elements=["channel", "external_id"])
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(InboundUpdate.__table__).on_conflict_do_nothing(
            index_elements=["channel", "external_id"])
    return None
