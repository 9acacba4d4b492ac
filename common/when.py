"""A meeting's date and time as a CAF types it, in Khmer or English (Khmer digits too).

Accepted (local time, Asia/Phnom_Penh by default):
- a date: `15/12/2026`, `15-12-2026`, `15.12.2026`, `2026-12-15`, `15/12` (the next such day),
  `today`/`tomorrow`/`day after tomorrow` (`ថ្ងៃនេះ`, `ស្អែក`/`ថ្ងៃស្អែក`, `ខានស្អែក`),
  a day and month the way people write them (`ទី៨ ខែ១២`, `ថ្ងៃទី៨ ខែធ្នូ ឆ្នាំ២០២៦`,
  `៨ ធ្នូ ២០២៦`, `8 Dec`, `December 8th 2026`, `ទី៨` alone: the next 8th), or a weekday
  (`Tuesday`, `this Friday`, `next Tuesday`, `ថ្ងៃអង្គារ`, `ថ្ងៃសុក្រនេះ`, `ថ្ងៃអង្គារក្រោយ`);
- a time: `14:00`, `14h`, `14h30`, `2pm`, `8 am`, `at 3`, `from 2`, `to 3`, `ម៉ោង ២`, `ម៉ោង២រសៀល`,
  `ម៉ោង ២:៣០`, `ម៉ោង២កន្លះ`, with an optional period word (`morning`/`afternoon`/`evening`,
  `ព្រឹក`, `ថ្ងៃត្រង់`, `រសៀល`, `ល្ងាច`, `យប់`).

A weekday alone is the nearest such day from today on (a week later if that moment has
passed); "next Tuesday" (`ថ្ងៃអង្គារក្រោយ`) is the Tuesday of next week (weeks begin on
Monday). A weekday written with a date must be that date's weekday. An hour from 1 to 6 with
no am/pm or period word is read as the afternoon (13:00 to 18:00): nobody calls a commune
meeting at 2 in the night, and "ម៉ោង ២" in a meeting notice means 2 pm. `យប់` (night) with 12
is midnight, with 1 to 4 the small hours. A time in the past is refused; so is a text without
a date or without a time, unless `base` (the meeting being moved) gives the missing part:
"move it to 3" keeps the day, "move it to Friday" keeps the hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from babel.dates import get_month_names

from common.khmer import khmer_to_arabic_digits, normalise_text

_DATE_DMY = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2,4}))?\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_TIME_COLON = re.compile(r"\b(\d{1,2})\s*[:h]\s*(\d{2})\b")
_TIME_AMPM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)
_TIME_H = re.compile(r"\b(\d{1,2})\s*(?:h|o'?clock)\b", re.IGNORECASE)
_TIME_KHMER = re.compile(r"ម៉ោង\s*(\d{1,2})(?:\s*[:.]\s*(\d{2})|\s*(?:និង)?\s*(\d{1,2})\s*នាទី"
                         r"|\s*(កន្លះ))?")
_TIME_AT = re.compile(r"\b(?:at|from|to)\s+(\d{1,2})\b(?!\s*[/.\-]\s*\d)", re.IGNORECASE)

_DAY_AFTER = ("day after tomorrow", "ខានស្អែក")
_TOMORROW = ("tomorrow", "ថ្ងៃស្អែក", "ស្អែក")
_TODAY = ("today", "ថ្ងៃនេះ")
_MORNING = ("morning", "ព្រឹក")
_NOON = ("noon", "midday", "ថ្ងៃត្រង់")
_AFTERNOON = ("afternoon", "evening", "រសៀល", "ល្ងាច")
_NIGHT = ("night", "យប់")

# Month names: Khmer from CLDR (Babel, as the formatter writes them), English full and short.
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")
_MONTHS: dict[str, int] = {normalise_text(name): number for number, name
                           in get_month_names("wide", locale="km").items()}
_MONTHS.update({name: i + 1 for i, name in enumerate(_EN_MONTHS)})
_MONTHS.update({name[:3]: i + 1 for i, name in enumerate(_EN_MONTHS)})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_YEAR = r"(?:\s*,?\s*(?:ឆ្នាំ\s*)?(\d{4})\b)?"
_KM_DAY_MONTH = re.compile(r"(?<!នា)ទី\s*(\d{1,2})\s*ខែ\s*(\d{1,2}|" + _MONTH_RE + r")"
                           r"(?:\s*ឆ្នាំ\s*(\d{2,4})|\s+(\d{4})\b)?")
_DAY_NAME_MONTH = re.compile(r"(?:(?<!នា)ទី\s*)?\b(\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?(?:ខែ\s*)?"
                             r"(" + _MONTH_RE + r")(?![a-z])\.?" + _YEAR)
_NAME_MONTH_DAY = re.compile(r"\b(" + _MONTH_RE + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b" + _YEAR)
_KM_DAY_ONLY = re.compile(r"(?<!នា)ទី\s*(\d{1,2})(?!\s*[/.\-:]\s*\d)")

# Weekdays, Monday = 0: Khmer (CLDR's and the spellings people type), English full and short.
_WEEKDAYS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("ច័ន្ទ", "ចន្ទ", "monday", "mon")),
    (1, ("អង្គារ", "tuesday", "tues", "tue")),
    (2, ("ពុធ", "ពុត", "wednesday", "wed")),
    (3, ("ព្រហស្បតិ៍", "ព្រហស្បតិ", "ព្រហ", "thursday", "thurs", "thur", "thu")),
    (4, ("សុក្រ", "friday", "fri")),
    (5, ("សៅរ៍", "សៅ", "saturday", "sat")),
    (6, ("អាទិត្យ", "sunday", "sun")),
)
_NEXT_WEEK = re.compile(r"\bnext\s+(?:week\b)?|\bnext week\b|ក្រោយ|បន្ទាប់")


@dataclass(frozen=True)
class When:
    """A parsed local time, or why there is none: unreadable, no_date, no_time, bad_date,
    past."""

    at: datetime | None
    problem: str | None = None


def _clean(text: str) -> str:
    """Khmer normalised (invisible characters, mark order), Arabic digits, lower case."""
    return khmer_to_arabic_digits(normalise_text(text or "")).strip().lower()


def parse_when(text: str, now_local: datetime, base: datetime | None = None) -> When:
    """`now_local` is aware, in the meeting's time zone; the result is in the same zone.
    `base`, when given (an edit), fills in the date or the time the text leaves out."""
    lowered = _clean(text)
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
    if base is not None:
        base = base.astimezone(now_local.tzinfo)
        day = base.date() if day is None else day
        clock = base.time().replace(tzinfo=None) if clock is None else clock
    if day is None:
        return When(None, "no_date")
    if clock is None:
        return When(None, "no_time")
    assert isinstance(clock, time)
    if isinstance(day, _Weekday):
        day = day.resolve(clock, now_local)
    assert isinstance(day, date)
    at = datetime.combine(day, clock, tzinfo=now_local.tzinfo)
    if at <= now_local:
        return When(at, "past")
    return When(at)


def parse_day(text: str, today: date) -> When:
    """A date alone (a deadline), the same ways as above; the result is midnight of that day
    (naive). Problems: unreadable, bad_date, past (before `today`)."""
    raw = _clean(text)
    day, _ = _find_date(raw, today) if raw else (None, "")
    if day == "bad":
        return When(None, "bad_date")
    if isinstance(day, _Weekday):
        day = day.first
    if not isinstance(day, date):
        return When(None, "unreadable")
    at = datetime.combine(day, time(0, 0))
    return When(at, "past") if day < today else When(at)


@dataclass(frozen=True)
class _Weekday:
    """A weekday without a date: its first possible day, and whether a time already past on
    that day moves it a week on ("Tuesday" typed on a Tuesday evening)."""

    first: date
    may_roll: bool

    def resolve(self, clock: time, now_local: datetime) -> date:
        if self.may_roll and datetime.combine(self.first, clock,
                                              tzinfo=now_local.tzinfo) <= now_local:
            return self.first + timedelta(days=7)
        return self.first


def _find_date(text: str, today: date) -> tuple[date | _Weekday | str | None, str]:
    """The date and the text without it (so its digits are not read as a time)."""
    weekday, text = _find_weekday(text)
    found, text = _find_calendar_date(text, today)
    if found is None and weekday is not None:
        number, is_next = weekday
        if is_next:  # the same weekday of next week (weeks begin on Monday)
            monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
            return _Weekday(monday + timedelta(days=number), False), text
        return _Weekday(today + timedelta(days=(number - today.weekday()) % 7), True), text
    if isinstance(found, date) and weekday is not None and found.weekday() != weekday[0]:
        return "bad", text  # "Tuesday 9 December": 9 December 2026 is a Wednesday
    return found, text


def _find_weekday(text: str) -> tuple[tuple[int, bool] | None, str]:
    """The weekday named (and whether it is next week's), and the text without it."""
    found: list[tuple[int, int, int]] = []  # (start, end, weekday)
    for number, names in _WEEKDAYS:
        for name in names:
            latin = name.isascii()
            pattern = (rf"\b{name}\b" if latin else rf"(?:ថ្ងៃ\s*)?{name}")
            for match in re.finditer(pattern, text):
                if not latin and name == "អាទិត្យ" and not match.group().startswith("ថ្ងៃ") \
                        and re.match(r"\s*(?:ក្រោយ|នេះ|មុន|បន្ទាប់)", text[match.end():]):
                    continue  # "អាទិត្យក្រោយ" alone is next week, not Sunday
                if not any(s <= match.start() < e for s, e, _ in found):
                    found.append((match.start(), match.end(), number))
    if not found:
        return None, text
    start, end, number = min(found)
    rest = text[:start] + " " + text[end:]
    is_next = bool(_NEXT_WEEK.search(rest)) and "this" not in rest
    rest = _NEXT_WEEK.sub(" ", rest)
    return (number, is_next), rest


def _find_calendar_date(text: str, today: date) -> tuple[date | str | None, str]:
    for words, days in ((_DAY_AFTER, 2), (_TOMORROW, 1), (_TODAY, 0)):
        for word in words:
            if word in text:
                return today + timedelta(days=days), text.replace(word, " ")
    match = _DATE_ISO.search(text)
    if match:
        year, month, day_ = (int(g) for g in match.groups())
        return _date(year, month, day_), _cut(text, match)
    for found in (_named_date(text, today), _numeric_date(text, today)):
        if found is not None:
            return found
    match = _KM_DAY_ONLY.search(text)
    if match:  # "ទី៨" alone: the next 8th
        day_ = int(match.group(1))
        for ahead in range(0, 3):
            month = (today.month - 1 + ahead) % 12 + 1
            year = today.year + (today.month - 1 + ahead) // 12
            candidate = _date(year, month, day_)
            if isinstance(candidate, date) and candidate >= today:
                return candidate, _cut(text, match)
        return "bad", _cut(text, match)
    return None, text


def _named_date(text: str, today: date) -> tuple[date | str, str] | None:
    """`ទី៨ ខែ១២`, `ទី៨ ខែធ្នូ ឆ្នាំ២០២៦`, `8 Dec 2026`, `December 8th`."""
    for pattern, order in ((_KM_DAY_MONTH, "dm"), (_DAY_NAME_MONTH, "dm"),
                           (_NAME_MONTH_DAY, "md")):
        match = pattern.search(text)
        if match is None:
            continue
        first, second = match.group(1), match.group(2)
        day_text, month_text = (first, second) if order == "dm" else (second, first)
        month = int(month_text) if month_text.isdigit() else _MONTHS[month_text.rstrip(".")]
        year_text = next((g for g in match.groups()[2:] if g), None)
        return _day_month(int(day_text), month, year_text, today), _cut(text, match)
    return None


def _numeric_date(text: str, today: date) -> tuple[date | str, str] | None:
    for match in _DATE_DMY.finditer(text):
        # "14.30" or "8-9" are not dates; a date has a year or a slash
        if match.group(3) is None and "/" not in match.group(0):
            continue
        return _day_month(int(match.group(1)), int(match.group(2)), match.group(3),
                          today), _cut(text, match)
    return None


def _day_month(day_: int, month: int, year_text: str | None, today: date) -> date | str:
    """A day of a month; without a year, the next such day from today on."""
    if year_text:
        year = int(year_text)
        return _date(year + 2000 if year < 100 else year, month, day_)
    found = _date(today.year, month, day_)
    if isinstance(found, date) and found < today:
        found = _date(today.year + 1, month, day_)
    return found


def _cut(text: str, match: re.Match[str]) -> str:
    return text[:match.start()] + " " + text[match.end():]


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
        hour = int(match.group(1))
        minute = 30 if match.group(4) else int(match.group(2) or match.group(3) or 0)
    elif match := _TIME_COLON.search(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if match.group(1).startswith("0"):  # "04:05" is a 24-hour time: 4 in the morning
            return _clock(hour, minute, "24h")
    elif match := _TIME_H.search(text) or _TIME_AT.search(text):
        hour = int(match.group(1))
    if hour is None:
        return None
    return _clock(hour, minute, meridiem or _period(text, hour))


def _period(text: str, hour: int) -> str | None:
    """am or pm from a period word ("ម៉ោង ៨ យប់" is 20:00, "ម៉ោង ១២ យប់" midnight)."""
    if any(word in text for word in _NIGHT):
        return "am" if hour == 12 or 1 <= hour <= 4 else "pm"
    if any(word in text for word in _MORNING):
        return "am"
    if any(word in text for word in _AFTERNOON):
        return "pm"
    if any(word in text for word in _NOON):
        return "pm" if hour == 12 else None
    return None


def _clock(hour: int, minute: int, meridiem: str | None) -> time | str:
    if meridiem == "24h":
        pass
    elif meridiem is not None:
        if not 1 <= hour <= 12:
            return "bad"
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif 1 <= hour <= 6:
        hour += 12  # "ម៉ោង ២" at a meeting is 2 pm (module docstring)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return "bad"
    return time(hour, minute)
