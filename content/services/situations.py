"""The situations section: content/services/situations/situations.yml, checked.

What a citizen's situation means for a service (how long after a birth or a death, a foreign
partner, someone applying for someone else) is data with its sources, so that a reviewer can
check every threshold against them and the dialogue only applies it
(dialogues/services/situations.py). It lives in a folder of its own because every *.yml directly
under content/services/ is a service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from common.khmer import normalise_text
from content.loader import Checker, Section
from content.model import Source, Text

PREVIOUS = ("day", "week", "month", "year", "none")  # what a relative phrase counts back
MESSAGES = ("late_yes", "late_no", "late_depends", "late_when", "late_which", "behalf_bring",
            "behalf_which")


def _key(word: str) -> str:
    """How words are compared: normalised (Khmer marks, digits), lower case."""
    return normalise_text(word).lower().strip()


@dataclass(frozen=True)
class Unit:
    name: str
    min_days: int
    max_days: int
    words: tuple[str, ...]
    one: Text  # "{n} month ago" / "បាន {n} ខែ"
    many: Text


@dataclass(frozen=True)
class Relative:
    previous: str  # the calendar unit before the current one, or "none" (today)
    words: tuple[str, ...]
    name: Text


@dataclass(frozen=True)
class Stage:
    service: str
    late: bool
    why: Text  # with {when}
    until_days: int | None = None  # inclusive; None: the last stage


@dataclass(frozen=True)
class Event:
    """A birth or a death: the words that tell it, the words that make a number next to them a
    time passed, and the stages of the rule, with the sources they rest on."""

    id: str
    services: tuple[str, ...]
    words: tuple[str, ...]
    anchors: tuple[str, ...]
    rule: Text
    stages: tuple[Stage, ...]
    sources: tuple[str, ...]
    checked: date


@dataclass(frozen=True)
class ForeignMarriage:
    services: tuple[str, ...]
    words: tuple[str, ...]
    fee_foreign_riel: int
    fee_khmer_riel: int
    text: Text  # with {fee_foreign} and {fee_khmer}
    sources: tuple[str, ...]
    checked: date


@dataclass(frozen=True)
class OnBehalf:
    text: Text  # no source says who may apply for someone else
    sources: tuple[str, ...]
    checked: date
    in_person: tuple[str, ...] = ()  # services whose own source says: the person comes
    in_person_text: Text | None = None


@dataclass(frozen=True)
class Situations:
    units: tuple[Unit, ...]
    numbers: dict[str, int]
    relative: tuple[Relative, ...]
    events: dict[str, Event]
    foreign: ForeignMarriage
    on_behalf: OnBehalf
    messages: dict[str, Text] = field(default_factory=dict)

    def message(self, key: str, lang: str, **values: Any) -> str:
        return self.messages[key](lang).format(**values)


class _Reader:
    """Reads one file's parts, recording problems on the Checker."""

    def __init__(self, check: Checker, sources: dict[str, Source], path: Path) -> None:
        self.check, self.sources, self.path = check, sources, path

    def words(self, value: Any, entry: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(
                isinstance(w, str) and w.strip() for w in value):
            self.check.problem(self.path, entry, "words", "a list of words")
            return ()
        return tuple(_key(w) for w in value)

    def services(self, value: Any, entry: str) -> tuple[str, ...]:
        ids = tuple(str(v) for v in value) if isinstance(value, list) else ()
        known = self.check.root / "services"
        for sid in ids:
            if not (known / f"{sid}.yml").is_file():
                self.check.problem(self.path, entry, "services", f"{sid!r} is not a service")
        if not ids:
            self.check.problem(self.path, entry, "services", "a list of service ids")
        return ids

    def sourced(self, raw: dict[str, Any], entry: str) -> tuple[tuple[str, ...], date | None]:
        """`source` and `also` (or `sources`), and `checked`: what every fact carries."""
        if "sources" in raw:
            refs = self.check.source_refs(raw["sources"], self.sources, self.path, entry,
                                          "sources")
        else:
            first = self.check.source_ref(raw.get("source"), self.sources, self.path, entry,
                                          "source")
            refs = ((first,) if first else ()) + self.check.source_refs(
                raw.get("also"), self.sources, self.path, entry, "also")
        if not refs:
            self.check.problem(self.path, entry, "sources", "every situation needs a source")
        checked = self.check.checked_date(raw.get("checked"), self.path, entry, "checked")
        return refs, checked

    def unit(self, name: str, raw: Any) -> Unit | None:
        raw = self.check.mapping(raw, self.path, f"units.{name}", "-")
        low = self.check.positive_int(raw.get("min"), self.path, f"units.{name}", "min")
        high = self.check.positive_int(raw.get("max"), self.path, f"units.{name}", "max")
        one = self.check.text(raw.get("one"), self.path, f"units.{name}", "one")
        many = self.check.text(raw.get("many"), self.path, f"units.{name}", "many")
        words = self.words(raw.get("words"), f"units.{name}")
        if low and high and low > high:
            self.check.problem(self.path, f"units.{name}", "min", "more than max")
        if not (low and high and one and many and words):
            return None
        return Unit(name, low, high, words, one, many)

    def relative(self, i: int, raw: Any) -> Relative | None:
        raw = self.check.mapping(raw, self.path, f"relative[{i}]", "-")
        previous = raw.get("previous")
        if previous not in PREVIOUS:
            self.check.problem(self.path, f"relative[{i}]", "previous",
                               f"one of {', '.join(PREVIOUS)}")
        name = self.check.text(raw.get("name"), self.path, f"relative[{i}]", "name")
        words = self.words(raw.get("words"), f"relative[{i}]")
        return Relative(str(previous), words, name) if name and words and \
            previous in PREVIOUS else None

    def event(self, event_id: str, raw: Any) -> Event | None:
        entry = f"events.{event_id}"
        raw = self.check.mapping(raw, self.path, entry, "-")
        services = self.services(raw.get("services"), entry)
        words, anchors = self.words(raw.get("words"), entry), self.words(raw.get("anchors"),
                                                                            f"{entry}.anchors")
        rule = self.check.text(raw.get("rule"), self.path, entry, "rule")
        refs, checked = self.sourced(raw, entry)
        stages = [self.stage(f"{entry}.stages[{i}]", s)
                  for i, s in enumerate(raw.get("stages") or [])]
        if not stages or any(s is None for s in stages):
            self.check.problem(self.path, entry, "stages", "a list of valid stages")
            return None
        limits = [s.until_days for s in stages if s]
        if limits[-1] is not None or None in limits[:-1] or limits[:-1] != sorted(
                {x for x in limits if x is not None}):
            self.check.problem(self.path, entry, "stages",
                               "until_days rising, on every stage but the last")
            return None
        if not (services and words and anchors and rule and refs and checked):
            return None
        return Event(event_id, services, words, anchors, rule,
                     tuple(s for s in stages if s), refs, checked)

    def stage(self, entry: str, raw: Any) -> Stage | None:
        raw = self.check.mapping(raw, self.path, entry, "-")
        until = raw.get("until_days")
        if until is not None:
            until = self.check.positive_int(until, self.path, entry, "until_days")
        why = self.check.text(raw.get("why"), self.path, entry, "why")
        services = self.services([raw.get("service")], entry)
        late = raw.get("late")
        if not isinstance(late, bool):
            self.check.problem(self.path, entry, "late", "true or false")
        if why is None or not services or not isinstance(late, bool) or (
                "until_days" in raw and until is None):
            return None
        return Stage(services[0], late, why, until)


def load_situations(check: Checker, sources: dict[str, Source]) -> Situations | None:
    path = check.root / "services" / "situations" / "situations.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    if not data:
        return None
    read = _Reader(check, sources, path)
    units = [read.unit(name, raw) for name, raw in
             check.mapping(data.get("units"), path, "units", "-").items()]
    numbers = {}
    for word, value in check.mapping(data.get("numbers"), path, "numbers", "-").items():
        if check.positive_int(value, path, "numbers", str(word)):
            numbers[_key(str(word))] = int(value)
    relative = [read.relative(i, raw) for i, raw in enumerate(data.get("relative") or [])]
    events = {str(k): read.event(str(k), v) for k, v in
              check.mapping(data.get("events"), path, "events", "-").items()}
    foreign = _foreign(read, check.mapping(data.get("foreign_marriage"), path,
                                           "foreign_marriage", "-"))
    behalf_raw = check.mapping(data.get("on_behalf"), path, "on_behalf", "-")
    behalf_text = check.text(behalf_raw.get("text"), path, "on_behalf", "text")
    behalf_refs, behalf_checked = read.sourced(behalf_raw, "on_behalf")
    in_person = read.services(behalf_raw.get("in_person"), "on_behalf.in_person")
    in_person_text = check.text(behalf_raw.get("in_person_text"), path, "on_behalf",
                                "in_person_text")
    raw_messages = check.mapping(data.get("messages"), path, "messages", "-")
    messages = {key: check.text(raw_messages.get(key), path, "messages", key)
                for key in MESSAGES}
    if (None in units or None in relative or None in events.values() or foreign is None
            or behalf_text is None or behalf_checked is None or None in messages.values()
            or in_person_text is None):
        return None
    return Situations(
        units=tuple(u for u in units if u), numbers=numbers,
        relative=tuple(r for r in relative if r),
        events={k: e for k, e in events.items() if e}, foreign=foreign,
        on_behalf=OnBehalf(behalf_text, behalf_refs, behalf_checked, in_person,
                           in_person_text),
        messages={k: t for k, t in messages.items() if t})


def _foreign(read: _Reader, raw: dict[str, Any]) -> ForeignMarriage | None:
    check, path = read.check, read.path
    services = read.services(raw.get("services"), "foreign_marriage")
    words = read.words(raw.get("words"), "foreign_marriage")
    fees = [check.positive_int(raw.get(k), path, "foreign_marriage", k)
            for k in ("fee_foreign_riel", "fee_khmer_riel")]
    text = check.text(raw.get("text"), path, "foreign_marriage", "text")
    refs, checked = read.sourced(raw, "foreign_marriage")
    if not (services and words and fees[0] and fees[1] and text and refs and checked):
        return None
    return ForeignMarriage(services, words, fees[0], fees[1], text, refs, checked)


SECTION = Section("situations", Situations, load_situations)  # in the services feature record
