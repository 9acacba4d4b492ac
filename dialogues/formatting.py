"""Numbers, money and dates the way each language writes them (Khmer digits in Khmer)."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from nlu.khmer import arabic_to_khmer_digits

_LOCALES = {"km": "km", "en": "en_GB"}


def number(value: float, lang: str) -> str:
    """1,500,000 in English; ១.៥០០.០០០ in Khmer (CLDR's Khmer grouping, Khmer digits)."""
    if lang == "km":
        return arabic_to_khmer_digits(format_decimal(value, locale="km", numbering_system="khmr"))
    return format_decimal(value, locale=_LOCALES["en"])


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


def moment(value: datetime, lang: str) -> str:
    """A local date and time, e.g. for a meeting."""
    if lang == "km":
        text = f"{format_date(value, format='full', locale='km')} ម៉ោង {value:%H:%M}"
        return arabic_to_khmer_digits(text)
    return format_datetime(value, format="EEEE d MMMM y, HH:mm", locale=_LOCALES["en"])


def clock_time(value: datetime, lang: str) -> str:
    text = format_time(value, format="HH:mm", locale=_LOCALES.get(lang, "en_GB"))
    return arabic_to_khmer_digits(text) if lang == "km" else text


def integer(value: int, lang: str) -> str:
    """A count or year without grouping (2026, ២០២៦)."""
    return arabic_to_khmer_digits(str(value)) if lang == "km" else str(value)
