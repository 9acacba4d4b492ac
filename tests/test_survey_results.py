"""Results, breakdowns and exports, checked against figures computed by hand, on SQLite and
PostgreSQL; the small-group rule, including groups that could be worked out by subtraction."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bot.cli.main import main
from bot.db import Database
from bot.features import FEATURES
from content.loader import load_content
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.export import instance_id, write_comments_csv, write_responses_csv
from dialogues.scorecard.results import (
    MIN_GROUP,
    NO_ANSWER,
    breakdown,
    hidden_groups,
    indicator_stats,
    round_results,
)
from dialogues.scorecard.rounds import close_round, open_round

CONTENT = load_content(sections=FEATURES.sections)
SURVEYS = surveys_of(CONTENT)
SECRET = b"test-secret-key-0123456789"

# Twelve respondents of Kouk Khleang health centre (None: skipped; absent: never reached).
ENOUGH_STAFF = [5, 4, 4, 3, 2, 1, 5, 5, 4, None, 3, 4]
CLEAN_WATER = {0: 2, 1: 3, 7: 4, 8: 5}
GENDER = ["female"] * 7 + ["male"] * 4 + [None]
AGE = ["age_18_30"] * 6 + ["age_31_45"] * 6
DISABILITY = ["yes"] + ["no"] * 10 + ["prefer_not"]
COMMENTS = {2: "Clean, but the nurse was late", 5: "=HYPERLINK(\"http://x\")"}


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


def _fill(db: Database, content: Content = CONTENT) -> int:
    """The hand-computed data set, written through the same functions as the chat."""
    with db.session() as session:
        round_id = int(open_round(session, content, "hc_120809", by=operator("test"),
                                  label="2026").id)
    for person in range(12):
        with db.session() as session:
            respondent = store.respondent_key(SECRET, "console", f"person{person}")
            response = store.start_response(session, round_id, respondent)
            store.save_rating(session, response, "enough_staff", ENOUGH_STAFF[person])
            if person in CLEAN_WATER:
                store.save_rating(session, response, "clean_water", CLEAN_WATER[person])
            if GENDER[person]:
                store.save_profile_answer(session, response, "gender", str(GENDER[person]))
            store.save_profile_answer(session, response, "age_band", AGE[person])
            store.save_profile_answer(session, response, "disability", DISABILITY[person])
            if person in COMMENTS:
                store.save_comment(session, round_id,
                                   store.comment_author(SECRET, respondent, round_id),
                                   COMMENTS[person])
            store.set_progress(session, response, position=20,
                               status="complete" if person < 9 else "stopped")
    return round_id


# ------------------------------------------------------------------ pure computations

def test_indicator_statistics_by_hand() -> None:
    stats = indicator_stats("enough_staff", ENOUGH_STAFF)
    assert stats.distribution == (1, 1, 2, 4, 3)
    assert stats.count == 11 and stats.skipped == 1
    assert stats.mean == pytest.approx(40 / 11)
    assert stats.median == 4.0  # 1 2 3 3 4 [4] 4 4 5 5 5
    even = indicator_stats("clean_water", [2, 3, 4, 5])
    assert even.median == 3.5 and even.mean == 3.5
    empty = indicator_stats("library", [])
    assert empty.count == 0 and empty.mean is None and empty.median is None
    with pytest.raises(ValueError):
        indicator_stats("x", [6])


@pytest.mark.parametrize(("counts", "hidden"), [
    ({"a": 6, "b": 6}, set()),
    ({"a": 10, "b": 3, "c": 2}, {"b", "c"}),  # 3 + 2 = 5: enough together
    ({"a": 10, "b": 3, "c": 7}, {"b", "c"}),  # b alone = total - a - c: hide c too
    ({"a": 10, "b": 1, "c": 1, "d": 9}, {"b", "c", "d"}),
    ({"a": 4}, {"a"}),
    ({"a": 0, "b": 9}, set()),  # an empty group reveals nobody
    ({"a": 5, "b": 5, "c": 0}, set()),
])
def test_small_groups_are_hidden_with_enough_others(counts: dict[str, int],
                                                    hidden: set[str]) -> None:
    assert hidden_groups(counts) == hidden


def test_no_hidden_group_can_be_worked_out_by_subtraction() -> None:
    """For thousands of random group sizes: every shown group has 0 or at least 5 people, and
    what the shown groups leave of the total (the hidden ones together) is 0 or at least 5,
    unless nothing is shown at all (then the breakdown adds nothing to the total)."""
    generator = random.Random(6)
    for _ in range(5000):
        counts = {f"g{i}": generator.choice([0, 1, 2, 3, 4, 5, 6, 9, 20])
                  for i in range(generator.randint(1, 6))}
        hidden = hidden_groups(counts)
        shown = {g: n for g, n in counts.items() if g not in hidden}
        assert all(n == 0 or n >= MIN_GROUP for n in shown.values())
        remainder = sum(counts.values()) - sum(shown.values())
        nothing_shown = not any(shown.values())
        assert nothing_shown or remainder == 0 or remainder >= MIN_GROUP, counts


def test_breakdown_hides_small_groups_in_every_cell() -> None:
    scores = {f"r{i}": {"enough_staff": s} for i, s in enumerate(ENOUGH_STAFF)}
    for person, value in CLEAN_WATER.items():
        scores[f"r{person}"]["clean_water"] = value
    gender = {f"r{i}": g for i, g in enumerate(GENDER) if g}
    result = breakdown("gender", ["female", "male", "other", "prefer_not"], gender, scores,
                       ["enough_staff", "clean_water"])
    groups = {g.option: g for g in result.groups}
    # 7 women, 4 men, 1 without an answer: men and "no answer" are hidden together (4 + 1).
    assert groups["female"].respondents == 7
    assert groups["male"].respondents is None and groups[NO_ANSWER].respondents is None
    assert groups["other"].respondents == 0
    # Enough staff: 7 women answered, but the hidden groups gave only 4 answers (a man skipped
    # it): showing the women's ratings would give those 4 by subtraction from the total.
    assert all(g.indicators["enough_staff"] is None or g.indicators["enough_staff"].count == 0
               for g in result.groups)
    assert all(g.indicators["clean_water"] is None or g.indicators["clean_water"].count == 0
               for g in result.groups)
    age = breakdown("age_band", ["age_18_30", "age_31_45"],
                    {f"r{i}": a for i, a in enumerate(AGE)}, scores, ["enough_staff"])
    young, middle = (g.indicators["enough_staff"] for g in age.groups[:2])
    assert young is not None and young.distribution == (1, 1, 1, 2, 1)
    assert middle is not None and middle.distribution == (0, 0, 1, 2, 2)


# ------------------------------------------------------------------ from the database

def test_round_results_by_hand(db: Database) -> None:
    round_id = _fill(db)
    with db.session() as session:
        results = round_results(session, SURVEYS, round_id)
    assert results.responses == 12 and results.complete == 9 and results.comments == 2
    by_id = {s.indicator: s for s in results.indicators}
    assert [s.indicator for s in results.indicators][:3] == ["enough_staff",
                                                            "equipment_medicines",
                                                            "clean_water"]
    assert by_id["enough_staff"].distribution == (1, 1, 2, 4, 3)
    assert by_id["enough_staff"].skipped == 1 and by_id["enough_staff"].median == 4.0
    assert by_id["clean_water"].distribution == (0, 1, 1, 1, 1)
    assert by_id["clean_water"].median == 3.5
    assert by_id["duty_24h"].count == 0 and by_id["duty_24h"].skipped == 0
    breakdowns = {b.question: {g.option: g for g in b.groups} for b in results.breakdowns}
    age = breakdowns["age_band"]
    young, middle = age["age_18_30"].indicators["enough_staff"], \
        age["age_31_45"].indicators["enough_staff"]
    assert young is not None and young.count == 6 and young.median == 3.5
    assert young.mean == pytest.approx(19 / 6)
    assert middle is not None and middle.count == 5 and middle.median == 4.0
    assert middle.mean == pytest.approx(21 / 5)
    # Disability: 1 "yes" and 1 "prefer not" would be the total minus the 10 "no": all hidden.
    assert all(g.respondents in (None, 0) for g in breakdowns["disability"].values())
    assert breakdowns["gender"]["female"].respondents == 7
    assert breakdowns["gender"]["male"].respondents is None
    assert breakdowns["gender"]["female"].indicators["enough_staff"] is None


def test_csv_export_by_hand(db: Database, tmp_path: Path) -> None:
    round_id = _fill(db)
    responses, comments = tmp_path / "responses.csv", tmp_path / "comments.csv"
    with db.session() as session:
        assert write_responses_csv(session, SURVEYS, round_id, responses) == 12
        assert write_comments_csv(session, SURVEYS, round_id, comments) == 2
    raw = responses.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    assert b"\r\n" in raw and raw.count(b"\r\n") == 13
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:7] == ["meta/instanceID", "facility_id", "facility_name", "survey",
                          "round_id", "round_label", "status"]
    indicators = [i.id for i in SURVEYS.by_type["health_centre"].indicators]
    assert header[7:17] == [f"ratings/{i}" for i in indicators]
    assert header[17:] == [f"profile/{q.id}" for q in SURVEYS.profile]
    body = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [r["meta/instanceID"] for r in body] == sorted(r["meta/instanceID"] for r in body)
    assert all(r["facility_id"] == "hc_120809" and r["round_label"] == "2026" for r in body)
    assert sorted(r["ratings/enough_staff"] for r in body) == sorted(
        str(s) if s else "" for s in ENOUGH_STAFF)
    assert sorted(r["ratings/clean_water"] for r in body) == sorted(
        [*([""] * 8), "2", "3", "4", "5"])
    assert sorted(r["profile/gender"] for r in body) == sorted(g or "" for g in GENDER)
    assert {r["status"] for r in body} == {"complete", "stopped"}
    assert all(r["ratings/duty_24h"] == "" and r["profile/id_poor"] == "" for r in body)
    assert all(r["meta/instanceID"].startswith("uuid:") for r in body)
    comment_rows = list(csv.reader(io.StringIO(comments.read_bytes().decode("utf-8-sig"))))
    assert comment_rows[0] == ["comment_id", "facility_id", "facility_name", "round_id",
                               "round_label", "comment"]
    texts = sorted(row[5] for row in comment_rows[1:])
    assert texts == sorted(["Clean, but the nurse was late", "'=HYPERLINK(\"http://x\")"])
    assert not any("female" in ",".join(row) for row in comment_rows)


def _read_xlsx(path: Path) -> dict[str, list[dict[str, str]]]:
    """Sheets of an .xlsx as rows of {column letter: text} (inline strings only)."""
    space = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        sheets = {}
        for sheet in workbook.iterfind("m:sheets/m:sheet", space):
            number = sheet.get(relation, "")[3:]
            xml = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{number}.xml"))
            sheets[sheet.get("name", "")] = [
                {re.sub(r"\d", "", cell.get("r", "")): "".join(cell.itertext())
                 for cell in row.iterfind("m:c", space)}
                for row in xml.iterfind("m:sheetData/m:row", space)]
    return sheets


def test_instance_ids_are_stable_uuids() -> None:
    assert instance_id("0123456789abcdef0123456789abcdef") == \
        "uuid:01234567-89ab-cdef-0123-456789abcdef"


def test_results_command_shows_an_open_round_as_a_count_only(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Like the dashboard: figures of an open round, read before and after someone answers,
    would give that person's answers away."""
    round_id = _fill(db)
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", SECRET.decode())
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(tmp_path / "var"))
    args = ["results", "--facility", "hc_120809", "--round", str(round_id), "--db", db.url]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "still open: 12 response(s) so far" in printed
    assert "Enough staff" not in printed and "By gender" not in printed
    assert "comments" not in printed
    out_csv, out_comments = tmp_path / "r.csv", tmp_path / "c.csv"
    assert main([*args, "--csv", str(out_csv)]) == 1
    assert main([*args, "--comments", str(out_comments)]) == 1
    assert "still open" in capsys.readouterr().err
    assert not out_csv.exists() and not out_comments.exists()


def test_results_command_prints_and_exports(db: Database, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    round_id = _fill(db)
    with db.session() as session:
        close_round(session, CONTENT, round_id, by=operator("test"))
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", SECRET.decode())
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(tmp_path / "var"))
    out_csv, out_comments, form = tmp_path / "r.csv", tmp_path / "c.csv", tmp_path / "f.xlsx"
    code = main(["results", "--facility", "hc_120809", "--round", str(round_id), "--csv",
                 str(out_csv), "--comments", str(out_comments), "--xlsform", str(form),
                 "--db", db.url])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Responses: 12 (9 complete, 3 incomplete); comments: 2" in printed
    line = next(line for line in printed.splitlines() if line.startswith("Enough staff"))
    assert line.split()[2:] == ["11", "3.64", "4.0", "1", "1", "2", "4", "3", "1"]
    water = next(line for line in printed.splitlines() if line.startswith("Clean water"))
    assert water.split()[2:] == ["4", "3.50", "3.5", "0", "1", "1", "1", "1", "0"]
    assert "By gender" in printed and "female (7)" in printed and "male (hidden)" in printed
    assert "wrote 12 response(s)" in printed and "wrote 2 comment(s)" in printed
    assert out_csv.exists() and out_comments.exists()
    # The form's question paths are the CSV's columns (KoboToolbox takes the rows as they are).
    sheets = _read_xlsx(form)
    paths, group = [], ""
    for row in sheets["survey"][1:]:
        kind, name = row.get("A", ""), row.get("B", "")
        if kind == "begin_group":
            group = name + "/"
        elif kind == "end_group":
            group = ""
        else:
            paths.append(group + name)
    header = next(csv.reader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    assert ["meta/instanceID", *paths] == header
    scale = [(r["B"], r["C"]) for r in sheets["choices"][1:] if r["A"] == "scale"]
    assert scale == [("1", "😡 Very bad"), ("2", "🙁 Bad"), ("3", "😐 Acceptable"),
                     ("4", "🙂 Good"), ("5", "😄 Very good")]
    assert any(r.get("D") == "មិនចង់ប្រាប់" for r in sheets["choices"])
    wrong = main(["results", "--facility", "ps_120809", "--round", str(round_id), "--db",
                  db.url])
    assert wrong == 1
