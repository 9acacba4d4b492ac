"""The reports' figures as the dashboard and the public page show them: the table's values
and the chart PNG of the cells `dialogues.reports.aggregates.kept_cells` kept under the
small-group rule (the one place the page, the public page, the CSV, the chart and the meeting
attachment read them from)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, Response

from bot.dashboard.board import Board
from bot.dashboard.report_views import figure_rows, figures_chart, label
from common import charts
from common.db.base import utcnow
from dialogues.reports.aggregates import Cell, Figures
from dialogues.reports.models import KINDS
from dialogues.reports.store import MIN_GROUP

CHART_DIR = "report-charts"


def figures_view(board: Board, figures: Figures, lang: str, *, csv_url: str,
                 chart_url: str) -> dict[str, Any]:
    """What `_report_figures.html` shows; `chart_url` has a `{commune}` placeholder."""
    return {"rows": figure_rows(figures.cells, board.surveys, lang),
            "hidden": figures.hidden, "many_communes": len(figures.communes) > 1,
            "csv_url": csv_url,
            "charts": [{"url": chart_url.format(commune=code) + f"?lang={lang}",
                        "alt": _chart_alt(figures.of(code), lang)}
                       for code in figures.communes]}


def _chart_alt(cells: list[Cell], lang: str) -> str:
    """The chart's figures as text, for those who cannot see it."""
    return ", ".join(f"{c.month} {label('kind', c.kind, lang)} {c.count}" for c in cells)


async def chart_png(board: Board, cells: list[Cell], commune: str, lang: str, *,
                    cache: str) -> Response:
    """The chart of a commune's kept cells (404 when the rule left none)."""
    if not cells:
        return Response(status_code=404)
    path = await asyncio.to_thread(chart_file, board, cells, commune, lang,
                                   f"reports-{commune}-{lang}")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": cache})


def chart_file(board: Board, cells: list[Cell], commune: str, lang: str, key: str) -> Path:
    """Draw (or find cached) the chart of a commune's kept cells in one language."""
    spec = figures_chart(cells, KINDS, commune, lang, today(), MIN_GROUP)
    return charts.chart_file(spec, board.app.settings.data_dir / CHART_DIR, key)


def today() -> date:
    return utcnow().date()
