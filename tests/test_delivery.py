"""The outbox and its dispatcher, on SQLite and PostgreSQL, with a recording sender.

The platform senders are tested against fake Bot API / Graph API servers in their own tests;
here the sender only records, or raises what a platform's errors turn into.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.delivery import Dispatcher, Held, Recipient, RetryLater, Unreachable
from bot.ratelimit import Limits, RateLimiter
from common.db.base import utcnow
from common.messages import Button, Reply
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage, batch_report, enqueue, release_held


class RecordingSender:
    channel = "test"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: dict[str, list[Exception]] = {}

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        queue = self.failures.get(reply.text)
        if queue:
            raise queue.pop(0)
        self.sent.append((recipient.address, reply.text))


class WindowPolicy:
    """Automated messages only to users who wrote in the last day (Messenger-like)."""

    def may_send(self, recipient: Recipient, automated: bool, now: datetime) -> bool:
        if not automated:
            return True
        return bool(recipient.last_inbound_at and now - recipient.last_inbound_at
                    < timedelta(hours=24))


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


def _user(db: Database, uid: str, **values: object) -> int:
    with db.session() as session:
        user = User(channel="test", channel_user_id=uid, language="en", **values)
        session.add(user)
        session.flush()
        return int(user.id)


def _dispatcher(db: Database, sender: RecordingSender, **kwargs: object) -> Dispatcher:
    return Dispatcher(db, {"test": sender}, {}, **kwargs)  # type: ignore[arg-type]


def _statuses(db: Database) -> list[str]:
    with db.session() as session:
        return [s for (s,) in session.execute(
            select(OutboxMessage.status).order_by(OutboxMessage.id))]


def test_replies_go_out_in_order_per_chat(db: Database) -> None:
    sender = RecordingSender()
    a, b = _user(db, "a"), _user(db, "b")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a",
                replies=[Reply("a1", (Button("X", "menu"),)), Reply("a2"), Reply("a3")])
        enqueue(session, user_id=b, channel="test", address="b", replies=[Reply("b1")])
    asyncio.run(_dispatcher(db, sender).deliver_due())
    assert [t for addr, t in sender.sent if addr == "a"] == ["a1", "a2", "a3"]
    assert ("b", "b1") in sender.sent
    assert _statuses(db) == ["sent"] * 4


def test_retry_after_keeps_order_and_sends_later(db: Database) -> None:
    sender = RecordingSender()
    sender.failures["first"] = [RetryLater(0.0, "429 Too Many Requests")]
    a = _user(db, "a")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a",
                replies=[Reply("first"), Reply("second")])
    dispatcher = _dispatcher(db, sender)
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == []  # the second waits for the first
    assert _statuses(db) == ["pending", "pending"]
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == [("a", "first"), ("a", "second")]


def test_blocked_user_is_marked_unreachable_and_nothing_more_is_sent(db: Database) -> None:
    sender = RecordingSender()
    sender.failures["hello"] = [Unreachable("403 Forbidden: bot was blocked by the user")]
    a = _user(db, "a")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a",
                replies=[Reply("hello"), Reply("again")])
    asyncio.run(_dispatcher(db, sender).deliver_due())
    assert sender.sent == []
    assert _statuses(db) == ["unreachable", "unreachable"]
    with db.session() as session:
        assert session.get(User, a).unreachable is True
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("later")],
                automated=True)
    asyncio.run(_dispatcher(db, sender).deliver_due())
    assert sender.sent == []
    assert _statuses(db)[-1] == "unreachable"


def test_policy_holds_automated_messages_until_the_user_writes(db: Database) -> None:
    sender = RecordingSender()
    quiet = _user(db, "quiet", last_inbound_at=utcnow() - timedelta(days=3))
    with db.session() as session:
        enqueue(session, user_id=quiet, channel="test", address="quiet",
                replies=[Reply("reminder")], automated=True, batch="b1")
    dispatcher = Dispatcher(db, {"test": sender}, {}, {"test": WindowPolicy()})
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == []
    with db.session() as session:
        assert batch_report(session, "b1") == {"held": 1}
        session.execute(update(User).where(User.id == quiet).values(last_inbound_at=utcnow()))
        assert release_held(session, quiet) == 1
        enqueue(session, user_id=quiet, channel="test", address="quiet",
                replies=[Reply("answer")])
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == [("quiet", "reminder"), ("quiet", "answer")]


def test_dedup_key_makes_a_second_enqueue_a_no_op(db: Database) -> None:
    a = _user(db, "a")
    for _ in range(2):
        with db.session() as session:
            enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("r")],
                    automated=True, dedup_key="reminder:1:user:1")
    assert _statuses(db) == ["pending"]


def test_rows_of_a_crashed_dispatcher_are_taken_back_after_the_lease(db: Database) -> None:
    sender = RecordingSender()
    a = _user(db, "a")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("r")])
    crashed = _dispatcher(db, sender, lease_seconds=60)
    claimed = crashed._claim()  # claimed, then the process died before sending
    assert len(claimed) == 1
    asyncio.run(_dispatcher(db, sender).deliver_due())
    assert sender.sent == []  # the lease still holds
    with db.session() as session:
        session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(1)))
    asyncio.run(_dispatcher(db, sender).deliver_due())
    assert sender.sent == [("a", "r")]


def test_rate_limiter_keeps_global_and_per_chat_limits() -> None:
    clock = [0.0]
    sent_at: list[tuple[float, str]] = []

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(Limits(per_second=30, burst=1, per_chat_per_second=1,
                                 chat_burst=1), monotonic=lambda: clock[0], sleep=fake_sleep)

    async def run() -> None:
        for i in range(120):
            chat = f"c{i % 60}"
            await limiter.acquire(chat)
            sent_at.append((clock[0], chat))

    asyncio.run(run())
    for start in range(0, 4):
        window = [c for t, c in sent_at if start <= t < start + 1]
        assert len(window) <= 31  # 30 per second (+1 at the boundary)
    per_chat: dict[str, list[float]] = {}
    for t, chat in sent_at:
        per_chat.setdefault(chat, []).append(t)
    for times in per_chat.values():
        assert all(b - a >= 0.999 for a, b in itertools.pairwise(times))


def test_pause_holds_everything_for_retry_after() -> None:
    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(monotonic=lambda: clock[0], sleep=fake_sleep)
    limiter.pause(7)
    asyncio.run(limiter.acquire("x"))
    assert clock[0] >= 7


def test_a_platform_refusing_for_its_policy_holds_the_message(db: Database) -> None:
    sender = RecordingSender()
    sender.failures["reminder"] = [Held("(#10) This message is sent outside of allowed window.")]
    a = _user(db, "a", last_inbound_at=utcnow())
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("reminder")],
                automated=True, batch="b2")
    dispatcher = _dispatcher(db, sender)
    asyncio.run(dispatcher.deliver_due())
    assert _statuses(db) == ["held"] and sender.sent == []
    with db.session() as session:
        assert batch_report(session, "b2") == {"held": 1}
        assert release_held(session, a) == 1
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == [("a", "reminder")]


def _due_now(db: Database) -> None:
    """Let a retry's wait pass at once (the test does not sleep through backoffs)."""
    with db.session() as session:
        session.execute(update(OutboxMessage).values(due_at=utcnow()))


def _row(db: Database) -> OutboxMessage:
    with db.session() as session:
        return session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().first()


def test_a_platform_outage_longer_than_five_tries_is_waited_out(db: Database) -> None:
    """Why 5: temporary errors were retried 5 times then failed for good: a 25-second
    Telegram outage lost every pending reply and reminder. Now a row is retried for the
    horizon (24 hours by default), however many tries that takes."""
    sender = RecordingSender()
    sender.failures["reply"] = [RetryLater(5.0, "TimedOut: timed out") for _ in range(12)]
    a = _user(db, "a")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("reply")])
    dispatcher = _dispatcher(db, sender)
    for _ in range(12):
        asyncio.run(dispatcher.deliver_due())
        assert _statuses(db) == ["pending"]
        _due_now(db)
    asyncio.run(dispatcher.deliver_due())
    assert sender.sent == [("a", "reply")] and _statuses(db) == ["sent"]
    assert _row(db).retry_since is None


def test_a_send_gives_up_after_the_horizon_with_the_last_error(db: Database) -> None:
    sender = RecordingSender()
    sender.failures["reply"] = [RetryLater(5.0, "NetworkError: connection refused")] * 3
    a = _user(db, "a")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("reply")])
    dispatcher = _dispatcher(db, sender, retry_horizon=3600)
    asyncio.run(dispatcher.deliver_due())
    first = _row(db).retry_since
    assert first is not None  # the horizon counts from the first failure...
    _due_now(db)
    asyncio.run(dispatcher.deliver_due())
    assert _row(db).retry_since == first  # ...not from the latest
    with db.session() as session:  # an hour of failures later
        session.execute(update(OutboxMessage).values(
            retry_since=utcnow() - timedelta(seconds=3601), due_at=utcnow()))
    asyncio.run(dispatcher.deliver_due())
    row = _row(db)
    assert row.status == "failed"
    assert "gave up after retrying for 1 h" in row.error and "connection refused" in row.error


def test_retry_after_is_honoured_and_other_waits_back_off(db: Database) -> None:
    """The platform's retry_after is waited exactly; other temporary failures wait a capped
    exponential backoff with jitter (between half and all of base * 2^(n-1), at most the
    cap)."""
    sender = RecordingSender()
    sender.failures["told"] = [RetryLater(7.0, "429 Too Many Requests", told=True)]
    sender.failures["guess"] = [RetryLater(2.0, "HTTP 502") for _ in range(8)]
    a, b = _user(db, "a"), _user(db, "b")
    with db.session() as session:
        enqueue(session, user_id=a, channel="test", address="a", replies=[Reply("told")])
        enqueue(session, user_id=b, channel="test", address="b", replies=[Reply("guess")])
    dispatcher = _dispatcher(db, sender, max_backoff=20.0)
    waits: list[float] = []
    for attempt in range(1, 9):
        before = utcnow()
        asyncio.run(dispatcher.deliver_due())
        with db.session() as session:
            rows = {r.address: r for r in session.execute(select(OutboxMessage)).scalars()}
        if attempt == 1:
            told = (rows["a"].due_at - before).total_seconds()
            assert 7.0 <= told <= 8.0
        waits.append((rows["b"].due_at - before).total_seconds())
        _due_now(db)
    for attempt, wait in enumerate(waits, start=1):
        nominal = min(20.0, 2.0 * 2 ** (attempt - 1))
        assert nominal * 0.5 <= wait <= nominal + 1.0, (attempt, wait)
    assert max(waits) <= 21.0


def test_replies_to_a_group_are_left_to_the_dispatcher(db: Database) -> None:
    """take_fresh hands a private chat's reply straight to the sender, but never a group's
    (Recipient.is_group: several people's turns share the chat, the dispatcher keeps their
    order), a forum topic of a group included."""
    sender = RecordingSender()
    user_id = _user(db, "a")
    dispatcher = _dispatcher(db, sender)
    with db.session() as session:
        for address in ("a", "-100123", "-100123/45"):
            enqueue(session, user_id=user_id, channel="test", address=address,
                    replies=[Reply(f"to {address}")])
        taken, left = dispatcher.take_fresh(session)
    assert [(row.address, recipient.is_group) for row, recipient in taken] == [("a", False)]
    assert left  # the group's two rows wait for the dispatcher
    with db.session() as session:
        assert {r.address: r.status for r in session.query(OutboxMessage)} == {
            "a": "sending", "-100123": "pending", "-100123/45": "pending"}
    assert asyncio.run(dispatcher.deliver_due()) == 2
    assert sorted(sender.sent) == [("-100123", "to -100123"), ("-100123/45", "to -100123/45")]
