"""`isafbot content import-budget FILE.csv`: the spreadsheet an NGO officer fills in, turned into
a budget data file (content/budgets/data/<name>.yml).

All or nothing: every row is checked first and every problem is reported with its row and
column (as the spreadsheet shows them: the header is row 1, column A...). Then the whole budget
content is validated with the new file in place, and only then is the file written, to a
temporary name and renamed, so a broken CSV, or a crash half-way, changes nothing.

Columns (docs/budget-csv.md; an example is content/budgets/template.csv):
scope, commune, facility_id, facility_en, facility_km, year, kind, category, amount, source,
checked, sample.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from content.loader import Section

COLUMNS = ("scope", "commune", "facility_id", "facility_en", "facility_km", "year", "kind",
           "category", "amount", "source", "checked", "sample")
REQUIRED = ("scope", "commune", "year", "kind", "amount", "source", "checked")
KINDS = ("revenue", "spending", "people")
SCOPES = ("commune", "health_centre", "school")
TRUE = ("yes", "y", "true", "1", "sample", "បាទ", "ចាស")
FALSE = ("", "no", "n", "false", "0", "ទេ")
MARKER = "# Imported by `isafbot content import-budget`"
MAX_BYTES = 20_000_000
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_SLUG = re.compile(r"[^a-z0-9]+")
_GROUPED = re.compile(r"\d{1,3}([,. _]\d{3})+")


@dataclass(frozen=True)
class CsvProblem:
    row: int | None  # spreadsheet row (the header is row 1); None: the file as a whole
    column: str | None
    message: str
    letter: str = ""

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}" + (f" ({self.letter})" if self.letter else ""))
        return f"{', '.join(where) or 'file'}: {self.message}"


@dataclass
class Row:
    number: int
    scope: str
    code: str
    facility: tuple[str, str, str] | None  # id, en, km
    year: int
    kind: str
    category: str
    amount: int
    source: str
    checked: date
    sample: bool


@dataclass
class ImportResult:
    problems: list[CsvProblem] = field(default_factory=list)
    target: Path | None = None
    rows: int = 0
    summary: list[str] = field(default_factory=list)
    written: bool = False


# ------------------------------------------------------------------ reading

def letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as a spreadsheet names it."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]], list[CsvProblem]]:
    """Header and numbered rows. Accepts UTF-8 with or without BOM (Excel's "CSV UTF-8"),
    commas or semicolons."""
    if len(data) > MAX_BYTES:
        return [], [], [CsvProblem(None, None, f"the file is larger than {MAX_BYTES} bytes")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [], [], [CsvProblem(None, None, f"not UTF-8 text (byte {error.start}): save the "
                                   "sheet as \"CSV UTF-8\"")]
    if "\x00" in text:
        return [], [], [CsvProblem(None, None, "this is not a CSV text file")]
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for record in reader:
            number = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = [cell.strip().lower() for cell in record]
                continue
            if not any(cell.strip() for cell in record) or record[0].strip().startswith("#"):
                continue
            rows.append((number, record))
    except csv.Error as error:
        return [], [], [CsvProblem(reader.line_num, None, f"unreadable CSV: {error}")]
    if header is None:
        return [], [], [CsvProblem(None, None, "the file is empty")]
    return header, rows, []


# ------------------------------------------------------------------ checking rows

class RowChecker:
    """Turns cells into typed values, recording a problem (row, column) for each bad one."""

    def __init__(self, header: list[str], sources: Iterable[str],
                 categories: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.header = header
        self.index = {name: i for i, name in enumerate(header)}
        self.sources = set(sources)
        self.categories = categories
        self.problems: list[CsvProblem] = []
        self.failed: set[tuple[str, str, int]] = set()  # places and years with a bad row
        self.today = date.today()

    def problem(self, row: int | None, column: str | None, message: str) -> None:
        position = self.index.get(column or "")
        self.problems.append(CsvProblem(row, column, message,
                                        letter(position) if position is not None else ""))

    def check_header(self) -> bool:
        ok = True
        for position, name in enumerate(self.header):
            if name and name not in COLUMNS:
                self.problems.append(CsvProblem(1, name, "unknown column (known: "
                                                f"{', '.join(COLUMNS)})", letter(position)))
                ok = False
        counts = Counter(self.header)
        for name, count in counts.items():
            if name and count > 1:
                self.problem(1, name, "the column appears twice")
                ok = False
        for name in REQUIRED:
            if name not in self.index:
                self.problems.append(CsvProblem(1, name, "required column is missing"))
                ok = False
        return ok

    def cell(self, record: list[str], name: str) -> str:
        position = self.index.get(name)
        if position is None or position >= len(record):
            return ""
        return record[position].strip()

    def row(self, number: int, record: list[str]) -> Row | None:
        from content.places import gazetteer

        before = len(self.problems)
        if len(record) > len(self.header):
            extra = [c for c in record[len(self.header):] if c.strip()]
            if extra:
                self.problems.append(CsvProblem(number, None, f"{len(extra)} cell(s) beyond "
                                                "the last column"))
        def get(name: str) -> str:
            return self.cell(record, name)

        scope = get("scope").lower().replace(" ", "_")
        if scope not in SCOPES:
            self.problem(number, "scope", f"{get('scope')!r} is not one of "
                         f"{', '.join(SCOPES)}" if get("scope") else "empty")
        code = self._commune(number, get("commune"), gazetteer())
        facility = None
        if scope in ("health_centre", "school"):
            facility = self._facility(number, get("facility_id"), get("facility_en"),
                                      get("facility_km"))
        elif scope == "commune" and any(get(c) for c in ("facility_id", "facility_en",
                                                           "facility_km")):
            self.problem(number, "facility_en", "leave the facility columns empty for "
                         "scope commune")
        year = self._year(number, get("year"))
        kind = get("kind").lower()
        if kind not in KINDS:
            self.problem(number, "kind", f"{get('kind')!r} is not one of {', '.join(KINDS)}"
                         if get("kind") else "empty")
        category = get("category").lower()
        if kind in ("revenue", "spending") and scope in SCOPES:
            known = self.categories.get(scope, {}).get(kind, {})
            if category not in known:
                self.problem(number, "category",
                             (f"{get('category')!r} is not a {scope} {kind} category"
                              if category else "empty") + f" (known: {', '.join(known)})")
        elif kind == "people" and category:
            self.problem(number, "category", "leave it empty for kind people")
        amount = self._amount(number, get("amount"), kind)
        source = get("source")
        if source not in self.sources:
            self.problem(number, "source", f"unknown source {source!r} (add it to "
                         "content/sources.yml first)" if source else "empty")
        checked = self._date(number, get("checked"))
        sample_text = get("sample").lower()
        if sample_text not in TRUE + FALSE:
            self.problem(number, "sample", f"{get('sample')!r}: write yes or no")
        if len(self.problems) > before or code is None or year is None or amount is None \
                or checked is None:
            if code is not None and year is not None:
                self.failed.add((scope, code, year))
            return None
        return Row(number, scope, code, facility, year, kind, category, amount, source, checked,
                   sample_text in TRUE)

    def _commune(self, number: int, value: str, gazetteer: Any) -> str | None:
        if not value:
            self.problem(number, "commune", "empty (write the commune code or name)")
            return None
        digits = value.translate(_KHMER_DIGITS)
        if digits.isdigit():
            place = gazetteer.get(digits.zfill(6))
            if place is None:
                self.problem(number, "commune", f"no commune has the code {value}")
                return None
            return str(place.code)
        places = gazetteer.exact(value)
        # Spelling-tolerant keys merge some different names (Srah Chik, Srah Chak): a name
        # written exactly as the gazetteer writes it wins.
        same = [p for p in places if value.lower() in (p.name_en.lower(), p.name_km)]
        places = same or places
        if len(places) == 1:
            return str(places[0].code)
        if len(places) > 1:
            options = "; ".join(f"{p.code} ({p.district_en}, {p.province_en})"
                                for p in places[:6])
            self.problem(number, "commune", f"several communes are called {value!r}: write "
                         f"the code instead ({options})")
            return None
        near = gazetteer.find(value)
        hint = f" (did you mean {near[0].name_en}, code {near[0].code}?)" if near else ""
        self.problem(number, "commune", f"no commune is called {value!r}{hint}")
        return None

    def _facility(self, number: int, facility_id: str, name_en: str, name_km: str
                  ) -> tuple[str, str, str] | None:
        from common.khmer import is_khmer_char

        ok = True
        if not name_en or any(map(is_khmer_char, name_en)):
            self.problem(number, "facility_en", "the English name is missing"
                         if not name_en else "write the English name in Latin letters")
            ok = False
        if not name_km or not any(map(is_khmer_char, name_km)):
            self.problem(number, "facility_km", "the Khmer name is missing" if not name_km
                         else "write the Khmer name in Khmer script")
            ok = False
        ident = facility_id.lower() or _SLUG.sub("_", name_en.lower()).strip("_")[:24]
        if (facility_id or ident) and not re.fullmatch(r"[a-z][a-z0-9_]{0,23}", ident):
            self.problem(number, "facility_id", f"{facility_id!r}: use lower-case letters, "
                         "digits and _ (at most 24)")
            ok = False
        return (ident, name_en, name_km) if ok else None

    def _year(self, number: int, value: str) -> int | None:
        digits = value.translate(_KHMER_DIGITS)
        if not re.fullmatch(r"\d{4}", digits):
            self.problem(number, "year", f"{value!r} is not a year (YYYY)" if value else "empty")
            return None
        year = int(digits)
        if not 2002 <= year <= self.today.year + 1:
            self.problem(number, "year", f"{year} is outside 2002..{self.today.year + 1}")
            return None
        return year

    def _amount(self, number: int, value: str, kind: str) -> int | None:
        raw = value.translate(_KHMER_DIGITS).replace("\u00a0", " ")
        # Thousands may be grouped with commas, spaces or (Khmer style) dots: 1.500.000.
        cleaned = re.sub(r"[,. _]", "", raw) if _GROUPED.fullmatch(raw) else raw
        what = "people" if kind == "people" else "riel"
        if not cleaned.isdigit():
            self.problem(number, "amount", f"{value!r} is not a whole number of {what}"
                         if value else "empty")
            return None
        amount = int(cleaned)
        limit = 5_000_000 if kind == "people" else 10**13
        if amount > limit or (kind == "people" and amount == 0):
            self.problem(number, "amount", f"{value} {what} is not plausible (a typo?)")
            return None
        return amount

    def _date(self, number: int, value: str) -> date | None:
        try:
            checked = date.fromisoformat(value.translate(_KHMER_DIGITS))
        except ValueError:
            self.problem(number, "checked", f"{value!r} is not a date written YYYY-MM-DD "
                         "(format the column as text)" if value else "empty")
            return None
        if checked > self.today:
            self.problem(number, "checked", f"{value} is in the future")
            return None
        return checked


# ------------------------------------------------------------------ rows -> data file

BlockKey = tuple[str, str, str | None, int]  # scope, code, facility id, year


def _blocks(rows: list[Row], check: RowChecker) -> dict[BlockKey, list[Row]]:
    blocks: dict[BlockKey, list[Row]] = defaultdict(list)
    seen: dict[tuple[BlockKey, str, str], int] = {}
    names: dict[tuple[str, str, str], tuple[str, str, int]] = {}
    for row in rows:
        facility_id = row.facility[0] if row.facility else None
        key = (row.scope, row.code, facility_id, row.year)
        figure = (key, row.kind, row.category)
        if figure in seen:
            what = "people" if row.kind == "people" else f"{row.kind} {row.category}"
            check.problem(row.number, "category" if row.kind != "people" else "kind",
                          f"{what} for this place and year is already on row {seen[figure]}")
            continue
        seen[figure] = row.number
        if row.facility:
            named = names.setdefault((row.scope, row.code, row.facility[0]),
                                     (row.facility[1], row.facility[2], row.number))
            if named[:2] != row.facility[1:]:
                check.problem(row.number, "facility_en", f"this facility is named differently "
                              f"on row {named[2]}")
        blocks[key].append(row)
    for key, block_rows in blocks.items():
        if (key[0], key[1], key[3]) in check.failed:
            continue  # a bad row of this place and year is reported already
        kinds = {r.kind for r in block_rows}
        for kind in ("revenue", "spending"):
            if kind not in kinds:
                check.problem(block_rows[0].number, "kind", f"{_describe(key)} has no {kind} "
                              "rows")
        if "spending" in kinds and not sum(r.amount for r in block_rows if r.kind == "spending"):
            check.problem(block_rows[0].number, "amount", f"{_describe(key)}: spending adds "
                          "up to nothing")
    return blocks


def _describe(key: BlockKey) -> str:
    scope, code, facility_id, year = key
    what = f"{scope.replace('_', ' ')} {facility_id}" if facility_id else "commune"
    return f"{what} {code} in {year}"


def _provenance(row: Row) -> tuple[str, str, bool]:
    return row.source, row.checked.isoformat(), row.sample


def build_data(blocks: dict[BlockKey, list[Row]], csv_name: str) -> dict[str, Any]:
    """The data file's content: the same shape as content/budgets/data/sample.yml."""
    from content.places import gazetteer

    communes: dict[str, Any] = {}
    any_sample = False
    for key in sorted(blocks, key=lambda k: (k[1], k[0], k[2] or "", k[3])):
        scope, code, _, year = key
        rows = blocks[key]
        place = gazetteer().get(code)
        entry = communes.setdefault(code, {"name": place.name_en if place else code})
        default = Counter(_provenance(r) for r in rows).most_common(1)[0][0]
        block: dict[str, Any] = {"source": default[0], "checked": default[1],
                                 "sample": default[2]}
        for row in rows:
            any_sample |= row.sample
            value: Any = row.amount
            if _provenance(row) != default:
                value = {"count" if row.kind == "people" else "riel": row.amount,
                         "source": row.source, "checked": row.checked.isoformat(),
                         "sample": row.sample}
            if row.kind == "people":
                block["people"] = value
            else:
                block.setdefault(row.kind, {})[row.category] = value
        if scope == "commune":
            entry.setdefault("years", {})[year] = block
        else:
            facility = next(r.facility for r in rows if r.facility)
            group = entry.setdefault("health_centres" if scope == "health_centre" else "schools",
                                     {})
            item = group.setdefault(facility[0], {"name": {"en": facility[1],
                                                           "km": facility[2]}, "years": {}})
            item["years"][year] = block
    data: dict[str, Any] = {
        "title": {"en": f"Imported from {csv_name}", "km": f"នាំចូលពី {csv_name}"},
    }
    if any_sample:
        data["how_made"] = {
            "en": f"Rows marked as sample in {csv_name}, imported on {date.today()}: not a "
                  "published budget.",
            "km": f"ជួរដែលសម្គាល់ថាជាតួលេខគំរូក្នុង {csv_name} នាំចូលនៅថ្ងៃ {date.today()}៖ "
                  "មិនមែនថវិកាដែលបានផ្សព្វផ្សាយទេ។",
        }
    data["communes"] = communes
    return data


# ------------------------------------------------------------------ the whole import

def target_name(csv_path: Path, name: str | None) -> str:
    stem = _SLUG.sub("-", (name or csv_path.stem).lower()).strip("-")
    return stem or "imported"


def import_budget(csv_path: Path, content_root: Path, *, name: str | None = None,
                  check_only: bool = False, sections: Iterable[Section[Any]] = ()
                  ) -> ImportResult:
    """Check everything, then write content/budgets/data/<name>.yml in one rename.
    `sections`: the feature sections to check with the budgets (the CLI passes them all, so
    an import never starts from content the bot would refuse)."""
    import yaml

    from content.budgets.section import SECTION, Budgets, load_budgets
    from content.loader import Checker, check_content

    result = ImportResult()
    try:
        data = csv_path.read_bytes()
    except OSError as error:
        result.problems.append(CsvProblem(None, None, f"cannot read the file: "
                                          f"{error.strerror or error}"))
        return result
    wanted = [SECTION, *(section for section in sections if section.kind is not Budgets)]
    content, content_problems = check_content(content_root, sections=wanted)
    if content is None:
        result.problems += [CsvProblem(None, None, f"the content is already invalid, fix it "
                                       f"first: {p}") for p in content_problems]
        return result
    budgets = content.sections[Budgets]
    target = content_root / "budgets" / "data" / f"{target_name(csv_path, name)}.yml"
    result.target = target
    if target.exists() and not _imported(target):
        result.problems.append(CsvProblem(None, None, f"{target.name} was not made by an "
                                          "import (it would be replaced): choose another "
                                          "--name"))
        return result

    header, records, problems = read_table(data)
    result.problems += problems
    if problems:
        return result
    categories = {scope: {kind: dict(items) for kind, items in kinds.items()}
                  for scope, kinds in budgets.categories.items()}
    check = RowChecker(header, content.sources, categories)
    if not check.check_header():
        result.problems += check.problems
        return result
    if not records:
        result.problems.append(CsvProblem(None, None, "no rows under the header"))
        return result
    rows = [row for row in (check.row(number, record) for number, record in records) if row]
    blocks = _blocks(rows, check)
    _conflicts(blocks, budgets, target, check)
    result.rows = len(records)
    if check.problems:
        result.problems += check.problems
        return result

    built = build_data(blocks, csv_path.name)
    # The whole budget content, with this file in place, must still be valid.
    checker = Checker(content_root)
    load_budgets(checker, content.sources, replace={target: built})
    if checker.problems:
        result.problems += [CsvProblem(None, None, str(p)) for p in checker.problems]
        return result
    result.summary = _summary(blocks)
    if check_only:
        return result
    header_text = (f"{MARKER} from {csv_path.name} on {date.today()}.\n"
                   "# Correct the spreadsheet and import it again rather than editing this "
                   "file.\n")
    text = header_text + yaml.safe_dump(built, allow_unicode=True, sort_keys=False, width=100)
    _write_atomically(target, text)
    result.written = True
    return result


def _conflicts(blocks: dict[BlockKey, list[Row]], budgets: Any, target: Path,
               check: RowChecker) -> None:
    """A place and year another file already gives with the same kind of figures (both
    published, or both sample) is a conflict; published figures may replace sample ones."""
    for (scope, code, facility_id, year), rows in blocks.items():
        commune = budgets.communes.get(code)
        if commune is None:
            continue
        if scope == "commune":
            existing = commune.years.get(year)
        else:
            facility = next((f for f in commune.facilities_of(scope) if f.id == facility_id),
                            None)
            existing = facility.years.get(year) if facility else None
        if existing is None or Path(existing.file).name == target.name:
            continue
        sample = any(r.sample for r in rows)
        if existing.sample == sample:
            what = "sample" if sample else "published"
            hint = (f"import with --name {Path(existing.file).stem} to replace that import"
                    if _imported(content_file(existing.file, target)) else "correct it there")
            check.problem(rows[0].number, "year",
                          f"{_describe((scope, code, facility_id, year))} already has {what} "
                          f"figures in {existing.file}: {hint}")


def content_file(name: str, target: Path) -> Path:
    """A data file named as the loader names it (content/budgets/data/x.yml)."""
    return target.parent / Path(name).name


def _imported(path: Path) -> bool:
    try:
        return path.read_text(encoding="utf-8").startswith(MARKER)
    except OSError:
        return False


def _summary(blocks: dict[BlockKey, list[Row]]) -> list[str]:
    from common.formatting import riel  # the one number format (imported when needed)

    lines = []
    for key in sorted(blocks, key=lambda k: (k[1], k[0], k[2] or "", k[3])):
        rows = blocks[key]
        revenue = sum(r.amount for r in rows if r.kind == "revenue")
        spending = sum(r.amount for r in rows if r.kind == "spending")
        sample = " (sample)" if any(r.sample for r in rows) else ""
        lines.append(f"{_describe(key)}: revenue {riel(revenue, 'en')}, spending "
                     f"{riel(spending, 'en')}{sample}")
    return lines


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
