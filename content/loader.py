"""Loads and validates everything under content/.

Validation collects every problem (file, entry, field, what is wrong) instead of stopping at the
first, so an NGO officer fixing a file sees the whole list at once. The bot refuses to start on
invalid content; nothing is validated lazily mid-conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from common.formatting import number_style_problems
from common.khmer import is_khmer_char
from content.model import (
    ASPECTS,
    LANGUAGES,
    Content,
    Fact,
    FeeOption,
    Rights,
    Sections,
    Service,
    Source,
    Text,
)

CONTENT_DIR = Path(__file__).resolve().parent
OFFICES = ("one_window", "commune_police", "administrative_police")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PUBLISHED = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_PLACEHOLDER = re.compile(r"{(\w+)}")
Day = date  # `date` is also a Checker method
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, when built with it
_FACT_KEYS = {"source", "also", "checked", "review", "may_be_outdated", "note", "details",
              "items", "options", "working_days", "days", "at_most", "months", "text"}


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.field}: {self.message}"


class ContentError(Exception):
    """Content is invalid; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the content:\n{lines}")


class Checker:
    """Reads values out of parsed YAML, recording a Problem for each thing that is wrong."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def problem(self, path: Path, entry: str, field: str, message: str) -> None:
        self.problems.append(Problem(self._name(path), entry, field, message))

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def read_yaml(self, path: Path) -> Any:
        """The file's data, or None with the problem recorded. libyaml's C parser reads it
        (ten times faster: every start and every test's app loads all the content); a file it
        refuses is read again by the Python parser, whose messages the problems quote."""
        try:
            return yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER)
        except (FileNotFoundError, UnicodeDecodeError, yaml.YAMLError):
            pass  # reported below, the usual way
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.problem(path, "-", "-", "file is missing")
        except UnicodeDecodeError as error:
            self.problem(path, "-", "-", f"not UTF-8 text ({error.reason} at byte {error.start})")
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            reason = getattr(error, "problem", None) or str(error)
            self.problem(path, "-", "-", f"invalid YAML{where}: {reason}")
        return None

    def mapping(self, value: Any, path: Path, entry: str, field: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.problem(path, entry, field, "missing" if value is None else "must be a mapping")
        return {}

    def text(self, value: Any, path: Path, entry: str, field: str) -> Text | None:
        """A {km, en} pair: both present, Khmer in Khmer script, English without it."""
        if not isinstance(value, dict):
            self.problem(path, entry, field, "missing" if value is None else
                         "must have km and en texts")
            return None
        ok = True
        for lang in LANGUAGES:
            item = value.get(lang)
            if not isinstance(item, str) or not item.strip():
                self.problem(path, entry, f"{field}.{lang}", "missing or empty")
                ok = False
            elif lang == "km" and not any(map(is_khmer_char, item)):
                self.problem(path, entry, f"{field}.km", "is not written in Khmer script")
                ok = False
            elif lang == "en" and any(map(is_khmer_char, item)):
                self.problem(path, entry, f"{field}.en", "contains Khmer script")
                ok = False
        extra = set(value) - set(LANGUAGES)
        if extra:
            self.problem(path, entry, field, f"unknown language(s): {', '.join(sorted(extra))}")
        if ok:
            km, en = value["km"].strip(), value["en"].strip()
            if set(_PLACEHOLDER.findall(km)) != set(_PLACEHOLDER.findall(en)):
                self.problem(path, entry, field, "km and en have different {placeholders}")
                return None
            for lang, item in (("km", km), ("en", en)):
                for found in number_style_problems(item, lang):
                    self.problem(path, entry, f"{field}.{lang}",
                                 f"number written {found}, as the bot writes every number")
            return Text(km=km, en=en)
        return None

    def date(self, value: Any, path: Path, entry: str, field: str) -> date | None:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(path, entry, field, "missing" if value is None else
                         f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def positive_int(self, value: Any, path: Path, entry: str, field: str,
                     *, allow_zero: bool = False) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero
                                                                              else 1):
            self.problem(path, entry, field, f"{value!r} is not a whole number"
                         + (" (0 or more)" if allow_zero else " (1 or more)"))
            return None
        return value

    def source_ref(self, value: Any, sources: dict[str, Source], path: Path, entry: str,
                   field: str) -> str | None:
        if value not in sources:
            self.problem(path, entry, field,
                         "missing: every fact needs a source (an id from content/sources.yml)"
                         if value is None else
                         f"unknown source {value!r} (add it to content/sources.yml)")
            return None
        return str(value)

    def source_refs(self, value: Any, sources: dict[str, Source], path: Path, entry: str,
                    field: str) -> tuple[str, ...]:
        """A list of source ids (`also:`), each known."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, entry, field, "must be a list of source ids")
            return ()
        found = (self.source_ref(item, sources, path, entry, f"{field}[{i}]")
                 for i, item in enumerate(value))
        return tuple(ref for ref in found if ref)

    def checked_date(self, value: Any, path: Path, entry: str, field: str) -> Day | None:
        checked = self.date(value, path, entry, field)
        if checked and checked > date.today():
            self.problem(path, entry, field, "is in the future")
        return checked


# ------------------------------------------------------------------ core sections

def _load_sources(check: Checker) -> dict[str, Source]:
    path = check.root / "sources.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    raw = check.mapping(data.get("sources"), path, "-", "sources")
    sources: dict[str, Source] = {}
    for source_id, item in raw.items():
        item = check.mapping(item, path, source_id, "-")
        title = check.text(item.get("title"), path, source_id, "title")
        published = str(item.get("published", ""))
        if not _PUBLISHED.match(published):
            check.problem(path, source_id, "published", "must be YYYY, YYYY-MM or YYYY-MM-DD")
        url = item.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            check.problem(path, source_id, "url", "must start with http:// or https://")
        short = check.text(item["short"], path, source_id, "short") if "short" in item else None
        earliest = item.get("earliest", False)
        if not isinstance(earliest, bool):
            check.problem(path, source_id, "earliest", "must be true or false")
        if title and _PUBLISHED.match(published):
            sources[source_id] = Source(source_id, title, published, url, short,
                                        earliest is True)
    return sources


def _load_messages(check: Checker) -> dict[str, Text]:
    path = check.root / "messages.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    messages: dict[str, Text] = {}
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"same"} and isinstance(value["same"], str):
            # Language-neutral: "ភាសា / Language", or only placeholders.
            messages[key] = Text(km=value["same"], en=value["same"])
            continue
        text = check.text(value, path, key, "text")
        if text:
            messages[key] = text
    return messages


def _document_values(raw: dict[str, Any], check: Checker, path: Path, entry: str,
                     field: str) -> dict[str, Any]:
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        check.problem(path, entry, f"{field}.items", "must list at least one document")
        return {}
    texts = [check.text(item, path, entry, f"{field}.items[{i}]") for i, item in enumerate(items)]
    return {"items": tuple(t for t in texts if t)}


def _fee_values(raw: dict[str, Any], check: Checker, path: Path, entry: str,
                field: str) -> dict[str, Any]:
    options = raw.get("options")
    if not isinstance(options, list) or not options:
        check.problem(path, entry, f"{field}.options", "must list at least one fee")
        return {}
    parsed = []
    for i, option in enumerate(options):
        option = check.mapping(option, path, entry, f"{field}.options[{i}]")
        amount = check.positive_int(option.get("amount_riel"), path, entry,
                                    f"{field}.options[{i}].amount_riel", allow_zero=True)
        condition = (check.text(option["condition"], path, entry,
                                f"{field}.options[{i}].condition")
                     if "condition" in option else None)
        if amount is not None:
            parsed.append(FeeOption(amount, condition))
    if len(options) > 1 and any("condition" not in (o or {}) for o in options):
        check.problem(path, entry, f"{field}.options", "each of several fees needs a condition")
    return {"fee_options": tuple(parsed)}


def _amount_values(raw: dict[str, Any], check: Checker, path: Path, entry: str,
                   field: str) -> dict[str, Any]:
    """Duration, place, validity: a number of days/months or a text."""
    values: dict[str, Any] = {}
    keys = [k for k in ("working_days", "days", "months", "text") if k in raw]
    if len(keys) != 1:
        check.problem(path, entry, field, "needs exactly one of working_days, days, months or text")
    for key in keys:
        if key == "text":
            values["text"] = check.text(raw["text"], path, entry, f"{field}.text")
        else:
            values[key] = check.positive_int(raw[key], path, entry, f"{field}.{key}")
    if "at_most" in raw:
        if not isinstance(raw["at_most"], bool) or not set(keys) & {"working_days", "days"}:
            check.problem(path, entry, f"{field}.at_most",
                          "true or false, with working_days or days")
        else:
            values["at_most"] = raw["at_most"]
    return values


_FACT_VALUES = {"documents": _document_values, "fee": _fee_values}


def _load_fact(aspect: str, raw: Any, check: Checker, sources: dict[str, Source], path: Path,
               entry: str) -> Fact | None:
    field = f"facts.{aspect}"
    raw = check.mapping(raw, path, entry, field)
    if not raw:
        return None
    problems_before = len(check.problems)
    unknown = set(raw) - _FACT_KEYS
    if unknown:
        check.problem(path, entry, field, f"unknown key(s): {', '.join(sorted(unknown))}")
    source = check.source_ref(raw.get("source"), sources, path, entry, f"{field}.source")
    also = check.source_refs(raw.get("also"), sources, path, entry, f"{field}.also")
    checked = check.checked_date(raw.get("checked"), path, entry, f"{field}.checked")
    outdated = bool(raw.get("may_be_outdated", False))
    note = check.text(raw["note"], path, entry, f"{field}.note") if "note" in raw else None
    if outdated and note is None and "note" not in raw:
        check.problem(path, entry, f"{field}.note", "required when may_be_outdated is true")
    details = (check.text(raw["details"], path, entry, f"{field}.details")
               if "details" in raw else None)
    review = raw.get("review")
    if review is not None and (not isinstance(review, str) or not review.strip()):
        check.problem(path, entry, f"{field}.review", "must say what was compared")
    values = _FACT_VALUES.get(aspect, _amount_values)(raw, check, path, entry, field)
    if len(check.problems) > problems_before or source is None or checked is None:
        return None
    return Fact(aspect=aspect, source=source, checked=checked, may_be_outdated=outdated,
                note=note, details=details, also=also,
                review=review.strip() if isinstance(review, str) else None, **values)


def _load_services(check: Checker, sources: dict[str, Source]) -> dict[str, Service]:
    directory = check.root / "services"
    files = sorted(directory.glob("*.yml"))
    if not files:
        check.problem(directory, "-", "-", "no service files")
    services: dict[str, Service] = {}
    for path in files:
        raw = check.mapping(check.read_yaml(path), path, path.stem, "-")
        if not raw:
            continue
        entry = str(raw.get("id", path.stem))
        if raw.get("id") != path.stem:
            check.problem(path, entry, "id", f"must equal the file name ({path.stem!r})")
        if not _ID.match(entry):
            check.problem(path, entry, "id", "must be lower_case_with_underscores")
        name = check.text(raw.get("name"), path, entry, "name")
        summary = check.text(raw.get("summary"), path, entry, "summary")
        office = raw.get("office")
        if office not in OFFICES:
            check.problem(path, entry, "office", f"must be one of {', '.join(OFFICES)}")
        facts_raw = check.mapping(raw.get("facts"), path, entry, "facts")
        facts: dict[str, Fact] = {}
        for aspect in (*ASPECTS, "validity"):
            if aspect not in facts_raw:
                if aspect != "validity":
                    check.problem(path, entry, f"facts.{aspect}", "missing")
                continue
            fact = _load_fact(aspect, facts_raw[aspect], check, sources, path, entry)
            if fact:
                facts[aspect] = fact
        unknown = set(facts_raw) - {*ASPECTS, "validity"}
        for aspect in sorted(unknown):
            check.problem(path, entry, f"facts.{aspect}", "unknown fact")
        if name and summary and office in OFFICES:
            services[entry] = Service(entry, name, summary, str(office), facts)
    return services


def _load_rights(check: Checker, sources: dict[str, Source]) -> Rights | None:
    """content/rights.yml: the rights block every fee answer carries, and how to complain."""
    path = check.root / "rights.yml"
    raw = check.mapping(check.read_yaml(path), path, "rights", "-")
    if not raw:
        return None
    block = check.text(raw.get("block"), path, "rights", "block")
    complain = check.text(raw.get("complain"), path, "rights", "complain")
    refs = check.source_refs(raw.get("sources"), sources, path, "rights", "sources")
    if not refs:
        check.problem(path, "rights", "sources", "must list the sources the rights rest on")
    checked = check.checked_date(raw.get("checked"), path, "rights", "checked")
    review = raw.get("review")
    if block is None or complain is None or not refs or checked is None:
        return None
    return Rights(block, complain, refs, checked, review if isinstance(review, str) else None)


# ------------------------------------------------------------------ feature sections

T = TypeVar("T")


@dataclass(frozen=True)
class Section(Generic[T]):
    """A feature's content section: its name, the type it loads to (the key of
    `Content.sections`), and its loader. Each feature's record (bot.features) lists its own;
    nothing registers itself at import."""

    name: str
    kind: type[T]
    load: Callable[[Checker, dict[str, Source]], T | None]


def check_content(root: Path = CONTENT_DIR, *, sections: Iterable[Section[Any]] = (),
                  required_messages: Iterable[str] = ()) -> tuple[Content | None, list[Problem]]:
    """Load and validate; returns the content (None when anything is wrong) and the problems.

    `sections` are the feature sections to load (bot.features knows them all);
    `required_messages` are the message keys the dialogues use: a missing one is a problem.
    """
    check = Checker(root)
    sources = _load_sources(check)
    messages = _load_messages(check)
    services = _load_services(check, sources)
    rights = _load_rights(check, sources)
    for key in sorted(set(required_messages) - set(messages)):
        check.problem(root / "messages.yml", key, "text", "missing (the dialogues use it)")
    specs = list(sections)
    loaded = {spec.kind: spec.load(check, sources) for spec in specs}
    if check.problems:
        return None, check.problems
    typed = Sections({kind: value for kind, value in loaded.items() if value is not None},
                     tuple(spec.name for spec in specs))
    return Content(sources=sources, services=services, messages=messages, rights=rights,
                   sections=typed), []


def load_content(root: Path = CONTENT_DIR, *, sections: Iterable[Section[Any]] = (),
                 required_messages: Iterable[str] = ()) -> Content:
    content, problems = check_content(root, sections=sections,
                                      required_messages=required_messages)
    if content is None:
        raise ContentError(problems)
    return content
