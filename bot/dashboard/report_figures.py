"""The reports' figures: per commune and facility, counts by kind and month, kept under the
small-group rule by `kept_cells` (the one place the dashboard page, the public page, the CSV,
the chart and the meeting attachment read them from), and their chart PNG.

The counting and the rule are `dialogues.reports.store.aggregate` and `shown_counts`; a cell
under MIN_GROUP reports is dropped here before anything is drawn, written or summed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response

from bot.dashboard.board import Board
from bot.dashboard.report_views import Cell, figure_rows, figures_chart, label
from common import charts
from common.db.base import utcnow
from dialogues.reports.models import KINDS
from dialogues.reports.store import MIN_GROUP, aggregate, shown_counts

GROUPS = ("commune_code", "facility_id", "kind", "created_month")
CHART_DIR = "report-charts"


@dataclass(frozen=True)
class Figures:
    """The kept cells of some communes, and how many groups the rule hid."""

    cells: list[Cell]
    hidden: int

    def of(self, commune: str) -> list[Cell]:
        return [c for c in self.cells if c.commune_code == commune]

    @property
    def communes(self) -> list[str]:
        return sorted({c.commune_code for c in self.cells})


def kept_cells(session: Session, communes: Sequence[str] | None) -> Figures:
    """Reports per commune, facility, kind and month of `communes` (None: all), each group
    under MIN_GROUP left out (counted in `hidden` only)."""
    shown = shown_counts(aggregate(session, communes, by=GROUPS))
    cells = [Cell(str(row.keys["commune_code"]), row.keys["facility_id"],
                  str(row.keys["kind"]), str(row.keys["created_month"]), int(row.count))
             for row in shown if row.count is not None and row.count >= MIN_GROUP]
    return Figures(cells, len(shown) - len(cells))


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
