"""Where a fact comes from, said the same way in every answer: the source line, and the
warning a stale fact carries (content/review.py decides when a fact is stale).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from common import formatting as fmt
from content.model import Content, Fact, Source
from content.review import is_stale
from dialogues.core.router import Turn


@dataclass(frozen=True)
class Freshness:
    """Today (in the bot's time zone) and the age after which a source is stale."""

    today: date
    stale_after_years: float

    def stale(self, content: Content, source_ids: Iterable[str]) -> bool:
        return is_stale(content, source_ids, self.today, self.stale_after_years)

    def warns(self, content: Content, fact: Fact) -> bool:
        """Whether answers showing this fact must carry the warning."""
        return fact.may_be_outdated or self.stale(content, fact.sources)


def freshness(turn: Turn) -> Freshness:
    return Freshness(turn.now.astimezone(ZoneInfo(turn.ctx.timezone)).date(),
                     turn.ctx.stale_after_years)


def published(content: Content, source: Source, lang: str) -> str:
    """"2015", or "2020 or later" for a page that shows no date."""
    year = fmt.digits(source.year, lang)
    return content.message("published_earliest", lang, year=year) if source.earliest else year


def source_line(content: Content, source_ids: Iterable[str], checked: date, lang: str, *,
                stale: bool = False) -> str:
    """"Source: Phnom Penh Post (2018); last checked 3 December 2026." with every source
    named; a stale one says it may be out of date."""
    key = "source_line_stale" if stale else "source_line"
    return content.message(key, lang, source=source_names(content, source_ids, lang),
                           checked=fmt.day(checked, lang))


def source_names(content: Content, source_ids: Iterable[str], lang: str) -> str:
    """"Phnom Penh Post (2018, 2017); SEVAKHUM service list (2015)": sources under one name
    share it, newest first, so that a line stays short."""
    by_name: dict[str, list[Source]] = {}
    sources = sorted((content.sources[i] for i in dict.fromkeys(source_ids)),
                     key=lambda s: s.oldest_date, reverse=True)
    for source in sources:
        by_name.setdefault(source.name(lang), []).append(source)
    return "; ".join(f"{name} ({', '.join(published(content, s, lang) for s in group)})"
                     for name, group in by_name.items())
