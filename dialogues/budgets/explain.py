"""The explainers: a commune's budget (totals, change, funds, top spending, per resident), its
details, and a health centre's or school's, each with sources and follow-ups."""

from __future__ import annotations

from common import formatting as fmt
from common.messages import Button
from content.budgets.section import (
    FACILITY_SCOPES,
    Budgets,
    CommuneBudget,
    YearBudget,
)
from content.places import Place
from dialogues.budgets.charting import say_with_chart
from dialogues.budgets.pieces import (
    FUND_NOTE,
    ICONS,
    budgets_of,
    category_name,
    choose_year,
    cite,
    follow_ups,
    honesty,
    join,
    lost,
    money,
    per_person,
    place_arg,
    remember,
    sample_lead,
    top_categories,
    year_arg,
    year_note,
)
from dialogues.core.router import Turn


def show(turn: Turn, place: Place, scope: str, year: int | None,
         facility_id: str | None = None) -> None:
    remember(turn, place, None)
    commune = budgets_of(turn).communes.get(place.code)
    if scope in FACILITY_SCOPES:
        explain_facility(turn, place, commune, scope, year, facility_id)
    else:
        explain_commune(turn, place, commune, year)



# ------------------------------------------------------------------ commune explainer

def explain_commune(turn: Turn, place: Place, commune: CommuneBudget | None,
                    asked: int | None) -> None:
    if commune is None or not commune.years:
        no_data(turn, place)
        return
    lang, budgets = turn.lang, budgets_of(turn)
    year = choose_year(commune.years, asked)
    budget = commune.years[year]
    remember(turn, place, year)
    first = [sample_lead(turn, place.name(lang), budget),
             year_note(turn, asked, year, place.name(lang)),
             turn.t("budget_had", year=fmt.digits(year, lang), place=place.label(lang),
                    total=money(turn, budget.total_revenue))]
    previous = commune.years.get(year - 1)
    if previous:
        first.append(_change(turn, previous, budget))
    first.append(_fund_sentence(turn, budgets, budget))
    second = [turn.t("budget_top", top=top_categories(turn, "commune", budget, 3))]
    if budget.people:
        second.append(turn.t("budget_per_resident",
                             amount=per_person(turn, budget.total_revenue, budget.people.count),
                             people=fmt.number(budget.people.count, lang)))
    paragraphs = [join(first), " ".join(second), honesty(turn, "commune", budget)]
    buttons = follow_ups(turn, place, commune, year, skip="commune")
    say_with_chart(turn, "\n\n".join(paragraphs), buttons, place, "commune", None, budget)


def _fund_sentence(turn: Turn, budgets: Budgets, budget: YearBudget) -> str:
    parts = {}
    for figure in budget.revenue:
        category = budgets.category("commune", "revenue", figure.category)
        if category and category.fund:
            parts[category.fund] = figure.riel
    if not parts or not budget.total_revenue:
        return ""
    share = fmt.percent(sum(parts.values()) / budget.total_revenue, turn.lang)
    if set(parts) == {"development", "administration"}:
        return turn.t("budget_fund_parts", share=share,
                      development=money(turn, parts["development"]),
                      administration=money(turn, parts["administration"]))
    return turn.t("budget_fund_only", share=share)


def _change(turn: Turn, before: YearBudget, after: YearBudget) -> str:
    lang = turn.lang
    values = {"year": fmt.digits(before.year, lang), "total": money(turn, before.total_revenue)}
    if not before.total_revenue:
        return ""
    ratio = after.total_revenue / before.total_revenue - 1
    if round(abs(ratio) * 100) == 0:
        return turn.t("budget_same", **values)
    key = "budget_up" if ratio > 0 else "budget_down"
    return turn.t(key, change=fmt.percent(abs(ratio), lang), **values)


def no_data(turn: Turn, place: Place) -> None:
    budgets, lang = budgets_of(turn), turn.lang
    lines = [turn.t("budget_no_data", place=place.label(lang))]
    fact = budgets.facts.get(FUND_NOTE)
    if fact:
        lines += [fact.text(lang), cite(turn, fact.source, fact.checked)]
    average = _average_sentence(turn, None)
    paragraphs = ["\n".join(lines), *([average] if average else [])]
    buttons = [turn.button("budget_btn_glossary", "bud:g"), turn.button("budget_btn_say",
                                                                         "bud:say"),
               turn.button("change_commune", "commune:change"), turn.button("menu_button",
                                                                            "menu")]
    turn.say("\n\n".join(paragraphs), buttons)


def _average_sentence(turn: Turn, year: int | None) -> str:
    """The planned national average development budget per commune (latest, or `year`)."""
    average = budgets_of(turn).development_average
    if average is None or not average.usd:
        return ""
    if year is None:
        year = max(average.usd)
    if year not in average.usd:
        return ""
    lang = turn.lang
    sentence = turn.t("budget_average", year=fmt.digits(year, lang),
                      usd=fmt.number(average.usd[year], lang), note=average.note(lang))
    return f"{sentence}\n{cite(turn, average.source, average.checked)}"


# ------------------------------------------------------------------ details

def details(turn: Turn, args: list[str]) -> None:
    place, year = place_arg(args, 0), year_arg(args, 1)
    commune = budgets_of(turn).communes.get(place.code) if place else None
    if place is None or commune is None or not commune.years:
        lost(turn)
        return
    lang = turn.lang
    year = choose_year(commune.years, year)
    budget = commune.years[year]
    remember(turn, place, year)
    lead = sample_lead(turn, place.name(lang), budget)
    money_in = [*([lead.strip()] if lead else []),
                turn.t("budget_details_title", place=place.label(lang),
                       year=fmt.digits(year, lang))]
    if budget.people:
        money_in.append(turn.t("budget_people_commune",
                               people=fmt.number(budget.people.count, lang)))
    money_in += _lines(turn, "commune", "revenue", budget)
    money_out = _lines(turn, "commune", "spending", budget)
    last = [p for p in (_average_sentence(turn, year), honesty(turn, "commune", budget)) if p]
    buttons = follow_ups(turn, place, commune, year, skip="details")
    turn.say("\n\n".join(["\n".join(money_in), "\n".join(money_out), "\n\n".join(last)]),
             buttons)


def _lines(turn: Turn, scope: str, kind: str, budget: YearBudget) -> list[str]:
    figures = budget.revenue if kind == "revenue" else budget.spending
    total = sum(f.riel for f in figures) or 1
    key = "budget_details_in" if kind == "revenue" else "budget_details_out"
    lines = [turn.t(key, total=money(turn, total))]
    for figure in sorted(figures, key=lambda f: -f.riel):
        lines.append(turn.t("budget_details_line", name=category_name(turn, scope, kind,
                                                                        figure.category),
                            amount=money(turn, figure.riel),
                            share=fmt.percent(figure.riel / total, turn.lang)))
    return lines


# ------------------------------------------------------------------ health centres and schools

def explain_facility(turn: Turn, place: Place, commune: CommuneBudget | None, scope: str,
                     asked: int | None, facility_id: str | None) -> None:
    lang = turn.lang
    facilities = commune.facilities_of(scope) if commune else ()
    if not facilities:
        no_facility(turn, place, scope)
        return
    chosen = [f for f in facilities if f.id == facility_id] if facility_id else []
    if not chosen and len(facilities) > 1:
        year_arg = asked or "latest"
        turn.say(turn.t("budget_which_facility"),
                 [Button(f.name(lang), f"bud:f:{scope}:{place.code}:{year_arg}:{f.id}")
                  for f in facilities])
        return
    facility = chosen[0] if chosen else facilities[0]
    year = choose_year(facility.years, asked)
    budget = facility.years[year]
    remember(turn, place, year)
    first = [sample_lead(turn, facility.name(lang), budget),
             year_note(turn, asked, year, facility.name(lang))]
    first.append(turn.t("budget_facility_had", icon=ICONS[scope], year=fmt.digits(year, lang),
                        facility=facility.name(lang), total=money(turn, budget.total_revenue),
                        sources=top_categories(turn, scope, budget, 2, kind="revenue")))
    first.append(turn.t("budget_facility_top", top=top_categories(turn, scope, budget, 2)))
    second: list[str] = []
    if budget.people:
        key = "budget_per_pupil" if scope == "school" else "budget_per_served"
        second.append(turn.t(key, amount=per_person(turn, budget.total_revenue,
                                                     budget.people.count),
                             people=fmt.number(budget.people.count, lang)))
    second += national_facts(turn, scope)
    paragraphs = [join(first), "\n".join(second), honesty(turn, scope, budget)]
    buttons = follow_ups(turn, place, commune, year, skip=scope)
    say_with_chart(turn, "\n\n".join(p for p in paragraphs if p), buttons, place, scope,
                    facility, budget)


def national_facts(turn: Turn, scope: str) -> list[str]:
    """What is true for every health centre (HEF) or school (free basic education, SOF)."""
    ids = ("hef", "hef_vulnerable", "hef_rates") if scope == "health_centre" else \
        ("free_education", "school_fund")
    facts = [f for f in (budgets_of(turn).facts.get(i) for i in ids) if f]
    return [f"{fact.text(turn.lang)} {cite(turn, fact.source, fact.checked)}"
            for fact in facts]


def no_facility(turn: Turn, place: Place, scope: str) -> None:
    lines = [turn.t("budget_no_facility", kind=turn.t(f"budget_kind_{scope}"),
                    place=place.name(turn.lang)), *national_facts(turn, scope)]
    buttons = [turn.button("budget_btn_commune", f"bud:c:{place.code}:latest"),
               turn.button("budget_btn_say", "bud:say"), turn.button("menu_button", "menu")]
    turn.say("\n".join(lines), buttons)
