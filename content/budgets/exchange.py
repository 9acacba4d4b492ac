"""The riel/dollar rate the budget answers may convert with (content/budgets/exchange_rate.yml):
a rate is told only with its source and checked date, and until a sourced rate is set the
section says there is none, so the bot says it cannot convert instead of guessing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from content.loader import Checker, Section
from content.model import Source

FILE = "exchange_rate.yml"


@dataclass(frozen=True)
class Rate:
    riel_per_usd: Decimal
    source: str
    checked: date


@dataclass(frozen=True)
class ExchangeRate:
    """`rate` is None when no sourced rate is set."""

    rate: Rate | None
    review: str | None = None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def load_exchange_rate(check: Checker, sources: dict[str, Source]) -> ExchangeRate | None:
    path = check.root / "budgets" / FILE
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    review = data.get("review")
    if review is not None and not isinstance(review, str):
        check.problem(path, "-", "review", "must say what was compared")
        review = None
    raw = data.get("riel_per_usd")
    if raw is None:
        return ExchangeRate(None, review)
    entry, problems = "riel_per_usd", len(check.problems)
    value = _decimal(raw)
    if value is None:
        check.problem(path, entry, "riel_per_usd", f"{raw!r} is not a positive number")
    source = check.source_ref(data.get("source"), sources, path, entry, "source")
    checked = check.checked_date(data.get("checked"), path, entry, "checked")
    if len(check.problems) > problems or value is None or source is None or checked is None:
        return None
    return ExchangeRate(Rate(value, source, checked), review)


SECTION = Section("exchange_rate", ExchangeRate, load_exchange_rate)
