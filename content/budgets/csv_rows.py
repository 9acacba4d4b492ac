"""Reading the budget spreadsheet and checking its rows (`isafbot content import-budget`):
cells become typed values, and every bad cell becomes a problem with its row and column as the
spreadsheet shows them (the header is row 1, column A...). budget_import.py turns the checked
rows into a data file.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

COLUMNS = ("scope", "commune", "facility_id", "facility_en", "facility_km", "year", "kind",
           "category", "amount", "source", "checked", "sample")
REQUIRED = ("scope", "commune", "year", "kind", "amount", "source", "checked")
KINDS = ("revenue", "spending", "people")
SCOPES = ("commune", "health_centre", "school")
TRUE = ("yes", "y", "true", "1", "sample", "បាទ", "ចាស")
FALSE = ("", "no", "n", "false", "0", "ទេ")
MAX_BYTES = 20_000_000
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
SLUG = re.compile(r"[^a-z0-9]+")
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
        """The row's typed values, or None when a cell is bad (each one a problem)."""
        from content.places import gazetteer

        before = len(self.problems)
        self._extra_cells(number, record)

        def get(name: str) -> str:
            return self.cell(record, name)

        scope = self._scope(number, get("scope"))
        code = self._commune(number, get("commune"), gazetteer())
        facility = self._facility_of(number, scope, get)
        year = self._year(number, get("year"))
        kind, category = self._kind_and_category(number, scope, get("kind"), get("category"))
        amount = self._amount(number, get("amount"), kind)
        source = self._source(number, get("source"))
        checked = self._date(number, get("checked"))
        sample = self._sample(number, get("sample"))
        if len(self.problems) > before or code is None or year is None or amount is None \
                or checked is None:
            if code is not None and year is not None:
                self.failed.add((scope, code, year))
            return None
        return Row(number, scope, code, facility, year, kind, category, amount, source, checked,
                   sample)

    def _extra_cells(self, number: int, record: list[str]) -> None:
        if len(record) > len(self.header):
            extra = [c for c in record[len(self.header):] if c.strip()]
            if extra:
                self.problems.append(CsvProblem(number, None, f"{len(extra)} cell(s) beyond "
                                                "the last column"))

    def _scope(self, number: int, value: str) -> str:
        scope = value.lower().replace(" ", "_")
        if scope not in SCOPES:
            self.problem(number, "scope", f"{value!r} is not one of {', '.join(SCOPES)}"
                         if value else "empty")
        return scope

    def _facility_of(self, number: int, scope: str, get: Callable[[str], str]
                     ) -> tuple[str, str, str] | None:
        """A health centre's or school's facility; none for a commune's own budget."""
        if scope in ("health_centre", "school"):
            return self._facility(number, get("facility_id"), get("facility_en"),
                                  get("facility_km"))
        if scope == "commune" and any(get(c) for c in ("facility_id", "facility_en",
                                                       "facility_km")):
            self.problem(number, "facility_en", "leave the facility columns empty for "
                         "scope commune")
        return None

    def _kind_and_category(self, number: int, scope: str, kind_text: str,
                           category_text: str) -> tuple[str, str]:
        kind = kind_text.lower()
        if kind not in KINDS:
            self.problem(number, "kind", f"{kind_text!r} is not one of {', '.join(KINDS)}"
                         if kind_text else "empty")
        category = category_text.lower()
        if kind in ("revenue", "spending") and scope in SCOPES:
            known = self.categories.get(scope, {}).get(kind, {})
            if category not in known:
                self.problem(number, "category",
                             (f"{category_text!r} is not a {scope} {kind} category"
                              if category else "empty") + f" (known: {', '.join(known)})")
        elif kind == "people" and category:
            self.problem(number, "category", "leave it empty for kind people")
        return kind, category

    def _source(self, number: int, source: str) -> str:
        if source not in self.sources:
            self.problem(number, "source", f"unknown source {source!r} (add it to "
                         "content/sources.yml first)" if source else "empty")
        return source

    def _sample(self, number: int, value: str) -> bool:
        if value.lower() not in TRUE + FALSE:
            self.problem(number, "sample", f"{value!r}: write yes or no")
        return value.lower() in TRUE

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
        ident = facility_id.lower() or SLUG.sub("_", name_en.lower()).strip("_")[:24]
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
