"""500 simulated respondents answering at the same time through the real dialogue engine, on
SQLite and PostgreSQL: no answer lost, none duplicated, every response complete."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.bootstrap import App
from common.formatting import integer
from common.messages import Incoming, Kind, Reply
from content.surveys.section import surveys_of
from dialogues.scorecard.models import SurveyComment, SurveyRating, SurveyResponse
from dialogues.scorecard.results import round_results
from tests.scorecard_helpers import HC, HC_INDICATORS, open_for

RESPONDENTS = 500
# PostgreSQL: within the engine's connection pool (5 + 10 overflow). SQLite takes one writer at
# a time: more threads only wait longer for the lock.
THREADS = {"postgresql": 12, "sqlite": 4}
KHMER_DIGITS = "០១២៣៤៥៦៧៨៩"


def planned_score(person: int, question: int) -> int | None:
    """What respondent `person` answers to question `question` (None: skips it)."""
    value = (person * 7 + question * 3) % 6
    return value or None


def _handle(app: App, incoming: Incoming) -> list[Reply]:
    """One message, delivered again if the database was too busy to take it (as the inbox
    does): a turn that failed left nothing behind, so the retry must not duplicate anything."""
    for _ in range(5):
        try:
            return app.handle_understood(incoming, None)
        except OperationalError as error:  # SQLite's "database is locked" under heavy load
            if "locked" not in str(error):
                raise
    raise AssertionError("the database stayed locked")


def _say(app: App, user: str, text: str) -> list[Reply]:
    return _handle(app, Incoming("console", user, Kind.TEXT, text=text))


def _press(app: App, user: str, payload: str) -> list[Reply]:
    return _handle(app, Incoming("console", user, Kind.BUTTON, payload=payload))


def _answer_buttons(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.buttons if b.payload.startswith("svy:a:")]


def respond(app: App, person: int) -> None:
    """One respondent's whole conversation: buttons or typed digits (Arabic or Khmer), a
    double tap now and then, a comment from every third."""
    user = f"respondent-{person}"
    assert "svy:yes:consent" in [b.payload for r in _press(app, user, f"svy:f:{HC}")
                                 for b in r.buttons]
    replies = _press(app, user, "svy:yes:consent")
    for question in range(1, len(HC_INDICATORS) + 1):
        # Khmer for a first contact by button, English once they typed "skip"
        assert f"សំណួរទី {integer(question, 'km')}/១១" in replies[-1].text or \
            f"Question {question}/11" in replies[-1].text, replies[-1].text
        score = planned_score(person, question)
        if score is None:
            replies = _say(app, user, "skip")
        elif person % 2 == 0:
            payload = _answer_buttons(replies)[score - 1]
            replies = _press(app, user, payload)
            if person % 10 == 0:
                stale = _press(app, user, payload)  # a double tap answers nothing more
                assert _answer_buttons(stale) == _answer_buttons(replies)
        else:
            replies = _say(app, user, KHMER_DIGITS[score] if person % 4 == 1 else str(score))
    if person % 3 == 0:
        _say(app, user, f"comment number {person}")
    else:
        _say(app, user, "skip")
    _press(app, user, "svy:skip:profile")
    done = _press(app, user, "svy:no:notify")
    assert "អរគុណសម្រាប់ការវាយតម្លៃ" in done[-1].text or "Thank you for rating" in done[-1].text


def test_500_respondents_at_once_lose_and_duplicate_nothing(app: App) -> None:
    round_id = open_for(app)
    with ThreadPoolExecutor(max_workers=THREADS[app.db.engine.dialect.name]) as pool:
        list(pool.map(lambda person: respond(app, person), range(RESPONDENTS)))
    expected: dict[str, Counter[int | None]] = {
        indicator: Counter(planned_score(p, q) for p in range(RESPONDENTS))
        for q, indicator in enumerate(HC_INDICATORS, start=1)}
    with app.db.session() as session:
        statuses = Counter(session.execute(select(SurveyResponse.status)).scalars())
        assert statuses == Counter({"complete": RESPONDENTS})
        assert session.execute(select(func.count()).select_from(SurveyRating)).scalar() == \
            RESPONDENTS * len(HC_INDICATORS)
        for indicator in HC_INDICATORS:
            got = Counter(session.execute(select(SurveyRating.score).where(
                SurveyRating.indicator == indicator)).scalars())
            assert got == expected[indicator], indicator
        comments = session.execute(select(SurveyComment.text)).scalars().all()
        assert sorted(comments) == sorted(f"comment number {p}" for p in range(RESPONDENTS)
                                          if p % 3 == 0)
        results = round_results(session, surveys_of(app.content), round_id)
    assert results.responses == RESPONDENTS == results.complete
    first = results.indicators[0]
    assert first.distribution == tuple(expected[HC_INDICATORS[0]][v] for v in range(1, 6))
    assert first.skipped == expected[HC_INDICATORS[0]][None]
