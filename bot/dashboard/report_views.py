"""Citizen reports as the dashboard, the public page, the CSV and the chart show them. Pure
functions: no database, no request.

The figures are the cells `dialogues.reports.aggregates.kept_cells` kept under the small-group
rule (a facility's reports of one kind in one month, shown only from MIN_GROUP reports): the
page, the CSV and the chart all take the same kept cells, so none of them can show a group the
others hide, and no total is computed from hidden cells.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from babel.dates import format_date

from bot.dashboard.board import commune_name, strings
from common import charts
from common import formatting as fmt
from common.khmer import arabic_to_khmer_digits
from common.phones import mask_phones
from content.surveys.section import Surveys
from dialogues.reports.aggregates import Cell

CHART_MONTHS = 6  # the chart shows the last months that have figures, at most this many
CSV_COLUMNS = ("commune_code", "commune", "facility_id", "facility", "kind", "month", "reports")


def label(prefix: str, value: str, lang: str) -> str:
    """A dashboard string by prefix and id (`kind_overcharged`), or the id itself."""
    found = strings().get(f"{prefix}_{value}")
    return found[lang] if found else value


def month_name(month: str, lang: str) -> str:
    """"2026-11" as "November 2026" / "វិច្ឆិកា ២០២៦"."""
    year, number = (int(part) for part in month.split("-"))
    text = format_date(date(year, number, 1), format="MMMM y",
                       locale="km" if lang == "km" else "en_GB")
    return arabic_to_khmer_digits(text) if lang == "km" else text


def facility_name(surveys: Surveys, facility_id: str | None, lang: str) -> str:
    if not facility_id:
        return "–"
    facility = surveys.facilities.get(facility_id)
    return facility.name(lang) if facility else facility_id


def shown_text(text: str | None) -> str | None:
    """A reporter's words as any page shows them: phone numbers masked."""
    return mask_phones(text) if text else None


def figure_rows(cells: Iterable[Cell], surveys: Surveys, lang: str) -> list[dict[str, Any]]:
    """The kept cells as table rows, newest month first."""
    ordered = sorted(cells, key=lambda c: (c.month, c.commune_code, c.facility_id or "",
                                           c.kind))
    return [{"commune": commune_name(c.commune_code, lang),
             "facility": facility_name(surveys, c.facility_id, lang),
             "kind": label("kind", c.kind, lang), "month": month_name(c.month, lang),
             "count": fmt.integer(c.count, lang)} for c in reversed(ordered)]


def figures_csv(cells: Iterable[Cell], surveys: Surveys) -> bytes:
    """The kept cells as CSV (UTF-8 with a BOM, so spreadsheet programs read the Khmer)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in sorted(cells, key=lambda c: (c.commune_code, c.facility_id or "", c.kind,
                                          c.month)):
        writer.writerow([c.commune_code, commune_name(c.commune_code, "en"),
                         c.facility_id or "", facility_name(surveys, c.facility_id, "en"),
                         c.kind, c.month, c.count])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def by_month_and_kind(cells: Iterable[Cell], kinds: Sequence[str]) -> list[tuple[str, str, int]]:
    """(month, kind, reports) summed over the kept cells only, the last CHART_MONTHS months
    that have any, oldest first."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for c in cells:
        totals[(c.month, c.kind)] += c.count
    months = sorted({month for month, _ in totals})[-CHART_MONTHS:]
    order = {kind: n for n, kind in enumerate(kinds)}
    return [(month, kind, totals[(month, kind)]) for month in months
            for kind in sorted({k for m, k in totals if m == month},
                               key=lambda k: order.get(k, len(order)))]


def figures_chart(cells: Sequence[Cell], kinds: Sequence[str], commune: str, lang: str,
                  today: date, min_group: int) -> charts.ChartSpec:
    """Counts by kind and month of a commune's kept cells, drawn by the budget chart code."""
    table = strings()
    series = by_month_and_kind(cells, kinds)
    most = max((n for _, _, n in series), default=1)
    bars = tuple(charts.Bar(label=f"{month_name(month, lang)} · {label('kind', kind, lang)}",
                            share=n / most, value=fmt.integer(n, lang))
                 for month, kind, n in series)
    total = sum(n for _, _, n in series)
    return charts.ChartSpec(
        title=table["figures_chart_title"][lang].format(commune=commune_name(commune, lang)),
        subtitle=table["figures_chart_subtitle"][lang].format(
            count=fmt.integer(total, lang), min=fmt.integer(min_group, lang)),
        bars=bars,
        footer=(table["figures_chart_source"][lang].format(day=fmt.day(today, lang)),))
