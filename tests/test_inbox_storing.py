"""Webhook updates stored together (bot/inbox/storing.py): threads storing at the same moment
share a transaction, and each still learns whether its own update was new; a redelivery in
the same group, or later, is dropped. SQLite stores one at a time; both are run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import Inbox


def test_updates_stored_at_the_same_moment_are_each_stored_once(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    inbox = Inbox(database)
    # 200 updates, each delivered twice (Meta and Telegram redeliver), from 16 threads
    deliveries = [(f"u{n}", f"chat:{n % 7}", {"n": n}) for n in range(200)] * 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda d: inbox.accept("telegram", *d), deliveries))
    new = [d[0] for d, stored in zip(deliveries, results, strict=True) if stored]
    assert sorted(new) == sorted(f"u{n}" for n in range(200))  # each new exactly once
    with database.session() as session:
        assert session.execute(select(func.count(InboundUpdate.id))).scalar_one() == 200
        per_chat = session.execute(select(InboundUpdate.chat_key, InboundUpdate.payload)
                                   .order_by(InboundUpdate.id)).all()
    assert {chat for chat, _ in per_chat} == {f"chat:{c}" for c in range(7)}
    assert inbox.accept("telegram", "u5", "chat:5", {"n": 5}) is False  # later: dropped
