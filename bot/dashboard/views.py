"""A round's results as the templates and charts show them, shared by the dashboard's round
pages and the public results pages. Pure functions: no database, no request.

The small-group rule lives here for display: an indicator (or a breakdown cell, or a trend
cell) with fewer than MIN_GROUP ratings shows its count only, never its figures.
"""

from __future__ import annotations

from typing import Any

from bot.dashboard.board import commune_name, strings
from common import charts
from common import formatting as fmt
from content.surveys.section import Surveys
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.results import MIN_GROUP, NO_ANSWER, RoundResults


def number(value: float | None, lang: str) -> str:
    return "–" if value is None else fmt.number(round(value, 2), lang)


def round_name(row: ScoringRound, lang: str) -> str:
    return row.label or f"{strings()['round'][lang]} {fmt.integer(row.id, lang)}"


def round_row(row: ScoringRound, surveys: Surveys, lang: str,
              published: bool) -> dict[str, Any]:
    """One line of a list of rounds: name, facility, commune, dates."""
    facility = surveys.facilities.get(row.facility_id)
    return {"id": row.id, "name": round_name(row, lang),
            "facility": facility.name(lang) if facility else row.facility_id,
            "commune": commune_name(facility.commune if facility else None, lang),
            "opened": fmt.day(row.opened_at, lang),
            "closed": fmt.day(row.closed_at, lang) if row.closed_at else None,
            "published": published}


def _indicator_title(results: RoundResults, indicator: str, lang: str) -> str:
    found = results.survey.indicator(indicator) if results.survey else None
    return found.text(lang) if found else indicator


def results_view(results: RoundResults, surveys: Surveys, lang: str) -> dict[str, Any]:
    """The round's results as the templates show them: an indicator with fewer than MIN_GROUP
    ratings shows its count only; breakdown cells hidden by the small-group rule say so."""
    rows = []
    for stats in results.indicators:
        shown = stats.count >= MIN_GROUP
        rows.append({"indicator": stats.indicator,
                     "title": _indicator_title(results, stats.indicator, lang),
                     "count": fmt.integer(stats.count, lang), "shown": shown,
                     "mean": number(stats.mean, lang), "median": number(stats.median, lang),
                     "alt": ", ".join(f"{surveys.level(v).label(lang)} {fmt.integer(n, lang)}"
                                      for v, n in enumerate(stats.distribution, start=1))})
    return {"rows": rows, "breakdowns": _breakdowns(results, surveys, rows, lang),
            "responses": fmt.integer(results.responses, lang),
            "complete": fmt.integer(results.complete, lang)}


def _breakdowns(results: RoundResults, surveys: Surveys, rows: list[dict[str, Any]],
                lang: str) -> list[dict[str, Any]]:
    """The means per answer of each profile question (a cell is None when hidden)."""
    breakdowns = []
    questions = {q.id: q for q in surveys.profile}
    for item in results.breakdowns:
        question = questions.get(item.question)
        groups = []
        for group in item.groups:
            option = question.option(group.option) if question else None
            label = (strings()["no_answer"][lang] if group.option == NO_ANSWER
                     else option.label(lang) if option else group.option)
            cells = [None if (s := group.indicators.get(str(r["indicator"]))) is None
                     else number(s.mean, lang) for r in rows]
            groups.append({"label": label, "cells": cells,
                           "size": None if group.respondents is None
                           else fmt.integer(group.respondents, lang)})
        breakdowns.append({"title": question.text(lang) if question else item.question,
                           "groups": groups})
    return breakdowns


def trend_view(trend: list[tuple[str, RoundResults]], current: RoundResults,
               lang: str) -> dict[str, Any]:
    """Mean per indicator in each round of the facility (indicators of the current round;
    a mean from fewer than MIN_GROUP ratings is not shown)."""
    rows = []
    for stats in current.indicators:
        values = []
        for _, results in trend:
            found = next((s for s in results.indicators if s.indicator == stats.indicator),
                         None)
            values.append(None if found is None or found.count < MIN_GROUP
                          else number(found.mean, lang))
        rows.append({"title": _indicator_title(current, stats.indicator, lang),
                     "cells": values})
    return {"rounds": [name for name, _ in trend], "rows": rows}


def chart_spec(results: RoundResults, surveys: Surveys, indicator: str,
               lang: str) -> charts.ChartSpec:
    """One indicator's distribution over the five levels, drawn by the budget chart code."""
    stats = next(s for s in results.indicators if s.indicator == indicator)
    table = strings()
    subtitle = table["ratings_line"][lang].format(
        count=fmt.integer(stats.count, lang), mean=number(stats.mean, lang),
        median=number(stats.median, lang))
    bars = tuple(
        charts.Bar(label=surveys.level(value).label(lang), share=n / stats.count,
                   value=f"{fmt.integer(n, lang)} · {fmt.percent(n / stats.count, lang)}")
        for value, n in enumerate(stats.distribution, start=1))
    facility = results.facility.name(lang) if results.facility else results.round.facility_id
    return charts.ChartSpec(title=_indicator_title(results, indicator, lang), subtitle=subtitle,
                            bars=bars, footer=(facility,))
