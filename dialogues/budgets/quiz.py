"""The budget quiz: the steps of content/budgets/quiz.yml (choice steps of the one step engine),
asked after a commune's budget. The quiz keeps no state: each button carries the commune and the
year (`bud:qa:<code>:<year>:<category>`, `bud:qb:<code>:<year>:<up|down>`), so an answer to an
old quiz is still answered about the figures it asked about."""

from __future__ import annotations

from common import formatting as fmt
from common.messages import Button
from content.budgets.section import YearBudget
from content.forms.section import Step, quizzes_of
from dialogues.budgets.pieces import (
    category_name,
    commune_year,
    follow_ups,
    lost,
    money,
    sample_lead,
    sources_short,
)
from dialogues.core.router import Turn
from dialogues.core.steps.buttons import payload

QUIZ = "budget_quiz"


def _step(turn: Turn, index: int) -> Step:
    return quizzes_of(turn.content)[QUIZ].steps[index]


def _ranked_options(step: Step, budget: YearBudget) -> list[str]:
    """The categories at the ranks the step names (first, middle, last spending), each once,
    turned by the year so that the right answer is not always first."""
    ranked = [f.category for f, _ in budget.spending_by_share()]
    at = {"first": ranked[0], "middle": ranked[len(ranked) // 2], "last": ranked[-1]}
    options = list(dict.fromkeys(at[rank] for rank in step.options if rank in at))
    turn_by = budget.year % len(options)
    return options[turn_by:] + options[:turn_by]


def quiz(turn: Turn, args: list[str]) -> None:
    """`bud:q:<code>:<year>`: the first step, which category got the most?"""
    found = commune_year(turn, args)
    if found is None:
        lost(turn)
        return
    place, _, budget = found
    step = _step(turn, 0)
    buttons = [Button(category_name(turn, "commune", "spending", c),
                      payload("bud", "qa", place.code, budget.year, c))
               for c in _ranked_options(step, budget)]
    turn.say(turn.t(step.ask, year=fmt.digits(budget.year, turn.lang),
                    place=place.name(turn.lang)), buttons)


def quiz_answer(turn: Turn, args: list[str]) -> None:
    """`bud:qa:<code>:<year>:<category>`: right or wrong, then the second step when the year
    before has figures."""
    found = commune_year(turn, args)
    if found is None or len(args) < 3:
        lost(turn)
        return
    place, commune, budget = found
    lang = turn.lang
    text = sample_lead(turn, place.name(lang), budget) + _verdict(turn, budget, args[2]) + \
        sources_short(turn, budget)
    before = commune.years.get(budget.year - 1)
    if before is None:
        turn.say(f"{text}\n\n{turn.t('budget_quiz_done')}",
                 follow_ups(turn, place, commune, budget.year, skip="quiz"))
        return
    step = _step(turn, 1)
    question = turn.t(step.ask, before_year=fmt.digits(before.year, lang),
                      year=fmt.digits(budget.year, lang), place=place.name(lang))
    turn.say(f"{text}\n\n{question}", [
        turn.button(f"{step.label}{option}", payload("bud", "qb", place.code, budget.year,
                                                     option))
        for option in step.options])


def _verdict(turn: Turn, budget: YearBudget, chosen: str) -> str:
    shares = {f.category: (f, share) for f, share in budget.spending_by_share()}
    best, best_share = budget.spending_by_share()[0]
    name = category_name(turn, "commune", "spending", best.category)
    lang = turn.lang
    if chosen == best.category:
        return turn.t("budget_quiz_right", category=name, share=fmt.percent(best_share, lang),
                      amount=money(turn, best.riel))
    picked = shares.get(chosen)
    return turn.t("budget_quiz_wrong", category=name, share=fmt.percent(best_share, lang),
                  chosen=category_name(turn, "commune", "spending", chosen),
                  chosen_share=fmt.percent(picked[1] if picked else 0.0, lang))


def quiz_change(turn: Turn, args: list[str]) -> None:
    """`bud:qb:<code>:<year>:<up|down>`: the second step's answer, and the quiz is done."""
    found = commune_year(turn, args)
    if found is None or len(args) < 3:
        lost(turn)
        return
    place, commune, budget = found
    before = commune.years.get(budget.year - 1)
    if before is None:
        lost(turn)
        return
    went_up = budget.total_revenue >= before.total_revenue
    right = (args[2] == "up") == went_up
    change = abs(budget.total_revenue / (before.total_revenue or 1) - 1)
    lines = [turn.t("budget_quiz_correct" if right else "budget_quiz_incorrect"),
             turn.t("budget_went_up" if went_up else "budget_went_down",
                    before=money(turn, before.total_revenue),
                    after=money(turn, budget.total_revenue),
                    change=fmt.percent(change, turn.lang))]
    text = sample_lead(turn, place.name(turn.lang), budget, before) + " ".join(lines) + \
        sources_short(turn, budget, before)
    turn.say(f"{text}\n\n{turn.t('budget_quiz_done')}",
             follow_ups(turn, place, commune, budget.year, skip="quiz"))
