"""Reports' figures for docs/benchmarks.md (issue 15): how long the figures take to count and
keep under the small-group rule, and the dashboard's figures page, CSV, public commune page and
chart take over HTTP, with many reports in a few communes.

    .venv/bin/python -m bench.reports_figures_bench                      # SQLite in a temp dir
    .venv/bin/python -m bench.reports_figures_bench --db postgresql://root@127.0.0.1:5432/DB

PostgreSQL: give a database made for the run (it is migrated and filled; drop it afterwards).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from starlette.testclient import TestClient

from bot.bootstrap import App
from bot.server import build_runtime, build_web_app
from dialogues.reports.aggregates import kept_cells
from dialogues.reports.models import KINDS, Report
from dialogues.reports.store import new_id
from tests.dashboard_helpers import HC, HC_COMMUNE, add_accounts, dashboard_app, login

RESULTS = Path(__file__).resolve().parent / "results" / "reports_figures.json"
COMMUNES = (HC_COMMUNE, "010305", "120101", "120102", "120103")
MONTHS = tuple(f"2026-{m:02d}" for m in range(1, 13))


def fill(app: App, reports: int) -> None:
    """`reports` reports spread over 5 communes, 5 kinds and 12 months (written in bulk: the
    flow's own path is tested elsewhere)."""
    pick = random.Random(15)
    rows = [{"id": new_id(), "reference": f"B-{n:05d}", "reporter": f"{n:064x}",
             "submission": new_id() + new_id(), "commune_code": pick.choice(COMMUNES),
             "facility_id": HC if pick.random() < 0.5 else None, "kind": pick.choice(KINDS),
             "text_state": "pending", "status": "new", "created_month": pick.choice(MONTHS)}
            for n in range(reports)]
    with app.db.session() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Report), rows[start:start + 5000])


def timed(work: Callable[[], Any], runs: int = 5) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1)}


def measure(app: App, reports: int) -> dict[str, Any]:
    fill(app, reports)
    add_accounts(app)
    client = TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")
    assert login(client, "admin").status_code == 303

    def count() -> None:
        with app.db.read_session() as session:
            kept_cells(session, None)

    def get(path: str) -> Callable[[], None]:
        def run() -> None:
            assert client.get(path).status_code == 200, path
        return run

    first_chart = timed(get(f"/results/{HC_COMMUNE}/reports.png?lang=km"), runs=1)
    return {"reports": reports,
            "kept_cells_all_communes": timed(count),
            "dashboard_figures_page": timed(get("/dashboard/reports/figures")),
            "dashboard_csv": timed(get("/dashboard/reports/figures.csv")),
            "public_commune_page": timed(get(f"/results/{HC_COMMUNE}")),
            "chart_first_draw_km": first_chart,
            "chart_cached_km": timed(get(f"/results/{HC_COMMUNE}/reports.png?lang=km"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--reports", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.db or f"sqlite:///{Path(directory) / 'bench.db'}"
        app = dashboard_app(Path(directory), url)
        try:
            figures = {"database": url.split(":", 1)[0], **measure(app, args.reports)}
        finally:
            app.close()
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    known[figures["database"]] = figures
    RESULTS.write_text(json.dumps(known, indent=2) + "\n")


if __name__ == "__main__":
    main()
