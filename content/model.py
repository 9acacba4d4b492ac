"""Typed, immutable content: what the loader builds from the YAML files and dialogues read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

LANGUAGES = ("km", "en")
ASPECTS = ("documents", "fee", "duration", "place")


@dataclass(frozen=True)
class Text:
    """The same sentence in Khmer and English."""

    km: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.km if lang == "km" else self.en


@dataclass(frozen=True)
class Source:
    id: str
    title: Text
    published: str  # YYYY, YYYY-MM or YYYY-MM-DD, as precise as the source is
    url: str | None = None


@dataclass(frozen=True)
class Fact:
    """One fact about a service, with where it comes from and when it was last checked."""

    aspect: str
    source: str
    checked: date
    may_be_outdated: bool = False
    note: Text | None = None
    items: tuple[Text, ...] = ()  # documents
    fee_options: tuple[FeeOption, ...] = ()  # fee
    working_days: int | None = None  # duration
    days: int | None = None
    months: int | None = None  # validity
    text: Text | None = None  # free text (place, or a duration that is not a number)


@dataclass(frozen=True)
class FeeOption:
    amount_riel: int
    condition: Text | None = None


@dataclass(frozen=True)
class Service:
    id: str
    name: Text
    summary: Text
    office: str
    facts: dict[str, Fact]

    def fact(self, aspect: str) -> Fact | None:
        return self.facts.get(aspect)


@dataclass(frozen=True)
class Content:
    """Everything the bot says, validated. Built once at start-up; never changes while running."""

    sources: dict[str, Source]
    services: dict[str, Service]
    messages: dict[str, Text]
    sections: dict[str, Any] = field(default_factory=dict)  # feature content (budgets, surveys...)

    def message(self, key: str, lang: str, **values: Any) -> str:
        return self.messages[key](lang).format(**values)
