"""A meeting's date and time as a CAF types it, in Khmer or English (Khmer digits too).

Accepted (local time, Asia/Phnom_Penh by default):
- a date: `15/12/2026`, `15-12-2026`, `15.12.2026`, `2026-12-15`, `15/12` (the next such day),
  or `today`/`tomorrow`/`day after tomorrow` (`ថ្ងៃនេះ`, `ស្អែក`/`ថ្ងៃស្អែក`, `ខានស្អែក`);
- a time: `14:00`, `14h`, `14h30`, `2pm`, `8 am`, `ម៉ោង ២`, `ម៉ោង ២:៣០`, with an optional
  period word (`morning`/`afternoon`/`evening`, `ព្រឹក`, `ថ្ងៃត្រង់`, `រសៀល`, `ល្ងាច`, `យប់`).

An hour from 1 to 6 with no am/pm or period word is read as the afternoon (13:00 to 18:00):
nobody calls a commune meeting at 2 in the night, and "ម៉ោង ២" in a meeting notice means 2 pm.
A time in the past is refused; so is a text without a date or without a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from common.khmer import khmer_to_arabic_digits

_DATE_DMY = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2,4}))?\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_TIME_COLON = re.compile(r"\b(\d{1,2})\s*[:h]\s*(\d{2})\b")
_TIME_AMPM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)
_TIME_H = re.compile(r"\b(\d{1,2})\s*h\b", re.IGNORECASE)
_TIME_KHMER = re.compile(r"ម៉ោង\s*(\d{1,2})(?:\s*[:.]\s*(\d{2}))?")
_TIME_AT = re.compile(r"\bat\s+(\d{1,2})\b", re.IGNORECASE)

_DAY_AFTER = ("day after tomorrow", "ខានស្អែក")
_TOMORROW = ("tomorrow", "ថ្ងៃស្អែក", "ស្អែក")
_TODAY = ("today", "ថ្ងៃនេះ")
_MORNING = ("morning", "ព្រឹក")
_NOON = ("noon", "midday", "ថ្ងៃត្រង់")
_AFTERNOON = ("afternoon", "evening", "night", "រសៀល", "ល្ងាច", "យប់")


@dataclass(frozen=True)
class When:
    """A parsed local time, or why there is none: unreadable, no_date, no_time, bad_date,
    past."""

    at: datetime | None
    problem: str | None = None


def parse_when(text: str, now_local: datetime) -> When:
    """`now_local` is aware, in the meeting's time zone; the result is in the same zone."""
    raw = khmer_to_arabic_digits(text or "").strip()
    lowered = raw.lower()
    if not lowered:
        return When(None, "unreadable")
    day, rest = _find_date(lowered, now_local.date())
    if day == "bad":
        return When(None, "bad_date")
    clock = _find_time(rest)
    if clock == "bad":
        return When(None, "bad_date")
    if day is None and clock is None:
        return When(None, "unreadable")
    if day is None:
        return When(None, "no_date")
    if clock is None:
        return When(None, "no_time")
    assert isinstance(day, date) and isinstance(clock, time)
    at = datetime.combine(day, clock, tzinfo=now_local.tzinfo)
    if at <= now_local:
        return When(at, "past")
    return When(at)


def parse_day(text: str, today: date) -> When:
    """A date alone (a deadline), the same ways as above; the result is midnight of that day
    (naive). Problems: unreadable, bad_date, past (before `today`)."""
    raw = khmer_to_arabic_digits(text or "").strip().lower()
    day, _ = _find_date(raw, today) if raw else (None, "")
    if day == "bad":
        return When(None, "bad_date")
    if not isinstance(day, date):
        return When(None, "unreadable")
    at = datetime.combine(day, time(0, 0))
    return When(at, "past") if day < today else When(at)


def _find_date(text: str, today: date) -> tuple[date | str | None, str]:
    """The date and the text without it (so its digits are not read as a time)."""
    for words, days in ((_DAY_AFTER, 2), (_TOMORROW, 1), (_TODAY, 0)):
        for word in words:
            if word in text:
                return today + timedelta(days=days), text.replace(word, " ")
    match = _DATE_ISO.search(text)
    if match:
        year, month, day_ = (int(g) for g in match.groups())
        return _date(year, month, day_), text[:match.start()] + " " + text[match.end():]
    for match in _DATE_DMY.finditer(text):
        # "14.30" or "8-9" are not dates; a date has a year or a slash
        if match.group(3) is None and "/" not in match.group(0):
            continue
        day_, month = int(match.group(1)), int(match.group(2))
        rest = text[:match.start()] + " " + text[match.end():]
        if match.group(3):
            year = int(match.group(3))
            year = year + 2000 if year < 100 else year
            return _date(year, month, day_), rest
        found = _date(today.year, month, day_)
        if isinstance(found, date) and found < today:
            found = _date(today.year + 1, month, day_)
        return found, rest
    return None, text


def _date(year: int, month: int, day: int) -> date | str:
    try:
        return date(year, month, day)
    except ValueError:
        return "bad"


def _find_time(text: str) -> time | str | None:
    hour: int | None = None
    minute = 0
    meridiem: str | None = None
    if match := _TIME_AMPM.search(text):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = "pm" if match.group(3).lower().startswith("p") else "am"
    elif match := _TIME_KHMER.search(text):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
    elif match := _TIME_COLON.search(text):
        hour, minute = int(match.group(1)), int(match.group(2))
    elif match := _TIME_H.search(text) or _TIME_AT.search(text):
        hour = int(match.group(1))
    if hour is None:
        return None
    if meridiem is None:
        if any(word in text for word in _MORNING):
            meridiem = "am"
        elif any(word in text for word in _AFTERNOON):
            meridiem = "pm"
        elif any(word in text for word in _NOON):
            meridiem = "pm" if hour == 12 else None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return "bad"
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif 1 <= hour <= 6:
        hour += 12  # "ម៉ោង ២" at a meeting is 2 pm (module docstring)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return "bad"
    return time(hour, minute)
