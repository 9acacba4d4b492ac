"""Khmer text handling shared by the NLU pipeline and the dialogues.

Khmer is written without spaces between words and is often typed with invisible characters
and signs in a non-canonical order (the renderer hides the difference). Everything here works on
the *original* string positions, so entity offsets always point into what the user typed.
No Rasa import here: the dialogues use this module too.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

KHMER_DIGITS = "០១២៣៤៥៦៧៨៩"
# Longest stretch of a message the NLU looks at: nobody asks a question in more; the rest is
# kept and logged but not parsed (khmer-nltk's CRF grows with the input).
MAX_PARSE_CHARS = 600
_TO_ARABIC = str.maketrans(KHMER_DIGITS, "0123456789")
_TO_KHMER = str.maketrans("0123456789", KHMER_DIGITS)

# Characters that change nothing visible. ZWSP is a word separator some keyboards insert:
# it becomes a space (same length, so offsets survive); the others are dropped.
_ZWSP = "\u200b"
_DROPPED = frozenset("\u200c\u200d\u2060\ufeff\u00ad")

COENG = "\u17d2"
_RO = "\u179a"
_DA = "\u178a"
_TA = "\u178f"


def is_khmer_char(ch: str) -> bool:
    """Khmer block and Khmer Symbols block."""
    return "\u1780" <= ch <= "\u17ff" or "\u19e0" <= ch <= "\u19ff"


def _is_base(ch: str) -> bool:
    """Consonants and independent vowels start a Khmer cluster."""
    return "\u1780" <= ch <= "\u17b3"


def _mark_rank(ch: str) -> int:
    """Canonical position of a dependent mark inside a cluster (lower comes first)."""
    if ch == "\u17cc":  # robat
        return 0
    if ch in "\u17c9\u17ca":  # register shifters (muusikatoan, triisap)
        return 2
    if "\u17b6" <= ch <= "\u17c5":  # dependent vowels
        return 3
    return 4  # nikahit, reahmuk, bantoc and the other signs


def _is_mark(ch: str) -> bool:
    return "\u17b6" <= ch <= "\u17d1" or ch == "\u17d3" or ch == "\u17dd"


# Two-part vowels typed as their visible halves.
_VOWEL_COMPOSITION = {
    "\u17c1\u17b8": "\u17be",  # េ + ី → ើ
    "\u17c1\u17b6": "\u17c4",  # េ + ា → ោ
}


def _normalise_cluster(base: str, marks: list[str]) -> str:
    """Put a cluster's marks in canonical order: robat, subscripts (coeng ro last), shifters,
    vowels, signs. Doubled identical marks (a common typo) are collapsed."""
    subscripts: list[str] = []
    others: list[str] = []
    i = 0
    while i < len(marks):
        if marks[i] == COENG and i + 1 < len(marks):
            sub = marks[i + 1]
            subscripts.append(_TA if sub == _DA else sub)  # coeng DA and TA render the same
            i += 2
            continue
        others.append(marks[i])
        i += 1
    subscripts.sort(key=lambda consonant: consonant == _RO)  # stable: only moves ro last
    ordered = sorted(others, key=_mark_rank)
    deduped: list[str] = []
    for mark in ordered:
        if not deduped or deduped[-1] != mark:
            deduped.append(mark)
    robat = [m for m in deduped if _mark_rank(m) == 0]
    rest = "".join(m for m in deduped if _mark_rank(m) > 0)
    for parts, composed in _VOWEL_COMPOSITION.items():
        rest = rest.replace(parts, composed).replace(parts[::-1], composed)
    return base + "".join(robat) + "".join(COENG + s for s in subscripts) + rest


@dataclass(frozen=True)
class Normalised:
    """Normalised text plus, for each normalised character, its span in the original."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original."""
        return self.starts[start], self.ends[end - 1]


def normalise(text: str) -> Normalised:
    """NFC, invisible characters removed, Khmer clusters in canonical order, coeng DA as TA.

    Clusters are rewritten as a whole, so every character of a rewritten cluster maps to the whole
    original cluster; tokenizers never split inside a cluster, so token spans map back exactly.
    """
    pieces: list[tuple[str, int, int]] = []  # (normalised piece, original start, original end)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _DROPPED:
            i += 1
            continue
        if ch == _ZWSP:
            pieces.append((" ", i, i + 1))
            i += 1
            continue
        if _is_base(ch):
            j = i + 1
            marks: list[str] = []
            while j < n:
                nxt = text[j]
                if nxt in _DROPPED:
                    j += 1
                    continue
                if nxt == COENG and j + 1 < n and _is_base(text[j + 1]):
                    marks.extend((nxt, text[j + 1]))
                    j += 2
                    continue
                if _is_mark(nxt):
                    marks.append(nxt)
                    j += 1
                    continue
                break
            pieces.append((_normalise_cluster(ch, marks), i, j))
            i = j
            continue
        # Non-Khmer: NFC per character run is enough (composed Latin accents are rare in chat).
        pieces.append((unicodedata.normalize("NFC", ch), i, i + 1))
        i += 1
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, start, end in pieces:
        out.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
    return Normalised("".join(out), tuple(starts), tuple(ends))


def normalise_text(text: str) -> str:
    """Normalised string only (for lexicons and comparisons)."""
    return normalise(text).text


def has_words(text: str) -> bool:
    """False for empty, emoji-only or punctuation-only messages: nothing for the NLU to read."""
    return any(ch.isalnum() for ch in text)


def khmer_to_arabic_digits(text: str) -> str:
    return text.translate(_TO_ARABIC)


def arabic_to_khmer_digits(text: str) -> str:
    return text.translate(_TO_KHMER)


def script_of(text: str) -> str | None:
    """'km' when the message is (mostly) written in Khmer, 'en' when in Latin letters, None when
    it has no letters at all (digits, emoji): then the user's remembered language applies.

    Code-switched messages ("birth certificate តម្លៃប៉ុន្មាន") are Khmer: the grammar is Khmer
    and English nouns are simply what people type for official terms.
    """
    khmer = sum(1 for ch in text if is_khmer_char(ch) and ch not in KHMER_DIGITS)
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if khmer == 0 and latin == 0:
        return None
    # Khmer code points carry more per character than Latin letters: weigh them double.
    return "km" if khmer * 2 >= latin else "en"


# ---------------------------------------------------------------- tokenization

_LATIN_OR_DIGIT = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?|[0-9]+(?:[.,][0-9]+)*")
_KHMER_DIGIT_RUN = re.compile(f"[{KHMER_DIGITS}]+")
_KHMER_RUN = re.compile(r"[\u1780-\u17dd\u17e0-\u17e9\u17f0-\u17f9\u19e0-\u19ff]+")
_KHMER_PUNCT = frozenset("\u17d4\u17d5\u17d6\u17d7\u17d8\u17d9\u17da")


@dataclass(frozen=True)
class Word:
    """A token: normalised text (Khmer digits as Arabic) and its span in the original text."""

    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _khmer_segmenter():  # noqa: ANN202 - khmer-nltk has no types
    """Load khmer-nltk's CRF once (about a second) and silence its INFO log line."""
    from khmernltk import word_tokenize

    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)  # it sets DEBUG on import
    return word_tokenize


def warm_up() -> None:
    """Load the segmenter now rather than on the first user's message."""
    _khmer_segmenter()("សួស្តី")


def _segment_khmer(run: str) -> Iterator[tuple[str, int]]:
    """Yield (word, offset in run) for a run of Khmer letters, using khmer-nltk.

    khmer-nltk may drop or merge characters, so offsets are found by searching the run; a word
    that cannot be found (it should not happen) ends the segmentation with the remainder as one
    word rather than producing wrong offsets.
    """
    cursor = 0
    for word in _khmer_segmenter()(run):
        word = word.strip()
        if not word:
            continue
        found = run.find(word, cursor)
        if found < 0:
            if cursor < len(run):
                yield run[cursor:], cursor
            return
        if found > cursor and run[cursor:found].strip():
            yield run[cursor:found], cursor
        yield word, found
        cursor = found + len(word)
    if cursor < len(run) and run[cursor:].strip():
        yield run[cursor:], cursor


def words(text: str) -> list[Word]:
    """Split a message into words: khmer-nltk on Khmer runs, regex words on Latin and digits.

    Latin words inside a Khmer sentence stay whole ("ID card ធ្វើនៅណា" gives ID, card, ធ្វើ, នៅ,
    ណា) even without spaces around them; punctuation and emoji are not words.
    """
    norm = normalise(text)
    result: list[Word] = []
    for match in re.finditer(r"[\u1780-\u17ff\u19e0-\u19ff]+|[^\u1780-\u17ff\u19e0-\u19ff]+",
                             norm.text):
        chunk, offset = match.group(), match.start()
        if is_khmer_char(chunk[0]):
            for khmer_run in _KHMER_RUN.finditer(chunk):
                run_start = offset + khmer_run.start()
                for sub in _split_khmer_digits(khmer_run.group()):
                    sub_text, sub_offset, is_digits = sub
                    base = run_start + sub_offset
                    if is_digits:
                        result.append(_word(norm, khmer_to_arabic_digits(sub_text), base,
                                            base + len(sub_text)))
                        continue
                    for word, at in _segment_khmer(sub_text):
                        if all(ch in _KHMER_PUNCT for ch in word):
                            continue
                        result.append(_word(norm, word, base + at, base + at + len(word)))
        else:
            for latin in _LATIN_OR_DIGIT.finditer(chunk):
                result.append(_word(norm, latin.group(), offset + latin.start(),
                                    offset + latin.end()))
    return result


def _split_khmer_digits(run: str) -> Iterator[tuple[str, int, bool]]:
    """Separate Khmer digit runs from Khmer letters ("ឆ្នាំ២០២៤" → ឆ្នាំ, ២០២៤)."""
    cursor = 0
    for match in _KHMER_DIGIT_RUN.finditer(run):
        if match.start() > cursor:
            yield run[cursor:match.start()], cursor, False
        yield match.group(), match.start(), True
        cursor = match.end()
    if cursor < len(run):
        yield run[cursor:], cursor, False


def _word(norm: Normalised, text: str, start: int, end: int) -> Word:
    original_start, original_end = norm.original_span(start, end)
    return Word(text, original_start, original_end)
