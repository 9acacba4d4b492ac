"""Budget figures: how long a chart takes to draw (first, again, cached), how big the PNG is, and
how long `import-budget` and the content check take for a large spreadsheet.

    .venv/bin/python -m bench.budget_bench
    .venv/bin/python -m bench.budget_bench --docs-images   # also redraw docs/images/*.png

Results are quoted in docs/benchmarks.md (section "Budgets").
"""

from __future__ import annotations

import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bot.features import FEATURES
from common import charts
from common.messages import Incoming
from content.budgets import budget_import
from content.budgets.section import Budgets
from content.loader import CONTENT_DIR, check_content, load_content
from content.places import gazetteer
from dialogues.budgets import handlers as budget
from dialogues.core.context import DialogueContext
from dialogues.core.models import User
from dialogues.core.router import Turn

REPEAT = 20


def _turn(content: object, lang: str, data_dir: Path) -> Turn:
    user = User(channel="bench", channel_user_id="bench", language=lang)
    return Turn(incoming=Incoming("bench", "bench"), understanding=None, user=user, state={},
                session=None,  # type: ignore[arg-type]
                ctx=DialogueContext(content=content, data_dir=data_dir),  # type: ignore[arg-type]
                now=datetime.now(timezone.utc), dialogues=None)  # type: ignore[arg-type]


def bench_charts(work: Path) -> None:
    content = load_content(sections=FEATURES.sections)
    place = gazetteer().get("120809")
    assert place is not None
    year = content.sections[Budgets].communes["120809"].years[2023]
    for lang in ("km", "en"):
        turn = _turn(content, lang, work)
        spec = budget.chart_spec(turn, place, "commune", None, year)
        started = time.perf_counter()
        image = charts.render(charts.layout(spec))
        first = time.perf_counter() - started
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            charts.render(charts.layout(spec))
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        path = charts.chart_file(spec, work / "charts", f"bench-{lang}")
        drawn_and_saved = time.perf_counter() - started
        cached = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            charts.chart_file(spec, work / "charts", f"bench-{lang}")
            cached.append(time.perf_counter() - started)
        print(f"chart {lang}: {image.width}x{image.height}, first draw (fonts loading) "
              f"{first * 1000:.0f} ms, draw {statistics.median(times) * 1000:.0f} ms (median of "
              f"{REPEAT}), draw + save PNG {drawn_and_saved * 1000:.0f} ms, cached "
              f"{statistics.median(cached) * 1e6:.0f} µs, PNG {path.stat().st_size / 1024:.0f} KB")


def bench_import(work: Path) -> None:
    root = work / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    codes = [c for c in sorted(gazetteer().places) if not c.startswith(("12", "20", "0103"))]
    rows = ["scope,commune,year,kind,category,amount,source,checked,sample"]
    spending = ("roads", "water", "education_health", "social", "administration", "other")
    for code in codes[:500]:
        for year in (2024, 2025):
            rows.append(f"commune,{code},{year},people,,9000,isafbot_sample_2026,2026-11-29,yes")
            for category, amount in (("cs_fund_dev", 450_000_000), ("cs_fund_admin", 110_000_000),
                                     ("own_revenue", 8_000_000)):
                rows.append(f"commune,{code},{year},revenue,{category},{amount},"
                            "isafbot_sample_2026,2026-11-29,yes")
            for category in spending:
                rows.append(f"commune,{code},{year},spending,{category},94666666,"
                            "isafbot_sample_2026,2026-11-29,yes")
    csv_path = work / "big.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    started = time.perf_counter()
    result = budget_import.import_budget(csv_path, root, name="big")
    elapsed = time.perf_counter() - started
    assert result.problems == [] and result.written, result.problems[:3]
    size = result.target.stat().st_size if result.target else 0
    print(f"import: {len(rows) - 1} rows ({len(codes[:500])} communes x 2 years) in "
          f"{elapsed:.1f} s (includes two content checks), wrote {size / 1024:.0f} KB")
    broken = csv_path.read_text(encoding="utf-8").replace(",94666666,", ",9466x666,", 50)
    csv_path.write_text(broken, encoding="utf-8")
    started = time.perf_counter()
    result = budget_import.import_budget(csv_path, root, name="big")
    print(f"import of the same file with 50 bad amounts: rejected with "
          f"{len(result.problems)} problems in {time.perf_counter() - started:.1f} s")
    for label, path in (("bundled content", CONTENT_DIR), ("with the big import", root)):
        started = time.perf_counter()
        content, problems = check_content(path, sections=FEATURES.sections)
        assert content is not None, problems[:3]
        print(f"content check, {label}: {time.perf_counter() - started:.2f} s, "
              f"{len(content.sections[Budgets].communes)} communes with figures")


def docs_images() -> None:
    """The README's charts: Kouk Khleang 2023, as the bot sends them."""
    content = load_content(sections=FEATURES.sections)
    place = gazetteer().get("120809")
    assert place is not None
    year = content.sections[Budgets].communes["120809"].years[2023]
    images = Path(__file__).resolve().parent.parent / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for lang in ("km", "en"):
        spec = budget.chart_spec(_turn(content, lang, images), place, "commune", None, year)
        charts.render(charts.layout(spec)).save(images / f"budget-chart-{lang}.png")
        print(f"wrote {images / f'budget-chart-{lang}.png'}")


def main() -> None:
    if "--docs-images" in sys.argv:
        docs_images()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        bench_charts(work)
        bench_import(work)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this run: {peak:.0f} MB")


if __name__ == "__main__":
    main()
