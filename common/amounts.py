"""Amounts of money as people type them, in Khmer or English: a number and a currency.

"20 000", "20,000", "២០,០០០៛", "២ម៉ឺន", "២០ពាន់", "1.5 ម៉ឺន", "២ម៉ឺន៥ពាន់", "20k", "$5",
"5 dollars", "៥ដុល្លារ", "2 meun riel" all read as a number and, when one is named, the
currency (riel or usd). Khmer number words too ("ម្ភៃពាន់", "ដប់ប្រាំពាន់", "មួយសែន",
"ប្រាំរយ", "មួយលាន", mixed with digits: "២ម៉ឺនប្រាំពាន់"), when a multiplier or a currency
follows them: a bare "មួយ" or "ពីរ" is too often part of another word to be a sum.
Used by the NLU's entity canonicaliser (the `amount` entity) and by the report form's
amount step, so both read the same forms the same way. What is not an amount
(no digits, zero, an absurd sum) is refused with a reason the dialogue can explain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from common.khmer import khmer_to_arabic_digits, normalise, normalise_text

RIEL, USD = "riel", "usd"
# The most anyone would be asked for a commune, school or health-centre service; above this
# a typed amount is a mistake (an extra zero, a phone number), not a fee.
MAXIMUM = {RIEL: Decimal(40_000_000), USD: Decimal(10_000)}
RIEL_PER_USD = 4_000  # the rate Cambodians use day to day; only to compare an unnamed currency

_CURRENCY_WORDS = {
    RIEL: ("រៀល", "៛", "riels", "riel", "rial", "khr"),
    USD: ("ដុល្លារ", "ដុល្លា", "dollars", "dollar", "dolla", "dola", "usd", "$"),
}
_MULTIPLIER_WORDS = {
    1_000: ("ពាន់", "thousand", "poan", "pean", "k"),
    10_000: ("ម៉ឺន", "មុឺន", "ម៉ុឺន", "meun", "mern", "muen", "moeun", "mern"),
    100_000: ("សែន", "saen"),
    1_000_000: ("លាន", "million", "lean"),
}
_CURRENCY = {normalise_text(w): c for c, ws in _CURRENCY_WORDS.items() for w in ws}
_MULTIPLIER = {normalise_text(w): m for m, ws in _MULTIPLIER_WORDS.items() for w in ws}


def _alternatives(words: list[str]) -> str:
    """A regex alternation, longest first; Latin words must end at a word boundary."""
    parts = []
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(escaped + r"(?![a-z])" if word.isascii() and word.isalpha() else escaped)
    return "|".join(parts)


_SEP = r"[ \u00a0\u202f]*"
_NUMBER = r"\d+(?:(?:,|\.|[ \u00a0\u202f])\d{3}(?!\d))*(?:[.,]\d{1,2}(?!\d))?"
_CUR = _alternatives(list(_CURRENCY))
_MUL = _alternatives(list(_MULTIPLIER))
_PATTERN = re.compile(
    rf"(?P<before>us\$|\$){_SEP}"
    rf"(?P<n1>{_NUMBER})(?:{_SEP}(?P<m1>{_MUL}))?"
    rf"|(?P<n2>{_NUMBER})(?:{_SEP}(?P<m2>{_MUL}))?"
    rf"(?P<rest>(?:{_SEP}\d+{_SEP}(?:{_MUL}))*)"
    rf"(?:{_SEP}(?P<after>{_CUR}))?",
    re.IGNORECASE,
)
_REST = re.compile(rf"(\d+){_SEP}({_MUL})", re.IGNORECASE)


# Khmer number words: units and tens add up ("ប្រាំពីរ" is 5 + 2, "ម្ភៃប្រាំ" 20 + 5); the
# multipliers are those above (រយ included).
_KHMER_UNITS = {"សូន្យ": 0, "មួយ": 1, "ពីរ": 2, "បី": 3, "បួន": 4, "ប្រាំ": 5, "ដប់": 10,
                "ម្ភៃ": 20, "សាមសិប": 30, "សែសិប": 40, "ហាសិប": 50, "ហុកសិប": 60,
                "ចិតសិប": 70, "ប៉ែតសិប": 80, "កៅសិប": 90}
_UNIT_WORDS = {normalise_text(w): n for w, n in _KHMER_UNITS.items()}
_KHMER_MULTIPLIERS = {normalise_text("រយ"): 100,
                      **{w: m for w, m in _MULTIPLIER.items() if not w.isascii()}}
_NOT_A_WORD_END = r"(?![\u17b6-\u17d3\u17dd])"  # a vowel or sign follows: a longer word
_WORD = rf"(?:{_alternatives(list(_UNIT_WORDS) + list(_KHMER_MULTIPLIERS))}){_NOT_A_WORD_END}"
_WORDS = re.compile(
    rf"(?<![\d.,])(?P<run>(?:{_WORD}|\d+)(?:{_SEP}(?:{_WORD}|\d+))*)"
    rf"(?:{_SEP}(?P<after>{_CUR}))?", re.IGNORECASE)
_WORD_TOKEN = re.compile(rf"{_WORD}|\d+")


def words_value(run: str) -> int | None:
    """The value of Khmer number words (Arabic digits may stand for a count): "ពីរម៉ឺនប្រាំពាន់"
    25,000, "មួយរយម្ភៃពាន់" 120,000, "២ម៉ឺនប្រាំពាន់" 25,000. A multiplier larger than any
    before it multiplies everything before it; a smaller one only its own count."""
    total = current = largest = 0
    for token in _WORD_TOKEN.findall(run):
        if token.isdigit():
            current += int(token)
        elif token in _UNIT_WORDS:
            current += _UNIT_WORDS[token]
        else:
            multiplier = _KHMER_MULTIPLIERS[token]
            if multiplier > largest:
                total = (total + (current or (0 if total else 1))) * multiplier
                largest = multiplier
            else:
                total += (current or 1) * multiplier
            current = 0
    value = total + current
    return value or None


def _word_amounts(digits: str) -> list[tuple[int, int, Amount]]:
    """Runs of Khmer number words in the (digit-converted, normalised) text, as amounts: only
    runs with a count (a number word, or digits before a multiplier: "៥រយ") and a multiplier
    or a currency."""
    found = []
    for match in _WORDS.finditer(digits):
        tokens = _WORD_TOKEN.findall(match.group("run"))
        after = match.group("after")
        multiplied = any(t in _KHMER_MULTIPLIERS for t in tokens)
        if not (after or multiplied) or not any(
                t in _UNIT_WORDS or (t.isdigit() and multiplied) for t in tokens):
            continue
        value = words_value(match.group("run"))
        if value is None:
            continue
        currency = _CURRENCY.get(after.lower()) if after else None
        found.append((match.start(), match.end(), Amount(Decimal(value), currency)))
    return found


class AmountError(ValueError):
    """Not an amount: `reason` is "not_a_number", "zero", "too_large" or "several"."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(f"{reason}: {text!r}")
        self.reason = reason


@dataclass(frozen=True)
class Amount:
    """A sum of money; `currency` is None when the person did not say which."""

    value: Decimal
    currency: str | None
    named: bool = True  # a currency or a multiplier was written (not a bare number)

    def canonical(self) -> str:
        """The NLU entity's value: "20000 riel", "1.5 usd", or "20000" (currency not said)."""
        number = format(self.value.normalize(), "f")
        return f"{number} {self.currency}" if self.currency else number

    @classmethod
    def from_canonical(cls, text: str) -> Amount:
        number, _, currency = text.strip().partition(" ")
        return cls(Decimal(number), currency or None)

    def minor(self) -> int:
        """In the currency's smallest unit: riel, or US cents (how reports store it)."""
        return int(self.value * 100) if self.currency == USD else int(self.value)

    def in_riel(self) -> Decimal:
        return self.value * RIEL_PER_USD if self.currency == USD else self.value


@dataclass(frozen=True)
class Found:
    """An amount in a text, with its span in the original text."""

    start: int
    end: int
    amount: Amount


def _number(text: str, currency: str | None) -> Decimal:
    """"20 000", "20,000", "20.000" (thousands) or "1.5", "5,50" (decimals)."""
    text = re.sub(r"[ \u00a0\u202f]", "", text)
    groups = re.split(r"[.,]", text)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]) \
            and not (len(groups) == 2 and currency == USD and groups[0] == "0"):
        text = "".join(groups)  # thousands separators
    elif len(groups) == 2:
        text = f"{groups[0]}.{groups[1]}"
    else:
        text = "".join(groups)
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise AmountError("not_a_number", text) from error


def _read(match: re.Match[str]) -> Amount:
    before, after = match.group("before"), match.group("after")
    currency = USD if before else (_CURRENCY.get(after.lower()) if after else None)
    number = match.group("n1") or match.group("n2")
    multiplier = match.group("m1") or match.group("m2")
    value = _number(number, currency)
    if multiplier:
        value *= _MULTIPLIER[multiplier.lower()]
    for extra, extra_multiplier in _REST.findall(match.group("rest") or ""):
        value += Decimal(extra) * _MULTIPLIER[extra_multiplier.lower()]
    return Amount(value, currency, named=bool(currency or multiplier))


def find_amounts(text: str) -> list[Found]:
    """Every amount in the text (Khmer or Arabic digits), spans in the original text."""
    norm = normalise(text)
    digits = khmer_to_arabic_digits(norm.text)  # one character for one: spans stay valid
    spans: list[tuple[int, int, Amount]] = []
    for match in _PATTERN.finditer(digits):
        try:
            spans.append((match.start(), match.end(), _read(match)))
        except AmountError:
            continue
    for start, end, amount in _word_amounts(digits):  # words win over the digits inside them
        spans = [s for s in spans if s[1] <= start or s[0] >= end]
        spans.append((start, end, amount))
    found = []
    for start, end, amount in sorted(spans, key=lambda span: span[0]):
        original_start, original_end = norm.original_span(start, end)
        found.append(Found(original_start, original_end, amount))
    return found


def parse_amount(text: str, *, currency: str | None = None) -> Amount:
    """The one amount a person typed in answer to "how much were you asked for?".

    `currency` is the one to assume when none is named (the form asks in riel). Refused with
    AmountError: no number ("not_a_number"), nothing to pay ("zero"), several different
    amounts ("several"), or more than anyone is asked for a commune service ("too_large")."""
    found = find_amounts(text)
    if not found:
        raise AmountError("not_a_number", text)
    named = ([f for f in found if f.amount.named]
             or [f for f in found if not is_year(f.amount)] or found)
    if len({(f.amount.value, f.amount.currency) for f in named}) != 1:
        raise AmountError("several", text)
    amount = named[0].amount
    if amount.currency is None:
        amount = Amount(amount.value, currency or _guess_currency(amount.value), amount.named)
    if amount.value <= 0:
        raise AmountError("zero", text)
    if amount.value > MAXIMUM[amount.currency or RIEL]:
        raise AmountError("too_large", text)
    return amount


def is_year(amount: Amount) -> bool:
    """A bare number shaped like a year ("in 2024"): not taken for an amount beside another."""
    return not amount.named and amount.value == amount.value.to_integral_value() \
        and 1900 <= amount.value <= 2099


def _guess_currency(value: Decimal) -> str:
    """No currency named: small sums are dollars ("5"), others riel ("20000")."""
    return USD if value < 100 else RIEL
