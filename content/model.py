"""Typed, immutable content: what the loader builds from the YAML files and dialogues read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

T = TypeVar("T")
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
    short: Text | None = None  # the name an answer shows ("Phnom Penh Post"); the title if None
    earliest: bool = False  # the source shows no date: `published` is the earliest it can be

    def name(self, lang: str) -> str:
        return (self.short or self.title)(lang)

    @property
    def year(self) -> int:
        return int(self.published[:4])

    @property
    def oldest_date(self) -> date:
        """The first day `published` can mean (2015-12 -> 1 December 2015): a source is judged
        as old as it may be, so that a warning errs on the side of showing."""
        parts = [int(p) for p in self.published.split("-")]
        return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2
                    else 1)


@dataclass(frozen=True)
class Fact:
    """One fact about a service, with where it comes from and when it was last checked.

    `source` is what the fact's first line rests on; `also` are further sources its note or
    details cite. `checked` is the day someone compared the fact with them, and `review` says
    what was compared (for docs/content-review.md)."""

    aspect: str
    source: str
    checked: date
    may_be_outdated: bool = False
    note: Text | None = None  # short, shown in the answer
    details: Text | None = None  # longer (history, sources that disagree), behind a button
    also: tuple[str, ...] = ()
    review: str | None = None
    items: tuple[Text, ...] = ()  # documents
    fee_options: tuple[FeeOption, ...] = ()  # fee
    working_days: int | None = None  # duration
    days: int | None = None
    at_most: bool = False  # the source gives a maximum ("at most 3 working days", យ៉ាងយូរ)
    months: int | None = None  # validity
    text: Text | None = None  # free text (place, or a duration that is not a number)

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source, *(s for s in self.also if s != self.source))


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
class Rights:
    """What every fee answer says about the citizen's rights (`block`), and how to complain
    (`complain`, behind the "I was overcharged" button), with the sources they rest on."""

    block: Text
    complain: Text
    sources: tuple[str, ...]
    checked: date
    review: str | None = None


@dataclass(frozen=True)
class Sections:
    """Feature content (budgets, surveys, forms...) keyed by its type, so that
    `content.sections[Budgets]` is a `Budgets` for mypy and for the reader. The content layer
    knows no feature: the features' records say which sections are loaded."""

    by_type: Mapping[type, object] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # as `isafbot content check` lists them

    def get(self, kind: type[T]) -> T | None:
        value = self.by_type.get(kind)
        return value if isinstance(value, kind) else None

    def __getitem__(self, kind: type[T]) -> T:
        value = self.get(kind)
        if value is None:
            raise LookupError(f"the {kind.__name__} content section is not loaded")
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)


@dataclass(frozen=True)
class Content:
    """Everything the bot says, validated. Built once at start-up; never changes while running."""

    sources: dict[str, Source]
    services: dict[str, Service]
    messages: dict[str, Text]
    rights: Rights | None = None
    sections: Sections = field(default_factory=Sections)  # feature content, typed

    def message(self, key: str, lang: str, **values: Any) -> str:
        return self.messages[key](lang).format(**values)
