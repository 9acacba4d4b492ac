"""Khmer-aware text measuring and splitting, shared by the channels: lengths as the platforms
count them (UTF-16 units), user-perceived characters (a Khmer consonant with its subscripts,
vowels and signs is one), and long texts split where a reader would pause, never inside a
cluster."""

from __future__ import annotations

import unicodedata
from typing import Any


def units(text: str) -> int:
    """Length as Meta counts it (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


_COENG = "\u17d2"
_JOINERS = frozenset("\u200c\u200d")


def is_boundary(text: str, index: int) -> bool:
    """True when `index` is between two user-perceived characters: never inside a Khmer
    cluster (a consonant with its subscripts after COENG, vowels and signs), a base letter and
    its combining marks, an emoji with its modifiers or a ZWJ sequence, or CR LF."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == _COENG or before in _JOINERS or after in _JOINERS:
        return False
    if unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return False
    if "\U0001f3fb" <= after <= "\U0001f3ff":  # skin tones
        return False
    return not (before == "\r" and after == "\n")


def clusters(text: str) -> list[str]:
    """The text as user-perceived characters (Khmer clusters kept whole)."""
    result: list[str] = []
    start = 0
    for index in range(1, len(text) + 1):
        if is_boundary(text, index):
            result.append(text[start:index])
            start = index
    return result


def fit(text: str, limit: int) -> int:
    """The longest prefix (in code points) of at most `limit` UTF-16 units."""
    total = 0
    for index, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > limit:
            return index
    return len(text)


_SENTENCE_ENDS = frozenset("។៕!?.")


def cut(text: str, limit: int) -> int:
    """Where to split a text that is too long: the last paragraph break, else line break,
    else sentence end, else space, else cluster boundary that keeps at least half the limit
    (tried in that order); never inside a cluster."""
    end = fit(text, limit)
    floor = end // 2
    head = text[:end]

    def last(predicate: Any) -> int | None:
        for index in range(end, floor, -1):
            if predicate(index) and is_boundary(text, index):
                return index
        return None

    for found in (
        last(lambda i: head[i - 2:i] == "\n\n"),
        last(lambda i: head[i - 1] == "\n"),
        last(lambda i: head[i - 1] in _SENTENCE_ENDS and (
            head[i - 1] in "។៕" or i == len(text) or text[i].isspace())),
        last(lambda i: head[i - 1].isspace() or head[i - 1] == "\u200b"),
        last(lambda i: True),
    ):
        if found:
            return found
    # a single cluster longer than half the limit: cut at the last boundary at all
    for index in range(end, 0, -1):
        if is_boundary(text, index):
            return index
    return max(end, 1)


def split_text(text: str, limit: int) -> list[str]:
    """Messages of at most `limit` units, split where a reader would pause."""
    parts: list[str] = []
    rest = text.strip()
    while units(rest) > limit:
        at = cut(rest, limit)
        head = rest[:at].rstrip()
        if head:
            parts.append(head)
        rest = rest[at:].lstrip()
    if rest:
        parts.append(rest)
    return parts
