"""What the budget buttons reach, reached by typing (issue 19, finding 9): "quiz" starts the
same quiz as its button, "what is CIP" shows the same glossary entry, and two answers that
had no door at all: where a commune's money comes from (the national facts, and what they do
not say) and an amount in dollars or riel (only at a sourced, dated rate, else an honest "I
cannot")."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from common import formatting as fmt
from common.amounts import RIEL, USD, Amount, find_amounts
from common.khmer import normalise_text
from common.messages import Button
from content.budgets.exchange import ExchangeRate, Rate
from content.budgets.model import Term
from content.places import Place
from dialogues.budgets.explain import no_data
from dialogues.budgets.pieces import PLACE_YEAR, budgets_of, cite, money, recent_place
from dialogues.budgets.quiz import quiz
from dialogues.budgets.where import places_named
from dialogues.core.places import need_commune
from dialogues.core.router import Turn

QUIZ_PAYLOAD = "bud:qt"  # the typed quiz, once the commune is known
FUND_FACTS = ("cs_fund", "cs_fund_extra_2024")
# Short forms people type that the glossary's own names do not spell out; every other way in
# is a glossary name (content/budgets/glossary.yml), so a new word needs no code and no NLU.
SHORT_FORMS = {
    "commune_fund": ("csf", "c/s fund", "commune fund", "sangkat fund", "ម.ឃ.ស", "មូលនិធិឃុំ",
                     "មូលនិធិសង្កាត់"),
    "cip": ("commune investment plan", "ក.វ.ឃ", "កម្មវិធីវិនិយោគ"),
}
_PARTS = re.compile(r"[()]")


# ------------------------------------------------------------------ the quiz

def typed_quiz(turn: Turn, args: list[str]) -> None:
    """The quiz about the commune named, else the one just discussed, else the user's (asked
    once): its latest year, or the year just shown."""
    named = places_named(turn) if turn.understanding else []
    place: Place | None = named[0] if len(named) == 1 else recent_place(turn)
    if place is None:
        place = need_commune(turn, then=QUIZ_PAYLOAD)
        if place is None:
            return  # asked which commune; QUIZ_PAYLOAD brings us back
    commune = budgets_of(turn).communes.get(place.code)
    if commune is None or not commune.years:
        no_data(turn, place)
        return
    shown = turn.state.get(PLACE_YEAR)
    year = shown if place == recent_place(turn) and shown in commune.years else \
        max(commune.years)
    quiz(turn, [place.code, str(year)])


# ------------------------------------------------------------------ glossary words

def term_asked(turn: Turn) -> str | None:
    """The glossary word the question names: one of the glossary's names (or the part before
    or inside its brackets: "CIP"), else a known short form; the longest match wins."""
    glossary = budgets_of(turn).glossary
    text = _key(turn.text)
    found = [(len(name), term_id) for term_id, term in glossary.items()
             for name in (*_names(term), *SHORT_FORMS.get(term_id, ()))
             if _contains(text, _key(name))]
    return max(found)[1] if found else None


def _names(term: Term) -> list[str]:
    """"Commune Investment Program (CIP)": the whole name, its part before and inside the
    brackets, in both languages."""
    names = []
    for lang in ("en", "km"):
        whole = term.term(lang)
        names += [whole, *(part for part in _PARTS.split(whole) if len(part.strip()) >= 3)]
    return names


def _key(text: str) -> str:
    """Lower case, normalised, Khmer without the spaces people put or leave out."""
    text = normalise_text(text).lower()
    return re.sub(r"(?<=[\u1780-\u17ff])\s+|\s+(?=[\u1780-\u17ff])", "", text).strip()


def _contains(text: str, name: str) -> bool:
    if not name:
        return False
    if name.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text) is not None
    return name in text


_BUDGET = re.compile(r"\bbudgets?\b|ថវិកា", re.I)
_WORD = re.compile(r"\bwords?\b|\bmean(s|ing)?\b|\bstand for\b|\bdefin|ពាក្យ|ន័យ", re.I)


def budget_not_word(text: str) -> bool:
    """"ថវិកាឃុំជាអ្វី" (what is the commune's budget) asks for the budget, not a word's
    meaning: it names the budget and says nothing of a word."""
    return bool(_BUDGET.search(text)) and not _WORD.search(text)


def unknown_term(turn: Turn) -> None:
    """A word the glossary does not have: say so, and offer the words it has."""
    glossary = budgets_of(turn).glossary
    names = ", ".join(t.term(turn.lang) for t in glossary.values())
    buttons = [Button(t.term(turn.lang), f"bud:g:{t.id}") for t in glossary.values()]
    turn.say(turn.t("budget_glossary_unknown", terms=names),
             [*buttons, turn.button("menu_button", "menu")])


# ------------------------------------------------------------------ where the money comes from

def fund_sources(turn: Turn, args: list[str]) -> None:
    """`bud:fund`: the Commune/Sangkat Fund's sources as the checked facts tell them, each with
    its source line, and what they do not say (local taxes and fees)."""
    facts = budgets_of(turn).facts
    lines = [turn.t("budget_fund_sources_intro")]
    for fact in (facts.get(i) for i in FUND_FACTS):
        if fact is not None:
            lines.append(f"{fact.text(turn.lang)}\n{cite(turn, fact.source, fact.checked)}")
    lines.append(turn.t("budget_fund_sources_tax"))
    buttons = [turn.button("budget_btn_commune", "bud")]
    if "commune_fund" in budgets_of(turn).glossary:
        buttons.append(Button(budgets_of(turn).glossary["commune_fund"].term(turn.lang),
                              "bud:g:commune_fund"))
    turn.say("\n\n".join(lines), [*buttons, turn.button("budget_btn_say", "bud:say"),
                                  turn.button("menu_button", "menu")])


# ------------------------------------------------------------------ riel and dollars

def amount_asked(turn: Turn) -> Amount | None:
    """The amount to convert: the NLU's `amount` (common/amounts.py read it), else the first
    amount with its currency in the text."""
    value = turn.entity("amount")
    if value:
        try:
            amount = Amount.from_canonical(value)
        except ValueError:
            amount = None
        if amount is not None and amount.value > 0:
            return amount
    found = [f.amount for f in find_amounts(turn.text) if f.amount.value > 0]
    return next((a for a in found if a.currency), found[0] if found else None)


def about(value: Decimal) -> Decimal:
    """Three significant digits, never finer than a cent (or a riel): 257,250 → 257,000."""
    if value == 0:
        return value
    quantum = Decimal(1).scaleb(max(value.adjusted() - 2, -2))
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral_value() else rounded


def said(turn: Turn, value: Decimal, currency: str) -> str:
    """An amount as the budget answers write it: millions of riel in words, dollars in full."""
    if currency == USD:
        return turn.t("budget_usd_amount", amount=fmt.number(float(value), turn.lang))
    whole = int(value)
    return money(turn, whole) if whole >= 1_000_000 else fmt.riel(whole, turn.lang)


def convert(turn: Turn, amount: Amount, rate: Rate) -> str:
    """"1,029 million riel is about 257,000 dollars, at 4,000 riel to 1 dollar." and the rate's
    source line."""
    currency = amount.currency or RIEL
    if currency == USD:
        other = said(turn, about(amount.value * rate.riel_per_usd), RIEL)
    else:
        other = said(turn, about(amount.value / rate.riel_per_usd), USD)
    text = turn.t("budget_convert", amount=said(turn, amount.value, currency), other=other,
                  rate=fmt.number(float(rate.riel_per_usd), turn.lang))
    return f"{text}\n{cite(turn, rate.source, rate.checked)}"


def typed_convert(turn: Turn) -> None:
    amount = amount_asked(turn)
    buttons = [turn.button("budget_btn_commune", "bud"), turn.button("menu_button", "menu")]
    if amount is None or amount.currency is None:  # "4.5": riel or dollars? ask, never guess
        turn.say(turn.t("budget_convert_what"), buttons)
        return
    section = turn.content.sections.get(ExchangeRate)
    rate = section.rate if section else None
    if rate is None:
        turn.say(turn.t("budget_convert_none", amount=said(turn, amount.value, amount.currency)),
                 buttons)
        return
    turn.say(convert(turn, amount, rate), buttons)
