"""The durable inbox: redeliveries dropped, each chat in order, nothing lost when a worker dies.

Runs on SQLite and on PostgreSQL (where several workers really compete with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import Claimed, Inbox
from common.db.base import utcnow


@pytest.fixture
def inbox(database_url: str) -> Inbox:
    database = Database(database_url)
    database.migrate()
    return Inbox(database, lease_seconds=60, max_attempts=3)


def test_a_redelivered_update_is_stored_once(inbox: Inbox) -> None:
    assert inbox.accept("telegram", "1001", "chat:1", {"n": 1}) is True
    assert inbox.accept("telegram", "1001", "chat:1", {"n": 1}) is False
    assert inbox.accept("messenger", "1001", "psid:1", {"n": 1}) is True  # other channel


def test_chats_are_handled_in_order_and_concurrently(inbox: Inbox) -> None:
    chats = {f"chat:{c}": list(range(15)) for c in range(8)}
    order = [(chat, n) for n in range(15) for chat in chats]
    for i, (chat, n) in enumerate(order):
        inbox.accept("telegram", str(i), chat, {"chat": chat, "n": n})
    seen: dict[str, list[int]] = {chat: [] for chat in chats}
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def handle(claimed: Claimed) -> Callable[[Session], None] | None:
        chat = claimed.payload["chat"]
        if chat in in_flight:
            overlaps.append(chat)
        in_flight.add(chat)
        await asyncio.sleep(random.uniform(0, 0.003))
        seen[chat].append(claimed.payload["n"])
        in_flight.discard(chat)
        return None

    async def run() -> None:
        stop = asyncio.Event()
        workers = [asyncio.create_task(inbox.work(handle, poll_seconds=0.05, stop=stop))
                   for _ in range(4)]
        while await asyncio.to_thread(inbox.drain):
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.gather(*workers)

    asyncio.run(run())
    assert overlaps == []
    assert all(numbers == list(range(15)) for numbers in seen.values()), seen


def test_a_worker_killed_mid_update_leaves_it_for_the_next(inbox: Inbox) -> None:
    inbox.accept("telegram", "7", "chat:1", {"n": 7})
    inbox.accept("telegram", "8", "chat:1", {"n": 8})
    claimed = inbox.claim()  # ...and the worker dies here: nothing committed
    assert claimed is not None and claimed.payload == {"n": 7}
    assert inbox.claim() is None  # the chat waits: update 8 must not overtake 7
    with inbox.db.session() as session:
        session.execute(update(InboundUpdate).values(lease_until=utcnow() - timedelta(1)))
    again = inbox.claim()
    assert again is not None and again.payload == {"n": 7} and again.attempts == 2


def test_effects_and_done_mark_commit_together(inbox: Inbox) -> None:
    inbox.accept("telegram", "1", "chat:1", {"n": 1})
    claimed = inbox.claim()
    assert claimed is not None

    async def failing(_: Claimed) -> Callable[[Session], None]:
        def effects(session: Session) -> None:
            session.add(InboundUpdate(channel="marker", external_id="x", chat_key="x",
                                      payload={}, status="done"))
            raise RuntimeError("disk full")
        return effects

    asyncio.run(inbox.process(claimed, failing))
    with inbox.db.session() as session:
        rows = session.execute(select(InboundUpdate.channel, InboundUpdate.status)).all()
    assert ("marker", "done") not in rows  # rolled back with the update
    assert ("telegram", "pending") in rows  # to be tried again


def test_an_update_that_keeps_failing_is_set_aside(inbox: Inbox) -> None:
    inbox.accept("telegram", "1", "chat:1", {"n": 1})
    inbox.accept("telegram", "2", "chat:1", {"n": 2})

    async def broken(claimed: Claimed) -> None:
        if claimed.payload["n"] == 1:
            raise ValueError("cannot parse")
        return None

    for _ in range(4):
        claimed = inbox.claim()
        assert claimed is not None
        asyncio.run(inbox.process(claimed, broken))
    with inbox.db.session() as session:
        rows = dict(session.execute(select(InboundUpdate.external_id, InboundUpdate.status)).all())
        error = session.execute(select(InboundUpdate.error).where(
            InboundUpdate.external_id == "1")).scalar_one()
    assert rows == {"1": "failed", "2": "done"}
    assert "cannot parse" in error


def test_a_batch_is_stored_in_one_go_in_order_without_redeliveries(inbox: Inbox) -> None:
    inbox.accept("messenger", "m_0", "messenger:0", {"n": 0})
    batch = [(f"m_{n}", f"messenger:{n % 3}", {"n": n}) for n in range(1200)]
    batch.insert(10, ("m_5", "messenger:2", {"n": 5}))  # repeated inside the batch
    assert inbox.accept_many("messenger", batch) == 1199  # m_0 was already there
    assert inbox.accept_many("messenger", batch) == 0  # Meta retried the whole batch
    assert inbox.accept_many("messenger", []) == 0
    with inbox.db.session() as session:
        stored = session.execute(select(InboundUpdate.external_id, InboundUpdate.status)
                                 .order_by(InboundUpdate.id)).all()
    assert [e for e, _ in stored] == [f"m_{n}" for n in range(1200)]
    assert {s for _, s in stored} == {"pending"}
    first, second = inbox.claim(), inbox.claim()  # two workers: two chats, oldest first
    assert first and second and (first.payload["n"], second.payload["n"]) == (0, 1)
    assert inbox.claim().payload["n"] == 2  # type: ignore[union-attr]
    assert inbox.claim() is None  # every chat has an update in hand
    with inbox.db.session() as session:
        inbox.complete(session, second)
    assert inbox.claim().payload["n"] == 4  # type: ignore[union-attr]  # chat 1's next


def test_an_update_that_kills_its_worker_every_time_is_set_aside(inbox: Inbox) -> None:
    """Why 12: the attempt limit was only in fail(), which a crashed process never reaches:
    an update that crashes the process was taken again for ever. Its lease running out
    `max_attempts` times now sets it aside, and the chat's next update goes."""
    inbox.accept("telegram", "1", "chat:1", {"n": "poison"})
    inbox.accept("telegram", "2", "chat:1", {"n": "fine"})
    for attempt in range(1, inbox.max_attempts + 1):
        claimed = inbox.claim()  # ...and the process dies while handling it
        assert claimed is not None and claimed.payload == {"n": "poison"}, attempt
        with inbox.db.session() as session:
            session.execute(update(InboundUpdate).values(lease_until=utcnow() - timedelta(1)))
    following = inbox.claim()
    assert following is not None and following.payload == {"n": "fine"}
    with inbox.db.session() as session:
        status, error = session.execute(select(InboundUpdate.status, InboundUpdate.error).where(
            InboundUpdate.external_id == "1")).one()
    assert status == "failed" and "stopped 3 times" in error


def test_a_worker_whose_lease_ran_out_commits_nothing(inbox: Inbox) -> None:
    """Why 12: complete() did not check that the lease was still its own: a slow worker
    whose update had been taken by another committed its effects as well (twice answered)."""
    inbox.accept("telegram", "1", "chat:1", {"n": 1})
    slow = inbox.claim()
    assert slow is not None
    with inbox.db.session() as session:  # the slow worker's lease runs out...
        session.execute(update(InboundUpdate).values(lease_until=utcnow() - timedelta(1)))
    fast = inbox.claim()  # ...and another worker takes the update
    assert fast is not None and fast.id == slow.id

    def marking(name: str) -> Callable[[Claimed], Awaitable[Callable[[Session], None]]]:
        async def handle(_: Claimed) -> Callable[[Session], None]:
            def effects(session: Session) -> None:
                session.add(InboundUpdate(channel="marker", external_id=name, chat_key=name,
                                          payload={}, status="done"))
            return effects
        return handle

    asyncio.run(inbox.process(slow, marking("slow")))
    asyncio.run(inbox.process(fast, marking("fast")))
    with inbox.db.session() as session:
        markers = set(session.execute(select(InboundUpdate.external_id).where(
            InboundUpdate.channel == "marker")).scalars())
        status = session.execute(select(InboundUpdate.status).where(
            InboundUpdate.id == slow.id)).scalar_one()
    assert markers == {"fast"} and status == "done"


def test_a_database_outage_while_handling_gives_the_update_back(inbox: Inbox) -> None:
    """The commit failed because the database went away: not the update's fault, so it is
    given back without using up an attempt, and handled once the database answers."""
    from sqlalchemy.exc import OperationalError

    inbox.accept("telegram", "1", "chat:1", {"n": 1})
    claimed = inbox.claim()
    assert claimed is not None

    async def outage(_: Claimed) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    asyncio.run(inbox.process(claimed, outage))
    with inbox.db.session() as session:
        row = session.execute(select(InboundUpdate)).scalar_one()
        assert (row.status, row.attempts, row.lease_until) == ("pending", 0, None)
