"""I4C budget explainers for young citizens: how much a commune, health centre or primary school
had, where it went (in words and a chart), per person, change from last year, a glossary, a
short quiz, and how to have a say.

Answers are at most three short paragraphs; every figure comes with its source and checked date,
and sample figures are called sample figures. Which place: the one named in the question (namesakes
resolved with buttons), else the one just discussed, else the user's commune (asked once and
remembered by dialogues/core/places.py).
"""

from __future__ import annotations

from common.messages import Button
from content.budgets.section import FACILITY_SCOPES
from dialogues.budgets.explain import (
    details,
    show,
)
from dialogues.budgets.pieces import (
    MEETING_PAYLOAD,
    PLACE_YEAR,
    budgets_of,
    cite,
    lost,
    meeting_button,
    meetings_installed,
    place_arg,
    recent_place,
    year_arg,
)
from dialogues.budgets.quiz import quiz, quiz_answer, quiz_change
from dialogues.budgets.typed import (
    budget_not_word,
    fund_sources,
    term_asked,
    typed_convert,
    typed_quiz,
    unknown_term,
)
from dialogues.budgets.where import (
    area_named,
    ask_which_place,
    commune_button,
    mine,
    pick,
    places_named,
    unknown_place,
    within_area,
    year_asked,
)
from dialogues.core.places import need_commune, user_commune
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import BUDGET_SPENDING, GLOSSARY_ALONE

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
    "change_commune", "budget_glossary_unknown", "budget_fund_sources_intro",
    "budget_fund_sources_tax", "budget_convert", "budget_convert_none", "budget_convert_what",
    "budget_usd_amount",
)



# ------------------------------------------------------------------ entry points

@router.intent("ask_budget")
def ask_budget(turn: Turn) -> None:
    """A budget question, with or without a place, scope (commune/school/health centre), year."""
    scope = turn.entity("budget_scope") or "commune"
    if scope not in ("commune", *FACILITY_SCOPES):
        scope = "commune"
    named = places_named(turn)
    year = year_asked(turn, follow_up=not named or recent_place(turn) in named)
    if area_named(turn) is not None:
        named = within_area(turn, named, scope, year)
        if not named:
            return  # asked which commune of the district or province
    elif not named and unknown_place(turn, scope, year):
        return
    if len(named) > 1:
        known = [p for p in (recent_place(turn), user_commune(turn)) if p in named]
        if known:
            named = known[:1]
        else:
            ask_which_place(turn, named, scope, year)
            return
    place = named[0] if named else recent_place(turn)
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


# ------------------------------------------------------------------ typed doors to the buttons

@router.intent("play_quiz")
def ask_quiz(turn: Turn) -> None:
    """"quiz", "ចង់លេង quiz": the quiz button's quiz, for the commune meant."""
    typed_quiz(turn, [])


@router.intent("ask_glossary")
def ask_glossary(turn: Turn) -> None:
    """"what is CIP", "ម.ឃ.ស ជាអ្វី": the glossary button's entry, or the words it has."""
    term = term_asked(turn)
    if term is None and (places_named(turn) or budget_not_word(turn.text)):
        ask_budget(turn)  # "ថវិកាឃុំជាអ្វី", "what is the budget of Kouk Khleang"
        return
    if term is None and GLOSSARY_ALONE.match(turn.text):  # "glossary": its list of words
        _glossary(turn, [])
        return
    if term is None:
        unknown_term(turn)
        return
    _glossary(turn, [term])


@router.intent(BUDGET_SPENDING)
def spending_asked(turn: Turn) -> None:
    """"What do they spend it on?" right after a budget answer: that budget's details."""
    place = recent_place(turn)
    if place is None:
        ask_budget(turn)
        return
    year = turn.state.get(PLACE_YEAR)
    details(turn, [place.code, *([str(year)] if year else [])])


@router.intent("ask_fund_sources")
def ask_fund_sources(turn: Turn) -> None:
    fund_sources(turn, [])


@router.intent("convert_currency")
def convert_currency(turn: Turn) -> None:
    typed_convert(turn)


def _facility(turn: Turn, args: list[str]) -> None:
    """`bud:f:<scope>:<code>:<year|latest>[:<facility id>]`."""
    scope = args[0] if args else ""
    place = place_arg(args, 1)
    if scope not in FACILITY_SCOPES or place is None:
        lost(turn)
        return
    show(turn, place, scope, year_arg(args, 2), args[3] if len(args) > 3 else None)


# ------------------------------------------------------------------ glossary, say, meetings

def _glossary(turn: Turn, args: list[str]) -> None:
    glossary = budgets_of(turn).glossary
    term = glossary.get(args[0]) if args else None
    buttons = [Button(t.term(turn.lang), f"bud:g:{t.id}") for t in glossary.values()
               if term is None or t.id != term.id]
    buttons += [turn.button("budget_btn_say", "bud:say"), turn.button("menu_button", "menu")]
    if term is None:
        turn.say(turn.t("budget_glossary_intro"), buttons)
        return
    text = turn.t("budget_glossary_entry", term=term.term(turn.lang), text=term.text(turn.lang))
    turn.say(f"{text}\n{cite(turn, term.source, term.checked)}", buttons)


def _have_your_say(turn: Turn, args: list[str]) -> None:
    say = budgets_of(turn).have_your_say
    lines = [turn.t("budget_say_intro")]
    if say:
        lines += [say.text(turn.lang), cite(turn, say.source, say.checked)]
    turn.say("\n".join(lines), [meeting_button(turn),
                                turn.button("budget_btn_glossary", "bud:g"),
                                turn.button("budget_btn_commune", "bud"),
                                turn.button("menu_button", "menu")])


def _meeting(turn: Turn, args: list[str]) -> None:
    """Next meeting: the meetings feature answers when it is installed; until then, say so."""
    if meetings_installed(turn):
        turn.press(MEETING_PAYLOAD)
        return
    turn.say(turn.t("budget_meeting_soon"), [turn.button("budget_btn_say", "bud:say"),
                                             turn.button("menu_button", "menu")])


_ACTIONS = {
    "c": commune_button, "d": details, "f": _facility, "g": _glossary, "say": _have_your_say,
    "meet": _meeting, "q": quiz, "qa": quiz_answer, "qb": quiz_change, "pick": pick,
    "my": mine, "qt": typed_quiz, "fund": fund_sources,
}
