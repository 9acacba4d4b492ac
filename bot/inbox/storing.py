"""Storing webhook updates: INSERT ... ON CONFLICT DO NOTHING (a redelivery is dropped without
an error), and on PostgreSQL a group commit of the updates that arrive at the same moment.

The channels store each update in a thread before they answer the platform. Under load, each
one was its own transaction (a connection checkout, the insert, a commit: the largest share of
the serving path's profile). `GroupStore` lets the first thread to arrive write, in one
transaction, every update waiting at that moment, while the others wait for that commit; each
caller still returns only once its own update is committed, so nothing is acknowledged before
it is stored, and a quiet server still commits each update at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.inbox.models import InboundUpdate
from common.db.base import utcnow

Row = tuple[str, str, str, dict[str, Any]]  # channel, external_id, chat_key, payload


def insert_ignoring_duplicates(db: Any) -> Any:
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


@dataclass(eq=False)
class _Waiting:
    row: Row
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # this caller writes the next group
    finished: bool = False
    stored: bool = False
    error: BaseException | None = None


class GroupStore:
    """Stores rows (PostgreSQL), several callers' rows in one transaction when they wait
    together; `store` returns whether its row was new (False: already stored)."""

    MAX_GROUP = 100  # rows per INSERT: its parameters are compiled for each group

    def __init__(self, db: Any) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._busy = False

    def store(self, row: Row) -> bool:
        me = _Waiting(row)
        with self._lock:
            self._waiting.append(me)
            if not self._busy:
                self._busy = me.lead = True
        while not me.finished:
            if me.lead:
                me.lead = False
                self._write_group()
            else:
                me.done.wait()
                me.done.clear()
        if me.error is not None:
            raise me.error
        return me.stored

    def _write_group(self) -> None:
        with self._lock:
            group = self._waiting[:self.MAX_GROUP]
            del self._waiting[:self.MAX_GROUP]
        try:
            new = self._insert([w.row for w in group])
            for waiting in group:
                key = waiting.row[:2]
                waiting.stored = key in new
                new.discard(key)  # the same update twice in one group: the first is new
        except BaseException as error:
            for waiting in group:
                waiting.error = error
        finally:
            for waiting in group:
                waiting.finished = True
                waiting.done.set()
            with self._lock:  # whoever waits first writes the next group
                if self._waiting:
                    self._waiting[0].lead = True
                    self._waiting[0].done.set()
                else:
                    self._busy = False

    def _insert(self, rows: Sequence[Row]) -> set[tuple[str, str]]:
        now = utcnow()
        insert = insert_ignoring_duplicates(self.db)
        values = [{"channel": channel, "external_id": external_id, "chat_key": chat_key,
                   "payload": payload, "status": "pending", "attempts": 0, "received_at": now}
                  for channel, external_id, chat_key, payload in rows]
        table = InboundUpdate.__table__
        with self.db.session() as session:
            stored = session.execute(insert.values(values).returning(
                table.c.channel, table.c.external_id)).all()
        return {(str(channel), str(external_id)) for channel, external_id in stored}
