"""The freshness rule and the yearly re-check, for what the bot tells citizens.

- A fact is *stale* when its newest source is older than a configurable age
  (`ISAFBOT_STALE_AFTER_YEARS`, 2 years by default): every answer that shows it carries a
  warning that says how old the source is (dialogues decide the wording; `is_stale` decides when).
- A fact's `checked` date says someone compared it with its sources on that day. One older than a
  year is due for another look: `isafbot content check` reports it.

- What a citizen reads is short, current and consistent: a first message of at most
  `FIRST_MESSAGE_WORDS` words (`reading_words`; measured on the rendered answers by the services'
  `audit`), no past event called planned or to come (`stale_tense_problems`), no office named at
  two levels in one service's answers (`contradiction_problems`).

These depend on today's date, so they are review problems (the check command fails on them)
and never stop the bot from starting: a catalogue does not break at midnight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from common.khmer import khmer_to_arabic_digits, words
from content.budgets.section import Budgets
from content.loader import Problem
from content.model import Content, Source, Text

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


# ------------------------------------------------------------------ short, current, consistent
# Issue 19, finding 11: what a citizen reads first fits a phone screen, never calls a past event
# "planned", and never names one office at two levels.

FIRST_MESSAGE_WORDS = 40  # a phone screen for a slow reader


def reading_words(text: str) -> int:
    """Words as a reader meets them: khmer-nltk words in Khmer (ឥតគិតថ្លៃ is ឥត, គិត, ថ្លៃ),
    words and numbers in Latin script; emoji, signs (×, +) and punctuation are not words."""
    return sum(1 for word in words(text) if any(ch.isalnum() for ch in word.text))


@dataclass(frozen=True)
class Said:
    """A text of a service in one language, where it lives, and whether the first message
    shows it (`shown`) or only "More" does (the details, where history belongs)."""

    file: str
    entry: str
    field: str
    lang: str
    text: str
    shown: bool
    checked: date | None


def service_texts(content: Content) -> Iterator[Said]:
    """Every text of every service, in both languages."""
    for service in content.services.values():
        file = f"content/services/{service.id}.yml"
        for lang in ("km", "en"):
            yield Said(file, service.id, f"summary.{lang}", lang, service.summary(lang), True,
                       None)
            for aspect, fact in service.facts.items():
                field = f"facts.{aspect}"
                texts: list[tuple[str, Text | None]] = [("note", fact.note), ("text", fact.text)]
                texts += [(f"items[{i}]", item) for i, item in enumerate(fact.items)]
                texts += [(f"options[{i}].condition", option.condition)
                          for i, option in enumerate(fact.fee_options)]
                for name, text in texts:
                    if text is not None:
                        yield Said(file, service.id, f"{field}.{name}.{lang}", lang, text(lang),
                                   True, fact.checked)
                if fact.details:
                    yield Said(file, service.id, f"{field}.details.{lang}", lang,
                               fact.details(lang), False, fact.checked)


_SENTENCE_END = re.compile(r"(?<=[.!?។;:៖])\s+|[។៖]")
_QUOTED = re.compile(r"(?:^|(?<=\s))['‘\"“«][^'’\"”»]+['’\"”»](?=[\s,.;:)។៖]|$)")
_FUTURE = {"en": re.compile(r"\b(planned|plans? to|will|shall|due to|is to|are to|to be \w+ "
                            r"from|expected to|upcoming|soon|not yet in force|was to|were to)\b",
                            re.I),
           "km": re.compile("គ្រោង|នឹង|ឆាប់ៗ|ត្រៀម")}
_REPORTED = {"en": re.compile(r"\b(said|says|announced|reported|promised|stated|told)\b", re.I),
             "km": re.compile("ថា")}
_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")
_MONTHS_KM = ("មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា",
              "តុលា", "វិច្ឆិកា", "ធ្នូ")
_DATE = re.compile(r"(?:(?P<month>[A-Za-z]+|ខែ\s*[\u1780-\u17ff]+?)\s*(?:ឆ្នាំ\s*)?)?"
                   r"(?:ឆ្នាំ\s*)?(?<![0-9])(?P<year>(?:19|20)[0-9]{2})(?![0-9])")


def _latest_date(sentence: str) -> date | None:
    """The latest date a sentence names ("July 2024", "ខែកក្កដា ឆ្នាំ២០២៤", "2024": its end)."""
    found: list[date] = []
    for match in _DATE.finditer(khmer_to_arabic_digits(sentence)):
        year, month = int(match.group("year")), (match.group("month") or "").lower()
        month = month.removeprefix("ខែ").strip()
        if month in _MONTHS_EN:
            found.append(date(year, _MONTHS_EN.index(month) + 1, 1))
        elif month in _MONTHS_KM:
            found.append(date(year, _MONTHS_KM.index(month) + 1, 1))
        else:
            found.append(date(year, 12, 31))
    return max(found, default=None)


def stale_tense(text: str, lang: str, since: date) -> list[str]:
    """The sentences that call an event before `since` planned or still to come ("a law due to
    take effect in July 2024" read in 2026). Quotations and reported speech ("said it would",
    "បាននិយាយថា នឹង") say what someone said then, and are left alone."""
    found = []
    for sentence in _SENTENCE_END.split(_QUOTED.sub("", text)):
        future = _FUTURE[lang].search(sentence)
        if not future:
            continue
        reported = _REPORTED[lang].search(sentence)
        if reported and reported.start() < future.start():
            continue
        when = _latest_date(sentence)
        if when is not None and when < since:
            found.append(sentence.strip())
    return found


def stale_tense_problems(content: Content, today: date) -> list[Problem]:
    """Every service text, first message and details alike: no past event still "planned"."""
    problems = []
    for said in service_texts(content):
        since = max(today, said.checked) if said.checked else today
        for sentence in stale_tense(said.text, said.lang, since):
            problems.append(Problem(said.file, said.entry, said.field,
                                    f"calls a past event planned or to come ({sentence!r}, "
                                    f"read on {since.isoformat()}): say what happened, or mark "
                                    "it outdated with its date"))
    return problems


# Offices (kind) and the levels they are named at, in both languages.
_OFFICE_KINDS = {"police": re.compile(r"\bpolice\b|នគរបាល", re.I),
                 "commune office": re.compile(r"One Window|\bhall\b|ច្រកចេញចូលតែមួយ|"
                                             "សាលា(?!ដំបូង|ក្រម|រៀន)", re.I)}
_LEVELS = {"commune": re.compile(r"\b(communes?|sangkats?)\b|ឃុំ|សង្កាត់", re.I),
           "district": re.compile(r"\b(districts?|khans?)\b|ស្រុក|ខណ្ឌ|ក្រុង", re.I),
           "province": re.compile(r"\b(provinces?|provincial)\b|ខេត្ត|រាជធានី", re.I)}
_OFFICE_LEVEL = {"one_window": ("commune office", "commune"),
                 "commune_police": ("police", "commune"),
                 "administrative_police": ("police", "commune")}


def office_levels(text: str) -> set[tuple[str, str]]:
    """(office, level) pairs a text names, sentence by sentence ("the district/khan police")."""
    pairs = set()
    for sentence in _SENTENCE_END.split(text):
        kinds = [kind for kind, pattern in _OFFICE_KINDS.items() if pattern.search(sentence)]
        levels = [level for level, pattern in _LEVELS.items() if pattern.search(sentence)]
        pairs |= {(kind, level) for kind in kinds for level in levels}
    return pairs


def contradiction_problems(content: Content) -> list[Problem]:
    """One service's first messages name each office at one level only (its `office:` and
    every shown text, per language): the district police in one line and the commune police in
    the next is a contradiction. History with several levels belongs in the details."""
    problems = []
    for service in content.services.values():
        for lang in ("km", "en"):
            named: dict[str, dict[str, str]] = {}
            kind, level = _OFFICE_LEVEL[service.office]
            named.setdefault(kind, {})[level] = "office"
            for said in service_texts(content):
                if said.entry != service.id or said.lang != lang or not said.shown:
                    continue
                for kind, level in sorted(office_levels(said.text)):
                    named.setdefault(kind, {}).setdefault(level, said.field)
            for kind, levels in named.items():
                if len(levels) > 1:
                    where = ", ".join(f"{level} in {field}" for level, field in levels.items())
                    problems.append(Problem(
                        f"content/services/{service.id}.yml", service.id, f"({lang})",
                        f"names the {kind} at {len(levels)} levels ({where}): say one, and "
                        "keep the history for the details"))
    return problems
