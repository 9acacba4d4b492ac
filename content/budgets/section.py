"""Budget content (I4C): what communes/sangkats, health centres and primary schools received
and spent, with national facts, a glossary and "how to have your say".

Files under content/budgets/:
- categories.yml: the revenue and spending categories of each scope, named in km and en;
- national.yml: published national facts (Commune/Sangkat Fund, averages, HEF, schools);
- glossary.yml: the words a young citizen meets in a budget, and how to have a say;
- data/*.yml: figures per commune and year (sample ones say so, and how they were made),
  written by hand, by `isafbot content import-budget`, or by content/budgets/make_sample.py.

Every figure resolves to its own source, checked date and sample flag (a year block gives
defaults a figure may override). When two files hold the same commune (or facility) and year,
published figures replace sample ones; two published or two sample blocks are an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from content.budgets.model import (
    Budgets,
    Category,
    CommuneBudget,
    DataFile,
    DevelopmentAverage,
    Facility,
    Fact,
    Figure,
    People,
    Provenance,
    Term,
    YearBudget,
)
from content.loader import Checker, Section
from content.model import Source, Text
from content.places import gazetteer

SCOPES = ("commune", "health_centre", "school")
FACILITY_SCOPES = ("health_centre", "school")
KINDS = ("revenue", "spending")
FUNDS = ("development", "administration")  # the two components of the Commune/Sangkat Fund
FACILITY_KEYS = {"health_centre": "health_centres", "school": "schools"}
FIRST_YEAR = 2002  # the Commune/Sangkat Fund started with the first commune councils
MAX_RIEL = 10**13  # ten trillion riel: anything above is a typo, not a commune budget
MAX_PEOPLE = 5_000_000
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


# ------------------------------------------------------------------ helpers

def is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value[0].isalpha() and \
        set(value) <= _ID_CHARS


def _provenance(raw: dict[str, Any], default: Provenance | None, check: Checker,
                sources: dict[str, Source], path: Path, entry: str, field_: str
                ) -> Provenance | None:
    """source/checked/sample of a block or figure; missing keys come from `default`."""
    problems = len(check.problems)
    source = (check.source_ref(raw["source"], sources, path, entry, f"{field_}.source")
              if "source" in raw or default is None else default.source)
    if "checked" in raw or default is None:
        checked = check.date(raw.get("checked"), path, entry, f"{field_}.checked")
        if checked and checked > date.today():
            check.problem(path, entry, f"{field_}.checked", "is in the future")
    else:
        checked = default.checked
    sample_raw = raw.get("sample", default.sample if default else False)
    if not isinstance(sample_raw, bool):
        check.problem(path, entry, f"{field_}.sample", "must be true or false")
    if len(check.problems) > problems or source is None or checked is None:
        return None
    return Provenance(source, checked, bool(sample_raw))


def _riel(value: Any, check: Checker, path: Path, entry: str, field_: str,
          *, limit: int = MAX_RIEL) -> int | None:
    number = check.positive_int(value, path, entry, field_, allow_zero=True)
    if number is not None and number > limit:
        check.problem(path, entry, field_, f"{number} is implausibly large (a typo?)")
        return None
    return number


# ------------------------------------------------------------------ categories

def _load_categories(check: Checker, root: Path) -> dict[str, dict[str, dict[str, Category]]]:
    path = root / "budgets" / "categories.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    categories: dict[str, dict[str, dict[str, Category]]] = {}
    for scope in SCOPES:
        per_scope = check.mapping(data.get(scope), path, scope, "-")
        categories[scope] = {}
        for kind in KINDS:
            items = check.mapping(per_scope.get(kind), path, scope, kind)
            if not items and per_scope:
                continue
            parsed: dict[str, Category] = {}
            for category_id, raw in items.items():
                entry = f"{scope}.{kind}.{category_id}"
                raw = check.mapping(raw, path, entry, "-")
                if not is_id(category_id) or len(str(category_id)) > 20:
                    check.problem(path, entry, "-", "ids are lower_case (at most 20 characters)")
                    continue
                name = check.text(raw.get("name"), path, entry, "name")
                fund = raw.get("fund")
                if fund is not None and (scope != "commune" or kind != "revenue"
                                         or fund not in FUNDS):
                    check.problem(path, entry, "fund",
                                  f"only commune revenue has a fund: {', '.join(FUNDS)}")
                    fund = None
                if name:
                    parsed[str(category_id)] = Category(str(category_id), name, fund)
            categories[scope][kind] = parsed
    for unknown in sorted(set(data) - set(SCOPES)):
        check.problem(path, unknown, "-", f"unknown scope (use {', '.join(SCOPES)})")
    return categories


# ------------------------------------------------------------------ national facts, glossary

def _fact(item_id: str, raw: Any, check: Checker, sources: dict[str, Source], path: Path
          ) -> Fact | None:
    raw = check.mapping(raw, path, item_id, "-")
    if not raw:
        return None
    problems = len(check.problems)
    text = check.text(raw.get("text"), path, item_id, "text")
    provenance = _provenance({k: raw[k] for k in ("source", "checked") if k in raw}, None,
                             check, sources, path, item_id, "")
    review = raw.get("review")
    if review is not None and not isinstance(review, str):
        check.problem(path, item_id, "review", "must say what was compared")
    if len(check.problems) > problems or text is None or provenance is None:
        return None
    return Fact(item_id, text, provenance.source, provenance.checked,
                review if isinstance(review, str) else None)


def _load_national(check: Checker, sources: dict[str, Source], root: Path
                   ) -> tuple[dict[str, Fact], DevelopmentAverage | None]:
    path = root / "budgets" / "national.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    facts: dict[str, Fact] = {}
    for fact_id, raw in check.mapping(data.get("facts"), path, "facts", "-").items():
        fact = _fact(str(fact_id), raw, check, sources, path)
        if fact:
            facts[fact.id] = fact
    average = None
    raw_average = check.mapping(data.get("development_average_usd"), path,
                                "development_average_usd", "-")
    if raw_average:
        entry = "development_average_usd"
        problems = len(check.problems)
        years = check.mapping(raw_average.get("years"), path, entry, "years")
        usd: dict[int, int] = {}
        for year, amount in years.items():
            if not isinstance(year, int) or year < FIRST_YEAR:
                check.problem(path, entry, f"years.{year}", "must be a year (YYYY)")
                continue
            value = check.positive_int(amount, path, entry, f"years.{year}")
            if value:
                usd[year] = value
        note = check.text(raw_average.get("note"), path, entry, "note")
        provenance = _provenance(raw_average, None, check, sources, path, entry, "")
        if len(check.problems) == problems and note and provenance:
            review = raw_average.get("review")
            average = DevelopmentAverage(usd, note, provenance.source, provenance.checked,
                                         review if isinstance(review, str) else None)
    return facts, average


def _load_glossary(check: Checker, sources: dict[str, Source], root: Path
                   ) -> tuple[dict[str, Term], Fact | None]:
    path = root / "budgets" / "glossary.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    terms: dict[str, Term] = {}
    for term_id, raw in check.mapping(data.get("terms"), path, "terms", "-").items():
        raw = check.mapping(raw, path, str(term_id), "-")
        if not is_id(term_id) or len(str(term_id)) > 20:
            check.problem(path, str(term_id), "-", "ids are lower_case (at most 20 characters)")
            continue
        fact = _fact(str(term_id), {k: v for k, v in raw.items() if k != "term"}, check,
                     sources, path)
        term = check.text(raw.get("term"), path, str(term_id), "term")
        if fact and term:
            terms[str(term_id)] = Term(fact.id, term, fact.text, fact.source, fact.checked)
    say = _fact("have_your_say", data.get("have_your_say"), check, sources, path)
    return terms, say


# ------------------------------------------------------------------ figures

def _year_block(raw: Any, scope: str, year: Any, categories: dict[str, dict[str, Category]],
                check: Checker, sources: dict[str, Source], path: Path, entry: str
                ) -> YearBudget | None:
    field_ = f"years.{year}"
    if not isinstance(year, int) or not FIRST_YEAR <= year <= date.today().year + 1:
        check.problem(path, entry, field_, f"{year!r} is not a budget year "
                      f"({FIRST_YEAR}..{date.today().year + 1})")
        return None
    raw = check.mapping(raw, path, entry, field_)
    if not raw:
        return None
    problems = len(check.problems)
    default = _provenance(raw, None, check, sources, path, entry, field_)
    figures: dict[str, list[Figure]] = {}
    for kind in KINDS:
        items = check.mapping(raw.get(kind), path, entry, f"{field_}.{kind}")
        figures[kind] = []
        if not items and kind in raw:
            check.problem(path, entry, f"{field_}.{kind}", "lists no figures")
        for category_id, value in items.items():
            where = f"{field_}.{kind}.{category_id}"
            if category_id not in categories.get(kind, {}):
                known = ", ".join(categories.get(kind, {})) or "-"
                check.problem(path, entry, where, f"unknown {scope} {kind} category "
                              f"(known: {known})")
                continue
            amount, provenance = _amount(value, default, check, sources, path, entry, where)
            if amount is not None and provenance is not None:
                figures[kind].append(Figure(str(category_id), amount, provenance))
    people = None
    if "people" in raw:
        count, provenance = _amount(raw["people"], default, check, sources, path, entry,
                                    f"{field_}.people", key="count", limit=MAX_PEOPLE)
        if count is not None and provenance is not None:
            if count == 0:
                check.problem(path, entry, f"{field_}.people", "must be 1 or more")
            else:
                people = People(count, provenance)
    unknown = set(raw) - {"source", "checked", "sample", "people", *KINDS}
    for key in sorted(unknown):
        check.problem(path, entry, f"{field_}.{key}", "unknown field")
    if sum(f.riel for f in figures["spending"]) == 0 and "spending" in raw:
        check.problem(path, entry, f"{field_}.spending", "adds up to nothing")
    if len(check.problems) > problems or default is None:
        return None
    return YearBudget(year, tuple(figures["revenue"]), tuple(figures["spending"]), people,
                      check._name(path))


def _amount(value: Any, default: Provenance | None, check: Checker,
            sources: dict[str, Source], path: Path, entry: str, where: str, *,
            key: str = "riel", limit: int = MAX_RIEL) -> tuple[int | None, Provenance | None]:
    """A figure: a bare number (the block's source), or {riel|count, source, checked, sample}."""
    if isinstance(value, dict):
        extra = set(value) - {key, "source", "checked", "sample"}
        if extra:
            check.problem(path, entry, where, f"unknown field(s): {', '.join(sorted(extra))}")
        amount = _riel(value.get(key), check, path, entry, f"{where}.{key}", limit=limit)
        return amount, _provenance(value, default, check, sources, path, entry, where)
    return _riel(value, check, path, entry, where, limit=limit), default


def _years(raw: Any, scope: str, budgets_categories: dict[str, dict[str, dict[str, Category]]],
           check: Checker, sources: dict[str, Source], path: Path, entry: str
           ) -> dict[int, YearBudget]:
    years: dict[int, YearBudget] = {}
    for year, block in check.mapping(raw, path, entry, "years").items():
        parsed = _year_block(block, scope, year, budgets_categories[scope], check, sources,
                             path, entry)
        if parsed:
            years[parsed.year] = parsed
    return years


@dataclass
class _Facility:
    scope: str
    id: str
    name: Text
    years: dict[int, YearBudget]


@dataclass
class _Commune:
    code: str
    years: dict[int, YearBudget] = field(default_factory=dict)
    facilities: dict[tuple[str, str], _Facility] = field(default_factory=dict)


def _merge_year(target: dict[int, YearBudget], year: int, budget: YearBudget,
                check: Checker, path: Path, entry: str) -> None:
    """Published figures replace sample ones; two of the same kind are a conflict."""
    existing = target.get(year)
    if existing is None:
        target[year] = budget
        return
    if existing.sample and not budget.sample:
        target[year] = budget
    elif budget.sample and not existing.sample:
        return
    else:
        check.problem(path, entry, f"years.{year}",
                      f"already given in {existing.file} (keep one: re-import that file to "
                      "correct it)")


@dataclass(frozen=True)
class _File:
    """What reading one data file needs."""

    path: Path
    check: Checker
    sources: dict[str, Source]
    categories: dict[str, dict[str, dict[str, Category]]]

    def years(self, raw: Any, scope: str, entry: str) -> dict[int, YearBudget]:
        return _years(raw, scope, self.categories, self.check, self.sources, self.path, entry)


def load_data_file(raw: Any, path: Path, check: Checker, sources: dict[str, Source],
                   categories: dict[str, dict[str, dict[str, Category]]],
                   communes: dict[str, _Commune]) -> DataFile | None:
    """One data file into `communes` (merged with what other files gave)."""
    data = check.mapping(raw, path, "-", "-")
    if not data:
        return None
    title = check.text(data["title"], path, "-", "title") if "title" in data else None
    how_made = check.text(data["how_made"], path, "-", "how_made") if "how_made" in data \
        else None
    problems_before = len(check.problems)
    file = _File(path, check, sources, categories)
    sample_seen = False
    for code, raw_commune in check.mapping(data.get("communes"), path, "-", "communes").items():
        sample_seen |= _load_commune(str(code), raw_commune, file, communes)
    if sample_seen and how_made is None and len(check.problems) == problems_before:
        check.problem(path, "-", "how_made",
                      "required: this file has sample figures, say how they were made")
    unknown = set(data) - {"title", "how_made", "communes"}
    for key in sorted(unknown):
        check.problem(path, "-", key, "unknown field")
    return DataFile(check._name(path), title, how_made)


def _load_commune(code: str, raw: Any, file: _File, communes: dict[str, _Commune]) -> bool:
    """One commune's years and facilities, merged into `communes`. True when it gave sample
    figures."""
    check, path, entry = file.check, file.path, f"commune {code}"
    raw_commune = check.mapping(raw, path, entry, "-")
    place = gazetteer().get(code)
    if place is None:
        check.problem(path, entry, "-", "no commune/sangkat has this code in the gazetteer")
        return False
    name = raw_commune.get("name")
    if name is not None and str(name).lower() != place.name_en.lower():
        check.problem(path, entry, "name", f"{name!r} is not this code's commune "
                      f"(the gazetteer says {place.name_en}, {place.district_en})")
        return False
    commune = communes.setdefault(code, _Commune(code))
    sample_seen = False
    for year, budget in file.years(raw_commune.get("years", {}), "commune", entry).items():
        sample_seen |= budget.sample
        _merge_year(commune.years, year, budget, check, path, entry)
    for scope in FACILITY_SCOPES:
        sample_seen |= _load_facilities(scope, raw_commune, commune, file, entry)
    unknown = set(raw_commune) - {"name", "years", *FACILITY_KEYS.values()}
    for key in sorted(unknown):
        check.problem(path, entry, key, "unknown field")
    return sample_seen


def _load_facilities(scope: str, raw_commune: dict[str, Any], commune: _Commune, file: _File,
                     entry: str) -> bool:
    """A commune's health centres or schools. True when one gave sample figures."""
    check, path = file.check, file.path
    key = FACILITY_KEYS[scope]
    sample_seen = False
    for facility_id, raw_facility in check.mapping(raw_commune.get(key, {}), path,
                                                   entry, key).items():
        fentry = f"{entry} {key}.{facility_id}"
        raw_facility = check.mapping(raw_facility, path, fentry, "-")
        if not is_id(facility_id) or len(str(facility_id)) > 24:
            check.problem(path, fentry, "-",
                          "facility ids are lower_case (at most 24 characters)")
            continue
        fname = check.text(raw_facility.get("name"), path, fentry, "name")
        years = file.years(raw_facility.get("years"), scope, fentry)
        if fname is None:
            continue
        facility = commune.facilities.setdefault(
            (scope, str(facility_id)), _Facility(scope, str(facility_id), fname, {}))
        for year, budget in years.items():
            sample_seen |= budget.sample
            _merge_year(facility.years, year, budget, check, path, fentry)
    return sample_seen


def data_files(root: Path) -> list[Path]:
    return sorted((root / "budgets" / "data").glob("*.yml"))


def load_budgets(check: Checker, sources: dict[str, Source], *,
                 replace: dict[Path, Any] | None = None) -> Budgets:
    """Everything under content/budgets/. `replace` gives parsed data for some data files
    (existing or new) instead of reading them: the importer validates before it writes."""
    root = check.root
    categories = _load_categories(check, root)
    facts, average = _load_national(check, sources, root)
    glossary, say = _load_glossary(check, sources, root)
    replace = replace or {}
    communes: dict[str, _Commune] = {}
    files: dict[str, DataFile] = {}
    paths = list(dict.fromkeys([*data_files(root), *replace]))
    for path in paths:
        raw = replace[path] if path in replace else check.read_yaml(path)
        loaded = load_data_file(raw, path, check, sources, categories, communes)
        if loaded:
            files[loaded.path] = loaded
    return Budgets(
        categories=categories,
        communes={code: _freeze(commune) for code, commune in communes.items()},
        facts=facts, glossary=glossary, have_your_say=say, development_average=average,
        files=files,
    )


def _freeze(commune: _Commune) -> CommuneBudget:
    facilities: dict[str, list[Facility]] = {}
    for (scope, _), item in sorted(commune.facilities.items()):
        if item.years:
            facilities.setdefault(scope, []).append(
                Facility(scope, item.id, item.name, dict(sorted(item.years.items()))))
    return CommuneBudget(commune.code, dict(sorted(commune.years.items())),
                         {scope: tuple(items) for scope, items in facilities.items()})


def budgets_section(check: Checker, sources: dict[str, Source]) -> Budgets:
    return load_budgets(check, sources)


SECTION = Section("budgets", Budgets, budgets_section)  # listed in the budgets feature record
