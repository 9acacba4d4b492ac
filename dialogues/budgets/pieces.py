"""What every budget answer shares: the figures in words (money, shares, the top categories),
honesty about sample figures and sources, the follow-up buttons, the year and place a button
names, and what a follow-up ("and last year?") refers to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from common import formatting as fmt
from common.messages import Button
from content.budgets.section import (
    FACILITY_SCOPES,
    Budgets,
    CommuneBudget,
    YearBudget,
)
from content.places import Place, gazetteer
from dialogues.core.provenance import freshness, source_line
from dialogues.core.router import Turn
from dialogues.core.understanding import (
    BUDGET_PENDING,
    BUDGET_PENDING_AT,
    BUDGET_PLACE,
    BUDGET_PLACE_AT,
)

PLACE = BUDGET_PLACE  # the commune of the last budget answer (code) ...
PLACE_AT = BUDGET_PLACE_AT  # ... and when, so that "and last year?" refers to it
PLACE_YEAR = "budget_year"  # ... and the year it showed ("and the year before?")
PENDING = BUDGET_PENDING  # scope and year asked while the user picks among namesakes
MEETING_PAYLOAD = "meet:next"  # the meetings feature's button (stable: other features use it)
ICONS = {"health_centre": "🏥", "school": "🏫"}
FUND_NOTE = "cs_fund"  # the national fact told when a commune has no figures


def meetings_installed(turn: Turn) -> bool:
    return turn.dialogues.handles(MEETING_PAYLOAD)


def meeting_button(turn: Turn) -> Button:
    """`meet:next` once the meetings feature handles it; `bud:meet` ("coming soon") before."""
    return turn.button("budget_btn_meeting",
                       MEETING_PAYLOAD if meetings_installed(turn) else "bud:meet")


def wait_for_place(turn: Turn, scope: str, year: int | None) -> None:
    """Keep the budget question while the user picks or types its place."""
    turn.state[PENDING] = {"scope": scope, "year": year}
    turn.state[BUDGET_PENDING_AT] = turn.now.isoformat()


def remember(turn: Turn, place: Place, year: int | None) -> None:
    """What a follow-up ("and last year?", "and the school?") refers to."""
    turn.state[PLACE] = place.code
    turn.state[PLACE_AT] = turn.now.isoformat()
    if year is None:
        turn.state.pop(PLACE_YEAR, None)
    else:
        turn.state[PLACE_YEAR] = year


def recent_place(turn: Turn) -> Place | None:
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


def budgets_of(turn: Turn) -> Budgets:
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


def per_person(turn: Turn, riel: int, people: int) -> str:
    return fmt.riel(int(round(riel / people, -2)), turn.lang)


def category_name(turn: Turn, scope: str, kind: str, category_id: str) -> str:
    category = budgets_of(turn).category(scope, kind, category_id)
    return category.name(turn.lang) if category else category_id


def top_categories(turn: Turn, scope: str, budget: YearBudget, count: int, kind: str = "spending"
         ) -> str:
    if kind == "spending":
        ranked = budget.spending_by_share()[:count]
    else:
        total = budget.total_revenue or 1
        ranked = [(f, f.riel / total) for f in sorted(budget.revenue,
                                                      key=lambda f: (-f.riel, f.category))]
    return ", ".join(f"{category_name(turn, scope, kind, f.category)} "
                     f"{fmt.percent(share, turn.lang)}" for f, share in ranked[:count])


def sample_lead(turn: Turn, name: str, *budgets: YearBudget) -> str:
    """"⚠️ Sample figures: ..." on a line of its own, before the first figure of an answer that
    shows any sample figure (empty for published figures)."""
    if not any(b.sample for b in budgets):
        return ""
    return turn.t("budget_sample_lead", place=name) + "\n"


def honesty(turn: Turn, scope: str, budget: YearBudget) -> str:
    """How sample figures were made (when any figure is a sample), and one source line per
    source."""
    lines = [turn.t(f"budget_sample_how_{scope}")] if budget.sample else []
    seen = dict.fromkeys((p.source, p.checked) for p in budget.provenances())
    lines += [cite(turn, source, checked) for source, checked in seen]
    return "\n".join(lines)


def sources_short(turn: Turn, *budgets: YearBudget) -> str:
    """The source lines of figures repeated elsewhere (the quiz), one per source."""
    seen = dict.fromkeys((p.source, p.checked) for b in budgets for p in b.provenances())
    return "".join(f"\n{cite(turn, s, c)}" for s, c in seen)


def cite(turn: Turn, source_id: str, checked: date) -> str:
    """The source line, marked when the source is older than the configured age."""
    return source_line(turn.content, (source_id,), checked, turn.lang,
                       stale=freshness(turn).stale(turn.content, (source_id,)))


def follow_ups(turn: Turn, place: Place, commune: CommuneBudget | None, year: int,
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
    buttons += [turn.button("budget_btn_say", "bud:say"), meeting_button(turn),
                turn.button("budget_btn_glossary", "bud:g"), turn.button("menu_button", "menu")]
    return buttons


def choose_year(years: Collection[int], asked: int | None) -> int:
    """The year asked when there are figures for it, else the latest."""
    return asked if asked is not None and asked in years else max(years)






def place_arg(args: list[str], index: int) -> Place | None:
    return gazetteer().get(args[index]) if len(args) > index else None


def year_arg(args: list[str], index: int) -> int | None:
    value = args[index] if len(args) > index else ""
    return int(value) if value.isdigit() and len(value) == 4 else None


def commune_year(turn: Turn, args: list[str]
                  ) -> tuple[Place, CommuneBudget, YearBudget] | None:
    place, year = place_arg(args, 0), year_arg(args, 1)
    commune = budgets_of(turn).communes.get(place.code) if place else None
    if place is None or commune is None or year is None or year not in commune.years:
        return None
    return place, commune, commune.years[year]


def year_note(turn: Turn, asked: int | None, shown: int, name: str) -> str:
    """"No figures for 2025 yet, the latest are 2023", when the year asked is not there."""
    if asked is None or asked == shown:
        return ""
    return turn.t("budget_year_missing", year=fmt.digits(asked, turn.lang), place=name,
                  latest=fmt.digits(shown, turn.lang)) + "\n"


def join(sentences: list[str]) -> str:
    """Sentences of one paragraph (a note ending in a newline stays on its own line)."""
    text = ""
    for sentence in (s for s in sentences if s):
        text += sentence if not text or text.endswith("\n") else f" {sentence}"
    return text


def lost(turn: Turn) -> None:
    """A button from an older version of the bot, or forged: start again from the menu."""
    turn.press("menu")
