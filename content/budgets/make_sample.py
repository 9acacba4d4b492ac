"""Writes content/budgets/data/sample.yml: SAMPLE budget figures, not a published budget.

No per-commune budget of these places was at hand, so the bot needs sample figures to show how
an explainer works, and they must be plausible. They are computed, deterministically, from the
published national averages in national.yml and a few stated assumptions (below and in the
file's `how_made`), so anyone can check how they were made and run this again:

    .venv/bin/python content/budgets/make_sample.py

Replace them with real figures with `isafbot content import-budget FILE.csv`: published figures
take precedence over sample ones for the same commune and year.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent.parent))

from common.formatting import number  # noqa: E402
from content.places import gazetteer  # noqa: E402

YEARS = (2022, 2023)
SOURCE = "isafbot_sample_2026"
CHECKED = "2026-11-29"
RIEL_PER_USD = 4100  # assumption: roughly the riel's rate to the dollar in 2022-2023
URBAN = {"120802", "120803", "120809"}  # the Khan Sen Sok sangkats
GROWTH = {True: 0.03, False: 0.01}  # yearly population growth, urban and rural (assumption)

# Sample residents in 2022 (assumption, not census figures).
POPULATION_2022 = {
    "120809": 31500, "120802": 42800, "120803": 55300,  # Kouk Khleang, Tuek Thla, Khmuonh
    "200401": 8400, "200402": 7100, "200403": 6300, "200404": 9200, "200405": 10600,
    "200406": 5800, "200407": 7700, "200408": 11300, "200409": 6900, "200410": 8800,
    "200411": 5400, "200412": 9900, "200413": 7300, "200414": 6600, "200415": 8100,
    "200416": 7500,  # the 16 communes of Romeas Haek, Svay Rieng
    "010305": 9600,  # Srah Chik, Phnum Srok, Banteay Meanchey
}
WITH_FACILITIES = ("120809", "120802", "120803", "010305", "200401", "200405", "200408",
                   "200412")

COMMUNE_SPENDING = {"roads": 0.58, "water": 0.15, "education_health": 0.11, "social": 0.08,
                    "other": 0.08}
HEALTH_SPENDING = {"medicines": 0.34, "staff_incentives": 0.30, "building": 0.12,
                   "outreach": 0.14, "administration": 0.10}
SCHOOL_SPENDING = {"teaching": 0.36, "repairs": 0.24, "utilities": 0.14, "activities": 0.14,
                   "administration": 0.12}
HEF_RATES = {"outpatient": 14000, "prevention": 4000, "delivery": 80000}  # national.yml
SOF_PER_PUPIL = 24000  # assumption: no published per-pupil rate was at hand

HOW_MADE = {
    "en": (
        "Sample figures, not a published budget. Population: invented but plausible sizes "
        "(Khan Sen Sok sangkats 30,000-60,000 people, rural communes 5,000-12,000; +3% a year "
        "in the city, +1% elsewhere). Commune/Sangkat Fund development part: the planned "
        "national average per commune for the year (USD 100,000 in 2022, 110,000 in 2023, "
        "national.yml) times 0.7 + 0.3 x (population / average population of these 20 "
        "communes), so these communes average exactly the national figure; converted at 4,100 "
        "riel per dollar. Administrative part: a quarter of the national average, a little "
        "more for bigger communes. Own revenue: 2,500 riel a person in the city, 800 elsewhere. "
        "Spending: the administrative part runs the office, about USD 2,000 goes to social "
        "accountability, the rest is shared between roads (about 58%), water, schools and "
        "health, social services and other, each moved a few points at random (seeded, "
        "repeatable). Health centres: Health Equity Fund payments at the published rates "
        f"({number(HEF_RATES['outpatient'], 'en')} riel an outpatient visit, "
        f"{number(HEF_RATES['prevention'], 'en')} a prevention contact, "
        f"{number(HEF_RATES['delivery'], 'en')} a delivery) for an assumed number of ID-Poor "
        "patients, plus government budget and official fees per person. Schools: pupils = 7.5% "
        "of the population (at most 1,800), School Operation Fund "
        f"{number(SOF_PER_PUPIL, 'en')} riel a pupil (assumption), small commune, community "
        "and donor amounts. Made by content/budgets/make_sample.py."
    ),
    "km": (
        "តួលេខគំរូ មិនមែនថវិកាដែលបានផ្សព្វផ្សាយទេ។ ចំនួនប្រជាជន៖ ចំនួនសន្មត "
        "(សង្កាត់ក្នុងខណ្ឌសែនសុខ ៣០.០០០-៦០.០០០ នាក់ ឃុំនៅជនបទ ៥.០០០-១២.០០០ នាក់ "
        "កើន ៣% ក្នុងមួយឆ្នាំនៅទីក្រុង និង ១% នៅកន្លែងផ្សេង)។ ផ្នែកអភិវឌ្ឍន៍នៃមូលនិធិឃុំ "
        "សង្កាត់៖ មធ្យមភាគជាតិគ្រោងទុកក្នុងមួយឃុំ (១០០.០០០ ដុល្លារ ឆ្នាំ ២០២២ និង ១១០.០០០ "
        "ដុល្លារ ឆ្នាំ ២០២៣) គុណនឹង ០,៧ + ០,៣ x (ប្រជាជន / ប្រជាជនមធ្យមនៃឃុំទាំង ២០ នេះ) "
        "ដូច្នេះមធ្យមភាគនៃឃុំទាំងនេះស្មើនឹងតួលេខជាតិ គិតជារៀលតាមអត្រា ៤.១០០ រៀល ក្នុងមួយដុល្លារ។ "
        "ផ្នែករដ្ឋបាល៖ មួយភាគបួននៃមធ្យមភាគជាតិ ច្រើនជាងបន្តិចសម្រាប់ឃុំធំ។ ចំណូលផ្ទាល់៖ "
        "២.៥០០ រៀល ក្នុងមួយនាក់នៅទីក្រុង និង ៨០០ រៀល នៅកន្លែងផ្សេង។ ការចំណាយ៖ "
        "ផ្នែករដ្ឋបាលសម្រាប់ដំណើរការការិយាល័យ ប្រហែល ២.០០០ ដុល្លារ សម្រាប់គណនេយ្យភាពសង្គម "
        "ហើយនៅសល់ចែកឱ្យផ្លូវ (ប្រហែល ៥៨%) ទឹក ការអប់រំ និងសុខភាព សេវាសង្គម និងផ្សេងៗ "
        "ដោយប្តូរបន្តិចដោយចៃដន្យ (អាចធ្វើឡើងវិញបាន)។ មណ្ឌលសុខភាព៖ ការទូទាត់ពីមូលនិធិសមធម៌"
        "សុខាភិបាល តាមអត្រាដែលបានផ្សព្វផ្សាយ "
        f"({number(HEF_RATES['outpatient'], 'km')} រៀល ក្នុងមួយការពិគ្រោះជំងឺក្រៅ "
        f"{number(HEF_RATES['prevention'], 'km')} រៀល ក្នុងមួយសេវាបង្ការ "
        f"{number(HEF_RATES['delivery'], 'km')} រៀល ក្នុងមួយការសម្រាលកូន) "
        "សម្រាប់ចំនួនអ្នកជំងឺកាន់ប័ណ្ណក្រីក្រសន្មត បូកថវិការដ្ឋ និងថ្លៃសេវាផ្លូវការក្នុងមួយនាក់។ "
        "សាលារៀន៖ សិស្ស ៧,៥% នៃប្រជាជន (យ៉ាងច្រើន ១.៨០០ នាក់) មូលនិធិប្រតិបត្តិការសាលារៀន "
        f"{number(SOF_PER_PUPIL, 'km')} រៀល ក្នុងមួយសិស្ស (សន្មត) និងចំនួនតិចតួចពីឃុំ សង្កាត់ "
        "សហគមន៍ និងម្ចាស់ជំនួយ។ បង្កើតដោយ content/budgets/make_sample.py។"
    ),
}


def round_riel(amount: float, step: int = 100_000) -> int:
    return round(amount / step) * step


def split(total: int, shares: dict[str, float], rng: random.Random,
          jitter: float) -> dict[str, int]:
    """`total` shared out by `shares` moved a little at random; rounding lands in the last."""
    moved = {k: max(0.01, v + rng.uniform(-jitter, jitter)) for k, v in shares.items()}
    scale = sum(moved.values())
    step = 100_000 if total >= 50_000_000 else 10_000
    out = {k: round_riel(total * v / scale, step) for k, v in moved.items()}
    last = list(out)[-1]
    out[last] += total - sum(out.values())
    return out


def population(code: str, year: int) -> int:
    growth = GROWTH[code in URBAN]
    return int(round(POPULATION_2022[code] * (1 + growth) ** (year - YEARS[0]), -1))


def commune_year(code: str, year: int, average_usd: int, mean_population: float) -> dict[str, Any]:
    rng = random.Random(f"{code}-{year}-commune")
    people = population(code, year)
    relative = people / mean_population
    development = round_riel(average_usd * (0.7 + 0.3 * relative) * RIEL_PER_USD)
    administration = round_riel(0.25 * average_usd * (0.8 + 0.2 * relative) * RIEL_PER_USD)
    own = round_riel(people * (2500 if code in URBAN else 800))
    revenue = {"cs_fund_dev": development, "cs_fund_admin": administration, "own_revenue": own}
    accountability = round_riel(2000 * RIEL_PER_USD)
    rest = development + own - accountability
    spending = {"administration": administration, "accountability": accountability,
                **split(rest, COMMUNE_SPENDING, rng, 0.04)}
    return {"people": people, "revenue": revenue, "spending": spending}


def health_centre_year(code: str, year: int) -> dict[str, Any]:
    rng = random.Random(f"{code}-{year}-health")
    people = population(code, year)
    poor = 0.5 if code in URBAN else 1.0  # fewer ID-Poor patients in the city (assumption)
    hef = (people * 0.11 * poor * HEF_RATES["outpatient"]
           + people * 0.12 * poor * HEF_RATES["prevention"]
           + people * 0.0035 * poor * HEF_RATES["delivery"])
    revenue = {"government": round_riel(people * 1800, 10_000),
               "hef": round_riel(hef, 10_000),
               "user_fees": round_riel(people * (2600 if code in URBAN else 1500), 10_000)}
    if rng.random() < 0.5:
        revenue["donors"] = round_riel(rng.uniform(4, 8) * 1_000_000, 10_000)
    total = sum(revenue.values())
    return {"people": people, "revenue": revenue,
            "spending": split(total, HEALTH_SPENDING, rng, 0.03)}


def school_year(code: str, year: int) -> dict[str, Any]:
    rng = random.Random(f"{code}-{year}-school")
    pupils = min(1800, int(round(population(code, year) * 0.075, -1)))
    revenue = {"sof": pupils * SOF_PER_PUPIL,
               "commune": round_riel(rng.uniform(2, 6) * 1_000_000, 10_000),
               "community": round_riel(rng.uniform(1, 4) * 1_000_000, 10_000)}
    if rng.random() < 0.5:
        revenue["donors"] = round_riel(rng.uniform(3, 10) * 1_000_000, 10_000)
    total = sum(revenue.values())
    return {"people": pupils, "revenue": revenue,
            "spending": split(total, SCHOOL_SPENDING, rng, 0.03)}


def block(figures: dict[str, Any]) -> dict[str, Any]:
    return {"source": SOURCE, "checked": CHECKED, "sample": True, **figures}


def build() -> dict[str, Any]:
    national = yaml.safe_load((ROOT / "national.yml").read_text(encoding="utf-8"))
    averages = national["development_average_usd"]["years"]
    communes: dict[str, Any] = {}
    for code in POPULATION_2022:
        place = gazetteer().get(code)
        assert place is not None, code
        entry: dict[str, Any] = {"name": place.name_en, "years": {}}
        for year in YEARS:
            mean = sum(population(c, year) for c in POPULATION_2022) / len(POPULATION_2022)
            entry["years"][year] = block(commune_year(code, year, averages[year], mean))
        if code in WITH_FACILITIES:
            key = place.name_en.lower().replace(" ", "_").replace("'", "")
            entry["health_centres"] = {key: {
                "name": {"en": f"{place.name_en} health centre",
                         "km": f"មណ្ឌលសុខភាព{place.name_km}"},
                "years": {year: block(health_centre_year(code, year)) for year in YEARS}}}
            entry["schools"] = {key: {
                "name": {"en": f"{place.name_en} primary school",
                         "km": f"សាលាបឋមសិក្សា{place.name_km}"},
                "years": {year: block(school_year(code, year)) for year in YEARS}}}
        communes[code] = entry
    return {
        "title": {"en": "Sample budgets (Khan Sen Sok, Romeas Haek, Srah Chik)",
                  "km": "ថវិកាគំរូ (ខណ្ឌសែនសុខ ស្រុករមាសហែក ឃុំស្រះជីក)"},
        "how_made": HOW_MADE,
        "communes": communes,
    }


HEADER = """\
# SAMPLE FIGURES: not a published budget. The bot says "sample figures" whenever it shows them.
# Generated by content/budgets/make_sample.py from the national averages in national.yml and
# the assumptions written in `how_made` below; do not edit by hand, run the script again.
# Real figures imported with `isafbot content import-budget` replace these for the same
# commune and year.
"""


def main() -> None:
    text = yaml.safe_dump(build(), allow_unicode=True, sort_keys=False, width=100)
    (ROOT / "data" / "sample.yml").write_text(HEADER + text, encoding="utf-8")
    print(f"wrote {ROOT / 'data' / 'sample.yml'}")


if __name__ == "__main__":
    main()
