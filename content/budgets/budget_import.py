"""`isafbot content import-budget FILE.csv`: the spreadsheet an NGO officer fills in, turned into
a budget data file (content/budgets/data/<name>.yml).

All or nothing: every row is checked first and every problem is reported with its row and
column (as the spreadsheet shows them: the header is row 1, column A...). Then the whole budget
content is validated with the new file in place, and only then is the file written, to a
temporary name and renamed, so a broken CSV, or a crash half-way, changes nothing.

Columns (docs/budget-csv.md; an example is content/budgets/template.csv):
scope, commune, facility_id, facility_en, facility_km, year, kind, category, amount, source,
checked, sample. Reading the file and checking each row: csv_rows.py.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from content.loader import Section

from content.budgets.csv_rows import SLUG, CsvProblem, Row, RowChecker, read_table

MARKER = "# Imported by `isafbot content import-budget`"


@dataclass
class ImportResult:
    problems: list[CsvProblem] = field(default_factory=list)
    target: Path | None = None
    rows: int = 0
    summary: list[str] = field(default_factory=list)
    written: bool = False


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
    stem = SLUG.sub("-", (name or csv_path.stem).lower()).strip("-")
    return stem or "imported"


def import_budget(csv_path: Path, content_root: Path, *, name: str | None = None,
                  check_only: bool = False, sections: Iterable[Section[Any]] = ()
                  ) -> ImportResult:
    """Check everything, then write content/budgets/data/<name>.yml in one rename.
    `sections`: the feature sections to check with the budgets (the CLI passes them all, so
    an import never starts from content the bot would refuse)."""
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

    blocks = _checked_blocks(result, data, content.sources, budgets, target)
    if blocks is None:
        return result
    built = build_data(blocks, csv_path.name)
    # The whole budget content, with this file in place, must still be valid.
    checker = Checker(content_root)
    load_budgets(checker, content.sources, replace={target: built})
    if checker.problems:
        result.problems += [CsvProblem(None, None, str(p)) for p in checker.problems]
        return result
    result.summary = _summary(blocks)
    if not check_only:
        _write_data(target, built, csv_path.name)
        result.written = True
    return result


def _checked_blocks(result: ImportResult, data: bytes, sources: Iterable[str], budgets: Any,
                    target: Path) -> dict[BlockKey, list[Row]] | None:
    """The rows of the file, checked and grouped by place and year; None (and the problems
    in `result`) when anything is wrong."""
    header, records, problems = read_table(data)
    result.problems += problems
    if problems:
        return None
    categories = {scope: {kind: dict(items) for kind, items in kinds.items()}
                  for scope, kinds in budgets.categories.items()}
    check = RowChecker(header, sources, categories)
    if not check.check_header():
        result.problems += check.problems
        return None
    if not records:
        result.problems.append(CsvProblem(None, None, "no rows under the header"))
        return None
    rows = [row for row in (check.row(number, record) for number, record in records) if row]
    blocks = _blocks(rows, check)
    _conflicts(blocks, budgets, target, check)
    result.rows = len(records)
    if check.problems:
        result.problems += check.problems
        return None
    return blocks


def _write_data(target: Path, built: dict[str, Any], csv_name: str) -> None:
    import yaml

    header_text = (f"{MARKER} from {csv_name} on {date.today()}.\n"
                   "# Correct the spreadsheet and import it again rather than editing this "
                   "file.\n")
    text = header_text + yaml.safe_dump(built, allow_unicode=True, sort_keys=False, width=100)
    _write_atomically(target, text)


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
