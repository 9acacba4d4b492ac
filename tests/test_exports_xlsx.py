"""The round's Excel workbook, opened with openpyxl and checked against the results code
(round_results): indicators standard and custom, medians, five faces, results by group only
where the small-group rule shows them, suggested actions and the JAAP; on SQLite and
PostgreSQL. And the JAAP's PDF for the meeting's wall."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.cli.main import main
from bot.db import Database
from bot.features import FEATURES
from content.loader import load_content
from content.surveys.section import surveys_of
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.jaap import plan as jaap_plan
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.jaap_print import PlanAction, action_cells, plan_of, write_plan_pdf
from dialogues.scorecard.results import round_results
from dialogues.scorecard.rounds import close_round, open_round
from dialogues.scorecard.workbook import RoundStillOpen, round_workbook, write_workbook

CONTENT = load_content(sections=FEATURES.sections)
SURVEYS = surveys_of(CONTENT)
SECRET = b"test-secret-key-0123456789"
HC = "hc_120809"
BY = operator("test")
TODAY = date(2026, 12, 3)
# Twelve respondents (None: skipped).
ENOUGH_STAFF = [5, 4, 4, 3, 2, 1, 5, 5, 4, None, 3, 4]
CUSTOM = [1, 2, 2, 1, 3, 2, 5, 1, 2, 2, 4, 2]  # "the nurse asks for money"
GENDER = ["female"] * 7 + ["male"] * 4 + [None]
AGE = ["age_18_30"] * 8 + ["age_31_45"] * 3 + ["prefer_not"]


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


def _fill(db: Database, *, close: bool = True) -> tuple[int, str]:
    """A round with a custom indicator, twelve responses, a discussion and two actions."""
    with db.session() as session:
        call = proposals.open_call(session, CONTENT, HC, by=BY)
        custom = proposals.add_custom_indicator(
            session, CONTENT, int(call.id), label_km="គ្មានការសុំលុយក្រៅផ្លូវការ",
            label_en="No informal payments", by=BY)
        custom_id = custom.key
        round_id = int(open_round(session, CONTENT, HC, by=BY, label="2026").id)
    for person in range(12):
        with db.session() as session:
            respondent = store.respondent_key(SECRET, "console", f"person{person}")
            response = store.start_response(session, round_id, respondent)
            store.save_rating(session, response, "enough_staff", ENOUGH_STAFF[person])
            store.save_rating(session, response, custom_id, CUSTOM[person])
            if GENDER[person]:
                store.save_profile_answer(session, response, "gender", str(GENDER[person]))
            store.save_profile_answer(session, response, "age_band", AGE[person])
            store.set_progress(session, response, position=20, status="complete")
    if close:
        with db.session() as session:
            close_round(session, CONTENT, round_id, by=BY)
            _plan(session, round_id, custom_id)
    return round_id, custom_id


def _plan(session: Any, round_id: int, custom_id: str) -> None:
    jaap_plan.save_discussion(session, CONTENT, round_id, custom_id,
                              strengths="ពេទ្យរួសរាយ", weaknesses="Fees asked at night",
                              suggested_actions="=post the official fees", by=BY)
    jaap_plan.add_action(session, CONTENT, round_id, what="Post the official fees at the door",
                         responsible="provider", due=date(2027, 1, 15), by=BY, today=TODAY,
                         indicator=custom_id)
    action = jaap_plan.add_action(session, CONTENT, round_id,
                                  what="ស្នើសុំគិលានុបដ្ឋាយិកាបន្ថែម", responsible="commune_council",
                                  due=date(2027, 3, 1), by=BY, today=TODAY,
                                  indicator="enough_staff")
    jaap_plan.set_status(session, CONTENT, int(action.id), "in_progress", note="letter sent",
                         by=BY)


def _sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_the_workbook_says_what_the_results_say(db: Database, tmp_path: Path) -> None:
    round_id, custom_id = _fill(db)
    path = tmp_path / "round.xlsx"
    with db.read_session() as session:
        write_workbook(round_workbook(session, CONTENT, round_id, "en"), path)
        results = round_results(session, SURVEYS, round_id)
    sheets = _sheets(path)
    assert list(sheets) == ["Round", "Indicators", "Medians", "Five faces", "By group",
                            "Suggested actions", "JAAP"]
    stats = {s.indicator: s for s in results.indicators}
    assert [row[0] for row in sheets["Indicators"][1:]] == list(stats)
    assert sheets["Indicators"][-1] == (custom_id, "custom", "គ្មានការសុំលុយក្រៅផ្លូវការ",
                                        "No informal payments")
    for row in sheets["Medians"][1:]:
        expected = stats[row[0]]
        assert row[2:4] == (expected.count, expected.median)
        assert row[5] == (round(expected.mean, 2) if expected.mean is not None else None)
    assert dict((r[0], r[3]) for r in sheets["Medians"][1:])[custom_id] == 2
    for row in sheets["Five faces"][1:]:
        assert row[2:] == (*stats[row[0]].distribution, stats[row[0]].skipped)
    assert sheets["Five faces"][1][:8] == ("enough_staff", "Enough staff", 1, 1, 2, 4, 3, 1)
    round_sheet = dict(sheets["Round"][1:])
    assert (round_sheet["Responses"], round_sheet["Complete responses"]) == (12, 12)


def test_groups_follow_the_small_group_rule(db: Database, tmp_path: Path) -> None:
    """Only shown groups and cells, each with its figures from the breakdown. Gender: women
    (7) shown, men (4) hidden and with them the 1 without an answer (else the men's figures
    would be the total minus the others). Age: 8, 3 and 1: the 3 and 1 are hidden, so the 8
    too (4 hidden people could be worked out)."""
    round_id, custom_id = _fill(db)
    path = tmp_path / "round.xlsx"
    with db.read_session() as session:
        write_workbook(round_workbook(session, CONTENT, round_id, "en"), path)
        results = round_results(session, SURVEYS, round_id)
    rows = _sheets(path)["By group"][1:]
    assert rows and all(row[2] >= 5 and row[5] >= 5 for row in rows)
    shown = {(b.question, g.option, indicator): (g.respondents, cell.count, cell.median)
             for b in results.breakdowns for g in b.groups if g.respondents
             for indicator, cell in g.indicators.items() if cell is not None and cell.count}
    questions = {q.text.en: q for q in SURVEYS.profile}
    found = {}
    for question, group, respondents, indicator, _, count, median in rows:
        profile = questions[question]
        option = next(o.id for o in profile.options if o.label.en == group) \
            if group != "no answer" else "no_answer"
        found[(profile.id, option, indicator)] = (respondents, count, median)
    assert found == shown
    assert ("gender", "female", custom_id) in found
    assert not {key for key in found if key[:2] in (("gender", "male"), ("gender", "no_answer"))}
    assert not {key for key in found if key[0] == "age_band"}


def test_suggested_actions_and_the_jaap(db: Database, tmp_path: Path) -> None:
    round_id, custom_id = _fill(db)
    path = tmp_path / "round.xlsx"
    with db.read_session() as session:
        write_workbook(round_workbook(session, CONTENT, round_id, "km"), path)
    book = openpyxl.load_workbook(path)
    suggested = {row[0]: row for row in book["សកម្មភាពស្នើ"].iter_rows(values_only=True)}
    assert suggested[custom_id][3:] == ("ពេទ្យរួសរាយ", "Fees asked at night",
                                        "=post the official fees")
    cell = next(c for c in book["សកម្មភាពស្នើ"]["F"] if c.value == "=post the official fees")
    assert cell.data_type == "s"  # a note is never run as a formula
    plan = list(book["ផែនការ JAAP"].iter_rows(values_only=True))[1:]
    assert [row[1:6] for row in plan] == [
        ("Post the official fees at the door", "គ្មានការសុំលុយក្រៅផ្លូវការ", "អ្នកផ្តល់សេវា",
         datetime(2027, 1, 15), "បានគ្រោងទុក"),
        ("ស្នើសុំគិលានុបដ្ឋាយិកាបន្ថែម", "ចំនួនបុគ្គលិកគ្រប់គ្រាន់", "ក្រុមប្រឹក្សាឃុំ សង្កាត់",
         datetime(2027, 3, 1), "កំពុងអនុវត្ត")]
    assert plan[1][6] == "letter sent"


def test_an_open_round_has_no_workbook(db: Database, tmp_path: Path) -> None:
    round_id, _ = _fill(db, close=False)
    with db.read_session() as session, pytest.raises(RoundStillOpen):
        round_workbook(session, CONTENT, round_id)


def test_the_command_writes_the_workbook_and_the_plan(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    database = Database(sqlite_url)
    database.migrate()
    round_id, _ = _fill(database, close=False)
    xlsx, pdf = tmp_path / "round.xlsx", tmp_path / "jaap.pdf"
    args = ["results", "--facility", HC, "--db", sqlite_url, "--xlsx", str(xlsx),
            "--jaap-pdf", str(pdf)]
    assert main(args) == 1
    assert "still open" in capsys.readouterr().err and not xlsx.exists() and not pdf.exists()
    with database.session() as session:
        close_round(session, CONTENT, round_id, by=BY)
    assert main(args) == 0
    assert "7 sheets" in capsys.readouterr().out
    assert _sheets(xlsx)["Five faces"][1][2:7] == (1, 1, 2, 4, 3)
    assert pdf.read_bytes().startswith(b"%PDF")
    database.dispose()


# ------------------------------------------------------------------ the JAAP's PDF

def _pages(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in
            re.findall(rb"/MediaBox \[ 0 0 ([0-9.]+) ([0-9.]+) \]", pdf)]


def test_the_plan_prints_on_a4_landscape_pages(db: Database, tmp_path: Path) -> None:
    round_id, _ = _fill(db)
    with db.read_session() as session:
        plan = plan_of(session, CONTENT, round_id)
    assert [a.what for a in plan.actions] == ["Post the official fees at the door",
                                              "ស្នើសុំគិលានុបដ្ឋាយិកាបន្ថែម"]
    assert action_cells(CONTENT, plan, plan.actions[1], 2, ("km", "en")) == [
        "២", "ស្នើសុំគិលានុបដ្ឋាយិកាបន្ថែម", "ចំនួនបុគ្គលិកគ្រប់គ្រាន់ / Enough staff",
        "ក្រុមប្រឹក្សាឃុំ សង្កាត់ / commune council", "ថ្ងៃទី១ ខែមីនា ឆ្នាំ២០២៧ / 1 March 2027",
        "កំពុងអនុវត្ត / in progress"]  # never the progress note: CAFs' text, not for the wall
    path = tmp_path / "jaap.pdf"
    assert write_plan_pdf(CONTENT, plan, path, "both", today=TODAY) == 1
    assert _pages(path.read_bytes()) == [pytest.approx((841.89, 595.28), abs=1)]
    many = plan.actions + tuple(
        PlanAction(f"Action {n}", None, "citizens", date(2027, 1, n), "planned")
        for n in range(1, 25))
    longer = tmp_path / "long.pdf"
    pages = write_plan_pdf(CONTENT, plan.__class__(plan.facility, plan.round, plan.closed,
                                                   plan.indicators, many), longer, "en")
    assert pages >= 2 and len(_pages(longer.read_bytes())) == pages


def test_the_xlsform_asks_the_rounds_custom_indicators(db: Database, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`isafbot results --xlsform`: the round's custom (JAAP) indicator is a question of the
    ratings group, in Khmer and English on the same scale, and the form's questions are the
    CSV's columns, the custom one included."""
    from tests.test_survey_results import _read_xlsx

    round_id, custom_id = _fill(db)
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", SECRET.decode())
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(tmp_path / "var"))
    form, answers = tmp_path / "form.xlsx", tmp_path / "answers.csv"
    assert main(["results", "--facility", HC, "--round", str(round_id), "--xlsform", str(form),
                 "--csv", str(answers), "--db", db.url]) == 0
    rows = _read_xlsx(form)["survey"]
    custom = next(r for r in rows if r.get("B") == custom_id)
    assert custom["A"] == "select_one scale"
    assert custom["C"] == "No informal payments" and custom["D"] == "គ្មានការសុំលុយក្រៅផ្លូវការ"
    paths, group = [], ""
    for row in rows[1:]:
        if row.get("A") == "begin_group":
            group = row["B"] + "/"
        elif row.get("A") == "end_group":
            group = ""
        else:
            paths.append(group + row["B"])
    assert f"ratings/{custom_id}" in paths
    header = answers.read_bytes().decode("utf-8-sig").splitlines()[0].split(",")
    assert header == ["meta/instanceID", *paths]
