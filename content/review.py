"""The freshness rule and the yearly re-check, for what the bot tells citizens.

- A fact is *stale* when its newest source is older than a configurable age
  (`ISAFBOT_STALE_AFTER_YEARS`, 2 years by default): every answer that shows it carries a
  warning that says how old the source is (dialogues decide the wording; `is_stale` decides when).
- A fact's `checked` date says someone compared it with its sources on that day. One older than a
  year is due for another look: `isafbot content check` reports it.

These depend on today's date, so they are review problems (the check command fails on them)
and never stop the bot from starting: a catalogue does not break at midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from content.budgets.section import Budgets
from content.loader import Problem
from content.model import Content, Source

DEFAULT_STALE_AFTER_YEARS = 2.0
RECHECK_AFTER = timedelta(days=365)


def newest_source(content: Content, source_ids: Iterable[str]) -> Source:
    """The most recent of the sources (each judged as old as its date may mean)."""
    return max((content.sources[s] for s in source_ids), key=lambda s: s.oldest_date)


def is_stale(content: Content, source_ids: Iterable[str], today: date,
             stale_after_years: float) -> bool:
    newest = newest_source(content, source_ids)
    return (today - newest.oldest_date).days > stale_after_years * 365.25


@dataclass(frozen=True)
class Dated:
    """Something the bot tells, where it lives in content/, its sources and checked date."""

    file: str
    entry: str
    field: str
    sources: tuple[str, ...]
    checked: date


def dated_items(content: Content) -> Iterator[Dated]:
    """Every fact with a checked date: service facts, the rights, national budget facts, the
    glossary and "have your say"."""
    for service in content.services.values():
        for aspect, fact in service.facts.items():
            yield Dated(f"content/services/{service.id}.yml", service.id, f"facts.{aspect}",
                        fact.sources, fact.checked)
    if content.rights:
        yield Dated("content/rights.yml", "rights", "-", content.rights.sources,
                    content.rights.checked)
    budgets = content.sections.get(Budgets)
    if budgets is None:
        return
    for national in budgets.facts.values():
        yield Dated("content/budgets/national.yml", national.id, "facts", (national.source,),
                    national.checked)
    if budgets.development_average:
        average = budgets.development_average
        yield Dated("content/budgets/national.yml", "development_average_usd", "-",
                    (average.source,), average.checked)
    for term in budgets.glossary.values():
        yield Dated("content/budgets/glossary.yml", term.id, "terms", (term.source,),
                    term.checked)
    if budgets.have_your_say:
        say = budgets.have_your_say
        yield Dated("content/budgets/glossary.yml", "have_your_say", "-", (say.source,),
                    say.checked)


def recheck_problems(content: Content, today: date) -> list[Problem]:
    """Facts last compared with their sources more than a year ago."""
    return [Problem(item.file, item.entry, f"{item.field}.checked".lstrip("-."),
                    f"last checked {item.checked.isoformat()}, more than a year ago: compare "
                    "it with its sources again and record what you checked")
            for item in dated_items(content) if today - item.checked > RECHECK_AFTER]
