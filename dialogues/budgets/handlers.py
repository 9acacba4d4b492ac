"""I4C budget explainers for young citizens: how much a commune, health centre or primary school
had, where it went (in words and a chart), per person, change from last year, a glossary, a
short quiz, and how to have a say.

Answers are at most three short paragraphs; every figure comes with its source and checked date,
and sample figures are called sample figures. Which place: the one named in the question (namesakes
resolved with buttons), else the one just discussed, else the user's commune (asked once and
remembered by dialogues/core/places.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from common import formatting as fmt
from common.charts import Bar, ChartSpec, chart_file
from common.khmer import is_khmer_char
from common.messages import Button
from content.budgets.section import (
    FACILITY_SCOPES,
    Budgets,
    CommuneBudget,
    Facility,
    YearBudget,
)
from content.places import Place, gazetteer
from dialogues.core.places import need_commune, user_commune
from dialogues.core.provenance import freshness, source_line
from dialogues.core.router import Router, Turn

log = logging.getLogger(__name__)

router = Router("budget")
router.menu_item("menu_budget", "bud", order=20)
router.uses(
    "budget_millions", "budget_had", "budget_up", "budget_down", "budget_same",
    "budget_fund_parts", "budget_fund_only", "budget_top", "budget_per_resident",
    "budget_sample_lead", "budget_sample_how_commune", "budget_sample_how_health_centre",
    "budget_sample_how_school", "budget_year_missing", "budget_no_data",
    "budget_average", "budget_which_place", "budget_details_title", "budget_details_in",
    "budget_details_out", "budget_details_line", "budget_people_commune", "budget_people_school",
    "budget_people_health_centre", "budget_facility_had", "budget_facility_top",
    "budget_per_pupil", "budget_per_served", "budget_no_facility", "budget_kind_health_centre",
    "budget_kind_school", "budget_which_facility", "budget_chart_caption",
    "budget_chart_caption_sample", "budget_chart_title", "budget_chart_subtitle",
    "budget_chart_sample", "budget_btn_details", "budget_btn_year", "budget_btn_school",
    "budget_btn_health", "budget_btn_commune", "budget_btn_say", "budget_btn_meeting",
    "budget_btn_quiz", "budget_btn_glossary", "budget_glossary_intro", "budget_glossary_entry",
    "budget_say_intro", "budget_meeting_soon", "budget_quiz_q1", "budget_quiz_right",
    "budget_quiz_wrong", "budget_quiz_q2", "budget_quiz_up", "budget_quiz_down",
    "budget_quiz_correct", "budget_quiz_incorrect", "budget_went_up", "budget_went_down",
    "budget_quiz_done", "source_line", "source_line_stale", "published_earliest", "menu_button",
    "change_commune",
)

PLACE = "budget_place"  # the commune of the last budget answer (code) ...
PLACE_AT = "budget_place_at"  # ... and when, so that "and last year?" refers to it
PLACE_YEAR = "budget_year"  # ... and the year it showed ("and the year before?")
PENDING = "budget_pending"  # scope and year asked while the user picks among namesakes
MEETING_PAYLOAD = "meet:next"  # the meetings feature's button (stable: other features use it)
ICONS = {"health_centre": "🏥", "school": "🏫"}
FUND_NOTE = "cs_fund"  # the national fact told when a commune has no figures

_LAST_YEAR = re.compile(r"\b(last|previous|past) year\b|\byear before\b|ឆ្នាំមុន|ឆ្នាំទៅ"
                        r"|ឆ្នាំកន្លងទៅ", re.I)
_THIS_YEAR = re.compile(r"\b(this|current) year\b|ឆ្នាំនេះ", re.I)
_NEXT_YEAR = re.compile(r"\bnext year\b|ឆ្នាំក្រោយ", re.I)


# ------------------------------------------------------------------ entry points

@router.intent("ask_budget")
def ask_budget(turn: Turn) -> None:
    """A budget question, with or without a place, scope (commune/school/health centre), year."""
    scope = turn.entity("budget_scope") or "commune"
    if scope not in ("commune", *FACILITY_SCOPES):
        scope = "commune"
    named = _places_named(turn)
    year = _year_asked(turn, follow_up=not named or _recent_place(turn) in named)
    if len(named) > 1:
        known = [p for p in (_recent_place(turn), user_commune(turn)) if p in named]
        if known:
            named = known[:1]
        else:
            _ask_which_place(turn, named, scope, year)
            return
    place = named[0] if named else _recent_place(turn)
    if place is None:
        place = need_commune(turn, then=f"bud:my:{scope}:{year or 'latest'}")
        if place is None:
            return  # asked which commune; `then` brings us back
    show(turn, place, scope, year)


@router.payload("bud")
def budget_button(turn: Turn) -> None:
    """Every budget button: `bud` (menu: my commune) or `bud:<action>:...`."""
    parts = (turn.incoming.payload or "bud").split(":")
    action, args = (parts[1] if len(parts) > 1 else ""), parts[2:]
    handler = _ACTIONS.get(action)
    if handler is None:
        place = need_commune(turn, then="bud:my:commune:latest")
        if place:
            show(turn, place, "commune", None)
        return
    handler(turn, args)


def show(turn: Turn, place: Place, scope: str, year: int | None,
         facility_id: str | None = None) -> None:
    _remember(turn, place, None)
    commune = _budgets(turn).communes.get(place.code)
    if scope in FACILITY_SCOPES:
        explain_facility(turn, place, commune, scope, year, facility_id)
    else:
        explain_commune(turn, place, commune, year)


# ------------------------------------------------------------------ commune explainer

def explain_commune(turn: Turn, place: Place, commune: CommuneBudget | None,
                    asked: int | None) -> None:
    if commune is None or not commune.years:
        _no_data(turn, place)
        return
    lang, budgets = turn.lang, _budgets(turn)
    year = _choose_year(commune.years, asked)
    budget = commune.years[year]
    _remember(turn, place, year)
    first = [_sample_lead(turn, place.name(lang), budget),
             _year_note(turn, asked, year, place.name(lang)),
             turn.t("budget_had", year=fmt.digits(year, lang), place=place.label(lang),
                    total=money(turn, budget.total_revenue))]
    previous = commune.years.get(year - 1)
    if previous:
        first.append(_change(turn, previous, budget))
    first.append(_fund_sentence(turn, budgets, budget))
    second = [turn.t("budget_top", top=_top(turn, "commune", budget, 3))]
    if budget.people:
        second.append(turn.t("budget_per_resident",
                             amount=_per_person(turn, budget.total_revenue, budget.people.count),
                             people=fmt.number(budget.people.count, lang)))
    paragraphs = [_join(first), " ".join(second), _honesty(turn, "commune", budget)]
    buttons = _follow_ups(turn, place, commune, year, skip="commune")
    _say_with_chart(turn, "\n\n".join(paragraphs), buttons, place, "commune", None, budget)


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


def _no_data(turn: Turn, place: Place) -> None:
    budgets, lang = _budgets(turn), turn.lang
    lines = [turn.t("budget_no_data", place=place.label(lang))]
    fact = budgets.facts.get(FUND_NOTE)
    if fact:
        lines += [fact.text(lang), _source_line(turn, fact.source, fact.checked)]
    average = _average_sentence(turn, None)
    paragraphs = ["\n".join(lines), *([average] if average else [])]
    buttons = [turn.button("budget_btn_glossary", "bud:g"), turn.button("budget_btn_say",
                                                                         "bud:say"),
               turn.button("change_commune", "commune:change"), turn.button("menu_button",
                                                                            "menu")]
    turn.say("\n\n".join(paragraphs), buttons)


def _average_sentence(turn: Turn, year: int | None) -> str:
    """The planned national average development budget per commune (latest, or `year`)."""
    average = _budgets(turn).development_average
    if average is None or not average.usd:
        return ""
    if year is None:
        year = max(average.usd)
    if year not in average.usd:
        return ""
    lang = turn.lang
    sentence = turn.t("budget_average", year=fmt.digits(year, lang),
                      usd=fmt.number(average.usd[year], lang), note=average.note(lang))
    return f"{sentence}\n{_source_line(turn, average.source, average.checked)}"


# ------------------------------------------------------------------ details

def _details(turn: Turn, args: list[str]) -> None:
    place, year = _place_arg(args, 0), _year_arg(args, 1)
    commune = _budgets(turn).communes.get(place.code) if place else None
    if place is None or commune is None or not commune.years:
        _lost(turn)
        return
    lang = turn.lang
    year = _choose_year(commune.years, year)
    budget = commune.years[year]
    _remember(turn, place, year)
    lead = _sample_lead(turn, place.name(lang), budget)
    money_in = [*([lead.strip()] if lead else []),
                turn.t("budget_details_title", place=place.label(lang),
                       year=fmt.digits(year, lang))]
    if budget.people:
        money_in.append(turn.t("budget_people_commune",
                               people=fmt.number(budget.people.count, lang)))
    money_in += _lines(turn, "commune", "revenue", budget)
    money_out = _lines(turn, "commune", "spending", budget)
    last = [p for p in (_average_sentence(turn, year), _honesty(turn, "commune", budget)) if p]
    buttons = _follow_ups(turn, place, commune, year, skip="details")
    turn.say("\n\n".join(["\n".join(money_in), "\n".join(money_out), "\n\n".join(last)]),
             buttons)


def _lines(turn: Turn, scope: str, kind: str, budget: YearBudget) -> list[str]:
    figures = budget.revenue if kind == "revenue" else budget.spending
    total = sum(f.riel for f in figures) or 1
    key = "budget_details_in" if kind == "revenue" else "budget_details_out"
    lines = [turn.t(key, total=money(turn, total))]
    for figure in sorted(figures, key=lambda f: -f.riel):
        lines.append(turn.t("budget_details_line", name=_category_name(turn, scope, kind,
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
        _no_facility(turn, place, scope)
        return
    chosen = [f for f in facilities if f.id == facility_id] if facility_id else []
    if not chosen and len(facilities) > 1:
        year_arg = asked or "latest"
        turn.say(turn.t("budget_which_facility"),
                 [Button(f.name(lang), f"bud:f:{scope}:{place.code}:{year_arg}:{f.id}")
                  for f in facilities])
        return
    facility = chosen[0] if chosen else facilities[0]
    year = _choose_year(facility.years, asked)
    budget = facility.years[year]
    _remember(turn, place, year)
    first = [_sample_lead(turn, facility.name(lang), budget),
             _year_note(turn, asked, year, facility.name(lang))]
    first.append(turn.t("budget_facility_had", icon=ICONS[scope], year=fmt.digits(year, lang),
                        facility=facility.name(lang), total=money(turn, budget.total_revenue),
                        sources=_top(turn, scope, budget, 2, kind="revenue")))
    first.append(turn.t("budget_facility_top", top=_top(turn, scope, budget, 2)))
    second: list[str] = []
    if budget.people:
        key = "budget_per_pupil" if scope == "school" else "budget_per_served"
        second.append(turn.t(key, amount=_per_person(turn, budget.total_revenue,
                                                     budget.people.count),
                             people=fmt.number(budget.people.count, lang)))
    second += _national_facts(turn, scope)
    paragraphs = [_join(first), "\n".join(second), _honesty(turn, scope, budget)]
    buttons = _follow_ups(turn, place, commune, year, skip=scope)
    _say_with_chart(turn, "\n\n".join(p for p in paragraphs if p), buttons, place, scope,
                    facility, budget)


def _national_facts(turn: Turn, scope: str) -> list[str]:
    """What is true for every health centre (HEF) or school (free basic education, SOF)."""
    ids = ("hef", "hef_vulnerable", "hef_rates") if scope == "health_centre" else \
        ("free_education", "school_fund")
    facts = [f for f in (_budgets(turn).facts.get(i) for i in ids) if f]
    return [f"{fact.text(turn.lang)} {_source_line(turn, fact.source, fact.checked)}"
            for fact in facts]


def _no_facility(turn: Turn, place: Place, scope: str) -> None:
    lines = [turn.t("budget_no_facility", kind=turn.t(f"budget_kind_{scope}"),
                    place=place.name(turn.lang)), *_national_facts(turn, scope)]
    buttons = [turn.button("budget_btn_commune", f"bud:c:{place.code}:latest"),
               turn.button("budget_btn_say", "bud:say"), turn.button("menu_button", "menu")]
    turn.say("\n".join(lines), buttons)


def _facility(turn: Turn, args: list[str]) -> None:
    """`bud:f:<scope>:<code>:<year|latest>[:<facility id>]`."""
    scope = args[0] if args else ""
    place = _place_arg(args, 1)
    if scope not in FACILITY_SCOPES or place is None:
        _lost(turn)
        return
    show(turn, place, scope, _year_arg(args, 2), args[3] if len(args) > 3 else None)


# ------------------------------------------------------------------ glossary, say, meetings

def _glossary(turn: Turn, args: list[str]) -> None:
    glossary = _budgets(turn).glossary
    term = glossary.get(args[0]) if args else None
    buttons = [Button(t.term(turn.lang), f"bud:g:{t.id}") for t in glossary.values()
               if term is None or t.id != term.id]
    buttons += [turn.button("budget_btn_say", "bud:say"), turn.button("menu_button", "menu")]
    if term is None:
        turn.say(turn.t("budget_glossary_intro"), buttons)
        return
    text = turn.t("budget_glossary_entry", term=term.term(turn.lang), text=term.text(turn.lang))
    turn.say(f"{text}\n{_source_line(turn, term.source, term.checked)}", buttons)


def _have_your_say(turn: Turn, args: list[str]) -> None:
    say = _budgets(turn).have_your_say
    lines = [turn.t("budget_say_intro")]
    if say:
        lines += [say.text(turn.lang), _source_line(turn, say.source, say.checked)]
    turn.say("\n".join(lines), [_meeting_button(turn),
                                turn.button("budget_btn_glossary", "bud:g"),
                                turn.button("budget_btn_commune", "bud"),
                                turn.button("menu_button", "menu")])


def _meeting(turn: Turn, args: list[str]) -> None:
    """Next meeting: the meetings feature answers when it is installed; until then, say so."""
    if _meetings_installed(turn):
        turn.press(MEETING_PAYLOAD)
        return
    turn.say(turn.t("budget_meeting_soon"), [turn.button("budget_btn_say", "bud:say"),
                                             turn.button("menu_button", "menu")])


def _meetings_installed(turn: Turn) -> bool:
    return turn.dialogues.handles(MEETING_PAYLOAD)


def _meeting_button(turn: Turn) -> Button:
    """`meet:next` once the meetings feature handles it; `bud:meet` ("coming soon") before."""
    return turn.button("budget_btn_meeting",
                       MEETING_PAYLOAD if _meetings_installed(turn) else "bud:meet")


# ------------------------------------------------------------------ quiz

def _quiz(turn: Turn, args: list[str]) -> None:
    """`bud:q:<code>:<year>`: which category got the most? Three choices."""
    found = _commune_year(turn, args)
    if found is None:
        _lost(turn)
        return
    place, _, budget = found
    ranked = [f.category for f, _ in budget.spending_by_share()]
    options = list(dict.fromkeys([ranked[0], ranked[len(ranked) // 2], ranked[-1]]))
    turn_by = budget.year % len(options)  # the right answer is not always first
    options = options[turn_by:] + options[:turn_by]
    buttons = [Button(_category_name(turn, "commune", "spending", c),
                      f"bud:qa:{place.code}:{budget.year}:{c}") for c in options]
    turn.say(turn.t("budget_quiz_q1", year=fmt.digits(budget.year, turn.lang),
                    place=place.name(turn.lang)), buttons)


def _quiz_answer(turn: Turn, args: list[str]) -> None:
    """`bud:qa:<code>:<year>:<category>`."""
    found = _commune_year(turn, args)
    if found is None or len(args) < 3:
        _lost(turn)
        return
    place, commune, budget = found
    shares = {f.category: (f, share) for f, share in budget.spending_by_share()}
    chosen = args[2]
    best, best_share = budget.spending_by_share()[0]
    name = _category_name(turn, "commune", "spending", best.category)
    lang = turn.lang
    if chosen == best.category:
        text = turn.t("budget_quiz_right", category=name, share=fmt.percent(best_share, lang),
                      amount=money(turn, best.riel))
    else:
        picked = shares.get(chosen)
        text = turn.t("budget_quiz_wrong", category=name, share=fmt.percent(best_share, lang),
                      chosen=_category_name(turn, "commune", "spending", chosen),
                      chosen_share=fmt.percent(picked[1] if picked else 0.0, lang))
    text = _sample_lead(turn, place.name(lang), budget) + text + _sources_short(turn, budget)
    before = commune.years.get(budget.year - 1)
    if before is None:
        turn.say(f"{text}\n\n{turn.t('budget_quiz_done')}",
                 _follow_ups(turn, place, commune, budget.year, skip="quiz"))
        return
    question = turn.t("budget_quiz_q2", before_year=fmt.digits(before.year, lang),
                      year=fmt.digits(budget.year, lang), place=place.name(lang))
    turn.say(f"{text}\n\n{question}", [
        turn.button("budget_quiz_up", f"bud:qb:{place.code}:{budget.year}:up"),
        turn.button("budget_quiz_down", f"bud:qb:{place.code}:{budget.year}:down")])


def _quiz_change(turn: Turn, args: list[str]) -> None:
    """`bud:qb:<code>:<year>:<up|down>`."""
    found = _commune_year(turn, args)
    if found is None or len(args) < 3:
        _lost(turn)
        return
    place, commune, budget = found
    before = commune.years.get(budget.year - 1)
    if before is None:
        _lost(turn)
        return
    went_up = budget.total_revenue >= before.total_revenue
    right = (args[2] == "up") == went_up
    change = abs(budget.total_revenue / (before.total_revenue or 1) - 1)
    lines = [turn.t("budget_quiz_correct" if right else "budget_quiz_incorrect"),
             turn.t("budget_went_up" if went_up else "budget_went_down",
                    before=money(turn, before.total_revenue),
                    after=money(turn, budget.total_revenue),
                    change=fmt.percent(change, turn.lang))]
    text = _sample_lead(turn, place.name(turn.lang), budget, before) + " ".join(lines) + \
        _sources_short(turn, budget, before)
    turn.say(f"{text}\n\n{turn.t('budget_quiz_done')}",
             _follow_ups(turn, place, commune, budget.year, skip="quiz"))


# ------------------------------------------------------------------ places

def _places_named(turn: Turn) -> list[Place]:
    """The communes the question names: the NLU's place entity, kept only when the words the
    user typed look like that name (the entity finder can mistake "money" for Mien)."""
    if turn.understanding is None:
        return []
    for entity in turn.understanding.entities:
        if entity.entity != "place":
            continue
        surface = turn.text[entity.start:entity.end].strip()
        if surface and not _looks_like(surface, entity.value):
            continue
        places = gazetteer().by_english_name(entity.value)
        if places:
            covered = _budgets(turn).communes
            return sorted(places, key=lambda p: (p.code not in covered, p.province_en,
                                                 p.district_en))
    return []


def _looks_like(surface: str, name: str) -> bool:
    if any(map(is_khmer_char, surface)):
        return True  # Khmer names are matched on spelling-tolerant keys by the gazetteer
    if any(p.name_en == name for p in gazetteer().exact(surface)):
        return True
    return fuzz.ratio(surface.lower(), name.lower()) >= 75


def _ask_which_place(turn: Turn, places: list[Place], scope: str, year: int | None) -> None:
    turn.state[PENDING] = {"scope": scope, "year": year}
    buttons = [Button(p.label(turn.lang), f"bud:pick:{p.code}") for p in places[:8]]
    turn.say(turn.t("budget_which_place", name=places[0].name(turn.lang)), buttons)


def _pick(turn: Turn, args: list[str]) -> None:
    """`bud:pick:<code>`: one of the namesakes, for the question asked before."""
    place = _place_arg(args, 0)
    pending = turn.state.pop(PENDING, None) or {}
    if place is None:
        _lost(turn)
        return
    scope = pending.get("scope") if pending.get("scope") in FACILITY_SCOPES else "commune"
    year = pending.get("year") if isinstance(pending.get("year"), int) else None
    show(turn, place, str(scope), year)


def _mine(turn: Turn, args: list[str]) -> None:
    """`bud:my:<scope>:<year|latest>`: the user's commune (pressed after it was asked)."""
    scope = args[0] if args and args[0] in FACILITY_SCOPES else "commune"
    year = _year_arg(args, 1)
    place = need_commune(turn, then=f"bud:my:{scope}:{year or 'latest'}")
    if place is not None:
        show(turn, place, scope, year)


def _commune_button(turn: Turn, args: list[str]) -> None:
    """`bud:c:<code>:<year|latest>`."""
    place = _place_arg(args, 0)
    if place is None:
        _lost(turn)
        return
    show(turn, place, "commune", _year_arg(args, 1))


def _remember(turn: Turn, place: Place, year: int | None) -> None:
    """What a follow-up ("and last year?", "and the school?") refers to."""
    turn.state[PLACE] = place.code
    turn.state[PLACE_AT] = turn.now.isoformat()
    if year is None:
        turn.state.pop(PLACE_YEAR, None)
    else:
        turn.state[PLACE_YEAR] = year


def _recent_place(turn: Turn) -> Place | None:
    code, at = turn.state.get(PLACE), turn.state.get(PLACE_AT)
    if not code or not at:
        return None
    try:
        elapsed = turn.now - datetime.fromisoformat(str(at))
    except (TypeError, ValueError):
        return None
    if elapsed.total_seconds() > turn.ctx.followup_minutes * 60:
        return None
    return gazetteer().get(str(code))


# ------------------------------------------------------------------ shared pieces

def _budgets(turn: Turn) -> Budgets:
    return turn.content.sections[Budgets]


def money(turn: Turn, riel: int) -> str:
    """Big amounts in millions ("449 million riel", "៤៤៩ លានរៀល"), small ones in full."""
    if riel >= 1_000_000:
        millions = riel / 1_000_000
        value: float = round(millions) if millions >= 100 else round(millions, 1)
        if value == int(value):
            value = int(value)
        return turn.t("budget_millions", amount=fmt.number(value, turn.lang))
    return fmt.riel(riel, turn.lang)


def _per_person(turn: Turn, riel: int, people: int) -> str:
    return fmt.riel(int(round(riel / people, -2)), turn.lang)


def _category_name(turn: Turn, scope: str, kind: str, category_id: str) -> str:
    category = _budgets(turn).category(scope, kind, category_id)
    return category.name(turn.lang) if category else category_id


def _top(turn: Turn, scope: str, budget: YearBudget, count: int, kind: str = "spending"
         ) -> str:
    if kind == "spending":
        ranked = budget.spending_by_share()[:count]
    else:
        total = budget.total_revenue or 1
        ranked = [(f, f.riel / total) for f in sorted(budget.revenue,
                                                      key=lambda f: (-f.riel, f.category))]
    return ", ".join(f"{_category_name(turn, scope, kind, f.category)} "
                     f"{fmt.percent(share, turn.lang)}" for f, share in ranked[:count])


def _sample_lead(turn: Turn, name: str, *budgets: YearBudget) -> str:
    """"⚠️ Sample figures: ..." on a line of its own, before the first figure of an answer that
    shows any sample figure (empty for published figures)."""
    if not any(b.sample for b in budgets):
        return ""
    return turn.t("budget_sample_lead", place=name) + "\n"


def _honesty(turn: Turn, scope: str, budget: YearBudget) -> str:
    """How sample figures were made (when any figure is a sample), and one source line per
    source."""
    lines = [turn.t(f"budget_sample_how_{scope}")] if budget.sample else []
    seen = dict.fromkeys((p.source, p.checked) for p in budget.provenances())
    lines += [_source_line(turn, source, checked) for source, checked in seen]
    return "\n".join(lines)


def _sources_short(turn: Turn, *budgets: YearBudget) -> str:
    """The source lines of figures repeated elsewhere (the quiz), one per source."""
    seen = dict.fromkeys((p.source, p.checked) for b in budgets for p in b.provenances())
    return "".join(f"\n{_source_line(turn, s, c)}" for s, c in seen)


def _source_line(turn: Turn, source_id: str, checked: date) -> str:
    """The source line, marked when the source is older than the configured age."""
    return source_line(turn.content, (source_id,), checked, turn.lang,
                       stale=freshness(turn).stale(turn.content, (source_id,)))


def _follow_ups(turn: Turn, place: Place, commune: CommuneBudget | None, year: int,
                skip: str) -> list[Button]:
    """Details, other years, school, health centre, quiz, have your say, meeting, words, menu."""
    code = place.code
    buttons: list[Button] = []
    if skip != "details" and skip not in FACILITY_SCOPES:
        buttons.append(turn.button("budget_btn_details", f"bud:d:{code}:{year}"))
    if skip in FACILITY_SCOPES or skip in ("details", "quiz"):
        buttons.append(turn.button("budget_btn_commune", f"bud:c:{code}:{year}"))
    if commune is not None and skip not in FACILITY_SCOPES:
        for other in (year - 1, year + 1):
            if other in commune.years:
                buttons.append(turn.button("budget_btn_year", f"bud:c:{code}:{other}",
                                           year=fmt.digits(other, turn.lang)))
    if commune is not None:
        for scope, key in (("school", "budget_btn_school"), ("health_centre",
                                                              "budget_btn_health")):
            if scope != skip and commune.facilities_of(scope):
                buttons.append(turn.button(key, f"bud:f:{scope}:{code}:{year}"))
    if skip == "commune" and commune is not None and year in commune.years:
        buttons.append(turn.button("budget_btn_quiz", f"bud:q:{code}:{year}"))
    buttons += [turn.button("budget_btn_say", "bud:say"), _meeting_button(turn),
                turn.button("budget_btn_glossary", "bud:g"), turn.button("menu_button", "menu")]
    return buttons


def _say_with_chart(turn: Turn, text: str, buttons: list[Button], place: Place, scope: str,
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
    where = place.label(lang) if facility else _district(place, lang)
    bars = tuple(
        Bar(_category_name(turn, scope, "spending", figure.category), share,
            f"{fmt.percent(share, lang)} · {money(turn, figure.riel)}")
        for figure, share in budget.spending_by_share())
    seen = dict.fromkeys((p.source, p.checked) for p in budget.provenances())
    return ChartSpec(
        title=turn.t("budget_chart_title", place=name, year=fmt.digits(budget.year, lang)),
        subtitle=turn.t("budget_chart_subtitle", where=where,
                        total=money(turn, budget.total_spending)),
        bars=bars,
        banner=turn.t("budget_chart_sample") if budget.sample else None,
        footer=tuple(_source_line(turn, source, checked) for source, checked in seen),
    )


def chart(turn: Turn, place: Place, scope: str, facility: Facility | None,
          budget: YearBudget) -> Path:
    """The cached PNG, per place, facility, year and language."""
    spec = chart_spec(turn, place, scope, facility, budget)
    key = f"budget-{scope}-{place.code}-{facility.id if facility else 'all'}-" \
          f"{budget.year}-{turn.lang}"
    return chart_file(spec, turn.ctx.data_dir / "charts", key)


def _district(place: Place, lang: str) -> str:
    return f"{place.district_km}, {place.province_km}" if lang == "km" else \
        f"{place.district_en}, {place.province_en}"


def _choose_year(years: Collection[int], asked: int | None) -> int:
    """The year asked when there are figures for it, else the latest."""
    return asked if asked is not None and asked in years else max(years)


def _year_asked(turn: Turn, *, follow_up: bool) -> int | None:
    """The year entity, or a relative year. Right after an answer about year Y, "and last
    year?" means Y - 1 (what the user just saw), not the calendar's last year."""
    value = turn.entity("year")
    if value and value.isdigit():
        return int(value)
    local_year = turn.now.astimezone(ZoneInfo(turn.ctx.timezone)).year
    shown = turn.state.get(PLACE_YEAR)
    if _LAST_YEAR.search(turn.text):
        if follow_up and _recent_place(turn) and isinstance(shown, int):
            return shown - 1
        return local_year - 1
    if _NEXT_YEAR.search(turn.text):
        return local_year + 1
    if _THIS_YEAR.search(turn.text):
        return local_year
    return None


def _place_arg(args: list[str], index: int) -> Place | None:
    return gazetteer().get(args[index]) if len(args) > index else None


def _year_arg(args: list[str], index: int) -> int | None:
    value = args[index] if len(args) > index else ""
    return int(value) if value.isdigit() and len(value) == 4 else None


def _commune_year(turn: Turn, args: list[str]
                  ) -> tuple[Place, CommuneBudget, YearBudget] | None:
    place, year = _place_arg(args, 0), _year_arg(args, 1)
    commune = _budgets(turn).communes.get(place.code) if place else None
    if place is None or commune is None or year is None or year not in commune.years:
        return None
    return place, commune, commune.years[year]


def _year_note(turn: Turn, asked: int | None, shown: int, name: str) -> str:
    """"No figures for 2025 yet, the latest are 2023", when the year asked is not there."""
    if asked is None or asked == shown:
        return ""
    return turn.t("budget_year_missing", year=fmt.digits(asked, turn.lang), place=name,
                  latest=fmt.digits(shown, turn.lang)) + "\n"


def _join(sentences: list[str]) -> str:
    """Sentences of one paragraph (a note ending in a newline stays on its own line)."""
    text = ""
    for sentence in (s for s in sentences if s):
        text += sentence if not text or text.endswith("\n") else f" {sentence}"
    return text


def _lost(turn: Turn) -> None:
    """A button from an older version of the bot, or forged: start again from the menu."""
    turn.press("menu")


_ACTIONS = {
    "c": _commune_button, "d": _details, "f": _facility, "g": _glossary, "say": _have_your_say,
    "meet": _meeting, "q": _quiz, "qa": _quiz_answer, "qb": _quiz_change, "pick": _pick,
    "my": _mine,
}
