"""Dashboard figures for docs/benchmarks.md (issue 12): what a password hash costs at the old
and the OWASP cost, logins one at a time and in parallel, the public page computed and cached,
and how long a write waits on SQLite while dashboard pages are being computed.

    .venv/bin/python -m bench.dashboard_bench                      # SQLite in a temp dir
    .venv/bin/python -m bench.dashboard_bench --db postgresql://root@127.0.0.1:5432/DB

PostgreSQL: give a database made for the run (it is migrated and filled; drop it afterwards).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from bot.dashboard import auth, data
from bot.server import build_runtime, build_web_app
from tests.dashboard_helpers import (
    HC_COMMUNE,
    PASSWORD,
    add_accounts,
    big_round,
    dashboard_app,
    login,
)

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _median_ms(work: Callable[[], Any], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return _ms(statistics.median(timings))


def passwords() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cost in (("old N=2^14", auth.ScryptCost(2**14, 8, 1)),
                       ("OWASP N=2^17", auth.PASSWORD_COST)):
        stored = auth.hash_password(PASSWORD, cost)
        out[name] = {"verify_ms": _median_ms(lambda s=stored: auth.verify_password(PASSWORD, s),
                                             5),
                     "memory_mib": round(cost.memory / 2**20)}
    return out


def logins(app: Any) -> dict[str, Any]:
    """One login after another, then ten people logging in at once (two hashes at a time:
    `auth._SCRYPT_SLOTS`)."""
    one = _median_ms(lambda: auth.log_in(app.db, "caf", PASSWORD, "10.0.0.1"), 5)
    with app.db.session() as session:
        for n in range(10):
            auth.add_account(session, f"bench{n}", PASSWORD, "admin", [])
    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lambda n: auth.log_in(app.db, f"bench{n}", PASSWORD,
                                                       f"10.0.1.{n}").status, range(10)))
    return {"one_login_ms": one, "ten_parallel_logins_ms": _ms(time.perf_counter() - started),
            "ten_parallel_outcomes": sorted(set(outcomes))}


def public_page(app: Any, round_id: int) -> dict[str, Any]:
    client = TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")
    with app.db.session() as session:
        data.publish(session, round_id, "bench")
    started = time.perf_counter()
    assert client.get(f"/results/{HC_COMMUNE}").status_code == 200
    first = time.perf_counter() - started
    cached = _median_ms(lambda: client.get(f"/results/{HC_COMMUNE}"), 10)
    return {"first_ms": _ms(first), "cached_ms": cached}


def sqlite_writes_while_reading(app: Any, round_id: int, path: Path) -> dict[str, Any]:
    """Four browsers reload a round page (results computed each time) while another process
    writes 50 times; how long each write waits for the lock and commits."""
    client = TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")
    assert login(client, "admin").status_code == 303
    stop = threading.Event()
    pages = [0]

    def browse() -> None:
        while not stop.is_set():
            client.get(f"/dashboard/rounds/{round_id}")
            pages[0] += 1

    readers = [threading.Thread(target=browse) for _ in range(4)]
    for reader in readers:
        reader.start()
    waits = []
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        for n in range(50):
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO dashboard_account_communes (account_id, "
                               "commune_code) VALUES (1, ?)", (f"{n:06d}",))
            connection.execute("COMMIT")
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
    finally:
        connection.close()
        stop.set()
        for reader in readers:
            reader.join()
    waits.sort()
    return {"writes": len(waits), "pages_meanwhile": pages[0],
            "write_p50_ms": _ms(waits[len(waits) // 2]), "write_max_ms": _ms(waits[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--respondents", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.db or f"sqlite:///{scratch}/bench.db"
        app = dashboard_app(Path(scratch), url)
        try:
            add_accounts(app)
            round_id = big_round(app, args.respondents)
            figures: dict[str, Any] = {"database": app.db.engine.dialect.name,
                                       "respondents": args.respondents,
                                       "passwords": passwords(), "logins": logins(app),
                                       "public_page": public_page(app, round_id)}
            if app.db.is_sqlite:
                figures["sqlite_writes_while_reading"] = sqlite_writes_while_reading(
                    app, round_id, Path(url.split("///", 1)[1]))
        finally:
            app.close()
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    RESULTS.parent.mkdir(exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[figures["database"]] = figures
    RESULTS.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
