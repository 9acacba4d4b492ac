"""Scoring rounds on SQLite and PostgreSQL: one open round per facility, a closed round accepts
nothing (even racing answers), and closing queues the summaries for those who asked only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from bot.db import Database
from bot.features import FEATURES
from content.loader import load_content
from content.surveys.section import surveys_of
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.models import RoundSubscription, SurveyRating
from dialogues.scorecard.results import round_results
from dialogues.scorecard.rounds import (
    RoundError,
    close_round,
    list_rounds,
    open_round,
    summary_text,
)

CONTENT = load_content(sections=FEATURES.sections)
SURVEYS = surveys_of(CONTENT)
SECRET = b"test-secret-key-0123456789"


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.migrate()
    return database


def _open(db: Database, facility: str = "hc_120809") -> int:
    with db.session() as session:
        return int(open_round(session, CONTENT, facility, by=operator("test")).id)


def _user(db: Database, name: str, language: str) -> int:
    with db.session() as session:
        user = User(channel="telegram", channel_user_id=name, language=language,
                    language_chosen=True, role="citizen", unreachable=False)
        session.add(user)
        session.flush()
        return int(user.id)


def _respond(db: Database, round_id: int, person: str, scores: dict[str, int]) -> None:
    with db.session() as session:
        response = store.start_response(session, round_id,
                                        store.respondent_key(SECRET, "telegram", person))
        for indicator, score in scores.items():
            store.save_rating(session, response, indicator, score)


def test_one_open_round_per_facility(db: Database) -> None:
    first = _open(db)
    with pytest.raises(RoundError, match="already open"), db.session() as session:
        open_round(session, CONTENT, "hc_120809", by=operator("test"))
    with pytest.raises(RoundError, match="unknown facility"), db.session() as session:
        open_round(session, CONTENT, "hc_nowhere", by=operator("test"))
    other = _open(db, "ps_120809")
    with db.session() as session:
        close_round(session, CONTENT, first, by=operator("test"))
    second = _open(db)  # a new round once the first is closed
    with db.session() as session:
        assert [r.id for r in list_rounds(session, open_only=True)] == [other, second]
        assert [r.id for r in list_rounds(session, facility_id="hc_120809")] == [first, second]
        with pytest.raises(RoundError, match="already closed"):
            close_round(session, CONTENT, first, by=operator("test"))


def test_a_closed_round_accepts_nothing(db: Database) -> None:
    round_id = _open(db)
    _respond(db, round_id, "early", {"enough_staff": 4})
    with db.session() as session:
        close_round(session, CONTENT, round_id, by=operator("test"))
    respondent = store.respondent_key(SECRET, "telegram", "early")
    with db.session() as session:
        response = store.find_response(session, round_id, respondent)
        assert response is not None
        for attempt in (
                lambda: store.save_rating(session, response, "clean_water", 5),
                lambda: store.start_response(session, round_id, "someone-else"),
                lambda: store.save_profile_answer(session, response, "gender", "male"),
                lambda: store.save_comment(session, round_id, "author", "late"),
                lambda: store.subscribe(session, round_id, 1),
                lambda: store.set_progress(session, response, position=3)):
            with pytest.raises(store.RoundClosed):
                attempt()
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(SurveyRating)).scalar() == 1


def test_answers_racing_a_close_are_either_counted_or_refused(db: Database) -> None:
    """Writers keep answering while the round closes: whatever the close counted is exactly
    what is stored afterwards (nothing slipped in after it)."""
    round_id = _open(db)
    stop = threading.Event()
    refused: list[int] = []

    def writer(number: int) -> None:
        attempt = 0
        while not stop.is_set() and attempt < 200:
            attempt += 1
            try:
                _respond(db, round_id, f"racer{number}-{attempt}", {"enough_staff": 3})
            except store.RoundClosed:
                refused.append(number)
                return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    while True:
        with db.session() as session:
            if session.execute(select(func.count()).select_from(SurveyRating)).scalar() >= 10:
                break
    with db.session() as session:
        close_round(session, CONTENT, round_id, by=operator("test"))
        counted = round_results(session, SURVEYS, round_id).indicators[0].count
    stop.set()
    for thread in threads:
        thread.join()
    with db.session() as session:
        stored = session.execute(select(func.count()).select_from(SurveyRating)).scalar()
    assert counted == stored >= 10
    assert refused  # writers still running when it closed were told so


def test_closing_queues_summaries_for_those_who_asked_only(db: Database) -> None:
    round_id = _open(db)
    khmer, english, silent = (_user(db, "k", "km"), _user(db, "e", "en"),
                              _user(db, "s", "en"))
    scores = [5, 4, 4, 3, 5, 2]
    for number, score in enumerate(scores):
        _respond(db, round_id, f"p{number}", {"enough_staff": score, "clean_water": 4})
    _respond(db, round_id, "p-few", {"fair_pay": 1})
    with db.session() as session:
        store.subscribe(session, round_id, khmer)
        store.subscribe(session, round_id, english)
        store.subscribe(session, round_id, english)  # twice: still one summary
    with db.session() as session:
        row = close_round(session, CONTENT, round_id, by=operator("test"))
        assert row.summaries == 2
    with db.session() as session:
        outbox = session.execute(select(OutboxMessage).order_by(OutboxMessage.user_id)
                                 ).scalars().all()
        # kept for the plan's news (scheduler/jaap.py forgets them when it is done)
        kept = session.execute(select(RoundSubscription.user_id)).scalars().all()
        assert sorted(kept) == sorted([khmer, english])
    assert [(m.user_id, m.address, m.channel, m.automated) for m in outbox] == [
        (khmer, "k", "telegram", True), (english, "e", "telegram", True)]
    assert all(m.batch == f"scorecard-summary:{round_id}" for m in outbox)
    assert silent not in {m.user_id for m in outbox}
    english_text = outbox[1].reply["text"]
    # 7 people; enough staff: 2 3 4 4 5 5 -> median 4 (6 ratings); clean water: 6 x 4.
    assert "Scorecard results for Kouk Khleang Health Centre (round" in english_text
    assert "7 people rated it" in english_text
    assert "🙂 Enough staff: Good (6 ratings)" in english_text
    assert "🙂 Clean water: Good (6 ratings)" in english_text
    assert "Fair pay for staff: fewer than 5 ratings, not shown" in english_text
    assert "not an official assessment" in english_text
    khmer_text = outbox[0].reply["text"]
    assert "មនុស្ស ៧ នាក់បានវាយតម្លៃ" in khmer_text
    assert "🙂 ចំនួនបុគ្គលិកគ្រប់គ្រាន់៖ ពេញចិត្ត (៦ ការវាយតម្លៃ)" in khmer_text


def test_summaries_of_small_rounds_show_nothing(db: Database) -> None:
    round_id = _open(db)
    for number in range(4):
        _respond(db, round_id, f"p{number}", {"enough_staff": 1 + number})
    with db.session() as session:
        close_round(session, CONTENT, round_id, by=operator("test"))
        results = round_results(session, SURVEYS, round_id)
    text = summary_text(CONTENT, results, "en")
    assert "Fewer than 5 people rated it" in text and "Enough staff" not in text


def test_a_median_between_two_levels_shows_both(db: Database) -> None:
    round_id = _open(db)
    for number, score in enumerate([3, 3, 3, 4, 4, 4]):
        _respond(db, round_id, f"p{number}", {"enough_staff": score})
    with db.session() as session:
        close_round(session, CONTENT, round_id, by=operator("test"))
        text = summary_text(CONTENT, round_results(session, SURVEYS, round_id), "en")
    assert "😐🙂 Enough staff: Acceptable – Good (6 ratings)" in text


def test_rounds_commands(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", SECRET.decode())
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(tmp_path / "var"))
    assert main(["rounds", "open", "--facility", "co_010305", "--label", "2026 first half",
                 "--by", "caf:Sophea", "--db", db.url]) == 0
    assert "round 1 is open for co_010305" in capsys.readouterr().out
    assert main(["rounds", "open", "--facility", "co_010305", "--db", db.url]) == 1
    assert "already open" in capsys.readouterr().err
    assert main(["rounds", "list", "--open", "--db", db.url]) == 0
    listed = capsys.readouterr().out
    assert "Srah Chik Commune Administration \"2026 first half\"" in listed
    assert "by caf:Sophea; open" in listed
    assert main(["facilities", "--commune", "Srah Chik", "--db", db.url]) == 0
    assert "co_010305      Srah Chik Commune Administration: round 1 open" in \
        capsys.readouterr().out
    assert main(["rounds", "close", "--facility", "co_010305", "--db", db.url]) == 0
    assert "round 1 is closed; 0 summary message(s) queued" in capsys.readouterr().out
    assert main(["rounds", "close", "--round", "1", "--db", db.url]) == 1
    assert "already closed" in capsys.readouterr().err
    assert main(["rounds", "open", "--facility", "nowhere", "--db", db.url]) == 1
