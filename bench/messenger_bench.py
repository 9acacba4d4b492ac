"""Messenger webhook benchmark, on SQLite and on the PostgreSQL at 127.0.0.1:5432.

- ack: time for the webhook to answer a signed batch (read, check the signature, parse, store
  every event in one transaction) over real HTTP, for batches of 1, 50 and 1000 events; the
  server runs without workers so nothing else competes;
- inbox drain: claiming and completing 1000 stored events (the workers' bookkeeping only);
- end to end: a batch of 1000 events from 100 users (10 each) until every reply was accepted
  by a fake Graph API on 127.0.0.1 (NLU, dialogues, outbox, dispatcher, client), 4 workers.

    .venv/bin/python -m bench.messenger_bench [--only ack|drain|e2e] [--db sqlite|postgresql]

Writes bench/results/messenger.json and prints a Markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from tests.conftest import scratch_database  # noqa: E402


def database(kind: str, tmp: Path) -> AbstractContextManager[str]:
    """A new database for one run: SQLite in `tmp`, or PostgreSQL (dropped afterwards)."""
    return scratch_database(kind, tmp, prefix="isafbot_bench")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def make_app(url: str, tmp: Path, graph: Any, nlu: Any) -> Any:
    from bot.bootstrap import bootstrap
    from tests.conftest import make_settings
    from tests.test_messenger import messenger_env

    return bootstrap(make_settings(tmp, url, **messenger_env(graph)), nlu=nlu)


def bench_ack(kind: str, tmp: Path, nlu: Any) -> dict[str, Any]:
    from tests.fake_graph import FakeGraph
    from tests.test_messenger import APP_SECRET, TOKEN, LiveServer, batch, text_event

    result: dict[str, Any] = {}
    with FakeGraph(TOKEN, APP_SECRET) as graph, database(kind, tmp) as url:
        app = make_app(url, tmp, graph, nlu)
        with LiveServer(app, workers=0) as live:
            live.post(batch(text_event("9", "warm up")))
            for size, runs in ((1, 50), (50, 20), (1000, 10)):
                seconds = []
                for run in range(runs):
                    body = batch(*(text_event(f"{run}{n % 100:03d}", f"message {n}")
                                   for n in range(size)), entries=max(1, size // 100))
                    raw = json.dumps(body).encode()
                    started = time.perf_counter()
                    response = live.post(raw)
                    seconds.append(time.perf_counter() - started)
                    assert response.status_code == 200
                result[f"ack_{size}"] = {"p50_ms": 1000 * statistics.median(seconds),
                                         "max_ms": 1000 * max(seconds),
                                         "bytes": len(raw), "runs": runs}
        app.close()
    return result


def bench_drain(kind: str, tmp: Path) -> dict[str, Any]:
    from bot.db import Database
    from bot.inbox.queue import Inbox

    with database(kind, tmp) as url:
        db = Database(url)
        db.migrate()
        inbox = Inbox(db)
        inbox.accept_many("messenger", [(f"m_{n}", f"messenger:{n % 100}", {"n": n})
                                        for n in range(1000)])
        started = time.perf_counter()
        handled = 0
        while (claimed := inbox.claim()) is not None:
            with db.session() as session:
                inbox.complete(session, claimed)
            handled += 1
        seconds = time.perf_counter() - started
        db.dispose()
    return {"drain_1000": {"seconds": seconds, "per_event_ms": 1000 * seconds / handled}}


def bench_e2e(kind: str, tmp: Path, nlu: Any) -> dict[str, Any]:
    from tests.fake_graph import FakeGraph
    from tests.test_messenger import APP_SECRET, TOKEN, LiveServer, batch, text_event

    lines = ["hello", "how much is a birth certificate", "what documents", "where",
             "how long does it take", "ID card ធ្វើនៅណា", "list services", "thank you",
             "សំបុត្រកំណើតថ្លៃប៉ុន្មាន", "goodbye"]
    with FakeGraph(TOKEN, APP_SECRET) as graph, database(kind, tmp) as url:
        app = make_app(url, tmp, graph, nlu)
        with LiveServer(app, workers=4) as live:
            events = [text_event(f"8{user:04d}", line) for line in lines for user in range(100)]
            started = time.perf_counter()
            response = live.post(batch(*events, entries=10))
            acked = time.perf_counter() - started
            live.wait_idle(timeout=1800)
            seconds = time.perf_counter() - started
            sent = len(graph.sent())
        app.close()
    return {"e2e_1000": {"ack_ms": 1000 * acked, "status": response.status_code,
                         "seconds": seconds, "events_per_s": 1000 / seconds,
                         "messages_sent": sent}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["ack", "drain", "e2e"])
    parser.add_argument("--db", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    nlu = None
    if args.only in (None, "ack", "e2e"):
        from nlu.engine import LocalNlu, train

        nlu = LocalNlu.load(train(ROOT / "models")[0])
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                          f"Python {platform.python_version()}",
                               "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in [args.db] if args.db else ["sqlite", "postgresql"]:
            figures: dict[str, Any] = {}
            if args.only in (None, "ack"):
                figures.update(bench_ack(kind, Path(tmp), nlu))
            if args.only in (None, "drain"):
                figures.update(bench_drain(kind, Path(tmp)))
            if args.only in (None, "e2e"):
                figures.update(bench_e2e(kind, Path(tmp), nlu))
            results[kind] = figures
    results["load_average_after"] = os.getloadavg()  # the machine is shared: say how busy
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "messenger.json" if args.only is None and args.db is None else \
        f"messenger-{args.only or 'all'}-{args.db or 'both'}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
