"""The durable inbox: platform updates are stored before they are acknowledged.

A webhook stores the update (the unique (channel, external_id) drops redeliveries, across
restarts and workers) and answers 200 at once; workers then handle stored updates, each chat's
in arrival order and different chats concurrently. Handling an update (dialogue, state, message
log, outbox rows, marking it done) is one transaction: a worker killed mid-way leaves the update
to be taken again when its lease expires, with no half-done effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.db import Database
from bot.db.base import utcnow
from bot.db.models import InboundUpdate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


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
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.db = db
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
        self._arrived.set()
        return True

    # -- working

    def claim(self) -> Claimed | None:
        """The oldest update whose chat has nothing earlier unfinished."""
        now = utcnow()
        with self.db.session() as session:
            other = aliased(InboundUpdate)
            earlier = select(other.id).where(
                other.chat_key == InboundUpdate.chat_key,
                other.id < InboundUpdate.id,
                other.status.in_(("pending", "processing")),
            ).exists()
            query = (
                select(InboundUpdate)
                .where(or_(InboundUpdate.status == "pending",
                           and_(InboundUpdate.status == "processing",
                                InboundUpdate.lease_until < now)))
                .where(~earlier)
                .order_by(InboundUpdate.id)
                .limit(1)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True, of=InboundUpdate)
            row = session.execute(query).scalar_one_or_none()
            if row is None:
                return None
            row.status = "processing"
            row.lease_until = now + self.lease
            row.attempts = (row.attempts or 0) + 1
            return Claimed(row.id, row.channel, row.chat_key, dict(row.payload), row.attempts)

    def complete(self, session: Session, update_id: int) -> None:
        """Mark done inside the session that holds the update's effects."""
        session.execute(update(InboundUpdate).where(InboundUpdate.id == update_id).values(
            status="done", processed_at=utcnow(), lease_until=None, error=None))

    def fail(self, claimed: Claimed, error: str) -> None:
        """Try again later, or give up after `max_attempts` (the row keeps the error)."""
        status = "failed" if claimed.attempts >= self.max_attempts else "pending"
        with self.db.session() as session:
            session.execute(update(InboundUpdate).where(InboundUpdate.id == claimed.id).values(
                status=status, lease_until=None, error=error[:2000]))

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
