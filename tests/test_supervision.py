"""Never going silent, in one process (the real `isafbot run` process under faults is in
tests/test_faults.py): the background loops outlive a database outage and a database that is
down at start, an NLU outage is waited out (and answered politely past its horizon), survey
and form steps never ask the NLU, /healthz says 503 and why, /metrics speaks Prometheus, and no
database call runs on the event loop. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.engine import Engine

from bot.bootstrap import App, bootstrap
from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.server import build_web_app
from bot.settings import Settings, SettingsError
from common.db.base import utcnow
from common.db.session import DbTimeouts, database_unavailable
from common.messages import Understanding
from common.supervise import Backoff, Burst, Supervisor
from dialogues.core.models import MessageLog
from nlu.engine import NluUnavailable
from tests.conftest import Chat, make_settings
from tests.fault_proxy import FaultProxy
from tests.live_server import LiveServer
from tests.scorecard_helpers import HC_INDICATORS, open_for
from tests.supervision_helpers import (
    Outage,
    RecordingChannel,
    deliver,
    recording_runtime,
    until,
)

FAST = {"ISAFBOT_LOOP_MAX_BACKOFF": "0.3"}  # loops retry quickly in tests


def _app(tmp_path: Path, url: str, nlu: Any = None, **extra: str) -> App:
    return bootstrap(make_settings(tmp_path, url, **{**FAST, **extra}), nlu=nlu,
                     migrate=False)


def _statuses(app: App) -> dict[str, str]:
    with app.db.session() as session:
        return dict(session.execute(select(InboundUpdate.external_id,
                                           InboundUpdate.status)).all())


# ------------------------------------------------------------------ loops outlive outages

async def test_workers_and_dispatcher_outlive_a_database_outage(
        tmp_path: Path, database_url: str, nlu: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    """Why 2: after a 1.5-second outage the inbox workers and the dispatcher were dead, and
    updates stayed pending for ever. Now they fail, back off, and carry on; the outage is
    logged once per loop, not once per retry."""
    Database(database_url).migrate()
    outage = Outage(database_url)
    app = _app(tmp_path, outage.url, nlu)
    outage.attach(app)
    channel = RecordingChannel()
    runtime = recording_runtime(app, channel, workers=2)
    caplog.set_level(logging.WARNING)
    await runtime.start()
    try:
        await deliver(runtime, "1", "a", button="menu")
        await until(lambda: channel.texts("a"), what="the first answer")
        outage.begin()
        await asyncio.sleep(1.5)  # the workers and the dispatcher hit it several times
        outage.end()
        await deliver(runtime, "2", "b", button="menu")
        await until(lambda: channel.texts("b"), what="an answer after the outage")
        await until(lambda: _statuses(app) == {"1": "done", "2": "done"})
        healthy, report = await runtime.health()
        assert healthy, report["problems"]
    finally:
        await runtime.stop()
        app.close()
        outage.close()
    failures = [r for r in caplog.records if r.name.startswith("common.supervise.inbox")
                and r.levelno == logging.ERROR]
    assert 1 <= len(failures) <= 2, [r.getMessage() for r in failures]  # once per worker
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_the_database_down_at_start_is_waited_for(tmp_path: Path, postgres_url: str,
                                                        nlu: Any) -> None:
    """Why 2: with the database down at start the loops died at once. Now the process waits:
    /healthz says why, and once the database answers the schema is migrated and updates are
    handled."""
    with FaultProxy.for_url(postgres_url) as proxy:
        proxy.refuse()
        app = _app(tmp_path, proxy.url(postgres_url), nlu)
        channel = RecordingChannel()
        runtime = recording_runtime(app, channel, workers=1, migrate=True)
        await runtime.start()
        try:
            await asyncio.sleep(1.0)
            healthy, report = await runtime.health()
            assert not healthy and "starting: waiting for the database" in report["status"]
            assert "database unavailable" in report["status"]
            proxy.restore()
            await until(lambda: runtime.ready, what="start-up after the database is back")
            await deliver(runtime, uuid.uuid4().hex, "a", button="menu")
            await until(lambda: channel.texts("a"), what="an answer")
            healthy, report = await runtime.health()
            assert healthy, report["problems"]
        finally:
            await runtime.stop()
            app.close()


async def test_healthz_says_which_loop_is_down(tmp_path: Path, sqlite_url: str,
                                               nlu: Any, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """Why 2: /healthz answered 200 while no update was handled any more. Now a loop that
    keeps failing (here every claim raises) makes it 503 with the loop's name and error."""
    app = _app(tmp_path, sqlite_url, nlu)
    app.db.migrate()
    runtime = recording_runtime(app, RecordingChannel(), workers=1)
    runtime.supervisor.grace = 0.5

    def broken(_limit: int) -> None:
        raise RuntimeError("claim is broken")

    monkeypatch.setattr(runtime.inbox, "claim_many", broken)
    web = build_web_app(runtime)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        await runtime.start()
        try:
            await asyncio.sleep(1.5)
            response = await http.get("/healthz")
            assert response.status_code == 503
            assert "loop inbox failing" in response.json()["status"]
            assert "claim is broken" in response.json()["status"]
            monkeypatch.undo()
            await asyncio.sleep(1.0)
            response = await http.get("/healthz")
            assert response.status_code == 200, response.json()
        finally:
            await runtime.stop()
            app.close()


def test_backoff_is_capped_exponential_with_jitter() -> None:
    backoff = Backoff(base=0.5, cap=10.0, jitter=0.5)
    rng = random.Random(7)
    for attempt, nominal in ((1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (30, 10.0)):
        waits = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(nominal * 0.5 <= w <= nominal for w in waits), (attempt, min(waits))
        assert max(waits) - min(waits) > nominal * 0.3  # spread: processes do not align
    assert Backoff(base=1.0, cap=30.0, jitter=0.0).after(0.2) == 1.0
    assert Backoff(base=1.0, cap=30.0, jitter=0.0).after(12.0) == 12.0
    assert Backoff(base=1.0, cap=30.0, jitter=0.0).after(500.0) == 30.0


async def test_a_loop_that_ends_is_started_again() -> None:
    supervisor = Supervisor(backoff=Backoff(base=0.01, cap=0.02))
    runs: list[int] = []

    async def short_lived(state: Any) -> None:
        runs.append(1)

    state = supervisor.spawn("short", short_lived)
    await until(lambda: len(runs) >= 3, 10)
    assert state.restarts >= 2
    await supervisor.stop()


def test_a_burst_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    burst = Burst("thing", logging.getLogger("test.burst"))
    for _ in range(50):
        burst.failed(ConnectionError("refused"))
    burst.ok()
    burst.ok()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.burst"]
    assert len(lines) == 2
    assert "thing failed" in lines[0] and "50 failure(s)" in lines[1]


# ------------------------------------------------------------------ the NLU server away

@pytest.mark.slow
async def test_an_nlu_outage_is_waited_out(tmp_path: Path, database_url: str,
                                           rasa_url: str) -> None:
    """Why 4: with the NLU server refused, a text was tried 5 times in 0.08 s and failed,
    never answered. Now it waits (not an attempt; its chat waits with it, other chats go on)
    and is answered once the server is back."""
    Database(database_url).migrate()
    with FaultProxy.for_url(rasa_url) as proxy:
        proxy.refuse()
        app = _app(tmp_path, database_url, ISAFBOT_NLU_URL=proxy.url(rasa_url),
                   ISAFBOT_NLU_MAX_BACKOFF="0.2")
        channel = RecordingChannel()
        runtime = recording_runtime(app, channel, workers=2)
        await runtime.start()
        try:
            await deliver(runtime, "1", "a", text="how much is a birth certificate")
            await deliver(runtime, "2", "b", button="menu")  # needs no NLU
            await until(lambda: channel.texts("b"), what="the button's answer")
            await asyncio.sleep(2.0)  # ten tries or so at 0.2 s
            with app.db.session() as session:
                row = session.execute(select(InboundUpdate).where(
                    InboundUpdate.external_id == "1")).scalar_one()
                assert row.status in ("pending", "processing") and row.attempts <= 1
                assert "waiting for the NLU server" in (row.error or "")
            assert channel.texts("a") == []
            proxy.restore()
            answer = await until(lambda: channel.texts("a"), what="the text's answer")
            assert answer[0].startswith("💵 Birth certificate:") and "Source:" in answer[0]
            assert _statuses(app)["1"] == "done"
        finally:
            await runtime.stop()
            await app.nlu.aclose()  # type: ignore[attr-defined]
            app.close()


async def test_past_the_horizon_the_person_is_told_politely(tmp_path: Path,
                                                           sqlite_url: str) -> None:
    """The NLU server away longer than ISAFBOT_NLU_RETRY_HORIZON: the person gets a reply in
    their language saying the bot cannot understand right now, with the menu's buttons."""
    app = _app(tmp_path, sqlite_url, ISAFBOT_NLU_URL="http://127.0.0.1:9",
               ISAFBOT_NLU_RETRY_HORIZON="0")
    app.db.migrate()
    channel = RecordingChannel()
    runtime = recording_runtime(app, channel, workers=1)
    await runtime.start()
    try:
        await deliver(runtime, "1", "en", text="how much is a birth certificate")
        await deliver(runtime, "2", "km", text="ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន")
        english = await until(lambda: channel.texts("en"))
        khmer = await until(lambda: channel.texts("km"))
        assert english == [app.content.message("nlu_unavailable", "en")]
        assert khmer == [app.content.message("nlu_unavailable", "km")]
        with app.db.session() as session:
            handled = set(session.execute(select(MessageLog.handled_as).where(
                MessageLog.direction == "in")).scalars())
        assert handled == {"nlu_unavailable"}
        assert _statuses(app) == {"1": "done", "2": "done"}
    finally:
        await runtime.stop()
        await app.nlu.aclose()  # type: ignore[attr-defined]
        app.close()


class RecordingNlu:
    """The real model, recording every text it is asked about."""

    def __init__(self, nlu: Any) -> None:
        self.nlu = nlu
        self.asked: list[str] = []

    async def parse(self, text: str) -> Understanding:
        self.asked.append(text)
        return await self.nlu.parse(text)


@pytest.mark.slow
def test_survey_answers_and_comments_never_reach_the_nlu(tmp_path: Path, sqlite_url: str,
                                                         nlu: Any) -> None:
    """Why 4: survey steps sent typed comments to the NLU server. Now the app knows before
    parsing that the step reads the text itself: ratings, yes/no, comments, profile answers
    stay out of the NLU (and work while it is down)."""
    recording = RecordingNlu(nlu)
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=recording)
    try:
        open_for(app)
        chat = Chat(app, user="typist")
        chat.send("i want to rate the health centre in Kouk Khleang")
        assert "Rating Kouk Khleang Health Centre" in chat.text
        asked_before = list(recording.asked)
        typed = ["yes", *[str(1 + n % 5) for n in range(len(HC_INDICATORS))],
                 "The nurse was kind but we waited three hours",
                 "no",  # no questions about me
                 "no"]  # no summary of the results
        for answer in typed:
            chat.send(answer)
        assert "Thank you for rating" in chat.text
        assert recording.asked == asked_before
    finally:
        app.close()


@pytest.mark.slow
def test_form_steps_never_reach_the_nlu(tmp_path: Path, sqlite_url: str, nlu: Any) -> None:
    from tests.meetings_helpers import KK, invite

    recording = RecordingNlu(nlu)
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=recording)
    try:
        chat = Chat(app, user="caf")
        chat.send(f"/caf {invite(app, KK)}")
        chat.press("meet:new")
        chat.press("frm:c:0")
        asked_before = list(recording.asked)
        chat.send("Kouk Khleang commune hall")
        chat.send("15/12/2030 14:00")
        chat.send("Budget 2031 and the school toilets")
        assert "Please check the meeting" in chat.text or "សូមពិនិត្យ" in chat.text
        assert recording.asked == asked_before
    finally:
        app.close()


# ------------------------------------------------------------------ hangs

def test_postgres_connections_have_timeouts_and_keepalives(postgres_url: str) -> None:
    """Why 9: the PostgreSQL engine had no connect timeout, keepalives or statement timeout:
    a stalled server hung threads, webhooks and shutdown."""
    database = Database(postgres_url, timeouts=DbTimeouts(connect=2, statement=1,
                                                          keepalive_idle=10))
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "1s"
            dsn = connection.connection.dbapi_connection.get_dsn_parameters()
            assert (dsn["connect_timeout"], dsn["keepalives"], dsn["keepalives_idle"]) == \
                ("2", "1", "10")
        with pytest.raises(Exception) as raised, database.session() as session:
            session.execute(text("SELECT pg_sleep(5)"))
        assert database_unavailable(raised.value)  # waited out by the loops, not a bug
    finally:
        database.dispose()
    with FaultProxy.for_url(postgres_url) as proxy:
        proxy.stall()  # accepts, never answers
        stalled = Database(proxy.url(postgres_url), timeouts=DbTimeouts(connect=1))
        outcome: list[BaseException] = []

        def connect() -> None:
            try:
                with stalled.engine.connect():
                    pass
            except Exception as error:
                outcome.append(error)

        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        thread.join(30)
        assert not thread.is_alive(), "connecting to a stalled server hung"
        assert outcome and database_unavailable(outcome[0])
        stalled.dispose()


async def test_no_database_call_runs_on_the_event_loop(tmp_path: Path, postgres_url: str,
                                                       nlu: Any) -> None:
    """Why 9: the leader's lock check ran a query on the event loop (so did APScheduler's
    job store): a lost network froze webhooks and the dashboard. Every statement of a whole
    run (start, election and its checks, the scheduler, an update, /healthz, /metrics, stop)
    is recorded with the thread it ran on."""
    on_loop: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if asyncio._get_running_loop() is not None:
            on_loop.append(statement.split("\n")[0][:80])

    Database(postgres_url).migrate()
    event.listen(Engine, "before_cursor_execute", record)
    app = _app(tmp_path, postgres_url, nlu)
    channel = RecordingChannel()
    runtime = recording_runtime(app, channel, workers=1, elect=True)
    runtime.elect_seconds = 0.2
    try:
        await runtime.start()
        await until(lambda: runtime.leading, what="leadership")
        await deliver(runtime, uuid.uuid4().hex, "a", button="menu")
        await until(lambda: channel.texts("a"), what="an answer")
        await asyncio.sleep(1.0)  # several lock checks, a scheduler round
        assert runtime.leading
        healthy, report = await runtime.health()
        assert healthy, report["problems"]
        assert b"isafbot_inbox_backlog" in await asyncio.to_thread(runtime.metrics.render)
        await runtime.stop()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        app.close()
    assert on_loop == []


# ------------------------------------------------------------------ /healthz and /metrics

def test_healthz_turns_503_when_an_update_waits_too_long(tmp_path: Path,
                                                          database_url: str,
                                                          nlu: Any) -> None:
    app = bootstrap(make_settings(tmp_path, database_url, ISAFBOT_HEALTH_INBOX_MAX_AGE="5"),
                    nlu=nlu)
    try:
        with LiveServer(app, workers=0) as live:  # nobody handles updates
            assert live.http is not None
            assert live.http.get("/healthz").status_code == 200
            with app.db.session() as session:
                session.add(InboundUpdate(channel="test", external_id="old", chat_key="t:1",
                                          payload={}, status="pending", attempts=0,
                                          received_at=utcnow() - timedelta(seconds=60)))
            response = live.http.get("/healthz")
            assert response.status_code == 503
            assert "an update has waited 60 s" in response.json()["status"]
            assert response.json()["inbox"]["waiting"] == 1
            assert response.json()["inbox"]["oldest_seconds"] >= 60
            with app.db.session() as session:
                session.execute(update(InboundUpdate).values(status="done"))
            assert live.http.get("/healthz").status_code == 200
    finally:
        app.close()


def test_metrics_for_loopback_or_with_the_token(tmp_path: Path, sqlite_url: str,
                                                nlu: Any) -> None:
    token = "metrics-token-0123456789"
    app = bootstrap(make_settings(tmp_path, sqlite_url, ISAFBOT_METRICS_TOKEN=token), nlu=nlu)
    other = bootstrap(make_settings(tmp_path / "other", f"sqlite:///{tmp_path / 'o.db'}"),
                      nlu=nlu)
    channel = RecordingChannel()
    try:
        with LiveServer(app, workers=1) as live, LiveServer(other, workers=1) as second:
            live.runtime.channels["test"] = channel  # type: ignore[assignment]
            live.runtime.dispatcher.senders["test"] = channel
            assert live.http is not None and second.http is not None
            live.runtime.accept("test", "1", "test:a", {"user": "a", "button": "menu"})
            live.wait_idle()
            body = live.http.get("/metrics")
            assert body.status_code == 200
            assert body.headers["content-type"].startswith("text/plain")
            lines = body.text.splitlines()
            assert 'isafbot_sends_total{channel="test",result="sent"} 1.0' in lines
            assert 'isafbot_updates_total{channel="test",result="handled"} 1.0' in lines
            assert 'isafbot_update_handling_seconds_count{channel="test"} 1.0' in lines
            assert "isafbot_inbox_backlog 0.0" in lines
            assert 'isafbot_loop_up{loop="inbox"} 1.0' in lines
            assert 'isafbot_loop_up{loop="dispatcher"} 1.0' in lines
            assert "isafbot_database_up 1.0" in lines
            # a registry per app: the other app counted nothing
            assert "isafbot_sends_total{" not in second.http.get("/metrics").text
            # through a proxy (X-Forwarded-For), or from another machine: the token only
            forwarded = {"X-Forwarded-For": "203.0.113.9"}
            assert live.http.get("/metrics", headers=forwarded).status_code == 403
            assert live.http.get("/metrics", headers={
                **forwarded, "Authorization": "Bearer wrong-token-0123456789"}
            ).status_code == 403
            assert live.http.get("/metrics", headers={
                **forwarded, "Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        app.close()
        other.close()


def test_duration_settings(tmp_path: Path, sqlite_url: str) -> None:
    settings = make_settings(tmp_path, sqlite_url, ISAFBOT_NLU_RETRY_HORIZON="2h",
                             ISAFBOT_SEND_RETRY_HORIZON="1d", ISAFBOT_DB_STATEMENT_TIMEOUT="45s",
                             ISAFBOT_HEALTH_OUTBOX_MAX_AGE="30m")
    assert (settings.nlu_retry_horizon, settings.send_retry_horizon,
            settings.db_statement_timeout, settings.health_outbox_max_age) == \
        (7200.0, 86400.0, 45.0, 1800.0)
    defaults: Settings = make_settings(tmp_path, sqlite_url)
    assert (defaults.nlu_retry_horizon, defaults.send_retry_horizon) == (3600.0, 86400.0)
    for name, value in (("ISAFBOT_DB_CONNECT_TIMEOUT", "soon"),
                        ("ISAFBOT_DB_CONNECT_TIMEOUT", "0"), ("ISAFBOT_METRICS_TOKEN", "short")):
        with pytest.raises(SettingsError, match=name):
            make_settings(tmp_path, sqlite_url, **{name: value})


def test_database_errors_are_told_apart(sqlite_url: str) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    assert database_unavailable(OperationalError("SELECT 1", {}, Exception("gone")))
    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not database_unavailable(ProgrammingError("SELEC", {}, Exception("syntax")))
    assert not database_unavailable(NluUnavailable("down"))


@pytest.fixture
def counted_rows(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_retry_waiting_lets_postponed_updates_go_at_once(counted_rows: Database) -> None:
    from bot.inbox.queue import Inbox

    inbox = Inbox(counted_rows)
    inbox.accept("test", "1", "test:a", {"n": 1})
    claimed = inbox.claim()
    assert claimed is not None
    inbox.postpone(claimed, 3600, "waiting for the NLU server")
    assert inbox.claim() is None  # its time has not come: the chat waits
    with counted_rows.session() as session:
        assert session.execute(select(func.count()).select_from(InboundUpdate).where(
            InboundUpdate.attempts == 0)).scalar_one() == 1  # waiting is not an attempt
    assert inbox.retry_waiting() == 1
    again = inbox.claim()
    assert again is not None and again.id == claimed.id
