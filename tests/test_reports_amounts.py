"""The amount parser (common/amounts.py): Khmer and Arabic digits, the words for ten thousand
and a thousand, riel and dollars; what is not an amount is refused with its reason."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common import formatting as fmt
from common.amounts import (
    MAXIMUM,
    RIEL,
    USD,
    Amount,
    AmountError,
    find_amounts,
    parse_amount,
    words_value,
)
from common.khmer import arabic_to_khmer_digits


@pytest.mark.parametrize(("typed", "value", "currency"), [
    ("they asked me for 20,000 riel", 20000, RIEL),
    ("20 000", 20000, RIEL),
    ("20.000 រៀល", 20000, RIEL),
    ("២០,០០០៛", 20000, RIEL),
    ("២ម៉ឺន", 20000, RIEL),
    ("២ មុឺន រៀល", 20000, RIEL),  # a common misspelling of ម៉ឺន
    ("២០ពាន់", 20000, RIEL),
    ("1.5 ម៉ឺន", 15000, RIEL),
    ("១ម៉ឺន៥ពាន់", 15000, RIEL),
    ("2 meun riel", 20000, RIEL),
    ("20k", 20000, RIEL),
    ("១សែន", 100000, RIEL),
    ("$5", 5, USD),
    ("US$ 3.50", Decimal("3.5"), USD),
    ("5 dollars", 5, USD),
    ("៥ដុល្លារ", 5, USD),
    ("1,5 dollar", Decimal("1.5"), USD),
    ("in 2024 they asked 15000", 15000, RIEL),  # the year is not the amount
    ("5", 5, USD),  # no currency: a small number is dollars
])
def test_amounts_as_people_type_them(typed: str, value: int | Decimal, currency: str) -> None:
    amount = parse_amount(typed)
    assert (amount.value, amount.currency) == (Decimal(value), currency)


@pytest.mark.parametrize(("typed", "reason"), [
    ("a lot", "not_a_number"), ("", "not_a_number"), ("ច្រើនណាស់", "not_a_number"),
    ("0", "zero"), ("០ រៀល", "zero"),
    ("99999999999", "too_large"), ("$20,000", "too_large"), ("5 លាន ដុល្លារ", "too_large"),
    ("10,000 riel and $5", "several"),
])
def test_what_is_not_an_amount_is_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert refused.value.reason == reason


def test_spans_point_into_the_original_text() -> None:
    text = "គេយក​២ម៉ឺនរៀល ពីខ្ញុំ"  # with a zero-width space
    [found] = find_amounts(text)
    assert text[found.start:found.end] == "២ម៉ឺនរៀល"
    assert found.amount.canonical() == "20000 riel"


@given(st.integers(min_value=1, max_value=40_000_000), st.sampled_from(["km", "en"]))
def test_every_amount_the_bot_writes_reads_back(riel: int, lang: str) -> None:
    """What the bot writes (common/formatting: ១០.០០០ រៀល, 10,000 riel) is read back."""
    assert parse_amount(fmt.riel(riel, lang)) == Amount(Decimal(riel), RIEL)


@given(st.integers(min_value=1, max_value=4000), st.booleans(), st.booleans())
def test_ten_thousands_in_khmer_or_arabic_digits(meun: int, khmer: bool, space: bool) -> None:
    digits = arabic_to_khmer_digits(str(meun)) if khmer else str(meun)
    amount = parse_amount(f"{digits}{' ' if space else ''}ម៉ឺន")
    assert amount.value == meun * 10_000 and amount.currency == RIEL


@given(st.text(max_size=80))
def test_any_text_is_an_amount_or_a_reason(text: str) -> None:
    try:
        amount = parse_amount(text)
    except AmountError as refused:
        assert refused.reason in ("not_a_number", "zero", "too_large", "several")
    else:
        assert 0 < amount.value <= MAXIMUM[amount.currency or RIEL]
        assert Amount.from_canonical(amount.canonical()).value == amount.value


def test_minor_units() -> None:
    assert parse_amount("$1.50").minor() == 150
    assert parse_amount("២ម៉ឺន").minor() == 20000


# ------------------------------------------------------------------ Khmer number words

@pytest.mark.parametrize(("typed", "value", "currency"), [
    ("ម្ភៃពាន់", 20_000, RIEL),
    ("ពីរម៉ឺន", 20_000, RIEL),
    ("ដប់ប្រាំពាន់", 15_000, RIEL),
    ("មួយសែន", 100_000, RIEL),
    ("ប្រាំរយ", 500, RIEL),
    ("មួយលាន", 1_000_000, RIEL),
    ("២ម៉ឺនប្រាំពាន់", 25_000, RIEL),  # digits and words mixed
    ("ពីរម៉ឺន៥ពាន់រៀល", 25_000, RIEL),
    ("គេយកលុយខ្ញុំពីរម៉ឺនប្រាំពាន់រៀល", 25_000, RIEL),  # in a sentence, no spaces
    ("ម្ភៃ ពាន់ រៀល", 20_000, RIEL),
    ("ប្រាំមួយពាន់", 6_000, RIEL),  # 5 + 1
    ("មួយរយម្ភៃពាន់", 120_000, RIEL),
    ("មួយលានប្រាំសែន", 1_500_000, RIEL),
    ("ម្ភៃប្រាំដុល្លារ", 25, USD),  # a currency makes a sum without a multiplier
    ("៥រយ", 500, RIEL),  # រយ after digits
    ("២លាន៣រយរៀល", 2_000_300, RIEL),
])
def test_khmer_number_words(typed: str, value: int, currency: str) -> None:
    amount = parse_amount(typed)
    assert (amount.value, amount.currency) == (Decimal(value), currency)


@pytest.mark.parametrize("typed", ["រយៈពេលពីរថ្ងៃ", "មួយណា?", "សែនលំបាក", "បីដង"])
def test_words_that_are_no_sum(typed: str) -> None:
    """A duration, "which one", "very hard", "three times": no multiplier or currency."""
    assert find_amounts(typed) == []


_UNITS = ["", "មួយ", "ពីរ", "បី", "បួន", "ប្រាំ", "ប្រាំមួយ", "ប្រាំពីរ", "ប្រាំបី", "ប្រាំបួន"]
_TENS = ["", "ដប់", "ម្ភៃ", "សាមសិប", "សែសិប", "ហាសិប", "ហុកសិប", "ចិតសិប", "ប៉ែតសិប",
         "កៅសិប"]
_PLACES = [(1_000_000, "លាន"), (100_000, "សែន"), (10_000, "ម៉ឺន"), (1_000, "ពាន់"),
           (100, "រយ")]


def khmer_words(number: int, digits: Callable[[int], bool] = lambda count: False) -> str:
    """A number as a Khmer speaker writes it in words ("ពីរម៉ឺនប្រាំពាន់"); `digits(count)`
    says which counts are written in Khmer digits instead ("២ម៉ឺនប្រាំពាន់")."""
    parts = []
    for value, word in _PLACES:
        count, number = divmod(number, value)
        if count:
            said = arabic_to_khmer_digits(str(count)) if digits(count) else khmer_words(count)
            parts.append(said + word)
    if number:
        parts.append(_TENS[number // 10] + _UNITS[number % 10])
    return "".join(parts)


@given(st.integers(min_value=100, max_value=40_000_000))
def test_a_number_in_khmer_words_reads_back(riel: int) -> None:
    words = khmer_words(riel)
    assert words_value(words) == riel
    if riel >= 1000 or riel % 100 == 0:  # a multiplier is in the words: a sum alone
        assert parse_amount(words).value == riel
    assert parse_amount(words + "រៀល") == Amount(Decimal(riel), RIEL)


@given(st.integers(min_value=1_000, max_value=40_000_000), st.randoms(use_true_random=False))
def test_words_mixed_with_digits_read_back(riel: int, chance: Any) -> None:
    mixed = khmer_words(riel, lambda count: chance.random() < 0.5)
    assert parse_amount(f"គេយកលុយខ្ញុំ{mixed}រៀល").value == riel, mixed
