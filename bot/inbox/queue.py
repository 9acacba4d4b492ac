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

What happens when something goes wrong (docs/deployment.md):

- the handler raises: the update is tried again, `max_attempts` times in all, then set aside
  as `failed` with the error; so is an update whose worker died `max_attempts` times while
  handling it (a message that crashes the process is not retried forever);
- the handler says "not now" (`RetryUpdateLater`: the NLU server is down): the update waits
  and its chat with it, without using up an attempt;
- the database goes away mid-way: the update is given back (not an attempt either) once the
  database answers again, and the worker carries on;
- a worker whose lease ran out (another worker took the update) commits nothing: marking the
  update done checks that the lease is still its own (`LeaseLost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.inbox.storing import GroupStore, insert_ignoring_duplicates
from bot.leases import LeaseKeeper
from bot.metrics import Metrics
from common.db.base import utcnow
from common.db.session import database_unavailable
from common.redact import Redactor
from common.supervise import Backoff, Burst, LoopState, retry_database

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
    attempts: int  # with the id, the lease's token: each claim counts one more
    received_at: datetime | None = None  # naive UTC


class LeaseLost(RuntimeError):
    """The update is no longer this worker's (its lease ran out and another worker took it, or
    it was given back): nothing this worker did with it is committed."""


class RetryUpdateLater(Exception):
    """Raised by a handler when the update cannot be handled now (the NLU server is down):
    it waits `seconds`, then is tried again; waiting is not a failed attempt."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


# Handles one stored update: returns its effects, run inside the session the caller commits
# with the update marked done; what the effects return, if callable, is called (on the event
# loop) once that commit succeeded.
UpdateHandler = Callable[[Claimed], Awaitable[Callable[[Session], Any] | None]]


class Inbox:
    def __init__(self, db: Database, *, lease_seconds: float = 20,
                 max_attempts: int = MAX_ATTEMPTS, metrics: Metrics | None = None,
                 backoff: Backoff | None = None,
                 redact: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.redact = redact or Redactor()
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.metrics = metrics or Metrics()
        self.backoff = backoff or Backoff()
        self.leases = LeaseKeeper(db, InboundUpdate, "processing", self.lease)
        self._stores = GroupStore(db)
        self._arrived = asyncio.Event()
        self._waiting = False  # some update was postponed: `retry_waiting()` has work

    # -- receiving

    def accept(self, channel: str, external_id: str, chat_key: str,
               payload: dict[str, Any]) -> bool:
        """Store an update; False when it was already stored (a redelivery)."""
        if self.db.is_postgres:  # with the updates arriving at the same moment
            stored = self._stores.store((channel, external_id, chat_key, payload))
        else:
            stored = self._insert_one(channel, external_id, chat_key, payload)
        if stored:
            self._notify()
        return stored

    def _insert_one(self, channel: str, external_id: str, chat_key: str,
                    payload: dict[str, Any]) -> bool:
        insert = insert_ignoring_duplicates(self.db)
        if insert is not None:  # one statement, no exception for a redelivery
            with self.db.session() as session:
                result = session.execute(insert.values(
                    channel=channel, external_id=external_id, chat_key=chat_key,
                    payload=payload, status="pending", attempts=0, received_at=utcnow()))
            return bool(result.rowcount == 1)
        try:
            with self.db.session() as session:
                session.add(InboundUpdate(channel=channel, external_id=external_id,
                                          chat_key=chat_key, payload=payload,
                                          status="pending", attempts=0))
        except IntegrityError:
            return False
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
        if len(unique) == 1:  # the usual webhook: one statement
            return int(self.accept(channel, *next(iter(unique.values()))))
        insert = insert_ignoring_duplicates(self.db)
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
        """The oldest update whose chat has nothing earlier unfinished."""
        claimed = self.claim_many(1)
        return claimed[0] if claimed else None

    def claim_many(self, limit: int) -> list[Claimed]:
        """Up to `limit` updates of different chats, each the oldest unfinished of its chat,
        leased in one transaction (one claim for a whole batch of arrivals).

        The unfinished updates (ids, chats and lease columns only, oldest first) are walked
        once: the first of each chat is its only candidate, taken if pending (and not waiting
        until later) or if its lease ran out. The cost grows with the backlog, not with the
        history of done updates; a correlated NOT EXISTS per row made a backlog of 1000 events
        cost seconds per claim. One UPDATE then leases the candidates, checking their status
        again (PostgreSQL: skipping rows another worker has locked).
        """
        now = utcnow()
        with self.db.session() as session:
            candidates, worn_out = self._candidates(session, limit, now)
            if worn_out and self._set_aside(session, worn_out, now):
                candidates, _ = self._candidates(session, limit, now)  # their chats may go
            return self._lease(session, candidates, now) if candidates else []

    def _candidates(self, session: Session, limit: int, now: datetime
                    ) -> tuple[list[int], list[int]]:
        """(the first update of each chat that may be taken now, up to `limit`; updates whose
        worker died `max_attempts` times, whose chats wait until they are set aside)."""
        unfinished = session.execute(
            select(InboundUpdate.id, InboundUpdate.chat_key, InboundUpdate.retry_at,
                   InboundUpdate.status, InboundUpdate.lease_until, InboundUpdate.attempts)
            .where(InboundUpdate.status.in_(("pending", "processing")))
            .order_by(InboundUpdate.id)).all()
        seen: set[str] = set()
        candidates: list[int] = []
        worn_out: list[int] = []
        for update_id, chat_key, retry_at, status, lease_until, attempts in unfinished:
            if chat_key in seen:
                continue  # an earlier update of this chat is not done
            seen.add(chat_key)
            if retry_at is not None and retry_at > now:
                continue  # waiting out an outage: the chat waits with it
            if status == "processing":
                if lease_until is not None and lease_until >= now:
                    continue  # another worker has it
                if (attempts or 0) >= self.max_attempts:
                    worn_out.append(update_id)
                    continue
            if len(candidates) < limit:
                candidates.append(update_id)
        return candidates, worn_out

    def _claimable(self, now: datetime) -> Any:
        return or_(InboundUpdate.status == "pending",
                   and_(InboundUpdate.status == "processing", InboundUpdate.lease_until < now))

    def _lease(self, session: Session, ids: list[int], now: datetime) -> list[Claimed]:
        """Lease these updates unless another worker took them since the scan."""
        lease_until = now + self.lease
        values = {"status": "processing", "lease_until": lease_until,
                  "attempts": func.coalesce(InboundUpdate.attempts, 0) + 1}
        columns = (InboundUpdate.id, InboundUpdate.channel, InboundUpdate.chat_key,
                   InboundUpdate.payload, InboundUpdate.attempts, InboundUpdate.received_at)
        if self.db.is_postgres:
            free = (select(InboundUpdate.id).where(InboundUpdate.id.in_(ids),
                                                   self._claimable(now))
                    .with_for_update(skip_locked=True).scalar_subquery())
            rows = session.execute(update(InboundUpdate).where(InboundUpdate.id.in_(free))
                                   .values(**values).returning(*columns)
                                   .execution_options(synchronize_session=False)).all()
        else:  # SQLite: BEGIN IMMEDIATE already keeps other writers out
            session.execute(update(InboundUpdate).where(
                InboundUpdate.id.in_(ids), self._claimable(now)).values(**values)
                .execution_options(synchronize_session=False))
            rows = session.execute(select(*columns).where(
                InboundUpdate.id.in_(ids), InboundUpdate.status == "processing",
                InboundUpdate.lease_until == lease_until)).all()
        return sorted((Claimed(row.id, row.channel, row.chat_key, dict(row.payload),
                               row.attempts, row.received_at) for row in rows),
                      key=lambda claimed: claimed.id)

    def _set_aside(self, session: Session, ids: list[int], now: datetime) -> list[int]:
        """Updates whose lease ran out `max_attempts` times (the process handling them died
        each time) are failed instead of taken again: a message that crashes the process is
        not retried forever."""
        if not ids:
            return []
        query = select(InboundUpdate).where(
            InboundUpdate.id.in_(ids), InboundUpdate.status == "processing",
            InboundUpdate.lease_until < now)
        if self.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        failed = []
        for row in session.execute(query).scalars():
            row.status = "failed"
            row.lease_until = None
            row.error = (f"set aside: the worker handling it stopped {row.attempts} times "
                         "before finishing (a crash or a kill each time)")
            for column, value in HANDLED.items():  # failed for good: the payload goes
                setattr(row, column, value)
            log.error("update %s (%s) %s", row.id, row.channel, row.error)
            self.metrics.handled(str(row.channel), "failed")
            failed.append(int(row.id))
        return failed

    def _mine(self, claimed: Claimed) -> Any:
        """The condition that the update is still leased to whoever claimed `claimed`."""
        return and_(InboundUpdate.id == claimed.id, InboundUpdate.status == "processing",
                    InboundUpdate.attempts == claimed.attempts)

    def complete(self, session: Session, claimed: Claimed) -> None:
        """Mark done inside the session that holds the update's effects (the payload goes);
        LeaseLost (so the effects are rolled back) when the update is no longer this
        worker's."""
        result = session.execute(update(InboundUpdate).where(self._mine(claimed)).values(
            status="done", processed_at=utcnow(), lease_until=None, retry_at=None, error=None,
            **HANDLED))
        if result.rowcount != 1:
            raise LeaseLost(f"update {claimed.id} is no longer leased to this worker")

    def fail(self, claimed: Claimed, error: str) -> None:
        """Try again later, or give up after `max_attempts` (the row keeps the error, not the
        payload)."""
        status = "failed" if claimed.attempts >= self.max_attempts else "pending"
        with self.db.session() as session:
            session.execute(update(InboundUpdate).where(self._mine(claimed)).values(
                status=status, lease_until=None, error=self.redact(error)[:2000],
                **(HANDLED if status == "failed" else {})))
        self.metrics.handled(claimed.channel, "failed" if status == "failed" else "retried")

    def release(self, claimed: Claimed) -> None:
        """Give the update back untouched: what stopped it was not the update's fault (the
        database went away, the process is stopping), so it is not an attempt."""
        with self.db.session() as session:
            session.execute(update(InboundUpdate).where(self._mine(claimed)).values(
                status="pending", lease_until=None, attempts=InboundUpdate.attempts - 1))

    def postpone(self, claimed: Claimed, seconds: float, reason: str) -> None:
        """Wait `seconds` before trying again (not an attempt); the chat waits with it."""
        with self.db.session() as session:
            session.execute(update(InboundUpdate).where(self._mine(claimed)).values(
                status="pending", lease_until=None, attempts=InboundUpdate.attempts - 1,
                retry_at=utcnow() + timedelta(seconds=seconds),
                error=self.redact(reason)[:2000]))
        self._waiting = True

    @property
    def waiting(self) -> bool:
        """An update was postponed by this process (it may still wait)."""
        return self._waiting

    def retry_waiting(self) -> int:
        """What waited for an outage that is over (the NLU answered again) goes now (call
        `wake()` after, on the event loop)."""
        if not self._waiting:
            return 0
        self._waiting = False
        with self.db.session() as session:
            result = session.execute(update(InboundUpdate).where(
                InboundUpdate.status == "pending", InboundUpdate.retry_at.is_not(None)
            ).values(retry_at=None))
        return int(result.rowcount or 0)

    async def work(self, handle: UpdateHandler, *, poll_seconds: float = 0.5,
                   stop: asyncio.Event | None = None, state: LoopState | None = None,
                   concurrency: int = 1) -> None:
        """One worker loop handling up to `concurrency` updates at a time (different chats):
        it claims as many as it has free slots in one transaction, and claims again when
        updates arrive or one it holds is finished (no other wake-ups, no herd of idle loops
        racing for each arrival). Leases of the updates in hand are renewed meanwhile. A
        database error while claiming ends it (the supervisor starts it again after a
        backoff); the updates in hand are finished first."""
        stop = stop or asyncio.Event()
        running: set[asyncio.Task[None]] = set()
        renewing = asyncio.create_task(self.leases.keep(stop))
        try:
            while not stop.is_set():
                free = concurrency - len(running)
                if free > 0:
                    self._arrived.clear()
                    claimed = await asyncio.to_thread(self.claim_many, free)
                    if state is not None:
                        state.ok()
                    for one in claimed:
                        task = asyncio.create_task(self.process(one, handle, stop=stop))
                        running.add(task)
                        task.add_done_callback(self._finished(running))
                    if len(claimed) == free:
                        continue  # there may be more: claim again (or wait for a slot)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), poll_seconds)
                else:  # every slot busy: the next claim waits for one to be free
                    await asyncio.wait(running, timeout=poll_seconds,
                                       return_when=asyncio.FIRST_COMPLETED)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    def _finished(self, running: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]],
                                                                       None]:
        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            self._arrived.set()  # a slot is free, and the chat's next update may go

        return done

    async def process(self, claimed: Claimed, handle: UpdateHandler, *,
                      stop: asyncio.Event | None = None) -> None:
        started = time.monotonic()
        self.leases.hold(claimed.id)
        try:
            await self._process(claimed, handle, stop, started)
        finally:
            self.leases.drop(claimed.id)

    async def _process(self, claimed: Claimed, handle: UpdateHandler,
                       stop: asyncio.Event | None, started: float) -> None:
        try:
            effects = await handle(claimed)

            def commit() -> Any:
                with self.db.session() as session:
                    after = effects(session) if effects is not None else None
                    self.complete(session, claimed)
                return after

            after = await asyncio.to_thread(commit)
            self.metrics.handled(claimed.channel, "handled", time.monotonic() - started)
            if callable(after):  # what the effects do once committed (hand replies over)
                after()
        except RetryUpdateLater as later:
            self.metrics.handled(claimed.channel, "postponed")
            await self._settle(stop, self.postpone, claimed, later.seconds, str(later))
        except LeaseLost as lost:  # another worker has it now: its turn, not ours
            log.warning("update %s (%s): %s", claimed.id, claimed.channel, lost)
        except Exception as error:  # one bad update must not stop the worker
            if database_unavailable(error):
                log.warning("update %s (%s) given back: the database is unavailable (%s)",
                            claimed.id, claimed.channel, type(error).__name__)
                self.metrics.handled(claimed.channel, "released")
                await self._settle(stop, self.release, claimed)
                return
            log.exception("update %s (%s) failed", claimed.id, claimed.channel)
            await self._settle(stop, self.fail, claimed, repr(error))

    async def _settle(self, stop: asyncio.Event | None, function: Callable[..., None],
                      *args: Any) -> None:
        """Record an update's outcome, waiting for the database if it is away (until the
        process stops: then the lease running out gives the update back)."""
        burst = Burst(f"recording the outcome of update {args[0].id}", log)
        try:
            await retry_database(function, *args, backoff=self.backoff, stop=stop,
                                 burst=burst)
        except Exception as error:
            log.warning("update %s: outcome not recorded (%s); its lease will give it back",
                        args[0].id, error)

    def drain(self) -> int:
        """Updates not yet done (for graceful shutdown and tests)."""
        with self.db.session() as session:
            return len(session.execute(select(InboundUpdate.id).where(
                InboundUpdate.status.in_(("pending", "processing")))).all())

