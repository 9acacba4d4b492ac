"""The date and time a CAF types, in Khmer and English (Khmer digits too), Asia/Phnom_Penh;
and the way a meeting's date and time is written (common/khmer_dates.py), read back."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from babel.dates import get_month_names
from hypothesis import given, settings
from hypothesis import strategies as st

from common import formatting as fmt
from common import khmer_dates as dates
from common.khmer import khmer_to_arabic_digits
from common.when import parse_day, parse_when
from tests.meetings_helpers import PP, pp

NOW = pp(2026, 11, 29, 20, 30)  # Sunday evening in Phnom Penh


@pytest.mark.parametrize(("text", "expected"), [
    ("15/12/2026 14:00", pp(2026, 12, 15, 14, 0)),
    ("15-12-2026 9:30", pp(2026, 12, 15, 9, 30)),
    ("2026-12-15 14:00", pp(2026, 12, 15, 14, 0)),
    ("15/12 14h", pp(2026, 12, 15, 14, 0)),
    ("15/12/26 2pm", pp(2026, 12, 15, 14, 0)),
    ("tomorrow 8am", pp(2026, 11, 30, 8, 0)),
    ("Tomorrow at 8", pp(2026, 11, 30, 8, 0)),
    ("day after tomorrow 14:30", pp(2026, 12, 1, 14, 30)),
    ("today 9 pm", pp(2026, 11, 29, 21, 0)),
    ("១៥/១២/២០២៦ ម៉ោង ២", pp(2026, 12, 15, 14, 0)),  # 2 at a meeting: 2 pm
    ("១៥/១២/២០២៦ ម៉ោង ២ រសៀល", pp(2026, 12, 15, 14, 0)),
    ("១៥/១២/២០២៦ ម៉ោង ៨ ព្រឹក", pp(2026, 12, 15, 8, 0)),
    ("ថ្ងៃស្អែក ម៉ោង ៨ ព្រឹក", pp(2026, 11, 30, 8, 0)),
    ("ស្អែក ម៉ោង ១៤:៣០", pp(2026, 11, 30, 14, 30)),
    ("ខានស្អែក ម៉ោង ៩", pp(2026, 12, 1, 9, 0)),
    ("10/1 8:00", pp(2027, 1, 10, 8, 0)),  # no year: the next 10 January
])
def test_dates_and_times_people_type(text: str, expected: datetime) -> None:
    when = parse_when(text, NOW)
    assert when.problem is None, text
    assert when.at == expected
    assert when.at is not None and when.at.tzinfo == PP


@pytest.mark.parametrize(("text", "problem"), [
    ("1/1/2020 14:00", "past"),
    ("today 8am", "past"),  # it is 20:30 already
    ("29/11/2026 20:30", "past"),  # exactly now is not in the future
    ("15/12/2026", "no_time"),
    ("ស្អែក", "no_time"),
    ("14:00", "no_date"),
    ("31/02/2027 10:00", "bad_date"),
    ("15/12/2027 25:00", "bad_date"),
    ("15/12/2027 13pm", "bad_date"),
    ("next week some time", "unreadable"),
    ("", "unreadable"),
])
def test_what_is_refused_and_why(text: str, problem: str) -> None:
    assert parse_when(text, NOW).problem == problem


# ------------------------------------------------------------------ as people write them
# (issue 19, finding 10): weekdays, "next Tuesday", day and month in words, period words.

THURSDAY = pp(2026, 12, 3, 10, 0)  # Thursday morning in Phnom Penh


@pytest.mark.parametrize(("text", "expected"), [
    ("ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល", pp(2026, 12, 8, 14, 0)),
    ("ថ្ងៃអង្គារ ទី៨ ខែ១២ ម៉ោង២រសៀល", pp(2026, 12, 8, 14, 0)),
    ("ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល", pp(2026, 12, 8, 14, 0)),
    ("អង្គារ ៨ ធ្នូ ២០២៦ ម៉ោង ១៤:០០", pp(2026, 12, 8, 14, 0)),  # Babel's Khmer date
    ("ថ្ងៃទី៨ ខែធ្នូ ម៉ោង ៨ ព្រឹក", pp(2026, 12, 8, 8, 0)),
    ("ទី៨ ម៉ោង ៩ ព្រឹក", pp(2026, 12, 8, 9, 0)),  # the next 8th
    ("ថ្ងៃសុក្រនេះ ម៉ោង ៣", pp(2026, 12, 4, 15, 0)),
    ("ថ្ងៃសុក្រ ម៉ោង ១២ ថ្ងៃត្រង់", pp(2026, 12, 4, 12, 0)),
    ("ថ្ងៃច័ន្ទ ម៉ោង ៦ ល្ងាច", pp(2026, 12, 7, 18, 0)),
    ("ថ្ងៃអាទិត្យ ម៉ោង ៧ យប់", pp(2026, 12, 6, 19, 0)),
    ("ថ្ងៃអង្គារ អាទិត្យក្រោយ ម៉ោង ៩ ព្រឹក", pp(2026, 12, 8, 9, 0)),
    ("ស្អែក ម៉ោង២កន្លះ", pp(2026, 12, 4, 14, 30)),
    ("ស្អែក ម៉ោង ២ និង ៣០ នាទី", pp(2026, 12, 4, 14, 30)),
    ("ថ្ងៃព្រហស្បតិ៍ ម៉ោង ៨ ព្រឹក", pp(2026, 12, 10, 8, 0)),  # today's 8 am has passed
    ("next Tuesday 2pm", pp(2026, 12, 8, 14, 0)),
    ("this Friday 14:00", pp(2026, 12, 4, 14, 0)),
    ("Tuesday 8 Dec 2pm", pp(2026, 12, 8, 14, 0)),
    ("8 Dec at 9", pp(2026, 12, 8, 9, 0)),
    ("December 8th 2026, 2:30 pm", pp(2026, 12, 8, 14, 30)),
    ("Monday at 8 in the morning", pp(2026, 12, 7, 8, 0)),
    ("tuesday next week 10am", pp(2026, 12, 8, 10, 0)),
    ("Tuesday 8 December 2026, 04:05", pp(2026, 12, 8, 4, 5)),  # 04:05 is 24-hour
])
def test_days_and_times_as_people_write_them(text: str, expected: datetime) -> None:
    when = parse_when(text, THURSDAY)
    assert when.problem is None, text
    assert when.at == expected, text


@pytest.mark.parametrize(("text", "problem"), [
    ("Tuesday 9 Dec 2pm", "bad_date"),  # 9 December 2026 is a Wednesday
    ("ថ្ងៃច័ន្ទ ទី៨ ខែធ្នូ ម៉ោង ២", "bad_date"),  # 8 December 2026 is a Tuesday
    ("ទី១ ខែ១២ ឆ្នាំ២០២៦ ម៉ោង ២", "past"),
    ("ថ្ងៃអង្គារក្រោយ", "no_time"),
    ("សុំប្តូរម៉ោងទៅម៉ោង៣វិញ", "no_date"),  # without a meeting to move: which day?
])
def test_what_is_refused_as_people_write_it(text: str, problem: str) -> None:
    assert parse_when(text, THURSDAY).problem == problem


BASE = pp(2026, 12, 15, 14, 0)  # the meeting being moved: Tuesday 15 December, 2 pm


@pytest.mark.parametrize(("text", "expected"), [
    ("សុំប្តូរម៉ោងទៅម៉ោង៣វិញ", pp(2026, 12, 15, 15, 0)),  # the time only: the day kept
    ("please move it to 3", pp(2026, 12, 15, 15, 0)),
    ("9am", pp(2026, 12, 15, 9, 0)),
    ("ថ្ងៃសុក្រក្រោយ", pp(2026, 12, 11, 14, 0)),  # the day only: the hour kept
    ("next Friday", pp(2026, 12, 11, 14, 0)),
    ("16/12", pp(2026, 12, 16, 14, 0)),
    ("17/12 8:00", pp(2026, 12, 17, 8, 0)),  # both: both changed
])
def test_an_edit_keeps_what_it_does_not_name(text: str, expected: datetime) -> None:
    when = parse_when(text, THURSDAY, base=BASE)
    assert when.problem is None and when.at == expected, text


def test_parse_day_reads_weekdays_and_months_too() -> None:
    assert parse_day("ថ្ងៃអង្គារក្រោយ", THURSDAY.date()).at == datetime(2026, 12, 8)
    assert parse_day("ថ្ងៃទី៣១ ខែមករា ឆ្នាំ២០២៧", THURSDAY.date()).at == datetime(2027, 1, 31)
    assert parse_day("31 Jan 2027", THURSDAY.date()).at == datetime(2027, 1, 31)


# ------------------------------------------------------------------ written, then read back

def test_khmer_dates_are_written_with_their_words() -> None:
    assert dates.moment(pp(2026, 12, 8, 14, 0), "km") == \
        "ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល"
    assert dates.moment(pp(2026, 12, 8, 8, 30), "km").endswith("ម៉ោង ៨:៣០ ព្រឹក")
    assert dates.moment(pp(2026, 12, 8, 0, 0), "km").endswith("ម៉ោង ១២ យប់")
    assert dates.moment(pp(2026, 12, 8, 14, 0), "en") == "Tuesday 8 December 2026, 14:00"
    assert dates.day(date(2026, 12, 8), "km", weekday=False) == "ថ្ងៃទី៨ ខែធ្នូ ឆ្នាំ២០២៦"
    assert fmt.moment(pp(2026, 12, 8, 14, 0), "km") == dates.moment(pp(2026, 12, 8, 14), "km")
    # the month names are CLDR's (Babel), as the parser reads them
    assert all(name in dates.day(date(2027, m, 1), "km")
               for m, name in get_month_names("wide", locale="km").items())


_FUTURE = st.datetimes(min_value=datetime(2026, 12, 4), max_value=datetime(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(moment=_FUTURE, lang=st.sampled_from(["km", "en"]))
def test_a_written_meeting_time_reads_back_the_same(moment: datetime, lang: str) -> None:
    at = moment.replace(second=0, microsecond=0, tzinfo=PP)
    for written in (dates.moment(at, lang), khmer_to_arabic_digits(dates.moment(at, lang))):
        when = parse_when(written, THURSDAY)
        assert when.problem is None and when.at == at, written


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 12, 4), max_value=datetime(2027, 11, 30)))
def test_a_button_time_reads_back_the_same(moment: datetime) -> None:
    """The short form on buttons has no year: within a year from now it is unambiguous."""
    at = moment.replace(second=0, microsecond=0, tzinfo=PP)
    assert parse_when(dates.short_moment(at, "km"), THURSDAY).at == at


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2026, 12, 3), max_value=date(2030, 12, 31)),
       weekday=st.booleans(), lang=st.sampled_from(["km", "en"]))
def test_a_written_deadline_reads_back_the_same(day: date, weekday: bool, lang: str) -> None:
    written = dates.day(day, lang, weekday=weekday)
    assert parse_day(written, THURSDAY.date()).at == datetime.combine(day, time(0, 0))
