"""A closed round as an Excel workbook, in the shape of the digital scorecard's full export
(ISAF II's scorecard-web): the round, its indicators (standard and custom), the medians, the
five-face counts, the results by group, the suggested actions and the JAAP.

Every figure comes from `round_results` (dialogues/scorecard/results.py), so the workbook says
what `isafbot results` and the dashboard say; the "by group" sheet lists only the groups and
cells that the small-group rule shows there. No row-level data (one row per response) is in the
workbook: that is the CSV's job, and it stays with the CAF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from content.model import Content
from content.surveys.section import Survey, surveys_of
from dialogues.scorecard.jaap import store as jaap
from dialogues.scorecard.jaap.models import JaapAction
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.results import MIN_GROUP, NO_ANSWER, RoundResults, round_results
from dialogues.scorecard.rounds import median_label, round_name

Row = Sequence[Any]


class RoundStillOpen(Exception):
    """An open round's figures change with each answer: exported once it is closed."""


@dataclass(frozen=True)
class Words:
    """The workbook's words in one language."""

    content: Content
    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        return self.content.message(key, self.lang, **values)

    def header(self, *columns: str) -> list[str]:
        return [self(f"print_col_{column}") for column in columns]


def round_workbook(session: Session, content: Content, round_id: int, lang: str = "en"
                   ) -> dict[str, list[Row]]:
    """The sheets as rows (the first row of each is its header), by sheet title."""
    surveys = surveys_of(content)
    row = session.get(ScoringRound, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    if row.closed_at is None:
        raise RoundStillOpen(f"round {round_id} is still open: its workbook can be exported "
                             "once it is closed (isafbot rounds close)")
    results = round_results(session, surveys, round_id)
    survey = jaap.round_survey(session, surveys, row)
    words = Words(content, lang)
    return {
        words("print_sheet_round"): _round_sheet(words, results, survey),
        words("print_sheet_indicators"): _indicators_sheet(words, results, survey),
        words("print_sheet_medians"): _medians_sheet(words, results, survey),
        words("print_sheet_faces"): _faces_sheet(words, results, survey),
        words("print_sheet_profiles"): _profiles_sheet(words, results, survey),
        words("print_sheet_suggested"): _suggested_sheet(
            words, results, survey, jaap.discussion(session, round_id)),
        words("print_sheet_jaap"): jaap_rows(words, survey, jaap.actions(session, round_id)),
    }


def _name(survey: Survey | None, indicator: str, lang: str) -> str:
    found = survey.indicator(indicator) if survey else None
    return found.text(lang) if found else indicator


def _round_sheet(words: Words, results: RoundResults, survey: Survey | None) -> list[Row]:
    info, facility, lang = results.round, results.facility, words.lang
    return [
        words.header("field", "value"),
        [words("print_field_facility"), facility.name(lang) if facility else info.facility_id],
        [words("print_field_facility_id"), info.facility_id],
        [words("print_field_survey"), survey.title(lang) if survey else info.survey_id],
        [words("print_field_round"), round_name(words.content, info.id, info.label, lang)],
        [words("print_field_opened"), info.opened_at],
        [words("print_field_closed"), info.closed_at],
        [words("print_field_responses"), results.responses],
        [words("print_field_complete"), results.complete],
        [words("print_field_comments"), results.comments],
        [words("print_field_small_groups", min=MIN_GROUP), MIN_GROUP],
    ]


def _indicators_sheet(words: Words, results: RoundResults,
                      survey: Survey | None) -> list[Row]:
    rows: list[Row] = [words.header("indicator_id", "kind", "name_km", "name_en")]
    for stats in results.indicators:
        found = survey.indicator(stats.indicator) if survey else None
        kind = "custom" if stats.indicator.startswith(jaap.CUSTOM_PREFIX) else "standard"
        rows.append([stats.indicator, words(f"print_kind_{kind}"),
                     found.text.km if found else "", found.text.en if found else ""])
    return rows


def _medians_sheet(words: Words, results: RoundResults, survey: Survey | None) -> list[Row]:
    rows: list[Row] = [words.header("indicator_id", "indicator", "ratings", "median",
                                    "median_label", "mean")]
    for stats in results.indicators:
        meaning = median_label(words.content, stats.median, words.lang).label \
            if stats.median is not None else ""
        rows.append([stats.indicator, _name(survey, stats.indicator, words.lang), stats.count,
                     stats.median, meaning,
                     round(stats.mean, 2) if stats.mean is not None else None])
    return rows


def _faces_sheet(words: Words, results: RoundResults, survey: Survey | None) -> list[Row]:
    scale = surveys_of(words.content).scale
    header = words.header("indicator_id", "indicator")
    header += [f"{level.value} {level.label(words.lang)}" for level in scale]
    rows: list[Row] = [[*header, words("print_col_skipped")]]
    for stats in results.indicators:
        rows.append([stats.indicator, _name(survey, stats.indicator, words.lang),
                     *stats.distribution, stats.skipped])
    return rows


def _profiles_sheet(words: Words, results: RoundResults,
                    survey: Survey | None) -> list[Row]:
    """One row per shown group and indicator; hidden groups and cells are left out."""
    rows: list[Row] = [words.header("question", "group", "respondents", "indicator_id",
                                    "indicator", "ratings", "median")]
    questions = {q.id: q for q in surveys_of(words.content).profile}
    for item in results.breakdowns:
        question = questions.get(item.question)
        for group in item.groups:
            if group.respondents is None or group.respondents == 0:
                continue  # hidden by the small-group rule, or nobody
            option = question.option(group.option) if question else None
            label = words("print_no_answer") if group.option == NO_ANSWER else \
                option.label(words.lang) if option else group.option
            for indicator, cell in group.indicators.items():
                if cell is None or cell.count == 0:
                    continue
                rows.append([question.text(words.lang) if question else item.question, label,
                             group.respondents, indicator,
                             _name(survey, indicator, words.lang), cell.count, cell.median])
    return rows


def _suggested_sheet(words: Words, results: RoundResults, survey: Survey | None,
                     found: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [words.header("indicator_id", "indicator", "median", "strengths",
                                    "weaknesses", "suggested")]
    for stats in results.indicators:
        talk = found.get(stats.indicator)
        rows.append([stats.indicator, _name(survey, stats.indicator, words.lang), stats.median,
                     talk.strengths if talk else None, talk.weaknesses if talk else None,
                     talk.suggested_actions if talk else None])
    return rows


def jaap_rows(words: Words, survey: Survey | None,
              actions: Sequence[JaapAction]) -> list[Row]:
    """The JAAP as rows: number, action, indicator, responsible, due date, status, note."""
    rows: list[Row] = [words.header("number", "action", "indicator", "responsible", "due",
                                    "status", "note")]
    for number, action in enumerate(actions, start=1):
        rows.append([number, action.what,
                     _name(survey, str(action.indicator), words.lang) if action.indicator
                     else "", words(f"jaap_responsible_{action.responsible}"), action.due_date,
                     words(f"jaap_status_{action.status}"), action.progress_note])
    return rows


def write_workbook(sheets: dict[str, list[Row]], path: Path) -> None:
    """The sheets as an .xlsx file: bold, frozen headers, readable column widths. Every text
    is stored as text: a CAF's note starting with "=" is never run as a formula."""
    book = Workbook()
    for blank in list(book.worksheets):
        book.remove(blank)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title[:31])
        for values in rows:
            sheet.append(list(values))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                elif isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
        for index, column in enumerate(sheet.columns, start=1):
            longest = max(len(str(cell.value)) if cell.value is not None else 0
                          for cell in column)
            sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, longest))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
