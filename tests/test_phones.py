"""Phone numbers masked in shown text: Cambodian mobile and landline shapes, Khmer digits,
and amounts of money left alone."""

from __future__ import annotations

import pytest

from common.phones import MASK, has_phone, mask_phones


@pytest.mark.parametrize("text", [
    "012 345 678", "012345678", "097-1234-567", "(023) 123-456", "+855 12 345 678",
    "+85512345678", "00855 97 123 4567", "855 12 345678", "០១២ ៣៤៥ ៦៧៨", "+៨៥៥ ៩៧ ១២៣ ៤៥៦៧",
])
def test_cambodian_numbers_are_masked(text: str) -> None:
    assert mask_phones(f"call {text} today") == f"call {MASK} today"
    assert has_phone(text)


@pytest.mark.parametrize("text", [
    "they asked 20 000 riel", "២០០០០ រៀល", "paid 100000 riel", "$5", "in 2026-11",
    "reference R-7K3Q", "0123456789012",  # too long for a phone number
])
def test_amounts_dates_and_references_are_left_alone(text: str) -> None:
    assert mask_phones(text) == text and not has_phone(text)
