"""Community scorecard content: the scale, the surveys (one per facility type), the optional
questions about the respondent, and the facilities that can be rated.

Files (documented in docs/surveys.md):
- content/surveys/common.yml: the five-level scale with faces and the words people type for each
  level, the control words (back, skip, stop), the profile questions;
- content/surveys/<facility_type>.yml: a survey's indicators, in Khmer and English;
- content/surveys/facilities/*.yml: facilities per commune (gazetteer code), with sources.

Everything is validated when the content loads (`isafbot content check`), including that no
typed phrase means two things: a survey must never guess between two answers.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from common.khmer import khmer_to_arabic_digits, normalise_text
from content.loader import Checker, Section
from content.model import Content, Source
from content.surveys.model import (
    CONTROLS as CONTROLS,
)
from content.surveys.model import (  # re-exported: the section's types
    FACILITY_TYPES as FACILITY_TYPES,
)
from content.surveys.model import (
    MAX_ID_CHARS as MAX_ID_CHARS,
)
from content.surveys.model import (
    PREFER_NOT as PREFER_NOT,
)
from content.surveys.model import (
    SCALE_VALUES as SCALE_VALUES,
)
from content.surveys.model import (
    Facility as Facility,
)
from content.surveys.model import (
    Indicator as Indicator,
)
from content.surveys.model import (
    Level as Level,
)
from content.surveys.model import (
    Option as Option,
)
from content.surveys.model import (
    ProfileQuestion as ProfileQuestion,
)
from content.surveys.model import (
    Survey as Survey,
)
from content.surveys.model import (
    Surveys as Surveys,
)

_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_FACILITY_ID = re.compile(r"^[a-z][a-z0-9_]*$")


# ------------------------------------------------------------------ typed answers

_PUNCTUATION = re.compile(r"[\s.,!?;:'\"“”‘’()\[\]{}។៕៖៚\-_/\\*~]+")
_BETWEEN_KHMER = re.compile(r"(?<=[\u1780-\u17ff]) (?=[\u1780-\u17ff])")
# Politeness and pronouns around an answer ("ល្អណាស់បង", "it's ok", "I am happy"): dropped when
# something is left. They are compared on answer keys, so they are written the way keys are.
_LEADING = ("i am ", "i m ", "im ", "it is ", "it s ", "its ", "ខ្ញុំ", "គឺ")
_TRAILING = ("បង", "ហ្មង", "ហើយ", "អូន", " bong", " pls", " please", " thanks", "ទេ")


def answer_key(text: str) -> str:
    """The comparable form of a typed answer: normalised Khmer, Arabic digits, lower case,
    without punctuation, emoji variation selectors, spaces inside Khmer, or particles."""
    key = khmer_to_arabic_digits(normalise_text(text)).replace("\ufe0f", "").lower()
    key = _PUNCTUATION.sub(" ", key).strip()
    key = _BETWEEN_KHMER.sub("", key)
    changed = True
    while changed:
        changed = False
        for prefix in _LEADING:
            if key.startswith(prefix) and key[len(prefix):].strip():
                key, changed = key[len(prefix):].strip(), True
        for suffix in _TRAILING:
            if key.endswith(suffix) and key[:-len(suffix)].strip():
                key, changed = key[:-len(suffix)].strip(), True
    return key


_NUMBER = re.compile(r"^(\d{1,3})(?:\s*(?:/\s*5|out of 5|stars?|⭐+|points?|pts?|ពិន្ទុ|ផ្កាយ))?$")


def typed_number(text: str) -> int | None:
    """"5", "៥", "5/5", "4 stars", "៣ ពិន្ទុ" -> the number; None when the text is not one."""
    cleaned = khmer_to_arabic_digits(normalise_text(text)).replace("\ufe0f", "").strip().lower()
    cleaned = cleaned.rstrip(".!")
    match = _NUMBER.match(cleaned)
    return int(match.group(1)) if match else None


# ------------------------------------------------------------------ loading

def _words(check: Checker, raw: Any, path: Path, entry: str, name: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
        check.problem(path, entry, name, "must be a list of non-empty texts")
        return []
    return list(raw)


class _Phrases:
    """Typed phrases and what each means; a phrase meaning two things is a problem."""

    def __init__(self, check: Checker, path: Path) -> None:
        self.check = check
        self.path = path
        self.meaning: dict[str, tuple[str, str]] = {}  # key -> (meaning, where)

    def add(self, phrase: str, meaning: str, entry: str, field_name: str) -> str | None:
        key = answer_key(phrase)
        if not key:
            self.check.problem(self.path, entry, field_name,
                               f"{phrase!r} has nothing left to compare once normalised")
            return None
        known = self.meaning.get(key)
        if known and known[0] != meaning:
            self.check.problem(self.path, entry, field_name,
                               f"{phrase!r} already means {known[0]} ({known[1]})")
            return None
        self.meaning[key] = (meaning, f"{entry} ({field_name})")
        return key


def _source_and_date(check: Checker, raw: dict[str, Any], defaults: dict[str, Any],
                     sources: dict[str, Source], path: Path, entry: str
                     ) -> tuple[str | None, date | None]:
    source = check.source_ref(raw.get("source", defaults.get("source")), sources, path, entry,
                              "source")
    checked = check.date(raw.get("checked", defaults.get("checked")), path, entry, "checked")
    if checked and checked > date.today():
        check.problem(path, entry, "checked", "is in the future")
    return source, checked


def _bool(check: Checker, value: Any, path: Path, entry: str, name: str) -> bool:
    if not isinstance(value, bool):
        check.problem(path, entry, name, "must be true or false")
        return True  # treat as sample: the safe reading
    return value


def _load_scale(check: Checker, raw: Any, path: Path, phrases: _Phrases
                ) -> tuple[tuple[Level, ...], dict[str, int]]:
    items = raw if isinstance(raw, list) else []
    if len(items) != len(SCALE_VALUES):
        check.problem(path, "scale", "-", "must list the five levels, 1 to 5")
    levels: list[Level] = []
    words: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        entry = f"scale[{position}]"
        item = check.mapping(item, path, entry, "-")
        if item.get("value") != position:
            check.problem(path, entry, "value", f"must be {position} (levels are listed 1 to 5)")
            continue
        code, face = item.get("code"), item.get("face")
        if not isinstance(code, str) or not _ID.match(code):
            check.problem(path, entry, "code", "must be lower_case_with_underscores")
            continue
        if not isinstance(face, str) or not face.strip():
            check.problem(path, entry, "face", "missing (an emoji face)")
            continue
        label = check.text(item.get("label"), path, entry, "label")
        if label is None:
            continue
        meaning = f"level {position}"
        for phrase in (str(position), code, face, label.km, label.en,
                       *_words(check, item.get("words"), path, entry, "words")):
            key = phrases.add(phrase, meaning, entry, "words")
            if key:
                words[key] = position
        levels.append(Level(position, code, face.strip(), label))
    return tuple(levels), words


def _load_controls(check: Checker, raw: Any, path: Path, phrases: _Phrases) -> dict[str, str]:
    raw = check.mapping(raw, path, "controls", "-")
    controls: dict[str, str] = {}
    for name in CONTROLS:
        words = _words(check, raw.get(name), path, "controls", name)
        if not words:
            check.problem(path, "controls", name, "must list the words for it")
        for phrase in (name, *words):
            key = phrases.add(phrase, f"control {name}", "controls", name)
            if key:
                controls[key] = name
    for extra in sorted(set(raw) - set(CONTROLS)):
        check.problem(path, "controls", extra, f"unknown control (known: {', '.join(CONTROLS)})")
    return controls


def _load_profile(check: Checker, raw: Any, prefer_not_words: list[str], path: Path,
                  shared: _Phrases) -> tuple[ProfileQuestion, ...]:
    if not isinstance(raw, list):
        check.problem(path, "profile", "-", "must be a list of questions")
        return ()
    questions: list[ProfileQuestion] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        item = check.mapping(item, path, f"profile[{index}]", "-")
        qid = item.get("id")
        entry = f"profile.{qid}" if isinstance(qid, str) else f"profile[{index}]"
        if not isinstance(qid, str) or not _ID.match(qid) or len(qid) > MAX_ID_CHARS:
            check.problem(path, entry, "id", "must be lower_case_with_underscores "
                          f"({MAX_ID_CHARS} characters at most)")
            continue
        if qid in seen:
            check.problem(path, entry, "id", "is used twice")
            continue
        seen.add(qid)
        question = _profile_question(check, item, qid, entry, prefer_not_words, path, shared)
        if question is not None:
            questions.append(question)
    return tuple(questions)


def _profile_question(check: Checker, item: dict[str, Any], qid: str, entry: str,
                      prefer_not_words: list[str], path: Path, shared: _Phrases
                      ) -> ProfileQuestion | None:
    text = check.text(item.get("text"), path, entry, "text")
    # A question's own phrases must not clash with each other or with control words.
    phrases = _Phrases(check, path)
    phrases.meaning = {k: v for k, v in shared.meaning.items() if v[0].startswith("control")}
    options: list[Option] = []
    words: dict[str, str] = {}
    raw_options = item.get("options")
    if not isinstance(raw_options, list) or len(raw_options) < 2:
        check.problem(path, entry, "options", "must list at least two options")
        raw_options = []
    for position, raw_option in enumerate(raw_options):
        option = _profile_option(check, raw_option, position, entry, options,
                                 prefer_not_words, path, phrases, words)
        if option is not None:
            options.append(option)
    if not any(o.id == PREFER_NOT for o in options):
        check.problem(path, entry, "options", f"must include {PREFER_NOT!r} "
                      "(everyone may decline to answer)")
    _check_age_ranges(check, options, path, entry)
    return ProfileQuestion(qid, text, tuple(options), words) if text else None


def _profile_option(check: Checker, raw: Any, position: int, entry: str, options: list[Option],
                    prefer_not_words: list[str], path: Path, phrases: _Phrases,
                    words: dict[str, str]) -> Option | None:
    """One option of a profile question; its typed words go into `words`."""
    option = check.mapping(raw, path, entry, f"options[{position}]")
    oid = option.get("id")
    where = f"options.{oid}"
    if not isinstance(oid, str) or not _ID.match(oid) or len(oid) > MAX_ID_CHARS:
        check.problem(path, entry, f"options[{position}].id",
                      "must be lower_case_with_underscores (quote yes and no)")
        return None
    if any(o.id == oid for o in options):
        check.problem(path, entry, where, "is used twice")
        return None
    label = check.text(option.get("label"), path, entry, f"{where}.label")
    low, high = option.get("min"), option.get("max")
    for name, value in (("min", low), ("max", high)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            check.problem(path, entry, f"{where}.{name}", "must be a whole number")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        check.problem(path, entry, where, "min is more than max")
    extra = prefer_not_words if oid == PREFER_NOT else []
    for phrase in (oid, *([label.km, label.en] if label else []),
                   *_words(check, option.get("words"), path, entry, f"{where}.words"),
                   *extra):
        key = phrases.add(phrase, f"option {oid}", entry, f"{where}.words")
        if key:
            words[key] = oid
    if not label:
        return None
    return Option(oid, label, low if isinstance(low, int) else None,
                  high if isinstance(high, int) else None)


def _check_age_ranges(check: Checker, options: list[Option], path: Path, entry: str) -> None:
    ranges = sorted((o.min_age or 0, o.max_age if o.max_age is not None else 10**6, o.id)
                    for o in options if o.min_age is not None or o.max_age is not None)
    for (_, high_a, a), (low_b, _, b) in pairwise(ranges):
        if low_b <= high_a:
            check.problem(path, entry, "options", f"the ages of {a} and {b} overlap")


def _load_survey(check: Checker, path: Path, sources: dict[str, Source]) -> Survey | None:
    raw = check.mapping(check.read_yaml(path), path, path.stem, "-")
    if not raw:
        return None
    entry = str(raw.get("id", path.stem))
    if raw.get("id") != path.stem:
        check.problem(path, entry, "id", f"must equal the file name ({path.stem!r})")
    facility_type = raw.get("facility_type")
    if facility_type not in FACILITY_TYPES:
        check.problem(path, entry, "facility_type", f"must be one of {', '.join(FACILITY_TYPES)}")
    facility_label = check.text(raw.get("facility_label"), path, entry, "facility_label")
    title = check.text(raw.get("title"), path, entry, "title")
    source, checked = _source_and_date(check, raw, {}, sources, path, entry)
    sample = _bool(check, raw.get("sample"), path, entry, "sample")
    indicators: list[Indicator] = []
    items = raw.get("indicators")
    if not isinstance(items, list) or not items:
        check.problem(path, entry, "indicators", "must list at least one indicator")
        items = []
    for index, item in enumerate(items):
        item = check.mapping(item, path, entry, f"indicators[{index}]")
        iid = item.get("id")
        if not isinstance(iid, str) or not _ID.match(iid) or len(iid) > MAX_ID_CHARS:
            check.problem(path, entry, f"indicators[{index}].id",
                          f"must be lower_case_with_underscores ({MAX_ID_CHARS} at most)")
            continue
        if any(i.id == iid for i in indicators):
            check.problem(path, entry, f"indicators.{iid}", "is used twice")
            continue
        text = check.text(item.get("text"), path, entry, f"indicators.{iid}.text")
        if text:
            indicators.append(Indicator(iid, text))
    if facility_type not in FACILITY_TYPES or not facility_label or not title or not source \
            or not checked:
        return None
    return Survey(entry, str(facility_type), facility_label, title, tuple(indicators), source,
                  checked, sample)


def _load_facilities(check: Checker, directory: Path, sources: dict[str, Source],
                     types: set[str]) -> dict[str, Facility]:
    from content.places import gazetteer

    files = sorted(directory.glob("*.yml"))
    if not files:
        check.problem(directory, "-", "-", "no facility files")
    facilities: dict[str, Facility] = {}
    seen: set[str] = set()
    for path in files:
        raw = check.mapping(check.read_yaml(path), path, "-", "-")
        defaults: dict[str, Any] = {key: raw[key] for key in ("source", "checked", "sample")
                                    if key in raw}
        items = raw.get("facilities")
        if not isinstance(items, list) or not items:
            check.problem(path, "-", "facilities", "must list at least one facility")
            continue
        for index, item in enumerate(items):
            item = check.mapping(item, path, f"facilities[{index}]", "-")
            fid = item.get("id")
            entry = str(fid) if fid else f"facilities[{index}]"
            if not isinstance(fid, str) or not _FACILITY_ID.match(fid) or len(fid) > 40:
                check.problem(path, entry, "id", "must be lower_case_with_underscores "
                              "(40 characters at most)")
                continue
            if fid in seen:
                check.problem(path, entry, "id", "is used twice")
                continue
            seen.add(fid)
            facility_type = item.get("type")
            if facility_type not in types:
                check.problem(path, entry, "type", "has no survey (known: "
                              f"{', '.join(sorted(types))})")
            commune = str(item.get("commune", ""))
            if gazetteer().get(commune) is None:
                check.problem(path, entry, "commune", f"{commune!r} is not a commune code of "
                              "the gazetteer")
            name = check.text(item.get("name"), path, entry, "name")
            source, checked = _source_and_date(check, item, defaults, sources, path, entry)
            sample = _bool(check, item.get("sample", defaults.get("sample")), path, entry,
                           "sample")
            if name and source and checked and facility_type in types \
                    and gazetteer().get(commune):
                facilities[fid] = Facility(fid, str(facility_type), commune, name, source,
                                           checked, sample)
    return facilities


def load_surveys(check: Checker, sources: dict[str, Source]) -> Surveys | None:
    directory = check.root / "surveys"
    common_path = directory / "common.yml"
    common = check.mapping(check.read_yaml(common_path), common_path, "-", "-")
    source, checked = _source_and_date(check, common, {}, sources, common_path, "-")
    phrases = _Phrases(check, common_path)
    controls = _load_controls(check, common.get("controls"), common_path, phrases)
    scale, scale_words = _load_scale(check, common.get("scale"), common_path, phrases)
    prefer_not_words = _words(check, common.get("prefer_not_words"), common_path, "-",
                              "prefer_not_words")
    profile = _load_profile(check, common.get("profile"), prefer_not_words, common_path,
                            phrases)
    by_type: dict[str, Survey] = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name == "common.yml":
            continue
        survey = _load_survey(check, path, sources)
        if survey is None:
            continue
        if survey.facility_type in by_type:
            check.problem(path, survey.id, "facility_type",
                          f"{survey.facility_type} already has a survey "
                          f"({by_type[survey.facility_type].id})")
            continue
        by_type[survey.facility_type] = survey
    for facility_type in FACILITY_TYPES:
        if facility_type not in by_type:
            check.problem(directory, facility_type, "-", "no survey for this facility type")
    facilities = _load_facilities(check, directory / "facilities", sources, set(by_type))
    if len(scale) != len(SCALE_VALUES) or source is None or checked is None:
        return None
    return Surveys(scale=scale, scale_words=scale_words, controls=controls, profile=profile,
                   by_type=by_type, facilities=facilities, source=source, checked=checked)


def surveys_of(content: Content) -> Surveys:
    """The validated survey content (the bot does not start without it)."""
    return content.sections[Surveys]


SECTION = Section("surveys", Surveys, load_surveys)  # listed in the scorecard feature record
