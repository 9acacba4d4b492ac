"""Khmer normalisation, segmentation and script detection (no model needed)."""

from __future__ import annotations

import pytest

from common.khmer import (
    arabic_to_khmer_digits,
    has_words,
    khmer_to_arabic_digits,
    normalise,
    normalise_text,
    script_of,
    words,
)


@pytest.mark.parametrize(("typed", "canonical"), [
    ("កំា", "កាំ"),  # nikahit typed before the vowel
    ("ស្រ្តី", "ស្ត្រី"),  # coeng ro typed before coeng ta
    ("ស្ដ្រី", "ស្ត្រី"),  # coeng DA and coeng TA look the same
    ("សំបុត្រ\u200cកំណើត", "សំបុត្រកំណើត"),  # zero-width non-joiner
    ("ក\u17c1\u17b8ត", "កើត"),  # េ + ី typed as two vowels
    ("ប៉ុុន្មាន", "ប៉ុន្មាន"),  # a doubled vowel
    ("ាក", "ាក"),  # a stray vowel at the start is kept, not crashed on
])
def test_normalise_fixes_common_typing(typed: str, canonical: str) -> None:
    assert normalise_text(typed) == canonical


def test_zero_width_space_becomes_a_word_boundary_with_offsets_kept() -> None:
    text = "សំបុត្រ\u200bកំណើត"
    norm = normalise(text)
    assert norm.text == "សំបុត្រ កំណើត"
    assert len(norm.starts) == len(norm.text)


def test_words_keep_offsets_into_the_original_text() -> None:
    text = "ស្រ្តី\u200cធ្វើIDcardនៅណា?"
    for word in words(text):
        original = text[word.start:word.end]
        assert normalise_text(original).replace(" ", "") == word.text or word.text.isascii()


def test_latin_words_inside_khmer_stay_whole() -> None:
    tokens = [w.text for w in words("ID card ធ្វើនៅណា bong")]
    assert tokens[:2] == ["ID", "card"]
    assert "bong" in tokens
    assert "ធ្វើ" in tokens


def test_khmer_digits_become_arabic_tokens() -> None:
    text = "ថវិកាឆ្នាំ២០២៤"
    found = words(text)
    assert found[-1].text == "2024"
    assert text[found[-1].start:found[-1].end] == "២០២៤"


def test_digit_conversion_round_trips() -> None:
    assert khmer_to_arabic_digits("០១២៣៤៥៦៧៨៩") == "0123456789"
    assert arabic_to_khmer_digits("2026") == "២០២៦"


@pytest.mark.parametrize(("text", "lang"), [
    ("hello", "en"),
    ("សួស្តី", "km"),
    ("birth certificate តម្លៃប៉ុន្មាន", "km"),
    ("how much is the សំបុត្រកំណើត fee for my daughter please", "en"),
    ("123", None),
    ("😀👍", None),
    ("", None),
])
def test_script_of(text: str, lang: str | None) -> None:
    assert script_of(text) == lang


def test_has_words() -> None:
    assert not has_words("  😀 !! ")
    assert has_words("ក")
    assert has_words("5")


def test_words_survive_huge_and_odd_input() -> None:
    assert words("") == []
    assert words("😀" * 50) == []
    long = "សំបុត្រកំណើត " * 100
    assert len(words(long)) >= 100
