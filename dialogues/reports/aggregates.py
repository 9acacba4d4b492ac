"""The reports' figures for everyone outside the CAF's own pages: per commune and facility,
the number of reports of each kind in each month, kept under the small-group rule, and the
approved texts. The dashboard's page, CSV, chart and public page and the meeting attachment all
read the figures from `kept_cells`, so none of them can show a group the others hide.

Built on the store's `aggregate` (counting) and `shown_counts` (the rule); a kept cell is one
the rule shows, and nothing here sums hidden cells into anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialogues.core.permissions import Actor
from dialogues.reports.models import Report
from dialogues.reports.store import MIN_GROUP, aggregate, shown_counts

GROUPS = ("commune_code", "facility_id", "kind", "created_month")


@dataclass(frozen=True)
class Cell:
    """One kept group: a facility's (or, facility unknown, a commune's) reports of one kind
    in one month."""

    commune_code: str
    facility_id: str | None
    kind: str
    month: str  # "YYYY-MM"
    count: int


@dataclass(frozen=True)
class Figures:
    """The kept cells of some communes, and how many groups the rule hid."""

    cells: list[Cell]
    hidden: int

    def of(self, commune: str) -> list[Cell]:
        return [c for c in self.cells if c.commune_code == commune]

    @property
    def communes(self) -> list[str]:
        return sorted({c.commune_code for c in self.cells})


def kept_cells(session: Session, communes: Sequence[str] | None) -> Figures:
    """Reports per commune, facility, kind and month of `communes` (None: all), each group
    under MIN_GROUP left out (counted in `hidden` only)."""
    shown = shown_counts(aggregate(session, communes, by=GROUPS))
    cells = [Cell(str(row.keys["commune_code"]), row.keys["facility_id"],
                  str(row.keys["kind"]), str(row.keys["created_month"]), int(row.count))
             for row in shown if row.count is not None and row.count >= MIN_GROUP]
    return Figures(cells, len(shown) - len(cells))


def approved_texts(session: Session, actor: Actor, limit: int) -> list[str]:
    """The reporters' words a CAF approved for use beyond their own view (the meeting's
    material), of the actor's communes, newest month first. Never for public pages."""
    query = (select(Report.text).where(Report.text_state == "approved",
                                       Report.text.is_not(None))
             .order_by(Report.created_month.desc(), Report.reference).limit(limit))
    scope = actor.commune_scope()
    if scope is not None:
        query = query.where(Report.commune_code.in_(scope))
    return [str(text) for text in session.execute(query).scalars()]
