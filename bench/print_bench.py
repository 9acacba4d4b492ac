"""Printed things: how long a poster, a round's workbook and a JAAP's PDF take to make, and how
big they are, on a scratch SQLite database (a round of 200 responses, 12 agreed actions).

    .venv/bin/python -m bench.print_bench
    .venv/bin/python -m bench.print_bench --docs-images   # also redraw docs/images/print-*.png

Writes bench/results/print.json; quoted in docs/benchmarks.md (section "Printing").
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

from bot.db import Database
from bot.features import FEATURES
from content.loader import load_content
from content.model import Content
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.jaap import plan as jaap_plan
from dialogues.scorecard.jaap_print import Plan, draw_plan, plan_of, write_plan_pdf
from dialogues.scorecard.poster import ChatLinks, Poster, draw_poster, poster_for, write_poster
from dialogues.scorecard.rounds import close_round, open_round
from dialogues.scorecard.workbook import round_workbook, write_workbook

HERE = Path(__file__).resolve().parent
REPEAT = 5
FACILITY = "hc_120809"
BY = operator("bench")


def _timed(work: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def _round(db: Database, content: Content, *, close: bool) -> int:
    pick = random.Random(3)
    with db.session() as session:
        round_id = int(open_round(session, content, FACILITY, by=BY, label="2026 first half").id)
    with db.session() as session:
        for person in range(200):
            response = store.start_response(session, round_id, f"r{person}")
            for indicator in ("enough_staff", "clean_water", "friendly_staff"):
                store.save_rating(session, response, indicator, pick.randint(1, 5))
            store.save_profile_answer(session, response, "gender",
                                      pick.choice(["female", "male"]))
            store.set_progress(session, response, position=99, status="complete")
    if close:
        with db.session() as session:
            close_round(session, content, round_id, by=BY)
            for number in range(12):
                jaap_plan.add_action(session, content, round_id,
                                     what=f"ជួសជុលដំបូលបន្ទប់រង់ចាំ Repair the roof {number}",
                                     responsible="commune_council", due=date(2030, 1, 1 + number),
                                     by=BY, today=date(2026, 12, 1), indicator="clean_water")
    return round_id


def docs_images(content: Content, poster: Poster, plan: Plan) -> None:
    """The poster and the JAAP's first page as the docs show them (16 colours: small files)."""
    images = HERE.parent / "docs" / "images"
    pictures = {"print-poster.png": draw_poster(content, poster, ("km", "en")),
                "print-jaap.png": draw_plan(content, plan, ("km", "en"), date(2026, 12, 3))[0]}
    for name, picture in pictures.items():
        picture.quantize(16).save(images / name, optimize=True)


def main() -> None:
    content = load_content(sections=FEATURES.sections)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        db = Database(f"sqlite:///{folder / 'bench.db'}")
        db.migrate()
        closed = _round(db, content, close=True)
        _round(db, content, close=False)
        with db.read_session() as session:
            poster = poster_for(session, content, FACILITY, ChatLinks("isaf_bot", "isafbot"),
                                forget_after_days=365, today=date(2026, 12, 3))
            workbook_seconds = _timed(lambda: write_workbook(
                round_workbook(session, content, closed), folder / "round.xlsx"))
            plan = plan_of(session, content, closed)
        if "--docs-images" in sys.argv:
            docs_images(content, poster, plan)
        poster_seconds = _timed(lambda: write_poster(content, poster, folder, "both"))
        plan_seconds = _timed(lambda: write_plan_pdf(content, plan, folder / "jaap.pdf"))
        sizes = {name: (folder / name).stat().st_size for name in (
            f"poster-{FACILITY}-both.png", f"poster-{FACILITY}-both.pdf", "round.xlsx",
            "jaap.pdf")}
        db.dispose()
    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "cores": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 1),
              "median_seconds": {"poster_png_and_pdf": poster_seconds,
                                 "workbook_200_responses": workbook_seconds,
                                 "jaap_pdf_12_actions": plan_seconds},
              "bytes": sizes}
    (HERE / "results" / "print.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
