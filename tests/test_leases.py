"""Short leases, renewed while the work is in hand (bot/leases.py): an update or a message
whose process died is taken again after one short lease, while a slow handler or a slow send
keeps its own (no second worker takes it, no message goes twice). The turn's replies handed
straight to the sender keep the chat's order and go once. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from bot.db import Database
from bot.delivery import Dispatcher, Recipient
from bot.inbox.queue import Claimed, Inbox
from common.messages import Reply
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage, enqueue

LEASE = 0.4  # seconds: renewed every 0.1 s while in hand


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


def test_a_slow_update_keeps_its_lease_while_it_is_handled(db: Database) -> None:
    inbox, other_process = Inbox(db, lease_seconds=LEASE), Inbox(db, lease_seconds=LEASE)
    inbox.accept("telegram", "1", "chat:1", {"n": 1})
    taken_by_other: list[Claimed] = []

    async def slow(claimed: Claimed) -> Callable[[Session], None] | None:
        for _ in range(6):  # three leases long
            await asyncio.sleep(LEASE / 2)
            taken_by_other.extend(await asyncio.to_thread(other_process.claim_many, 5))
        return None

    async def run() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(inbox.work(slow, poll_seconds=0.05, stop=stop))
        while await asyncio.to_thread(inbox.drain):
            await asyncio.sleep(0.05)
        stop.set()
        await worker

    asyncio.run(run())
    assert taken_by_other == []


def test_what_a_killed_worker_held_is_taken_again_after_one_short_lease(db: Database) -> None:
    killed, survivor = Inbox(db, lease_seconds=LEASE), Inbox(db, lease_seconds=LEASE)
    killed.accept("telegram", "1", "chat:1", {"n": 1})
    killed.accept("telegram", "2", "chat:1", {"n": 2})
    held = killed.claim()  # and the process is killed: nobody renews its lease
    assert held is not None and held.payload == {"n": 1}
    assert survivor.claim() is None  # still leased; the chat's next waits behind it
    time.sleep(LEASE * 1.5)
    again = survivor.claim()
    assert again is not None and again.id == held.id and again.attempts == 2


class SlowSender:
    channel = "test"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[str] = []

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        await asyncio.sleep(self.seconds)
        self.sent.append(reply.text)


def _user(db: Database) -> int:
    with db.session() as session:
        user = User(channel="test", channel_user_id="u1", language="en")
        session.add(user)
        session.flush()
        return int(user.id)


def test_a_slow_send_keeps_its_lease_and_goes_once(db: Database) -> None:
    sender = SlowSender(LEASE * 3)
    user_id = _user(db)
    with db.session() as session:
        enqueue(session, user_id=user_id, channel="test", address="u1", replies=[Reply("r")])
    sending = Dispatcher(db, {"test": sender}, {}, lease_seconds=LEASE)  # type: ignore[dict-item]
    other_process = Dispatcher(db, {"test": sender}, {}, lease_seconds=LEASE)  # type: ignore[dict-item]

    async def run() -> list[int]:
        stop = asyncio.Event()
        renewing = asyncio.create_task(sending.leases.keep(stop))
        first = asyncio.create_task(sending.deliver_due())
        taken = []
        for _ in range(6):
            await asyncio.sleep(LEASE / 2)
            taken.append(await other_process.deliver_due())
        await first
        stop.set()
        await renewing
        return taken

    assert asyncio.run(run()) == [0] * 6
    assert sender.sent == ["r"]
    with db.session() as session:
        assert [r.status for r in session.query(OutboxMessage)] == ["sent"]


def test_replies_handed_to_the_sender_keep_the_chat_order(db: Database) -> None:
    """A turn's replies go straight to the sender when nothing is ahead for the chat; when
    an earlier message of the chat is still waiting, they are left to the dispatcher, which
    sends them after it."""
    sender = SlowSender(0.0)
    user_id = _user(db)
    dispatcher = Dispatcher(db, {"test": sender}, {}, lease_seconds=LEASE)  # type: ignore[dict-item]
    with db.session() as session:  # an earlier message still waiting to go
        enqueue(session, user_id=user_id, channel="test", address="u1", replies=[Reply("a")])

    def turn(text: str) -> tuple[list[tuple[OutboxMessage, Recipient]], bool]:
        with db.session() as session:
            enqueue(session, user_id=user_id, channel="test", address="u1",
                    replies=[Reply(text)])
            return dispatcher.take_fresh(session)

    async def run() -> None:
        taken, left = turn("b")
        assert taken == [] and left  # "a" is ahead: the dispatcher's
        assert await dispatcher.deliver_due() == 2
        taken, left = turn("c")
        assert len(taken) == 1 and not left
        dispatcher.send_now(taken)
        await asyncio.gather(*dispatcher._handed)
        assert await dispatcher.deliver_due() == 0  # nothing left, nothing twice

    asyncio.run(run())
    assert sender.sent == ["a", "b", "c"]
    with db.session() as session:
        assert [r.status for r in session.query(OutboxMessage)] == ["sent"] * 3
