"""One way to write a number per language (Babel's CLDR data): quantities grouped, years and
labels not, Khmer digits in Khmer; and content texts held to the same style."""

from __future__ import annotations

import re

from bot.features import FEATURES
from common import formatting as fmt
from content.loader import load_content
from tests.test_content_review import FRESH

CONTENT = load_content(sections=FEATURES.sections)


def test_quantities_are_grouped_the_cldr_way_in_each_language() -> None:
    assert fmt.number(10000, "en") == "10,000" and fmt.number(10000, "km") == "១០.០០០"
    assert fmt.riel(4000, "km") == "៤.០០០ រៀល" and fmt.riel(4000, "en") == "4,000 riel"
    assert fmt.number(1.5, "km") == "១,៥" and fmt.number(1.5, "en") == "1.5"
    assert fmt.integer(32440, "km") == "៣២.៤៤០"  # counts too (they were ungrouped before)
    assert fmt.digits(2026, "km") == "២០២៦" and fmt.digits(2026, "en") == "2026"
    assert fmt.usd(129_000_000, "en") == "$129,000,000"


def test_hand_written_numbers_are_held_to_the_same_style() -> None:
    assert fmt.number_style_problems("ថ្លៃ ១០ ០០០ រៀល", "km") == ["១០ ០០០ (write ១០.០០០)"]
    assert fmt.number_style_problems("ថ្លៃ ១០,០០០ រៀល", "km") == ["១០,០០០ (write ១០.០០០)"]
    assert fmt.number_style_problems("10000 riel, 4000 riel", "en") == [
        "10000 (write 10,000)", "4000 (write 4,000)"]
    assert fmt.number_style_problems("10,000 riel in 2017, 3.1%, ៣,១%, 15/12/2026", "en") == []


def test_no_service_answer_mixes_thousands_styles() -> None:
    from dialogues.services.handlers import answer_text

    for service in CONTENT.services.values():
        for aspect in service.facts:
            khmer = answer_text(CONTENT, service, [aspect], "km", FRESH)
            english = answer_text(CONTENT, service, [aspect], "en", FRESH)
            assert not re.search(r"[០-៩] [០-៩]{3}|[០-៩],[០-៩]{3}|[0-9]", khmer), khmer
            assert not re.search(r"\d[ .]\d{3}\b", english), english
