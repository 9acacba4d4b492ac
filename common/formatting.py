"""Numbers, money and dates the way each language writes them (Khmer digits in Khmer).

`number` is the one place that decides how a quantity is written: CLDR's grouping for the
language (Babel: 10,000 in English, ១០.០០០ in Khmer). Every answer, chart and page formats
quantities through it, and `isafbot content check` holds numbers written by hand in content
texts to the same style (`number_style_problems`), so one answer never mixes ១០.០០០ and ១០ ០០០.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from common import khmer_dates
from common.khmer import arabic_to_khmer_digits, khmer_to_arabic_digits

_LOCALES = {"km": "km", "en": "en_GB"}


def number(value: float, lang: str) -> str:
    """1,500,000 in English; ១.៥០០.០០០ in Khmer (CLDR's Khmer grouping, Khmer digits)."""
    if lang == "km":
        return arabic_to_khmer_digits(format_decimal(value, locale="km", numbering_system="khmr"))
    return format_decimal(value, locale=_LOCALES["en"])


def integer(value: int, lang: str) -> str:
    """A count (people, answers, recipients): grouped like every other quantity."""
    return number(int(value), lang)


def digits(value: int, lang: str) -> str:
    """A year or a label (round 12), written digit for digit, never grouped (2026, ២០២៦)."""
    return arabic_to_khmer_digits(str(value)) if lang == "km" else str(value)


def riel(amount: int, lang: str) -> str:
    return f"{number(amount, lang)} រៀល" if lang == "km" else f"{number(amount, 'en')} riel"


def usd(amount: float, lang: str) -> str:
    whole = round(amount)
    return f"{number(whole, lang)} ដុល្លារ" if lang == "km" else f"${number(whole, 'en')}"


def percent(share: float, lang: str) -> str:
    """A share (0..1) as a whole percentage."""
    text = str(round(share * 100))
    return f"{arabic_to_khmer_digits(text)}%" if lang == "km" else f"{text}%"


def day(value: date, lang: str) -> str:
    """29 November 2026 / ២៩ វិច្ឆិកា ២០២៦."""
    text = format_date(value, format="long", locale=_LOCALES.get(lang, "en_GB"))
    return arabic_to_khmer_digits(text) if lang == "km" else text


def month(value: date, lang: str) -> str:
    """December 2026 / ធ្នូ ២០២៦: when a fact was checked, in the short source line."""
    text = format_date(value, format="LLLL y", locale=_LOCALES.get(lang, "en_GB"))
    return arabic_to_khmer_digits(text) if lang == "km" else text


def moment(value: datetime, lang: str) -> str:
    """A local date and time, e.g. for a meeting: the one way of common.khmer_dates."""
    return khmer_dates.moment(value, lang)


def clock_time(value: datetime, lang: str) -> str:
    text = format_time(value, format="HH:mm", locale=_LOCALES.get(lang, "en_GB"))
    return arabic_to_khmer_digits(text) if lang == "km" else text


# ------------------------------------------------------------------ numbers written by hand

_DIGIT = "0-9០-៩"
# 10,000 / ១០.០០០ / ១០ ០០០ (grouped), 10000 (five or more digits), 4000 riel (an amount of
# four digits; other four-digit numbers are years).
_HAND_WRITTEN = re.compile(
    rf"(?<![{_DIGIT}.,])(?:[{_DIGIT}]{{1,3}}(?:[ \u00a0\u202f.,][{_DIGIT}]{{3}})+"
    rf"|[{_DIGIT}]{{5,}}|[{_DIGIT}]{{4}}(?=\s*(?:riel|រៀល|ដុល្លារ|dollar)))(?![{_DIGIT}])")


def number_style_problems(text: str, lang: str) -> list[str]:
    """Numbers in a content text that `number` would write differently, as "X (write Y)"."""
    problems = []
    for match in _HAND_WRITTEN.finditer(text):
        written = match.group()
        digits = re.sub(r"[^0-9]", "", khmer_to_arabic_digits(written))
        expected = number(int(digits), lang)
        if written != expected:
            problems.append(f"{written} (write {expected})")
    return problems
