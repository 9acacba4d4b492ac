"""The budget section's typed model: categories, figures with their provenance, a year's
budget, facilities, communes, national facts and the glossary (loaded by section.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from content.model import Text


@dataclass(frozen=True)
class Category:
    id: str
    name: Text
    fund: str | None = None  # "development"/"administration": a Commune/Sangkat Fund component


@dataclass(frozen=True)
class Provenance:
    source: str
    checked: date
    sample: bool


@dataclass(frozen=True)
class Figure:
    category: str
    riel: int
    provenance: Provenance


@dataclass(frozen=True)
class People:
    """Residents of a commune, pupils of a school, people a health centre serves."""

    count: int
    provenance: Provenance


@dataclass(frozen=True)
class YearBudget:
    year: int
    revenue: tuple[Figure, ...]
    spending: tuple[Figure, ...]
    people: People | None
    file: str  # where it was read from, for messages to content editors

    @property
    def total_revenue(self) -> int:
        return sum(f.riel for f in self.revenue)

    @property
    def total_spending(self) -> int:
        return sum(f.riel for f in self.spending)

    @property
    def sample(self) -> bool:
        """True when any figure shown with this year (people included) is a sample figure."""
        return any(p.sample for p in self.provenances())

    def provenances(self) -> list[Provenance]:
        items = [f.provenance for f in (*self.revenue, *self.spending)]
        if self.people:
            items.append(self.people.provenance)
        return list(dict.fromkeys(items))

    def spending_by_share(self) -> list[tuple[Figure, float]]:
        """Spending categories, largest first ("other" last), with their share of all
        spending."""
        total = self.total_spending or 1
        ranked = sorted(self.spending, key=lambda f: (f.category == "other", -f.riel,
                                                      f.category))
        return [(f, f.riel / total) for f in ranked]

    def revenue_figure(self, category: str) -> Figure | None:
        return next((f for f in self.revenue if f.category == category), None)


@dataclass(frozen=True)
class Facility:
    scope: str  # health_centre | school
    id: str
    name: Text
    years: dict[int, YearBudget]


@dataclass(frozen=True)
class CommuneBudget:
    code: str
    years: dict[int, YearBudget]
    facilities: dict[str, tuple[Facility, ...]]  # scope -> facilities

    def facilities_of(self, scope: str) -> tuple[Facility, ...]:
        return self.facilities.get(scope, ())


@dataclass(frozen=True)
class Fact:
    """A published national fact told in words, with where it comes from."""

    id: str
    text: Text
    source: str
    checked: date
    review: str | None = None  # what was compared with the source on the checked date


@dataclass(frozen=True)
class Term:
    id: str
    term: Text
    text: Text
    source: str
    checked: date


@dataclass(frozen=True)
class DevelopmentAverage:
    """The planned average development budget per commune, in US dollars, per year."""

    usd: dict[int, int]
    note: Text
    source: str
    checked: date
    review: str | None = None


@dataclass(frozen=True)
class DataFile:
    path: str
    title: Text | None
    how_made: Text | None


@dataclass(frozen=True)
class Budgets:
    categories: dict[str, dict[str, dict[str, Category]]]  # scope -> kind -> id -> Category
    communes: dict[str, CommuneBudget]
    facts: dict[str, Fact]
    glossary: dict[str, Term]
    have_your_say: Fact | None
    development_average: DevelopmentAverage | None
    files: dict[str, DataFile] = field(default_factory=dict)

    def category(self, scope: str, kind: str, category_id: str) -> Category | None:
        return self.categories.get(scope, {}).get(kind, {}).get(category_id)


