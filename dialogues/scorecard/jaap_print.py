"""The JAAP for the interface meeting's wall: an A4 landscape PDF listing a round's agreed
actions (what, for which indicator, who is responsible, by when, status), in Khmer, English or
both, drawn with Pillow so that Khmer is shaped (common/pages.py).

The actions are read through the JAAP's read API (dialogues/scorecard/jaap/store.py) and turned
into `PlanAction`s, so the drawing depends on nothing but those few fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from common import formatting as fmt
from common import khmer_dates as dates
from common import pages
from common.charts import DRAWING
from common.clock import local_date
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.scorecard.jaap import store as jaap
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.rounds import round_name

LANGS = {"km": ("km",), "en": ("en",), "both": ("km", "en")}
# No progress note: it is the CAFs' free text, and the wall is as public as the public page,
# which shows the status only (docs/results.md).
COLUMNS = (("number", 0.05), ("action", 0.37), ("indicator", 0.20), ("responsible", 0.14),
           ("due", 0.13), ("status", 0.11))
TITLE_INK = "#0b7285"


@dataclass(frozen=True)
class PlanAction:
    """One agreed action, as printed."""

    what: str
    indicator: str | None  # the indicator's id (standard or custom), or None
    responsible: str  # provider | commune_council | citizens
    due: date
    status: str  # planned | in_progress | done | dropped


@dataclass(frozen=True)
class Plan:
    facility: dict[str, str]  # the facility's name by language
    round: dict[str, str]  # the round's name by language
    closed: date | None
    indicators: dict[str, dict[str, str]]  # indicator id -> language -> text
    actions: tuple[PlanAction, ...]


def plan_of(session: Session, content: Content, round_id: int, *,
            tz: str = "Asia/Phnom_Penh") -> Plan:
    """A round's plan as printed, from the JAAP's tables."""
    surveys = surveys_of(content)
    row = session.get(ScoringRound, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    facility = surveys.facilities.get(row.facility_id)
    survey = jaap.round_survey(session, surveys, row)
    indicators = {i.id: {"km": i.text.km, "en": i.text.en}
                  for i in (survey.indicators if survey else ())}
    actions = tuple(PlanAction(str(a.what), a.indicator, str(a.responsible), a.due_date,
                               str(a.status))
                    for a in jaap.actions(session, round_id))
    return Plan({lang: facility.name(lang) if facility else str(row.facility_id)
                 for lang in ("km", "en")},
                {lang: round_name(content, row.id, row.label, lang) for lang in ("km", "en")},
                local_date(row.closed_at, tz) if row.closed_at else None, indicators, actions)


def _both(content: Content, key: str, langs: tuple[str, ...]) -> str:
    return " / ".join(content.message(key, lang) for lang in langs)


def action_cells(content: Content, plan: Plan, action: PlanAction, number: int,
           langs: tuple[str, ...]) -> list[str]:
    indicator = plan.indicators.get(action.indicator or "", {})
    return [fmt.digits(number, langs[0]), action.what,
            " / ".join(indicator.get(lang, str(action.indicator)) for lang in langs)
            if action.indicator else "",
            _both(content, f"jaap_responsible_{action.responsible}", langs),
            " / ".join(dates.day(action.due, lang, weekday=False) for lang in langs),
            _both(content, f"jaap_status_{action.status}", langs)]


def draw_plan(content: Content, plan: Plan, langs: tuple[str, ...],
              today: date) -> list[Image.Image]:
    """The pages: title, facility and round, the table (its header repeated on each page)."""
    with DRAWING:
        sheet = pages.Sheet(margin_mm=12, landscape=True)
        for lang in langs:
            sheet.paragraph(content.message("print_jaap_title", lang),
                            18 if lang == langs[0] else 14, bold=True, fill=TITLE_INK)
        for lang in langs:
            closed = fmt.day(plan.closed, lang) if plan.closed else "-"
            sheet.paragraph(content.message("print_jaap_round", lang,
                                            facility=plan.facility[lang],
                                            round=plan.round[lang], closed=closed), 12)
        sheet.paragraph(" · ".join(content.message("print_jaap_as_of", lang,
                                                   date=fmt.day(today, lang))
                                   for lang in langs), 10, fill=pages.MUTED)
        sheet.gap(4)
        if not plan.actions:
            sheet.paragraph(_both(content, "print_jaap_none", langs), 13)
            return sheet.pages
        columns = [pages.Column(_both(content, f"print_col_{name}", langs), share)
                   for name, share in COLUMNS]
        sheet.table(columns, [action_cells(content, plan, action, number, langs)
                              for number, action in enumerate(plan.actions, start=1)],
                    size=10 if len(langs) == 1 else 9)
        return sheet.pages


def write_plan_pdf(content: Content, plan: Plan, path: Path, lang: str = "both", *,
                   today: date | None = None) -> int:
    """The plan as a PDF at `path`; returns its number of pages."""
    drawn: Sequence[Image.Image] = draw_plan(content, plan, LANGS[lang],
                                             today or datetime.now().date())
    pages.save_pdf(drawn, path)
    return len(drawn)
