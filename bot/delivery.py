"""The one outbound path: a durable outbox, a dispatcher, and a sender per channel.

The outbox table and the functions that write to it (`enqueue`, ...) are in
dialogues.core.outbox, where features and jobs reach them; this module sends what it holds.

Replies, reminders and broadcasts are written to the `outbox` table in the same transaction as
whatever caused them, then delivered by the dispatcher through the channel's `Sender` and the
channel's rate limiter. A row's status tells what happened:

- pending: waiting (or waiting again after a temporary failure, with `due_at` pushed back);
- sending: claimed by a dispatcher (a lease; a crashed dispatcher's rows are taken back);
- sent, failed (gave up, `error` says why), unreachable (the user blocked the bot);
- held: not allowed now by the platform's policy (Messenger's 24-hour window); released with
  the reply to the user's next message;
- withdrawn: a meeting reminder no longer useful (dialogues.meetings.store).

A row keeps its message (`reply`) only until it reaches a final status (`FINAL`): what was sent
to whom is not kept beside the user id ("your earlier answer: 🙂 Good"); the row itself (who,
when, status, batch) is delivery history, deleted after the retention period (bot.retention).
Error texts are stored through the redaction filter (common.redact).

Delivery is exactly once except for the unavoidable case of a process killed after the
platform accepted a message and before the row was marked sent: that one message is sent again
(the platform offers no idempotency key). The window is the time of one database commit.

Temporary failures (429, 5xx, timeouts, a network down) are retried, each chat's messages kept
in order, for `retry_horizon` seconds (24 hours by default) counted from the row's first
failure: at the time the platform asks for (`retry_after`), or else after a capped exponential
backoff with jitter. After the horizon the row is `failed` with the last error. A database
outage while a batch is in hand is waited out: outcomes are recorded once it answers again, so
a message sent during the outage is not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.db import Database
from bot.leases import LeaseKeeper
from bot.metrics import Metrics
from bot.outgoing import (
    AlwaysSend,
    DeliveryError,
    Held,
    Policy,
    Recipient,
    Rejected,
    RetryLater,
    Sender,
    SentMarks,
    Unreachable,
    reply_from_json,
)
from bot.ratelimit import RateLimiter
from common.db.base import utcnow
from common.messages import THREAD_SEPARATOR
from common.redact import Redactor
from common.supervise import Backoff, Burst, LoopState, retry_database
from dialogues.core.models import User
from dialogues.core.outbox import FINAL, NEW_ROWS, OutboxMessage

# what senders raise and work with, defined in bot.outgoing, imported from here by channels
__all__ = ["AlwaysSend", "DeliveryError", "Dispatcher", "Held", "Policy", "Recipient",
           "Rejected", "RetryLater", "Sender", "Unreachable", "reply_from_json"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # unexpected errors (not a platform's answer) before a row is failed
RETRY_HORIZON = 24 * 3600.0


# ------------------------------------------------------------------ the dispatcher

class Dispatcher:
    """Delivers due outbox rows: chats in parallel, each chat's messages in order.

    Run exactly one per deployment (the scheduler's leader process) or one per process with
    SQLite; `wake()` makes it look at the outbox now instead of at the next poll.
    """

    def __init__(self, db: Database, senders: dict[str, Sender],
                 limiters: dict[str, RateLimiter], policies: dict[str, Policy] | None = None,
                 *, batch_size: int = 200, concurrency: int = 64, lease_seconds: float = 20,
                 poll_seconds: float = 0.5, retry_horizon: float = RETRY_HORIZON,
                 max_backoff: float = 120.0, metrics: Metrics | None = None,
                 database_backoff: Backoff | None = None,
                 redact: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.redact = redact or Redactor()
        self.senders = senders
        self.limiters = limiters
        self.policies = policies or {}
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retry_horizon = timedelta(seconds=retry_horizon)
        self.max_backoff = max_backoff
        self.metrics = metrics or Metrics()
        self.database_backoff = database_backoff or Backoff()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._write_burst = Burst("recording send outcomes", log)
        self.leases = LeaseKeeper(db, OutboxMessage, "sending", self.lease)
        self._unreachable: set[int] = set()  # users a 403 answered since their rows' claim
        self._marks = SentMarks(self._write, self._set_sent)
        self._handed: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look at the outbox now; callable from any thread (scheduler jobs run in threads)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self._wake.set)
            return
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def run(self, state: LoopState | None = None) -> None:
        """Deliver until stopped. A database error while claiming ends it (the supervisor
        starts it again after a backoff)."""
        self._loop = asyncio.get_running_loop()
        renewing = asyncio.create_task(self.leases.keep(lambda: self._stopping))
        try:
            while not self._stopping:
                self._wake.clear()
                delivered = await self.deliver_due()
                if state is not None:
                    state.ok()
                if delivered == 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def deliver_due(self) -> int:
        """Claim and deliver one batch; returns how many rows were handled."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        await self._deliver_chats(claimed)
        return len(claimed)

    async def _deliver_chats(self, claimed: list[tuple[OutboxMessage, Recipient]]) -> None:
        """Deliver claimed rows: chats concurrently, each chat's in order; their leases are
        renewed meanwhile."""
        ids = [row.id for row, _ in claimed]
        self.leases.hold(*ids)
        try:
            await self._deliver_by_chat(claimed)
        finally:
            self.leases.drop(*ids)

    async def _deliver_by_chat(self, claimed: list[tuple[OutboxMessage, Recipient]]) -> None:
        by_address: dict[tuple[str, str], list[tuple[OutboxMessage, Recipient]]] = {}
        for row, recipient in claimed:
            by_address.setdefault((row.channel, recipient.address), []).append((row, recipient))
        semaphore = asyncio.Semaphore(self.concurrency)

        async def deliver_chat(items: list[tuple[OutboxMessage, Recipient]]) -> None:
            async with semaphore:
                for position, (row, recipient) in enumerate(items):
                    if not await self._deliver(row, recipient):
                        # keep the chat's order: later messages wait for the failed one
                        await self._write(self._release, [r.id for r, _ in
                                                          items[position + 1:]])
                        return

        await asyncio.gather(*(deliver_chat(items) for items in by_address.values()))

    # -- replies handed over by the worker that wrote them

    def take_fresh(self, session: Session
                   ) -> tuple[list[tuple[OutboxMessage, Recipient]], bool]:
        """In the transaction of a turn: lease the replies it enqueued (`enqueue` notes them
        in the session) for this process to send as soon as it commits, when nothing is
        ahead of them for their chat (earlier rows pending or in flight: then the dispatcher
        sends them all in order). Saves the dispatcher's claim of each reply. Returns (the
        rows taken, whether the dispatcher has work: rows left to it)."""
        fresh = [row for row in session.info.pop(NEW_ROWS, ())
                 if row.status == "pending" and row.channel in self.senders]
        if not fresh:
            return [], True
        now = utcnow()
        # ahead by chat, not by person: in a group, another member's reply may be ahead
        ahead = {(channel, address) for channel, address in session.execute(
            select(OutboxMessage.channel, OutboxMessage.address).where(
                OutboxMessage.address.in_({row.address for row in fresh}),
                OutboxMessage.status.in_(("pending", "sending")),
                OutboxMessage.id.not_in([row.id for row in fresh]),
                OutboxMessage.id < max(row.id for row in fresh)))}
        taken = []
        for row in fresh:
            user = session.get(User, row.user_id)
            if user is None or (row.channel, row.address) in ahead or row.due_at > now:
                continue
            recipient = self._recipient(user, row.address)
            if recipient.is_group:  # several people's turns: the dispatcher keeps their order
                continue
            row.status = "sending"
            row.lease_until = now + self.lease
            row.attempts = (row.attempts or 0) + 1
            taken.append((row, recipient))
        return taken, len(taken) < len(fresh)

    def send_now(self, taken: list[tuple[OutboxMessage, Recipient]]) -> None:
        """Send replies `take_fresh` leased, once their transaction committed (call on the
        event loop)."""
        if not taken:
            return
        task = asyncio.create_task(self._deliver_chats(taken))
        self._handed.add(task)
        task.add_done_callback(self._handed.discard)

    async def _write(self, function: Any, *args: Any) -> Any:
        """A database call of the delivery in a thread, waiting out a database outage (a sent
        message must be recorded as sent, or it would be sent again) unless stopping."""
        return await retry_database(function, *args, backoff=self.database_backoff,
                                    stop=lambda: self._stopping, burst=self._write_burst)

    def _claim(self) -> list[tuple[OutboxMessage, Recipient]]:
        """Take due rows, oldest first; a chat whose earlier message is in flight or waiting
        for a retry is skipped, so each chat's messages keep their order."""
        now = utcnow()
        with self.db.session() as session:
            other = aliased(OutboxMessage)
            earlier = select(other.id).where(
                other.user_id == OutboxMessage.user_id,
                other.address == OutboxMessage.address,
                other.id < OutboxMessage.id,
                or_(other.status == "sending",
                    and_(other.status == "pending", other.due_at > now)),
            ).exists()
            query = (
                select(OutboxMessage)
                .where(or_(
                    and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
                    and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
                ))
                .where(~earlier)
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True, of=OutboxMessage)
            rows = list(session.execute(query).scalars())
            if not rows:
                return []
            users = {u.id: u for u in session.execute(
                select(User).where(User.id.in_({r.user_id for r in rows}))).scalars()}
            claimed = []
            for row in rows:
                row.status = "sending"
                row.lease_until = now + self.lease
                row.attempts = (row.attempts or 0) + 1
                user = users[row.user_id]
                claimed.append((row, self._recipient(user, row.address)))
            return claimed

    def _recipient(self, user: User, address: str) -> Recipient:
        """The recipient as the database has it now: a user who wrote again since a 403 is
        reachable again (the set only remembers a 403 for the rows claimed before it)."""
        if not user.unreachable:
            self._unreachable.discard(int(user.id))
        return Recipient(user.id, user.channel_user_id, address, user.last_inbound_at,
                         bool(user.unreachable))

    async def _deliver(self, row: OutboxMessage, recipient: Recipient) -> bool:
        """Send one row and record the outcome. False when the chat should wait."""
        channel = str(row.channel)
        sender = await self._ready(row, recipient, channel)
        if sender is None:
            return True
        limiter = self.limiters.get(channel)
        if limiter:
            await limiter.acquire(recipient.chat, is_group=recipient.is_group)
        try:
            await sender.send(recipient, reply_from_json(row.reply))
        except RetryLater as error:
            if limiter:
                limiter.pause(error.seconds)
            return await self._temporary(row, error)
        except (Unreachable, Rejected, Held) as error:
            await self._refused(row, recipient, channel, error)
            return True
        except Exception as error:  # not a platform's answer: a bug, or something unforeseen
            return await self._unexpected(row, channel, error)
        self.metrics.sent(channel, "sent")
        await self._marks.mark(row.id)
        return True

    async def _ready(self, row: OutboxMessage, recipient: Recipient, channel: str
                     ) -> Sender | None:
        """The channel's sender when the row may go now; None once the row is finished
        without sending (no sender, held by the platform's policy, an unreachable user)."""
        sender = self.senders.get(channel)
        if sender is None:
            await self._finish(row.id, "failed", f"no sender for channel {channel!r}")
            return None
        policy = self.policies.get(channel, AlwaysSend())
        human = isinstance(row.reply, dict) and bool(row.reply.get("human"))
        allowed = (policy.may_send(recipient, bool(row.automated), utcnow(), human=True)
                   if human else policy.may_send(recipient, bool(row.automated), utcnow()))
        if not allowed:
            await self._finish(row.id, "held", None)
            self.metrics.sent(channel, "held")
            return None
        if recipient.unreachable or recipient.user_id in self._unreachable:
            await self._finish(row.id, "unreachable", "user is unreachable")
            return None
        return sender

    async def _refused(self, row: OutboxMessage, recipient: Recipient, channel: str,
                       error: Unreachable | Rejected | Held) -> None:
        """The platform's final word on this row: unreachable, rejected or held."""
        if isinstance(error, Unreachable):
            self.metrics.sent(channel, "unreachable")
            if recipient.is_group:  # the bot left or was removed: the group, not the person
                await self._write(self._group_unreachable, row, recipient.chat, str(error))
            else:
                self._unreachable.add(recipient.user_id)
                await self._write(self._mark_unreachable, row.id, recipient.user_id,
                                  str(error))
        elif isinstance(error, Rejected):
            self.metrics.sent(channel, "rejected")
            await self._finish(row.id, "failed", str(error))
        else:
            self.metrics.sent(channel, "held")
            await self._finish(row.id, "held", str(error))

    async def _unexpected(self, row: OutboxMessage, channel: str, error: Exception) -> bool:
        """An error that is no platform's answer: retried with backoff, failed at last."""
        log.warning("sending outbox %s failed: %r", row.id, error)
        self.metrics.sent(channel, "error")
        if (row.attempts or 0) >= MAX_ATTEMPTS:
            await self._finish(row.id, "failed", repr(error))
            return True
        wait = Backoff(base=1.0, cap=self.max_backoff).delay(row.attempts or 1)
        await self._write(self._retry, row.id, wait, repr(error), False)
        return False

    async def _temporary(self, row: OutboxMessage, error: RetryLater) -> bool:
        """Rate limited or the platform unavailable: retry later, until the horizon."""
        channel = str(row.channel)
        self.metrics.sent(channel, "rate_limited" if error.rate_limited else "temporary")
        now = utcnow()
        since = row.retry_since or now
        if now - since >= self.retry_horizon:
            self.metrics.sent(channel, "gave_up")
            hours = self.retry_horizon.total_seconds() / 3600
            await self._finish(row.id, "failed",
                               f"gave up after retrying for {hours:g} h; last error: {error}")
            return True
        if error.told:
            wait = error.seconds
        else:
            wait = Backoff(base=max(error.seconds, 0.0), cap=max(self.max_backoff,
                                                                  error.seconds)
                           ).delay(row.attempts or 1)
        await self._write(self._retry, row.id, wait, str(error), True)
        return False

    async def _finish(self, row_id: int, status: str, error: str | None) -> None:
        await self._write(self._set, row_id, status, error)

    def _set(self, row_id: int, status: str, error: str | None) -> None:
        final = {"reply": None} if status in FINAL else {}
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                status=status, error=self._clean(error), lease_until=None, retry_since=None,
                sent_at=utcnow() if status == "sent" else None, **final))

    def _set_sent(self, row_ids: list[int]) -> None:
        """Several rows sent: one transaction (SentMarks gathers them)."""
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(row_ids)).values(
                status="sent", error=None, lease_until=None, retry_since=None,
                sent_at=utcnow(), reply=None).execution_options(synchronize_session=False))

    def _clean(self, error: str | None) -> str | None:
        return self.redact(error) if error else None

    def _retry(self, row_id: int, seconds: float, error: str, temporary: bool) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": "pending", "error": self._clean(error),
                                  "lease_until": None,
                                  "due_at": now + timedelta(seconds=seconds)}
        if temporary:  # the horizon counts from the first of a run of temporary failures
            values["retry_since"] = func.coalesce(OutboxMessage.retry_since, now)
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                            .values(**values))

    def _release(self, row_ids: list[int]) -> None:
        """Give back claimed rows untouched (they were not tried)."""
        if not row_ids:
            return
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(row_ids)).values(
                status="pending", lease_until=None, attempts=OutboxMessage.attempts - 1))

    def _group_unreachable(self, row: OutboxMessage, chat: str, error: str) -> None:
        """A 403 from a group chat: this row and what is queued for that group (any of its
        topics) are not sent; whoever wrote there can still be reached in private."""
        with self.db.session() as session:
            session.execute(update(OutboxMessage).where(
                OutboxMessage.channel == row.channel,
                or_(OutboxMessage.id == row.id,
                    and_(or_(OutboxMessage.address == chat,
                             OutboxMessage.address.like(f"{chat}{THREAD_SEPARATOR}%")),
                         OutboxMessage.status.in_(("pending", "held"))))).values(
                status="unreachable", error=self._clean(error), lease_until=None, reply=None)
                .execution_options(synchronize_session=False))

    def _mark_unreachable(self, row_id: int, user_id: int, error: str) -> None:
        """403: this row and everything still queued for the user are not sent."""
        with self.db.session() as session:
            session.execute(update(User).where(User.id == user_id).values(unreachable=True))
            session.execute(update(OutboxMessage).where(
                OutboxMessage.user_id == user_id,
                or_(OutboxMessage.id == row_id,
                    OutboxMessage.status.in_(("pending", "held")))).values(
                status="unreachable", error=self._clean(error), lease_until=None, reply=None))
