"""Cambodian phone numbers in free text, masked before a text is shown (report pages).

A report's free text may carry the reporter's number, or a staff member's: the dashboard shows
it masked, whoever reads it. The shapes are the one phone pattern of the personal-data detector
(`common.redact.PHONE`: a trunk 0 or +855/00855/855, a two-digit prefix, six or seven digits,
Arabic or Khmer digits), so a number the survey comments catch is masked here too. An amount of
money ("20 000", "២ម៉ឺន") never starts with a 0 or the country code, so it is left alone.
"""

from __future__ import annotations

from common.redact import find_phones

MASK = "•••"


def mask_phones(text: str, mask: str = MASK) -> str:
    """`text` with every phone number replaced by `mask`."""
    for start, end in reversed(find_phones(text)):
        text = text[:start] + mask + text[end:]
    return text


def has_phone(text: str) -> bool:
    return bool(find_phones(text))
