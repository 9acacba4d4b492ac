"""Issue 19, finding 9: what a button reaches is reached by typing. "quiz", "ចង់លេង quiz", "what
is CIP", "how can I contact the CAF of Tuek Thla", "1029 million riel = how much dollar?",
"where does the sangkat fund money come from? tax?" got a refusal, the menu or the budget
summary again. Each now gets the answer its button gives, in Khmer and English, through the
console channel with the real model; a conversion is told only at a sourced, dated rate."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App, bootstrap
from content.loader import CONTENT_DIR
from dialogues.budgets.typed import about
from tests.conftest import Chat, edit_file, make_settings

BUDGET_EN = "budget of Kouk Khleang"  # one commune of that name, with (sample) figures
BUDGET_KM = "ថវិកាសង្កាត់គោកឃ្លាង"


def _after_budget(chat: Chat, english: bool = True) -> None:
    """A budget answer first: the topic the finding's questions were answered with again."""
    chat.send(BUDGET_EN if english else BUDGET_KM)
    assert "bud:q:" in " ".join(chat.payloads), chat.text


# ------------------------------------------------------------------ the quiz

@pytest.mark.parametrize(("question", "english"), [
    ("quiz", True), ("ចង់លេង quiz", False), ("ចង់លេងសំណួរថវិកា", False)])
def test_quiz_typed_after_a_budget_is_the_quiz_buttons_quiz(chat: Chat, question: str,
                                                             english: bool) -> None:
    _after_budget(chat, english)
    chat.send(question)
    assert any(p.startswith("bud:qa:") for p in chat.payloads), chat.text
    assert ("Quick quiz" if english else "សំណួរខ្លី") in chat.text


def test_quiz_typed_first_asks_the_commune_then_asks_the_quiz(chat: Chat) -> None:
    chat.send("quiz")
    assert "Which commune or sangkat" in chat.text
    chat.send("Kouk Khleang")
    assert "Quick quiz" in chat.text
    assert any(p.startswith("bud:qa:") for p in chat.payloads)


def test_quiz_typed_in_khmer_first_asks_the_commune(chat: Chat) -> None:
    chat.send("ចង់លេង quiz")
    assert "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា" in chat.text
    chat.send("គោកឃ្លាង")
    assert any(p.startswith("bud:qa:") for p in chat.payloads), chat.text


# ------------------------------------------------------------------ glossary words

@pytest.mark.parametrize(("question", "expected", "source"), [
    ("what is CIP", "Commune Investment Program (CIP):", "Source:"),
    ("what does CSF mean", "Commune/Sangkat Fund:", "Source:"),
    ("ម.ឃ.ស ជាអ្វី", "មូលនិធិឃុំ សង្កាត់៖", "ប្រភព"),
    ("CIP មានន័យថាអ្វី", "កម្មវិធីវិនិយោគឃុំ សង្កាត់៖", "ប្រភព"),
])
def test_a_glossary_word_typed_gives_its_entry_with_its_source(chat: Chat, question: str,
                                                               expected: str, source: str
                                                               ) -> None:
    chat.send(question)
    assert expected in chat.text
    assert source in chat.text
    assert "bud:say" in chat.payloads  # the glossary button's own answer, buttons included


def test_a_glossary_word_after_a_budget_is_not_the_summary_again(chat: Chat) -> None:
    _after_budget(chat)
    chat.send("what is CIP")
    assert "Commune Investment Program (CIP):" in chat.text
    assert "million riel" not in chat.text


@pytest.mark.parametrize(("question", "expected", "listed"), [
    ("what does sub-decree mean", "I don't have that word", "Commune Investment Program"),
    ("ពាក្យអនុក្រឹត្យមានន័យថាម៉េច", "ខ្ញុំមិនទាន់មានពាក្យនោះ", "កម្មវិធីវិនិយោគឃុំ"),
])
def test_an_unknown_word_is_said_and_the_known_ones_are_offered(chat: Chat, question: str,
                                                                expected: str, listed: str
                                                                ) -> None:
    chat.send(question)
    assert expected in chat.text
    assert listed in chat.text
    assert "bud:g:cip" in chat.payloads


# ------------------------------------------------------------------ the CAF of a commune

def test_contacting_the_caf_of_tuek_thla_asks_which_then_hands_over(chat: Chat) -> None:
    """Four communes are called Tuek Thla: which one, then that commune's CAF."""
    chat.send("how can I contact the CAF of Tuek Thla")
    assert "commune:120802" in chat.payloads, chat.text  # Tuek Thla, Sen Sok, Phnom Penh
    chat.press("commune:120802")
    assert "your commune's Community Accountability Facilitator (CAF)" in chat.text
    assert "hand:end" in chat.payloads  # the handover's answer: the bot waits for the CAF


@pytest.mark.parametrize(("question", "expected"), [
    ("how can I contact the CAF of Kouk Khleang", "Community Accountability Facilitator (CAF) "
                                                  "of Kouk Khleang"),
    ("ចង់ទាក់ទងអ្នកសម្របសម្រួលនៅសង្កាត់គោកឃ្លាង", "(CAF) នៃគោកឃ្លាង"),
    ("ធ្វើម៉េចទាក់ទង CAF នៃសង្កាត់គោកឃ្លាង", "(CAF) នៃគោកឃ្លាង"),
])
def test_contacting_a_communes_caf_hands_over_to_that_commune(chat: Chat, question: str,
                                                              expected: str) -> None:
    chat.send(question)
    assert expected in chat.text
    assert "hand:end" in chat.payloads


@pytest.mark.parametrize(("question", "asked", "queued"), [
    ("how can I contact the CAF", "Which commune or sangkat", "(CAF) of Kouk Khleang"),
    ("ចង់ទាក់ទង CAF យ៉ាងម៉េច", "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា", "(CAF) នៃគោកឃ្លាង"),
])
def test_contacting_the_caf_without_a_commune_asks_which(chat: Chat, question: str, asked: str,
                                                          queued: str) -> None:
    chat.send(question)
    assert asked in chat.text
    chat.send("Kouk Khleang")
    assert queued in chat.text
    assert "hand:end" in chat.payloads


# ------------------------------------------------------------------ where the money comes from

@pytest.mark.parametrize(("question", "english"), [
    ("where does the sangkat fund money come from? tax?", True),
    ("ថវិកាសង្កាត់មកពីណា? មកពីពន្ធទេ?", False),
])
def test_where_the_money_comes_from_is_the_funds_sources(chat: Chat, question: str,
                                                         english: bool) -> None:
    _after_budget(chat, english)
    chat.send(question)
    if english:
        assert "Where a commune's money comes from" in chat.text
        assert "a share of the state's current revenue, set by sub-decree" in chat.text
        assert "further 1% of current revenue" in chat.text
        assert "local taxes or fees" in chat.text and "commune office" in chat.text
        assert "Source: Phnom Penh Post" in chat.text and "2026" in chat.text
        assert "million riel" not in chat.text  # not the summary again
    else:
        assert "លុយរបស់ឃុំ សង្កាត់មកពីណា" in chat.text
        assert "ចំណូលចរន្តរបស់រដ្ឋ" in chat.text and "ពន្ធ" in chat.text
        assert "ប្រភព" in chat.text
        assert "លានរៀល" not in chat.text


# ------------------------------------------------------------------ riel and dollars

@pytest.mark.parametrize(("question", "expected"), [
    ("1029 million riel = how much dollar?", ["I can't give the amount in dollars",
                                              "1,029 million riel", "commune office"]),
    ("១០២៩ លានរៀល ស្មើប៉ុន្មានដុល្លារ", ["ខ្ញុំមិនអាចប្តូរ", "១.០២៩ លានរៀល"]),
    ("1029 លានរៀល ប៉ុន្មាន dollar", ["ខ្ញុំមិនអាចប្តូរ", "១.០២៩ លានរៀល"]),
])
def test_without_a_sourced_rate_the_bot_says_it_cannot_convert(chat: Chat, question: str,
                                                               expected: list[str]) -> None:
    """The checked reference has no exchange rate: no dollar figure is made up."""
    chat.send(question)
    for part in expected:
        assert part in chat.text
    assert "about" not in chat.text and "ប្រហែល" not in chat.text


@pytest.fixture
def rated(tmp_path: Path, nlu: Any) -> Iterator[App]:
    """A deployment whose content sets a rate (a made-up figure for the test, with a source of
    content/sources.yml and a checked date), to test the arithmetic and the source line."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    edit_file(root / "budgets" / "exchange_rate.yml", "riel_per_usd: null",
              'riel_per_usd: 4100\nsource: ppp_2018_cs_fund\nchecked: "2026-12-01"')
    application = bootstrap(make_settings(tmp_path, f"sqlite:///{tmp_path / 'rated.db'}",
                                          ISAFBOT_CONTENT_DIR=str(root)), nlu=nlu)
    yield application
    application.close()


def test_a_sourced_rate_gives_about_the_amount_with_the_rate_source_and_date(rated: App
                                                                            ) -> None:
    english, khmer = Chat(rated, "en"), Chat(rated, "km")
    english.send("1029 million riel = how much dollar?")
    # 1,029,000,000 / 4,100 = 250,975.6: about 251,000 (three significant digits)
    assert "1,029 million riel is about 251,000 dollars, at 4,100 riel to 1 dollar." \
        in english.text
    assert "Source: Phnom Penh Post (2018)" in english.text
    assert "1 December 2026" in english.text
    english.send("50 dollars is how much riel")
    assert "50 dollars is about 205,000 riel" in english.text
    khmer.send("១០២៩ លានរៀល ស្មើប៉ុន្មានដុល្លារ")
    assert "ប្រហែលស្មើនឹង ២៥១.០០០ ដុល្លារ" in khmer.text
    assert "៤.១០០ រៀល" in khmer.text and "ប្រភព" in khmer.text and "២០២៦" in khmer.text


@pytest.mark.parametrize(("value", "rounded"), [
    ("250975.6", "251000"), ("257250", "257000"), ("1.255", "1.26"), ("3.5", "3.50"),
    ("12.2", "12.2"), ("999.6", "1000"), ("0.004", "0"),
])
def test_about_keeps_three_significant_digits_and_never_finer_than_a_cent(value: str,
                                                                          rounded: str) -> None:
    assert about(Decimal(value)) == Decimal(rounded)


# ------------------------------------------------------------------ meetings and results

@pytest.mark.parametrize(("question", "english"), [
    ("when is the next meeting", True), ("ពេលណាប្រជុំលើកក្រោយ", False)])
def test_next_meeting_typed_after_a_budget_is_the_meetings_answer(chat: Chat, question: str,
                                                                   english: bool) -> None:
    _after_budget(chat, english)
    chat.send(question)
    assert ("Which commune" if english else "តើអ្នករស់នៅឃុំ") in chat.text  # meetings asks
    chat.send("Kouk Khleang" if english else "គោកឃ្លាង")
    assert "meet:sub" in chat.payloads, chat.text


@pytest.mark.parametrize(("edit", "problem"), [
    ('riel_per_usd: 4100', "every fact needs a source"),
    ('riel_per_usd: 4100\nsource: ppp_2018_cs_fund', "checked"),
    ('riel_per_usd: -5\nsource: ppp_2018_cs_fund\nchecked: "2026-12-01"', "positive number"),
])
def test_a_rate_without_its_source_and_date_is_refused(tmp_path: Path, edit: str,
                                                       problem: str) -> None:
    from bot.features import FEATURES
    from content.loader import check_content

    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    edit_file(root / "budgets" / "exchange_rate.yml", "riel_per_usd: null", edit)
    content, problems = check_content(root, sections=FEATURES.sections)
    assert content is None
    assert any(problem in str(p) and "exchange_rate.yml" in str(p) for p in problems), problems


def test_an_amount_without_its_currency_is_asked_for_not_guessed(chat: Chat) -> None:
    """A bare "4.5" (read as a conversion by the model at the time of writing): riel or
    dollars is asked, never guessed."""
    chat.send("4.5")
    assert "4 riel" not in chat.text and "4.5 riel" not in chat.text
    assert "I can't give" not in chat.text and "about" not in chat.text
    if chat.app is not None and "convert" in chat.text:
        assert "Which amount shall I convert?" in chat.text


@pytest.mark.parametrize(("question", "asked"), [
    ("ថវិកាឃុំជាអ្វី", "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា"),
    ("what is the budget of my commune", "Which commune or sangkat")])
def test_the_communes_budget_asked_is_not_a_glossary_word(chat: Chat, question: str,
                                                          asked: str) -> None:
    chat.send(question)
    assert asked in chat.text  # the budget answer, which first asks the user's commune
    assert "budget words" not in chat.text and "ពាក្យថវិការបស់ខ្ញុំ" not in chat.text
