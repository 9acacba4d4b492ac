"""Dates and times the way people write them, for meetings and deadlines.

Khmer: `ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល`, the words ថ្ងៃ (day), ទី (the nth), ខែ
(month), ឆ្នាំ (year) written out, a 12-hour clock with its period word, Khmer digits. CLDR's
Khmer pattern (Babel's `format_date(..., locale="km")`) gives `អង្គារ 8 ធ្នូ 2026`, without
those words and with Arabic digits, so only its weekday and month names are taken from Babel.
English keeps Babel's `Tuesday 8 December 2026, 14:00`. `common.when` reads both back.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_datetime, get_day_names, get_month_names

from common.khmer import arabic_to_khmer_digits

_EN = "en_GB"


def _period(hour: int) -> str:
    """The Khmer period word of an hour (0-23), as `common.when` reads it back."""
    if hour < 5 or hour >= 19:
        return "យប់"
    if hour < 12:
        return "ព្រឹក"
    if hour < 13:
        return "ថ្ងៃត្រង់"
    return "រសៀល" if hour < 17 else "ល្ងាច"


def khmer_clock(value: datetime) -> str:
    """`ម៉ោង ២ រសៀល`, `ម៉ោង ៨:៣០ ព្រឹក`, `ម៉ោង ១២ ថ្ងៃត្រង់`, `ម៉ោង ១២ យប់` (midnight)."""
    hour = value.hour % 12 or 12
    clock = f"{hour}:{value.minute:02d}" if value.minute else str(hour)
    return arabic_to_khmer_digits(f"ម៉ោង {clock} {_period(value.hour)}")


def day(value: date, lang: str, *, weekday: bool = True) -> str:
    """`ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦` (or `ថ្ងៃទី៨ ខែធ្នូ ឆ្នាំ២០២៦` without the weekday);
    `Tuesday 8 December 2026` (or `8 December 2026`)."""
    if lang == "km":
        month = get_month_names("wide", locale="km")[value.month]
        text = f"ទី{value.day} ខែ{month} ឆ្នាំ{value.year}"
        if weekday:
            name = get_day_names("wide", locale="km")[value.weekday()]
            text = f"ថ្ងៃ{name} {text}"
        else:
            text = f"ថ្ងៃ{text}"
        return arabic_to_khmer_digits(text)
    pattern = "EEEE d MMMM y" if weekday else "d MMMM y"
    return format_date(value, format=pattern, locale=_EN)


def moment(value: datetime, lang: str) -> str:
    """A meeting's local date and time: `ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល`,
    `Tuesday 8 December 2026, 14:00`."""
    if lang == "km":
        return f"{day(value, 'km')} {khmer_clock(value)}"
    return format_datetime(value, format="EEEE d MMMM y, HH:mm", locale=_EN)


def short_moment(value: datetime, lang: str) -> str:
    """For a button (60 characters at most): `អង្គារ ៨ ធ្នូ ម៉ោង ២ រសៀល`, `Tue 8 Dec, 14:00`."""
    if lang == "km":
        name = get_day_names("wide", locale="km")[value.weekday()]
        month = get_month_names("wide", locale="km")[value.month]
        return arabic_to_khmer_digits(f"{name} {value.day} {month} ") + khmer_clock(value)
    return format_datetime(value, format="EEE d MMM, HH:mm", locale=_EN)
