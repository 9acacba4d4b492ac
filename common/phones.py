"""Cambodian phone numbers in free text, masked before a text is shown.

A report's free text may carry the reporter's number, or a staff member's: the dashboard shows
it masked, whoever reads it. The shapes are those of Cambodian numbers: a trunk `0` or the
country code (`+855`, `00855`, `855`), then a two-digit prefix and six or seven digits
(mobile `012 345 678`, `097 1234 567`; Phnom Penh landline `023 123 456`), in Arabic or Khmer
digits, grouped by spaces, dots or dashes, the prefix perhaps in brackets. An amount of money
("20 000", "២ម៉ឺន") never starts with a 0 or the country code, so it is left alone.
"""

from __future__ import annotations

import re

_DIGIT = "[0-9\u17e0-\u17e9]"
_SEP = r"[ .\-]?"
_COUNTRY = r"(?:(?:\+|00)\s?)?[8\u17e8][5\u17e5][5\u17e5]"
PHONE = re.compile(
    rf"(?<![0-9\u17e0-\u17e9])(?:{_COUNTRY}{_SEP}\(?[0\u17e0]?|\(?[0\u17e0])"
    rf"[1-9\u17e1-\u17e9]{_DIGIT}\)?(?:{_SEP}{_DIGIT}){{6,7}}(?!{_SEP}?{_DIGIT})")
MASK = "•••"


def mask_phones(text: str, mask: str = MASK) -> str:
    """`text` with every phone number replaced by `mask`."""
    return PHONE.sub(mask, text)


def has_phone(text: str) -> bool:
    return PHONE.search(text) is not None
