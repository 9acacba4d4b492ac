"""The date and time a CAF types, in Khmer and English (Khmer digits too), Asia/Phnom_Penh."""

from __future__ import annotations

from datetime import datetime

import pytest

from common.when import parse_when
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
