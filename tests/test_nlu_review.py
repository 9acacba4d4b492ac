"""The NLU's learning loop without the model: what the review page lists (and never lists),
who may use it, how a review is checked and stored, the export's split and stability, the
contract names read from the training data, personal data redacted, and the retention of
dismissed questions; on SQLite and PostgreSQL. The browser, export, retrain and understand
path is tests/test_nlu_review_e2e.py."""

from __future__ import annotations

import contextlib
import io
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import inspect, select
from starlette.testclient import TestClient

from bot.bootstrap import App, bootstrap
from bot.cli.main import main
from bot.dashboard.review_models import NluReviewed
from bot.retention import purge
from bot.server import build_runtime, build_web_app
from bot.settings import Retention
from common.db.base import utcnow
from common.messages import Entity, Understanding
from common.redact import redact_personal
from dialogues.core.models import MessageLog, User
from nlu import contract, reviewed
from tests.conftest import Chat, make_settings
from tests.dashboard_helpers import HC_COMMUNE, csrf_of, login

ROOT = Path(__file__).resolve().parent.parent
WEDDING = "My wife and I are planning our WEDDING, call me 012 345 678"
WEDDING_TEXT = "my wife and i are planning our wedding, call me <phone>"
WEDDING_FIELD = ('name="question" value="my wife and i are planning our wedding, '
                 'call me &lt;phone&gt;"')
WEDDING_MARKED = ('my wife and i are planning our [wedding]{"entity": "service", "value": '
                  '"marriage_certificate"}, call me <phone>')


# ------------------------------------------------------------------ pure parts

def _doc_table(section: str) -> list[list[str]]:
    text = (ROOT / "docs" / "nlu-contract.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_the_contract_read_from_the_training_data_is_the_documented_one() -> None:
    assert set(contract.intents()) == {row[0] for row in _doc_table("Intents")}
    documented = {row[0]: row[1] for row in _doc_table("Entities")}
    assert set(contract.entities()) == set(documented)
    for entity, values in contract.entity_values().items():
        if entity not in contract.OPEN_ENTITIES:
            assert values == {v.strip() for v in documented[entity].split(",")}, entity
    assert reviewed.REVIEWED.name not in [p.name for p in contract._sources(
        contract.TRAINING_DATA)]


@pytest.mark.parametrize(("raw", "kept"), [
    ("call me 012 345 678", "call me <phone>"),
    ("my number is 0961234567 please", "my number is <phone> please"),
    ("+855 12 345 678 is mine", "<phone> is mine"),
    ("ខ្ញុំ ០១២៣៤៥៦៧៨", "ខ្ញុំ <phone>"),
    ("write to dara.sok@gmail.com or @dara_sok", "write to <email> or <username>"),
    ("see https://example.org/x?a=1", "see <link>"),
    ("my ID 110223344556 is lost", "my ID <id> is lost"),
    ("birth certificate fee 2024 is 50000 riel or 1,000,000", None),
])
def test_personal_data_is_redacted_and_years_and_amounts_are_kept(raw: str,
                                                                  kept: str | None) -> None:
    assert redact_personal(raw) == (kept or raw)


def test_a_review_is_checked_against_the_question_and_the_contract() -> None:
    assert reviewed.question_text(WEDDING) == WEDDING_TEXT
    marked = reviewed.mark(WEDDING_TEXT, "Wedding", "service", "marriage_certificate")
    assert marked == WEDDING_MARKED
    assert reviewed.check(marked, WEDDING_TEXT, "ask_service").annotated == WEDDING_MARKED
    place = reviewed.check("budget of [kouk khleang]{\"entity\": \"place\", \"value\": "
                           "\"Kouk Khleang\"} in [2024](year)",
                           "budget of kouk khleang in 2024", "ask_budget")
    assert reviewed.parse(place.annotated)[1][0].value == "Kouk Khleang"
    budget = "budget of kouk khleang"
    wrong = [
        (WEDDING_MARKED.replace("wife", "husband"), WEDDING_TEXT, "word for word"),
        (WEDDING_MARKED.replace("marriage_certificate", "passport"), WEDDING_TEXT,
         "not a value of service"),
        (WEDDING_MARKED.replace('"service"', '"document"'), WEDDING_TEXT, "unknown entity"),
        (WEDDING_TEXT.replace("wedding", "[wedding]{entity: service}"), WEDDING_TEXT,
         "is not JSON"),
        ("[" + WEDDING_TEXT, WEDDING_TEXT, "unbalanced"),
        (WEDDING_MARKED.replace("[wedding]", "[wed]").replace("}, call", "}ding, call"),
         WEDDING_TEXT, "does not start and end where words do"),
        ("ថវិកា[ឃុ]{\"entity\": \"budget_scope\", \"value\": \"commune\"}ំ", "ថវិកាឃុំ",
         "the words are: ថវិកា | ឃុំ"),
        ('budget of [kouk khleang]{"entity": "place", "value": "Atlantis"}', budget,
         "gazetteer"),
    ]
    for annotated, question, why in wrong:
        with pytest.raises(reviewed.AnnotationError, match=why):
            reviewed.check(annotated, question, "ask_service")
    with pytest.raises(reviewed.AnnotationError, match="unknown intent"):
        reviewed.check(WEDDING_TEXT, WEDDING_TEXT, "ask_passport")
    with pytest.raises(reviewed.AnnotationError, match="not an unmarked part"):
        reviewed.mark(WEDDING_MARKED, "wedding", "service", "marriage_certificate")


def _examples(count: int, seed: int = 0) -> list[reviewed.Example]:
    pick = random.Random(seed)
    return [reviewed.Example(pick.choice(["ask_service", "greet", "out_of_scope"]),
                             f"question number {n} about {pick.choice(['fees', 'ការ'])}")
            for n in range(count)]


def test_the_held_out_share_depends_on_the_text_only() -> None:
    examples = _examples(1000)
    training, heldout = reviewed.split(examples)
    assert 150 <= len(heldout) <= 250 and len(training) + len(heldout) == 1000  # about 1 in 5
    again_training, again_heldout = reviewed.split(list(reversed(examples[:300])))
    assert set(again_heldout) == set(heldout) & set(examples[:300])
    assert set(again_training) == set(training) & set(examples[:300])
    assert all(reviewed.is_heldout(e.annotated) for e in heldout)
    assert reviewed.is_heldout("Question  NUMBER 7 about fees") == reviewed.is_heldout(
        "question number 7 about fees")


def test_the_export_is_byte_for_byte_stable_and_rasa_yaml(tmp_path: Path) -> None:
    examples = [*_examples(40), reviewed.Example("ask_service", WEDDING_MARKED)]
    first = (tmp_path / "a.yml", tmp_path / "a-heldout.yml")
    second = (tmp_path / "b.yml", tmp_path / "b-heldout.yml")
    assert reviewed.export(examples, *first) == reviewed.export(
        random.Random(3).sample(examples, len(examples)), *second)
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes()
    data = yaml.safe_load(first[0].read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    intents = [block["intent"] for block in data["nlu"]]
    assert intents == sorted(intents)
    lines = [line[2:] for block in data["nlu"] for line in block["examples"].splitlines()]
    assert WEDDING_MARKED in lines or WEDDING_MARKED in first[1].read_text(encoding="utf-8")
    assert first[0].read_text(encoding="utf-8").startswith("# Generated by `isafbot nlu")
    reviewed.export([], *first)
    assert yaml.safe_load(first[0].read_text(encoding="utf-8"))["nlu"] == []


# ------------------------------------------------------------------ the page

def _log(app: App, rows: list[tuple[Any, ...]]) -> None:
    """(user, direction, text, intent, confidence, handled_as, step) rows, in order."""
    with app.db.session() as session:
        users: dict[str, User] = {}
        for who, *_ in rows:
            if who not in users:
                users[who] = User(channel="telegram", channel_user_id=who,
                                  commune_code=HC_COMMUNE)
                session.add(users[who])
        session.flush()
        for who, direction, text, intent, confidence, handled, step in rows:
            session.add(MessageLog(user_id=users[who].id, channel="telegram",
                                   direction=direction, kind="text", text=text, intent=intent,
                                   confidence=confidence, handled_as=handled, step=step,
                                   language="en"))
            session.flush()


PRIVATE_START = "i want to report that the clerk asked me for 5000 riel extra"
SEEDED = [
    ("a", "in", WEDDING, "out_of_scope", 0.9, "out_of_scope", None),
    ("a", "out", "Sorry, I can only help with commune services.", None, None, "out_of_scope",
     None),
    ("b", "in", "my wife and i are   planning our wedding, call me 097 777 1234", None, 0.3,
     "fallback", None),
    ("c", "in", "MY WIFE AND I ARE PLANNING OUR WEDDING, call me +855 12 999 888", "greet", 0.5,
     "greet", None),
    ("a", "in", "how much is a birth certificate", "ask_service", 0.97, "ask_service", None),
    # a survey answer: the log keeps the step only
    ("b", "in", None, None, None, "flow:survey", "survey:q3"),
    # the message that starts a private flow: its text is logged, its replies as steps only
    ("c", "in", PRIVATE_START, "rate_service", 0.55, "rate_service", None),
    ("c", "out", None, None, None, "rate_service", "survey:consent"),
    # an answer inside a (non-private) form: not a question
    ("a", "in", "kouk khleang hall at the pagoda", None, 0.2, "flow:form", None),
    ("b", "in", "x" * 300, None, 0.1, "fallback", None),  # not a question
    ("b", "in", "កូនខ្ញុំទើបកើត លេខ ០១២ ៣៤៥ ៦៧៨", "out_of_scope", 0.7, "out_of_scope", None),
]
KHMER_FIELD = 'name="question" value="កូនខ្ញុំទើបកើត លេខ &lt;phone&gt;"'



def _client(app: App) -> TestClient:
    return TestClient(build_web_app(build_runtime(app, workers=1)))


def test_admins_review_grouped_questions_and_private_texts_never_appear(board: App) -> None:
    _log(board, SEEDED)
    with _client(board) as client:
        login(client, "admin")
        page = client.get("/dashboard/review?lang=en")
        assert page.status_code == 200 and "Review questions" in page.text
        assert page.text.count(WEDDING_FIELD) == 1
        assert re.search(r"Times 3\b", page.text)  # three askings, one group
        assert KHMER_FIELD in page.text
        for never in ("012 345 678", "097", "999 888", "clerk", "5000", "pagoda", "xxxxx",
                      "how much is a birth certificate", "០១២"):
            assert never not in page.text, never
        for intent in contract.intents():
            assert f'<option value="{intent}"' in page.text
        csrf = csrf_of(page.text)
        form = {"csrf": csrf, "question": WEDDING_TEXT, "intent": "ask_service",
                "annotated": WEDDING_TEXT, "words": "wedding", "entity": "service",
                "value": "marriage_certificate"}
        marked = client.post("/dashboard/review", data={**form, "action": "mark"})
        assert marked.status_code == 200
        assert "[wedding]{&#34;entity&#34;: &#34;service&#34;" in marked.text
        bad = client.post("/dashboard/review", data={**form, "action": "save",
                                                     "value": "passport"})
        assert bad.status_code == 400 and "not a value of service" in bad.text
        assert client.post("/dashboard/review", data={**form, "action": "save"},
                           follow_redirects=False).status_code == 303
        after = client.get("/dashboard/review?lang=en").text
        assert WEDDING_FIELD not in after
        assert "marriage_certificate" in after and KHMER_FIELD in after
        with board.db.session() as session:
            row = session.execute(select(NluReviewed)).scalar_one()
        assert (row.intent, row.annotated, row.status) == ("ask_service", WEDDING_MARKED,
                                                           "example")
        assert row.reviewed_by == "dashboard:admin"
        undo = client.post("/dashboard/review/undo", data={"csrf": csrf, "key": row.key},
                           follow_redirects=False)
        assert undo.status_code == 303
        assert WEDDING_FIELD in client.get("/dashboard/review").text
        dismissed = client.post("/dashboard/review", follow_redirects=False, data={
            **form, "action": "dismiss", "value": "passport"})  # the marking fields ignored
        assert dismissed.status_code == 303
        with board.db.session() as session:
            row = session.execute(select(NluReviewed)).scalar_one()
        assert (row.status, row.intent, row.annotated) == ("dismissed", None, None)
        assert row.key == reviewed.key(WEDDING_TEXT)


def test_the_review_table_keeps_no_identity(board: App) -> None:
    columns = {c["name"] for c in inspect(board.db.engine).get_columns("nlu_reviewed")}
    assert columns == {"id", "key", "status", "intent", "annotated", "reviewed_by",
                       "reviewed_at"}


def test_cafs_and_strangers_cannot_use_the_review_page(board: App) -> None:
    _log(board, SEEDED)
    with _client(board) as client:
        assert client.get("/dashboard/review", follow_redirects=False).status_code == 303
        assert client.post("/dashboard/review", data={"question": "x"}).status_code == 403
        login(client, "caf")
        page = client.get("/dashboard/review?lang=en")
        assert page.status_code == 403 and "planning our wedding" not in page.text
        assert 'href="/dashboard/review"' not in client.get("/dashboard/usage").text
        csrf = csrf_of(client.get("/dashboard/usage").text)
        for path, form in (("/dashboard/review", {"question": WEDDING_TEXT, "action": "save",
                                                  "intent": "greet"}),
                           ("/dashboard/review/undo", {"key": reviewed.key(WEDDING_TEXT)})):
            assert client.post(path, data={"csrf": csrf, **form}).status_code == 403
    with _client(board) as client:
        login(client, "admin")
        page = client.get("/dashboard/review")
        assert 'href="/dashboard/review"' in page.text
        forged = client.post("/dashboard/review", data={"csrf": "forged", "question": "x",
                                                        "action": "dismiss"})
        assert forged.status_code == 403
    with board.db.session() as session:
        assert session.execute(select(NluReviewed)).first() is None


def test_export_command_writes_both_files(board: App, tmp_path: Path) -> None:
    with board.db.session() as session:
        from bot.dashboard import review_data

        for example in _examples(30, seed=5):
            review_data.save(session, reviewed.parse(example.annotated)[0], example,
                             "dashboard:admin")
        review_data.save(session, "meaningless", None, "dashboard:admin")
        review_data.save(session, "get a passport", reviewed.Example(
            "ask_service", '[passport]{"entity": "service", "value": "passport"}'),
            "dashboard:admin")  # as if the contract had lost a value since
    out, heldout = tmp_path / "data" / "reviewed.yml", tmp_path / "heldout" / "reviewed.yml"
    args = ["nlu", "export-reviewed", "--db", board.settings.database_url, "--out", str(out),
            "--heldout", str(heldout)]
    printed, warned = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(warned):
        assert main(args) == 0
    assert "left out" in warned.getvalue() and "passport" in warned.getvalue()
    first = out.read_bytes(), heldout.read_bytes()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(args) == 0
    assert (out.read_bytes(), heldout.read_bytes()) == first
    texts = out.read_text(encoding="utf-8") + heldout.read_text(encoding="utf-8")
    assert texts.count("    - ") == 30 and "meaningless" not in texts and "passport" not in texts
    assert re.search(r"(\d+) reviewed examples for training .* (\d+) held out", printed.getvalue())


def test_questions_to_review_go_with_the_message_log_and_dismissed_ones_after_it(
        board: App) -> None:
    from bot.dashboard import review_data

    _log(board, SEEDED)
    since = utcnow() - timedelta(days=Retention().message_log_days)
    with board.db.read_session() as session:
        assert len(review_data.pending(session, since=since)) == 2
    later = utcnow() + timedelta(days=Retention().message_log_days + 1)
    purge(board.db, Retention(), later)
    with board.db.read_session() as session:
        assert review_data.pending(session, since=since) == []
    with board.db.session() as session:
        review_data.save(session, "meaningless", None, "dashboard:admin")
        review_data.save(session, "hello", reviewed.Example("greet", "hello"), "dashboard:admin")
    assert purge(board.db, Retention(), later).dismissed_reviews_deleted == 1
    with board.db.session() as session:
        assert session.execute(select(NluReviewed.status)).scalars().all() == ["example"]


class ScriptedNlu:
    """Answers as the model might: a rating wish understood with low confidence (the bot
    still acts on it, the facility being named), anything else not understood."""

    RATE = "pls rate kouk khleang health centre"

    async def parse(self, text: str) -> Understanding:
        if text == self.RATE:
            return Understanding(text, "rate_service", 0.5, (
                Entity("facility_type", "health_centre"), Entity("place", "Kouk Khleang")))
        return Understanding(text, None, 0.0)


def test_the_message_that_starts_a_survey_and_its_answers_are_never_listed(
        tmp_path: Path, database_url: str) -> None:
    from bot.dashboard import review_data
    from tests.scorecard_helpers import open_for

    app = bootstrap(make_settings(tmp_path, database_url), nlu=ScriptedNlu())  # type: ignore[arg-type]
    try:
        open_for(app)
        rater = Chat(app, user="rater")
        rater.send(ScriptedNlu.RATE)
        assert "11 short questions" in rater.text  # the survey (a private flow) started
        rater.press("svy:yes:consent")
        rater.send("the nurse sokha shouted at my mother")
        Chat(app, user="asker").send("Is it raining in Kep")
        with app.db.read_session() as session:
            listed = review_data.pending(session, since=utcnow() - timedelta(days=1))
        assert [q.text for q in listed] == ["is it raining in kep"]
    finally:
        app.close()
