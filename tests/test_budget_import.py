"""`isafbot content import-budget`: a good spreadsheet becomes a data file the bot then uses; a
broken one is rejected with every problem's row and column, and changes nothing (not even when
the write itself fails half-way)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.features import FEATURES
from common.messages import Incoming, Kind
from content.budgets import budget_import
from content.budgets.section import Budgets
from content.loader import CONTENT_DIR, check_content
from tests.conftest import ROOT, make_settings

HEADER = "scope,commune,facility_id,facility_en,facility_km,year,kind,category,amount,source," \
         "checked,sample\n"
TEMPLATE = CONTENT_DIR / "budgets" / "template.csv"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the bundled content to import into, with one published source for tests."""
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    sources = copy / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8") + """
  kk_i4c_poster_2023:
    title: {en: "Kouk Khleang sangkat I4C poster 2023", km: "ផ្ទាំងព័ត៌មាន I4C សង្កាត់គោកឃ្លាង ២០២៣"}
    published: "2023"
""", encoding="utf-8")
    return copy


def _snapshot(root: Path) -> dict[str, bytes]:
    data = root / "budgets" / "data"
    return {p.name: p.read_bytes() for p in sorted(data.iterdir())}


def _write(tmp_path: Path, text: str, name: str = "figures.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _budgets(root: Path) -> Budgets:
    content, problems = check_content(root, sections=FEATURES.sections)
    assert problems == [], problems
    assert content is not None
    budgets = content.sections[Budgets]
    assert isinstance(budgets, Budgets)
    return budgets


def test_the_template_imports_and_the_bot_answers_with_it(root: Path, tmp_path: Path,
                                                           sqlite_url: str, nlu: object) -> None:
    result = budget_import.import_budget(TEMPLATE, root, name="srah-chik-2024")
    assert result.problems == [] and result.written and result.rows == 19
    assert result.target == root / "budgets" / "data" / "srah-chik-2024.yml"
    text = result.target.read_text(encoding="utf-8")
    assert text.startswith(budget_import.MARKER) and "how_made" in text  # sample rows say so
    budgets = _budgets(root)
    srah_chik = budgets.communes["010305"]
    assert sorted(srah_chik.years) == [2022, 2023, 2024]  # merged with the sample file's years
    year = srah_chik.years[2024]
    assert year.total_revenue == 544_800_000 and year.people and year.people.count == 9790
    assert year.sample and year.file.endswith("srah-chik-2024.yml")
    school = srah_chik.facilities_of("school")[0]
    assert 2024 in school.years and school.name("km") == "សាលាបឋមសិក្សាស្រះជីក"

    settings = make_settings(tmp_path, sqlite_url, ISAFBOT_CONTENT_DIR=str(root))
    app = bootstrap(settings, nlu=nlu)  # type: ignore[arg-type]
    try:
        replies = asyncio.run(app.handle(Incoming("console", "u1", Kind.TEXT,
                                                  text="budget of Srah Chik commune 2024")))
    finally:
        app.close()
    assert "In 2024, Srah Chik (Phnum Srok, Banteay Meanchey) had 545 million riel" \
        in replies[0].text
    assert "Sample figures" in replies[0].text


def test_a_broken_csv_reports_rows_and_columns_and_changes_nothing(root: Path,
                                                                    tmp_path: Path) -> None:
    before = _snapshot(root)
    path = _write(tmp_path, HEADER + "\n".join([
        "commune,120809,,,,2023,revenue,cs_fund_dev,\"1,000,000\",nowhere,2026-11-29,no",
        "commune,999999,,,,2023,revenue,cs_fund_dev,12.5,kk_i4c_poster_2023,29/11/2026,maybe",
        "comune,Teuk Thla,,,,20x3,spend,roads,,kk_i4c_poster_2023,2026-11-29,no",
        "commune,120809,,,,2031,spending,roads,500,kk_i4c_poster_2023,2099-01-01,no",
        "school,120809,,,,2023,revenue,sof,100,kk_i4c_poster_2023,2026-11-29,no",
        "commune,Kouk Khleang,,,,2023,spending,bridges,100,kk_i4c_poster_2023,2026-11-29,no",
    ]) + "\n")
    result = budget_import.import_budget(path, root)
    problems = [str(p) for p in result.problems]
    expected = [
        "row 2, column source (J): unknown source 'nowhere'",
        "row 3, column commune (B): no commune has the code 999999",
        "row 3, column amount (I): '12.5' is not a whole number of riel",
        "row 3, column checked (K): '29/11/2026' is not a date written YYYY-MM-DD",
        "row 3, column sample (L): 'maybe': write yes or no",
        "row 4, column scope (A): 'comune' is not one of commune, health_centre, school",
        "row 4, column commune (B): several communes are called 'Teuk Thla': write the code",
        "row 4, column year (F): '20x3' is not a year (YYYY)",
        "row 4, column kind (G): 'spend' is not one of revenue, spending, people",
        "row 4, column amount (I): empty",
        "row 5, column year (F): 2031 is outside",
        "row 5, column checked (K): 2099-01-01 is in the future",
        "row 6, column facility_en (D): the English name is missing",
        "row 6, column facility_km (E): the Khmer name is missing",
        "row 7, column category (H): 'bridges' is not a commune spending category",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert not result.written
    assert _snapshot(root) == before
    assert _budgets(root).communes["120809"].years[2023].sample  # still the sample figures


def test_file_level_problems(root: Path, tmp_path: Path) -> None:
    before = _snapshot(root)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(HEADER.encode() + "commune,Kampóng,,,,2023\n".encode("latin-1"))
    assert "not UTF-8 text" in str(budget_import.import_budget(latin1, root).problems[0])
    empty = _write(tmp_path, "", "empty.csv")
    assert str(budget_import.import_budget(empty, root).problems[0]) == "file: the file is empty"
    header_only = _write(tmp_path, HEADER, "header.csv")
    assert "no rows under the header" in str(
        budget_import.import_budget(header_only, root).problems[0])
    columns = _write(tmp_path, "scope,commune,colour,year\ncommune,120809,red,2023\n", "c.csv")
    problems = [str(p) for p in budget_import.import_budget(columns, root).problems]
    assert "row 1, column colour (C): unknown column" in problems[0]
    assert "row 1, column kind: required column is missing" in problems
    missing = tmp_path / "nowhere.csv"
    assert "cannot read the file" in str(budget_import.import_budget(missing, root).problems[0])
    assert _snapshot(root) == before


def test_whole_places_are_checked_duplicates_names_and_missing_kinds(root: Path,
                                                                      tmp_path: Path) -> None:
    rows = [
        "commune,200401,,,,2024,revenue,cs_fund_dev,400000000,kk_i4c_poster_2023,2026-11-29,no",
        "commune,200401,,,,2024,revenue,cs_fund_dev,410000000,kk_i4c_poster_2023,2026-11-29,no",
        "commune,200402,,,,2024,spending,roads,1000,kk_i4c_poster_2023,2026-11-29,no",
        "school,200401,ampil,Ampil school,សាលាអំពិល,2024,revenue,sof,100,kk_i4c_poster_2023,"
        "2026-11-29,no",
        "school,200401,ampil,Ampil primary,សាលាអំពិល,2024,spending,teaching,100,"
        "kk_i4c_poster_2023,2026-11-29,no",
    ]
    result = budget_import.import_budget(_write(tmp_path, HEADER + "\n".join(rows) + "\n"), root)
    problems = [str(p) for p in result.problems]
    assert "row 3, column category (H): revenue cs_fund_dev for this place and year is " \
           "already on row 2" in problems
    assert any(p.startswith("row 2, column kind (G): commune 200401 in 2024 has no spending")
               for p in problems)
    assert any(p.startswith("row 4, column kind (G): commune 200402 in 2024 has no revenue")
               for p in problems)
    assert "row 6, column facility_en (D): this facility is named differently on row 5" \
        in problems
    assert not result.written


def test_sample_figures_clash_with_sample_figures_but_published_ones_replace_them(
        root: Path, tmp_path: Path) -> None:
    rows = "\n".join([
        "commune,120809,,,,2023,revenue,cs_fund_dev,650000000,{src},2026-11-20,{sample}",
        "commune,120809,,,,2023,revenue,cs_fund_admin,140000000,{src},2026-11-20,{sample}",
        "commune,120809,,,,2023,spending,roads,500000000,{src},2026-11-20,{sample}",
        "commune,120809,,,,2023,spending,administration,290000000,{src},2026-11-20,{sample}",
    ]) + "\n"
    clash = _write(tmp_path, HEADER + rows.format(src="isafbot_sample_2026", sample="yes"),
                   "clash.csv")
    problems = [str(p) for p in budget_import.import_budget(clash, root).problems]
    assert problems == ["row 2, column year (F): commune 120809 in 2023 already has sample "
                        "figures in content/budgets/data/sample.yml: correct it there"]

    published = _write(tmp_path, HEADER + rows.format(src="kk_i4c_poster_2023", sample="no"),
                       "kouk-khleang-2023.csv")
    result = budget_import.import_budget(published, root)
    assert result.problems == [] and result.written
    year = _budgets(root).communes["120809"].years[2023]
    assert not year.sample and year.total_revenue == 790_000_000
    assert {p.source for p in year.provenances()} == {"kk_i4c_poster_2023"}

    # Importing the corrected sheet again under the same name replaces that import.
    corrected = _write(tmp_path, HEADER + rows.replace("650000000", "660000000").format(
        src="kk_i4c_poster_2023", sample="no"), "kouk-khleang-2023.csv")
    assert budget_import.import_budget(corrected, root).written
    assert _budgets(root).communes["120809"].years[2023].total_revenue == 800_000_000
    # A second published sheet for the same year is a conflict, pointing at the import.
    other = _write(tmp_path, HEADER + rows.format(src="kk_i4c_poster_2023", sample="no"),
                   "other.csv")
    problems = [str(p) for p in budget_import.import_budget(other, root).problems]
    assert problems == ["row 2, column year (F): commune 120809 in 2023 already has published "
                        "figures in content/budgets/data/kouk-khleang-2023.yml: import with "
                        "--name kouk-khleang-2023 to replace that import"]


def test_spreadsheet_conventions_are_accepted(root: Path, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" (BOM), semicolons, thousands separators, Khmer digits, names."""
    text = HEADER.replace(",", ";") + "\n".join([
        "commune;អំពិល;;;;២០២៤;revenue;cs_fund_dev;៤០០.០០០.០០០;kk_i4c_poster_2023;"
        "2026-11-29;ទេ",
        "commune;200401;;;;2024;spending;roads;\"300,000,000\";kk_i4c_poster_2023;2026-11-29;",
        "commune;Ampil;;;;2024;spending;water;100 000 000;kk_i4c_poster_2023;2026-11-29;No",
    ]) + "\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = budget_import.import_budget(path, root)
    assert [str(p) for p in result.problems][:1] == [
        "row 2, column commune (B): several communes are called 'អំពិល': write the code "
        "instead (030601 (Kampong Siem, Kampong Cham); 170910 (Prasat Bakong, Siemreap); "
        "200401 (Romeas Haek, Svay Rieng); 220201 (Banteay Ampil, Otdar Meanchey))"]
    text = text.replace("commune;អំពិល;", "commune;200401;").replace("commune;Ampil;",
                                                                     "commune;200401;")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = budget_import.import_budget(path, root)
    assert result.problems == [] and result.written
    year = _budgets(root).communes["200401"].years[2024]
    assert year.total_revenue == 400_000_000 and year.total_spending == 400_000_000
    assert not year.sample


def test_check_only_and_refusing_to_overwrite_hand_made_files(root: Path) -> None:
    before = _snapshot(root)
    result = budget_import.import_budget(TEMPLATE, root, check_only=True)
    assert result.problems == [] and not result.written and result.summary
    result = budget_import.import_budget(TEMPLATE, root, name="sample")
    assert "sample.yml was not made by an import" in str(result.problems[0])
    assert _snapshot(root) == before


def test_a_failed_write_leaves_nothing_behind(root: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    before = _snapshot(root)

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(budget_import.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        budget_import.import_budget(TEMPLATE, root, name="srah-chik-2024")
    assert _snapshot(root) == before  # no half file, no temporary file


def test_command_line(root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ISAFBOT_CONTENT_DIR": str(root),
           "ISAFBOT_DATA_DIR": str(tmp_path / "var")}
    broken = _write(tmp_path, HEADER + "commune,120809,,,,2023,revenue,cs_fund_dev,abc,"
                    "kk_i4c_poster_2023,2026-11-29,no\n", "broken.csv")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "content", "import-budget",
                          str(broken)], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 1
    assert "broken.csv: row 2, column amount (I): 'abc' is not a whole number of riel" \
        in run.stdout
    assert "nothing was imported" in run.stderr
    good = subprocess.run([sys.executable, "-m", "bot.cli", "content", "import-budget",
                           str(TEMPLATE), "--name", "srah-chik-2024"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "imported 19 row(s)" in good.stdout
    check = subprocess.run([sys.executable, "-m", "bot.cli", "content", "check"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert check.returncode == 0 and "sections: budgets" in check.stdout
