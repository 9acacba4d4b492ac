"""CSV exports of a round: responses in a wide format, and comments apart.

Both open in Excel as they are (UTF-8 with a byte order mark, CRLF line ends, cells that
Excel would run as formulas are quoted) and use KoboToolbox's "XML values and headers" layout:
a `meta/instanceID` column (uuid:..., stable across exports, so importing twice does not
duplicate) and one column per question named `<group>/<name>`, with choice names as values: the
KoboToolbox form written by `isafbot results --xlsform` (dialogues/scorecard/xlsform.py) takes these
rows as they are.

Rows are sorted by their random ids, never by time. The comments file has no profile fields and
nothing that joins a comment to a response.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.surveys.section import Surveys
from dialogues.scorecard.models import ScoringRound, SurveyComment
from dialogues.scorecard.results import response_table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text as Excel should show it: never run as a formula (CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def instance_id(response_id: str) -> str:
    """KoboToolbox's submission id for a response (uuid:<8-4-4-4-12>)."""
    return f"uuid:{uuid.UUID(hex=response_id[:32].ljust(32, '0'))}"


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            count += 1
    return count


def response_columns(surveys: Surveys, survey_id: str, extra: Iterable[str] = ()) -> list[str]:
    survey = next((s for s in surveys.by_type.values() if s.id == survey_id), None)
    indicators = [i.id for i in survey.indicators] if survey else []
    indicators += sorted(set(extra) - set(indicators))
    return (["meta/instanceID", "facility_id", "facility_name", "survey", "round_id",
             "round_label", "status"]
            + [f"ratings/{i}" for i in indicators]
            + [f"profile/{q.id}" for q in surveys.profile])


def write_responses_csv(session: Session, surveys: Surveys, round_id: int, path: Path) -> int:
    """One row per response; returns the number of rows."""
    row = session.get(ScoringRound, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    status, scores, profile = response_table(session, round_id)
    extra = {indicator for answers in scores.values() for indicator in answers}
    header = response_columns(surveys, row.survey_id, extra)
    facility = surveys.facilities.get(row.facility_id)
    name = facility.name.en if facility else ""

    def rows() -> Iterable[list[object]]:
        for response_id in sorted(status):
            values: list[object] = [instance_id(response_id), row.facility_id, name,
                                    row.survey_id, row.id, row.label, status[response_id]]
            for column in header[7:]:
                group, _, key = column.partition("/")
                if group == "ratings":
                    values.append(scores[response_id].get(key))
                else:
                    values.append(profile.get(key, {}).get(response_id))
            yield values

    return _write(path, header, rows())


def write_comments_csv(session: Session, surveys: Surveys, round_id: int, path: Path, *,
                       mask: Callable[[str], str] | None = None) -> int:
    """Comments only: no profile field, no response id, no author key. `mask`: what the
    dashboard's download hides (phone numbers...: common.redact.mask_personal_data)."""
    shown = mask or (lambda text: text)
    row = session.get(ScoringRound, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    facility = surveys.facilities.get(row.facility_id)
    comments = session.execute(select(SurveyComment.id, SurveyComment.text).where(
        SurveyComment.round_id == round_id).order_by(SurveyComment.id)).all()
    header = ["comment_id", "facility_id", "facility_name", "round_id", "round_label", "comment"]
    return _write(path, header, ([c.id, row.facility_id, facility.name.en if facility else "",
                                  row.id, row.label, shown(c.text)] for c in comments))
