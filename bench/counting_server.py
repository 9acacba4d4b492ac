"""`isafbot run` with counters, for bench/load.py only (production code has none of this).

    python -m bench.counting_server COUNTS.json run --workers 1 --handlers 4

SQLAlchemy event listeners on every engine and pool count statements (each one a round trip
to the database), transactions committed and rolled back, and pool checkouts (each one a
`pool_pre_ping` round trip when pre-ping is on); wrappers count the inbox workers' and the
dispatcher's claims (each a wake-up that asks the database for work) and how many of them found
nothing. The counts are written to COUNTS.json every second, where the load driver reads them
before and after each arrival rate.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()
_LOCK = threading.Lock()


def _count(name: str, amount: int = 1) -> None:
    with _LOCK:
        COUNTS[name] += amount


def install() -> None:
    """Listeners on the Engine and Pool classes (every engine made later has them) and
    wrappers around the two claim functions."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from bot.delivery import Dispatcher
    from bot.inbox.queue import Inbox

    def statement(conn: Any, cursor: Any, sql: str, params: Any, context: Any,
                  executemany: bool) -> None:
        _count("statements")
        if sql.lstrip().upper().startswith("SELECT 1") or "pg_notify" in sql.lower():
            return
        _count("statement:" + sql.lstrip().split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", lambda conn: _count("commits"))
    event.listen(Engine, "rollback", lambda conn: _count("rollbacks"))
    event.listen(Pool, "checkout", lambda *args: _count("checkouts"))

    def counted(cls: Any, name: str, label: str) -> None:
        original = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            _count(f"{label}_claims")
            if not result:
                _count(f"{label}_empty_claims")
            else:
                _count(f"{label}_claimed", len(result) if isinstance(result, list) else 1)
            return result

        setattr(cls, name, wrapper)

    counted(Inbox, "claim", "inbox")
    if hasattr(Inbox, "claim_many"):
        counted(Inbox, "claim_many", "inbox")
    counted(Dispatcher, "_claim", "outbox")


def _dump(path: Path) -> None:
    while True:
        with _LOCK:
            data = dict(COUNTS)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)
        time.sleep(1.0)


def main() -> None:
    path = Path(sys.argv[1])
    install()
    threading.Thread(target=_dump, args=(path,), daemon=True).start()
    from bot.cli.main import main as cli

    sys.exit(cli(sys.argv[2:]))


if __name__ == "__main__":
    main()
