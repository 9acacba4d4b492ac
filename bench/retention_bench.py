"""The retention purge on a large database, for docs/benchmarks.md: how long it takes, and how
long a webhook storing an update waits meanwhile (the purge deletes in chunks, each its own
transaction, so SQLite's write lock is never held for long).

    .venv/bin/python -m bench.retention_bench                      # SQLite in a temp dir
    .venv/bin/python -m bench.retention_bench --db postgresql://root@127.0.0.1:5432/DB

PostgreSQL: give a database made for the run (it is migrated and filled; drop it afterwards).
Half of every kind of row is older than its retention period; the other half stays.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import Inbox
from bot.retention import purge
from bot.settings import Retention
from common.db.base import utcnow
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import OutboxMessage


def fill(db: Database, users: int, per_user: int) -> dict[str, int]:
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(hours=1)
    with db.session() as session:
        session.execute(insert(User), [
            {"channel": "bench", "channel_user_id": f"u{n}", "language": "km",
             "language_chosen": False, "role": "citizen", "unreachable": False,
             "created_at": old, "last_inbound_at": recent if n % 2 else old}
            for n in range(users)])
    ids = list(range(1, users + 1))
    counts = {"message_log": 0, "outbox": 0, "inbound_updates": 0}
    for start in range(0, users, 500):
        chunk = ids[start:start + 500]
        log, out, inbound = [], [], []
        for user in chunk:
            for n in range(per_user):
                at = old if n % 2 else recent
                log.append({"user_id": user, "channel": "bench", "direction": "in",
                            "kind": "text", "text": "how much is a birth certificate?",
                            "created_at": at})
                out.append({"user_id": user, "channel": "bench", "address": f"u{user}",
                            "reply": None, "automated": False, "status": "sent",
                            "attempts": 1, "due_at": at, "created_at": at, "sent_at": at})
                inbound.append({"channel": "bench", "external_id": f"{user}:{n}",
                                "chat_key": None, "payload": None, "status": "done",
                                "attempts": 1, "received_at": at, "processed_at": at})
        with db.session() as session:
            session.execute(insert(MessageLog), log)
            session.execute(insert(OutboxMessage), out)
            session.execute(insert(InboundUpdate), inbound)
        counts["message_log"] += len(log)
        counts["outbox"] += len(out)
        counts["inbound_updates"] += len(inbound)
    return counts


class Webhook(threading.Thread):
    """Stores an update every 20 ms, as a busy webhook does, timing each store."""

    def __init__(self, db: Database) -> None:
        super().__init__(daemon=True)
        self.inbox = Inbox(db)
        self.waits: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            self.inbox.accept("bench-webhook", str(n), "bench:1", {"update_id": n})
            self.waits.append(time.perf_counter() - started)
            n += 1
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--per-user", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        db.migrate()
        started = time.perf_counter()
        counts = fill(db, args.users, args.per_user)
        filled = time.perf_counter() - started
        webhook = Webhook(db)
        webhook.start()
        time.sleep(0.5)
        before = len(webhook.waits)
        started = time.perf_counter()
        done = purge(db, Retention(), utcnow())
        took = time.perf_counter() - started
        during = webhook.waits[before:]
        webhook.stop.set()
        webhook.join()
        result: dict[str, Any] = {
            "database": db.engine.dialect.name, "rows": counts,
            "fill_seconds": round(filled, 1), "purge_seconds": round(took, 2),
            "purged": {k: v for k, v in vars(done).items() if v},
            "rows_per_second": round(done.total / took),
            "webhook_store_ms_during_purge": {
                "count": len(during),
                "median": round(statistics.median(during) * 1000, 1),
                "max": round(max(during) * 1000, 1)},
        }
        print(json.dumps(result, indent=2))
        db.dispose()


if __name__ == "__main__":
    main()
