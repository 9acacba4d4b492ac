"""Which process of a deployment runs the singletons: the outbox dispatcher (its rate limits
are per process, so one process sends) and the background services (the scheduler).

Every web worker handles webhooks and inbox updates; one of them at a time is the leader:
- PostgreSQL: a session advisory lock held on a dedicated connection. When the leader dies its
  connection closes, the lock is released, and another worker takes over at its next try.
- SQLite (one machine): an exclusive `flock` on a file next to the database.

`ISAFBOT_LEADER` chooses: `yes` (this process leads without asking: a single process, the
default), `elect` (compete; what `isafbot run --workers N` sets), `no` (never lead).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import text

from common.db import Database

log = logging.getLogger(__name__)

LEADER_LOCK = 734_211_010  # advisory lock key (migrations use 734_211_001, rounds 734_211_006)
MODES = ("yes", "elect", "no")
OUTBOX_CHANNEL = "isafbot_outbox"  # NOTIFY'd by other workers when they queue replies


class Leadership:
    """One process's claim to lead; `try_acquire` never blocks. `key` names what is led: the
    deployment (LEADER_LOCK) or one singleton of its own (the scheduler's key)."""

    def __init__(self, db: Database, *, key: int = LEADER_LOCK) -> None:
        self.db = db
        self.key = key
        self._connection: Any = None
        self._file: Any = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.db.is_postgres:
            connection = self.db.engine.connect()
            try:
                got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                              {"key": self.key}).scalar())
                connection.commit()
            except Exception:
                connection.close()
                raise
            if got:
                self._connection = connection
            else:
                connection.close()
            return got
        handle = _lock_path(self.db).open("a")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def listen(self) -> int | None:
        """PostgreSQL: LISTEN for other workers' "replies queued" on the lock's connection;
        returns its file descriptor to watch (None on SQLite, where the dispatcher polls)."""
        if self._connection is None:
            return None
        self._connection.exec_driver_sql(f"LISTEN {OUTBOX_CHANNEL}")
        self._connection.commit()
        return int(self._raw().fileno())

    def notified(self) -> bool:
        """Read pending notifications (call when the descriptor is readable)."""
        if self._connection is None:
            return False
        raw = self._raw()
        try:
            raw.poll()
        except Exception:
            return False
        found = bool(raw.notifies)
        raw.notifies.clear()
        return found

    def _raw(self) -> Any:
        return self._connection.connection.dbapi_connection

    def still_held(self) -> bool:
        """False when the database connection holding the lock was lost."""
        if self._connection is None:
            return self._file is not None
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            log.warning("lost the database connection holding advisory lock %d", self.key)
            self._drop()
            return False

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                         {"key": self.key})
                self._connection.commit()
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:  # really closed: back in the pool it would keep a lock
            with contextlib.suppress(Exception):
                self._connection.invalidate()
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _lock_path(db: Database) -> Path:
    database = db.engine.url.database or ""
    if not database or database == ":memory:":
        return Path(os.environ.get("TMPDIR", "/tmp")) / f"isafbot-leader-{os.getuid()}.lock"
    return Path(f"{database}.leader")
