"""Budget content: the bundled figures cover the places ISAF reports name, every figure has a
source and a checked date, sample figures are plausible (they average the published national
figures) and say how they were made; broken budget files are reported precisely."""

from __future__ import annotations

import statistics
from datetime import date
from pathlib import Path

import yaml

from bot.features import FEATURES
from content.budgets.section import Budgets
from content.loader import check_content, load_content
from content.places import gazetteer

CONTENT = load_content(sections=FEATURES.sections)
BUDGETS: Budgets = CONTENT.sections[Budgets]
RIEL_PER_USD = 4100  # the rate the sample file says it used

SEN_SOK = {"120809": "Kouk Khleang", "120803": "Khmuonh", "120802": "Tuek Thla"}
SRAH_CHIK = "010305"


def _romeas_haek() -> set[str]:
    return {code for code, place in gazetteer().places.items()
            if place.district_en == "Romeas Haek" and place.province_en == "Svay Rieng"}


def test_the_places_isaf_reports_name_are_covered_for_two_years() -> None:
    required = {*SEN_SOK, SRAH_CHIK, *_romeas_haek()}
    assert len(_romeas_haek()) == 16
    assert required <= set(BUDGETS.communes)
    for code in required:
        years = sorted(BUDGETS.communes[code].years)
        assert len(years) >= 2 and years[-1] - 1 in years, code  # "change from last year"
    for code, name in SEN_SOK.items():
        assert gazetteer().get(code).name_en == name  # type: ignore[union-attr]
        for scope in ("school", "health_centre"):
            assert BUDGETS.communes[code].facilities_of(scope), (code, scope)


def test_every_figure_has_a_known_source_and_a_checked_date() -> None:
    for commune in BUDGETS.communes.values():
        blocks = list(commune.years.values()) + [
            year for facilities in commune.facilities.values() for f in facilities
            for year in f.years.values()]
        for block in blocks:
            assert block.revenue and block.spending
            for provenance in block.provenances():
                assert provenance.source in CONTENT.sources
                assert provenance.checked <= date.today()
            if block.sample:
                how_made = BUDGETS.files[block.file].how_made
                assert how_made is not None and "sample" in how_made.en.lower()


def test_sample_development_budgets_average_the_published_national_figure() -> None:
    average = BUDGETS.development_average
    assert average is not None and average.usd[2023] == 110_000 and average.usd[2022] == 100_000
    for year in (2022, 2023):
        development = [c.years[year].revenue_figure("cs_fund_dev").riel  # type: ignore[union-attr]
                       for c in BUDGETS.communes.values() if year in c.years
                       and c.years[year].sample]
        mean_usd = statistics.mean(development) / RIEL_PER_USD
        assert abs(mean_usd - average.usd[year]) / average.usd[year] < 0.01
        # and no commune is wildly off: between half and twice the average
        assert all(0.5 < d / RIEL_PER_USD / average.usd[year] < 2 for d in development)


def test_sample_budgets_balance_and_roads_lead() -> None:
    for code, commune in BUDGETS.communes.items():
        for block in commune.years.values():
            assert block.total_spending == block.total_revenue, code
            people = block.people
            assert people and 3000 < people.count < 100_000
            per_person_usd = block.total_revenue / people.count / RIEL_PER_USD
            assert 3 < per_person_usd < 40, (code, per_person_usd)


def test_national_facts_and_glossary_are_complete_in_both_languages() -> None:
    assert {"commune_fund", "cip", "i4c", "jaap"} <= set(BUDGETS.glossary)
    jaap = BUDGETS.glossary["jaap"].term("km")
    assert "ផែនការសកម្មភាពរួម ស្ដីពីការងារគណនេយ្យភាពសង្គម" in jaap  # khmer-terms.md
    assert BUDGETS.glossary["commune_fund"].term("km") == "មូលនិធិឃុំ សង្កាត់"
    assert {"cs_fund", "hef", "hef_rates", "free_education", "school_fund"} <= set(BUDGETS.facts)
    assert BUDGETS.have_your_say is not None


# ------------------------------------------------------------------ broken files

def _write(root: Path, name: str, data: object) -> None:
    (root / "budgets" / "data" / name).write_text(yaml.safe_dump(data, allow_unicode=True),
                                                  encoding="utf-8")


def _problems(root: Path) -> list[str]:
    content, problems = check_content(root, sections=FEATURES.sections)
    assert content is None
    return [str(p) for p in problems]


def _block(**extra: object) -> dict[str, object]:
    return {"source": "isafbot_sample_2026", "checked": "2026-11-01", "sample": False,
            "revenue": {"cs_fund_dev": 100}, "spending": {"roads": 100}, **extra}


def test_wrong_code_unknown_category_bad_amounts_and_dates_are_reported(broken: Path) -> None:
    _write(broken, "bad.yml", {"communes": {
        "120809": {"name": "Khmuonh", "years": {2023: _block()}},
        "999999": {"years": {2023: _block()}},
        "200401": {"years": {
            2024: _block(spending={"bridges": 5}, revenue={"cs_fund_dev": -3}),
            2025: _block(checked="2999-01-01", colour="red"),
            1990: _block(),
        }},
    }})
    problems = _problems(broken)
    expected = [
        "content/budgets/data/bad.yml: commune 120809: name: 'Khmuonh' is not this code's "
        "commune (the gazetteer says Kouk Khleang, Saen Sokh)",
        "content/budgets/data/bad.yml: commune 999999: -: no commune/sangkat has this code in "
        "the gazetteer",
        "content/budgets/data/bad.yml: commune 200401: years.2024.spending.bridges: unknown "
        "commune spending category",
        "content/budgets/data/bad.yml: commune 200401: years.2024.revenue.cs_fund_dev: -3 is "
        "not a whole number (0 or more)",
        "content/budgets/data/bad.yml: commune 200401: years.2025.checked: is in the future",
        "content/budgets/data/bad.yml: commune 200401: years.2025.colour: unknown field",
        "content/budgets/data/bad.yml: commune 200401: years.1990: 1990 is not a budget year",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)


def test_sample_figures_must_say_how_they_were_made(broken: Path) -> None:
    _write(broken, "secret.yml", {"communes": {"200401": {"years": {
        2024: _block(sample=True)}}}})
    assert "content/budgets/data/secret.yml: -: how_made: required: this file has sample " \
           "figures, say how they were made" in _problems(broken)


def test_two_files_with_the_same_kind_of_figures_conflict(broken: Path) -> None:
    _write(broken, "again.yml", {"how_made": {"en": "copied", "km": "ចម្លង"}, "communes": {
        "120809": {"years": {2023: _block(sample=True)}}}})
    problems = _problems(broken)
    assert any("commune 120809: years.2023: already given in content/budgets/data/" in p
               for p in problems), problems


def test_published_figures_replace_sample_ones(broken: Path) -> None:
    _write(broken, "published.yml", {"communes": {"120809": {"years": {2023: _block()}}}})
    content, problems = check_content(broken, sections=FEATURES.sections)
    assert problems == [] and content is not None
    year = content.sections[Budgets].communes["120809"].years[2023]
    assert not year.sample and year.total_revenue == 100
    assert year.file == "content/budgets/data/published.yml"
    assert content.sections[Budgets].communes["120809"].years[2022].sample  # untouched


def test_unreadable_data_file_is_reported_with_its_line(broken: Path) -> None:
    (broken / "budgets" / "data" / "typo.yml").write_text("communes: {120809: [unclosed\n",
                                                           encoding="utf-8")
    assert any(p.startswith("content/budgets/data/typo.yml: -: -: invalid YAML at line")
               for p in _problems(broken))


def test_a_category_without_a_khmer_name_is_reported(broken: Path) -> None:
    path = broken / "budgets" / "categories.yml"
    text = path.read_text(encoding="utf-8").replace(
        'km: "ទឹកស្អាត និងអនាម័យ"', 'km: "Water"')
    path.write_text(text, encoding="utf-8")
    assert "content/budgets/categories.yml: commune.spending.water: name.km: is not written " \
           "in Khmer script" in _problems(broken)
