"""The XLSForm of a survey, for a KoboToolbox project that takes `isafbot results --csv` rows.

Question names are the CSV's columns (`ratings/<indicator>`, `profile/<question>`, plus the
facility and round fields) and choice names its values, in Khmer and English. A round's survey
(`jaap.store.round_survey`) brings the round's custom (JAAP) indicators, rated on the same
scale, in the CSV's order (`export.response_columns`). The workbook is
written with the standard library (a minimal Office Open XML file: three sheets of inline
strings), so no spreadsheet package is needed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from content.surveys.section import Survey, Surveys
from dialogues.scorecard.export import response_columns

LABELS = ("label::English (en)", "label::Khmer (km)")
FIELDS = ("facility_id", "facility_name", "survey", "round_id", "round_label", "status")


def xlsform_sheets(surveys: Surveys, survey: Survey) -> dict[str, list[list[str]]]:
    """The three XLSForm sheets as rows of text (`survey`: a round's, with its custom
    indicators)."""
    rows: list[list[str]] = [["type", "name", *LABELS, "required"]]
    rows += [["text", field, field, field, "false"] for field in FIELDS]
    rows.append(["begin_group", "ratings", "Ratings", "ការវាយតម្លៃ", ""])
    by_id = {i.id: i for i in survey.indicators}
    order = [column.removeprefix("ratings/") for column in
             response_columns(surveys, survey.id, by_id) if column.startswith("ratings/")]
    rows += [["select_one scale", i.id, i.text.en, i.text.km, "false"]
             for i in (by_id[name] for name in order)]
    rows.append(["end_group", "", "", "", ""])
    rows.append(["begin_group", "profile", "About the respondent", "អំពីអ្នកឆ្លើយ", ""])
    rows += [[f"select_one {q.id}", q.id, q.text.en, q.text.km, "false"]
             for q in surveys.profile]
    rows.append(["end_group", "", "", "", ""])
    choices: list[list[str]] = [["list_name", "name", *LABELS]]
    choices += [["scale", str(level.value), f"{level.face} {level.label.en}",
                 f"{level.face} {level.label.km}"] for level in surveys.scale]
    choices += [[q.id, o.id, o.label.en, o.label.km] for q in surveys.profile for o in q.options]
    settings = [["form_title", "form_id", "default_language"],
                [survey.title.en, f"isafbot_{survey.id}", "English (en)"]]
    return {"survey": rows, "choices": choices, "settings": settings}


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(65 + remainder) + name
    return name


def _sheet(rows: Sequence[Sequence[str]]) -> str:
    lines = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{_column(c)}{r}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(value)}</t></is></c>" for c, value in enumerate(row) if value != "")
        lines.append(f'<row r="{r}">{cells}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{''.join(lines)}</sheetData></worksheet>")


def write_xlsform(surveys: Surveys, survey: Survey, path: Path) -> None:
    sheets = xlsform_sheets(surveys, survey)
    names = list(sheets)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
                    for i in range(1, len(names) + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Types xmlns="{package}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.sheet.main+xml"/>{types}</Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{package}/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(names, start=1))
            + "</sheets></workbook>"))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{package}/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
            + "</Relationships>"))
        for i, name in enumerate(names, start=1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", _sheet(sheets[name]))
