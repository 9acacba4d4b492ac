"""The budget chart: a photo with a caption carrying the buttons, drawn in the user's language
and cached per place, facility, year and language; never lose the answer because of it."""

from __future__ import annotations

import logging
from pathlib import Path

from common import formatting as fmt
from common.charts import Bar, ChartSpec, chart_file
from common.messages import Button
from content.budgets.section import (
    Facility,
    YearBudget,
)
from content.places import Place
from dialogues.budgets.pieces import category_name, cite, money
from dialogues.core.router import Turn

log = logging.getLogger(__name__)


def say_with_chart(turn: Turn, text: str, buttons: list[Button], place: Place, scope: str,
                    facility: Facility | None, budget: YearBudget) -> None:
    """The explainer, then the chart (a photo with a caption) carrying the buttons. If the chart
    cannot be drawn the explainer still goes out, with the buttons."""
    try:
        image = chart(turn, place, scope, facility, budget)
    except Exception:  # a chart is a bonus: never lose the answer because of it
        log.exception("budget chart for %s %s %s failed", scope, place.code, budget.year)
        turn.say(text, buttons)
        return
    turn.say(text)
    name = facility.name(turn.lang) if facility else place.name(turn.lang)
    key = "budget_chart_caption_sample" if budget.sample else "budget_chart_caption"
    turn.say(turn.t(key, place=name, year=fmt.digits(budget.year, turn.lang)), buttons,
             image=image)


def chart_spec(turn: Turn, place: Place, scope: str, facility: Facility | None,
               budget: YearBudget) -> ChartSpec:
    """The chart's strings in the user's language (figures with Khmer digits in Khmer)."""
    lang = turn.lang
    name = facility.name(lang) if facility else place.name(lang)
    where = place.label(lang) if facility else district(place, lang)
    bars = tuple(
        Bar(category_name(turn, scope, "spending", figure.category), share,
            f"{fmt.percent(share, lang)} · {money(turn, figure.riel)}")
        for figure, share in budget.spending_by_share())
    seen = dict.fromkeys((p.source, p.checked) for p in budget.provenances())
    return ChartSpec(
        title=turn.t("budget_chart_title", place=name, year=fmt.digits(budget.year, lang)),
        subtitle=turn.t("budget_chart_subtitle", where=where,
                        total=money(turn, budget.total_spending)),
        bars=bars,
        banner=turn.t("budget_chart_sample") if budget.sample else None,
        footer=tuple(cite(turn, source, checked) for source, checked in seen),
    )


def chart(turn: Turn, place: Place, scope: str, facility: Facility | None,
          budget: YearBudget) -> Path:
    """The cached PNG, per place, facility, year and language."""
    spec = chart_spec(turn, place, scope, facility, budget)
    key = f"budget-{scope}-{place.code}-{facility.id if facility else 'all'}-" \
          f"{budget.year}-{turn.lang}"
    return chart_file(spec, turn.ctx.data_dir / "charts", key)


def district(place: Place, lang: str) -> str:
    return f"{place.district_km}, {place.province_km}" if lang == "km" else \
        f"{place.district_en}, {place.province_en}"
