"""Helpers for the dashboard tests: an app without NLU (the dashboard never parses text),
accounts, and scoring rounds with responses in two communes."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.bootstrap import App, bootstrap
from bot.dashboard.auth import add_account
from common.messages import Understanding
from content.surveys.section import surveys_of
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import OutboxMessage
from dialogues.core.permissions import operator
from dialogues.scorecard import store
from dialogues.scorecard.models import SurveyProfileAnswer, SurveyRating, SurveyResponse
from dialogues.scorecard.rounds import close_round, open_round
from tests.conftest import make_settings

HC = "hc_120809"  # Kouk Khleang health centre, commune 120809
HC_COMMUNE = "120809"
OTHER = "co_010305"  # Srah Chik commune administration, commune 010305
OTHER_COMMUNE = "010305"
PASSWORD = "correct horse battery"
COMMENT = "Please open earlier in the morning"


class NoNlu:
    """The dashboard never asks the NLU; a test that did would fail loudly here."""

    async def parse(self, text: str) -> Understanding:
        raise AssertionError(f"the dashboard tried to parse {text!r}")


def dashboard_app(tmp_path: Path, database_url: str, **env: str) -> App:
    return bootstrap(make_settings(tmp_path, database_url, **env), nlu=NoNlu())  # type: ignore[arg-type]


def add_accounts(app: App) -> None:
    with app.db.session() as session:
        add_account(session, "admin", PASSWORD, "admin", [])
        add_account(session, "caf", PASSWORD, "caf", [HC_COMMUNE])
        add_account(session, "caf-other", PASSWORD, "caf", [OTHER_COMMUNE])


@dataclass
class Seeded:
    hc_rounds: list[int]  # oldest first; the last one is still open unless closed
    other_round: int


def seed_round(app: App, facility: str, scores: list[dict[str, int | None]],
           profiles: list[dict[str, str]], comments: list[str], *, close: bool,
           label: str | None = None) -> int:
    with app.db.session() as session:
        round_id = int(open_round(session, app.content, facility, by=operator("test"),
                                  label=label).id)
    with app.db.session() as session:
        for number, ratings in enumerate(scores):
            response = store.start_response(session, round_id, f"respondent-{number}")
            for indicator, score in ratings.items():
                store.save_rating(session, response, indicator, score)
            for question, option in profiles[number].items():
                store.save_profile_answer(session, response, question, option)
            store.set_progress(session, response, position=99, status="complete")
        for number, text in enumerate(comments):
            store.save_comment(session, round_id, f"author-{number}", text)
    if close:
        with app.db.session() as session:
            close_round(session, app.content, round_id, by=operator("test"))
    return round_id


def seed(app: App) -> Seeded:
    """Two closed rounds of HC (the trend) and one closed round in the other commune.

    HC round 2: 7 responses; 6 women and 1 man (the man's group must be hidden, and so the
    rule hides enough others); `enough_staff` rated by all, `clean_water` by 3 only."""
    first = seed_round(app, HC, [{"enough_staff": 2} for _ in range(5)],
                   [{} for _ in range(5)], [], close=True, label="2025")
    scores: list[dict[str, int | None]] = [
        {"enough_staff": s, **({"clean_water": 4} if n < 3 else {})}
        for n, s in enumerate([1, 2, 3, 4, 5, 5, 4])]
    profiles = [{"gender": "female"} for _ in range(6)] + [{"gender": "male"}]
    second = seed_round(app, HC, scores, profiles, [COMMENT], close=True, label="2026")
    other = seed_round(app, OTHER, [{"working_hours": 3} for _ in range(5)], [{} for _ in range(5)],
                   ["secret other commune comment"], close=True)
    return Seeded([first, second], other)


def big_round(app: App, respondents: int = 600) -> int:
    """A closed round of HC where everyone rated every indicator and answered every profile
    question (written in bulk: the survey's own path is tested elsewhere): computing its
    results takes long enough that other threads interrupt it."""
    surveys = surveys_of(app.content)
    pick = random.Random(7)
    with app.db.session() as session:
        round_id = int(open_round(session, app.content, HC, by=operator("test"), label="big").id)
        responses = [{"id": f"{n:032d}", "round_id": round_id, "respondent": f"r{n}",
                      "status": "complete", "position": 99} for n in range(respondents)]
        session.execute(insert(SurveyResponse), responses)
        session.execute(insert(SurveyRating), [
            {"response_id": r["id"], "indicator": i.id, "score": pick.randint(1, 5)}
            for r in responses for i in surveys.by_type["health_centre"].indicators])
        session.execute(insert(SurveyProfileAnswer), [
            {"response_id": r["id"], "question": q.id, "option": pick.choice(q.options).id}
            for r in responses for q in surveys.profile])
    with app.db.session() as session:
        close_round(session, app.content, round_id, by=operator("test"))
    return round_id


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/dashboard/login")
    return client.post("/dashboard/login", data={"csrf": csrf_of(page.text), "next": "/dashboard/",
                                                 "username": username, "password": password},
                       follow_redirects=False)


def log_usage(board: App) -> None:
    """Questions of two users in two communes, a survey step, and a broadcast batch."""
    with board.db.session() as session:
        here = User(channel="telegram", channel_user_id="1", commune_code=HC_COMMUNE)
        there = User(channel="messenger", channel_user_id="2", commune_code=OTHER_COMMUNE)
        session.add_all([here, there])
        session.flush()
        rows = [
            (here, "how much is a birth certificate", "service_fee", 0.95, "service_fee", "en"),
            (here, "what is the weather", None, 0.2, "fallback", "en"),
            (here, "What is the  weather", None, 0.3, "fallback", "en"),
            (there, "secret other question", None, 0.1, "fallback", "km"),
            (here, None, None, None, "flow:survey", "km"),  # a private survey step
        ]
        for user, text, intent, confidence, handled, lang in rows:
            session.add(MessageLog(user_id=user.id, channel=user.channel, direction="in",
                                   kind="text", text=text, intent=intent,
                                   confidence=confidence, handled_as=handled, language=lang,
                                   step="survey:q1" if text is None else None))
        for user, status in ((here, "sent"), (there, "failed")):
            session.add(OutboxMessage(user_id=user.id, channel=user.channel,
                                      address=user.channel_user_id, reply={"text": "x"},
                                      automated=True, status=status, batch="broadcast:7"))


def seed_meetings(app: App) -> None:
    """A meeting in each commune with a reminder sent, and a broadcast in each commune;
    two subscribers in HC's commune (one sent, one failed), one in the other."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from dialogues.core.models import User
    from dialogues.core.outbox import OutboxMessage
    from dialogues.meetings import broadcasts
    from dialogues.meetings import store as meetings
    from dialogues.meetings.texts import MeetingTexts

    now = datetime.now(timezone.utc)
    starts = now + timedelta(hours=20)
    notices = MeetingTexts(app.content, app.settings.timezone)
    with app.db.session() as session:
        admin = User(channel="console", channel_user_id="admin-1", role="admin")
        people = [User(channel="telegram", channel_user_id=f"sub-{n}", language="km")
                  for n in range(3)]
        session.add_all([admin, *people])
        session.flush()
        meetings.subscribe(session, people[0], HC_COMMUNE)
        meetings.subscribe(session, people[1], HC_COMMUNE)
        meetings.subscribe(session, people[2], OTHER_COMMUNE)
        for commune, place in ((HC_COMMUNE, "Kouk Khleang sangkat hall"),
                               (OTHER_COMMUNE, "secret other commune hall")):
            meeting = meetings.create_meeting(session, kind="interface", commune=commune,
                                              place=place, starts_at=starts, agenda=None,
                                              by=operator("test"), now=now)
            assert meetings.send_reminder(session, notices, meeting.id, 1440,
                                          meeting.starts_at, now=now,
                                          offsets=[1440, 60]) is not None
            broadcasts.create_broadcast(session, notices, admin, commune,
                                        f"Broadcast to {place}", now=now)
        session.execute(update(OutboxMessage).where(OutboxMessage.user_id == people[0].id)
                        .values(status="sent"))
        session.execute(update(OutboxMessage).where(OutboxMessage.user_id == people[1].id)
                        .values(status="failed"))
