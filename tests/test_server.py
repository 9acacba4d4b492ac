"""The production server: structured logs, leader election, and `isafbot run --workers 2` as
real processes sharing the inbox (each update handled once, one leader sending), on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.inbox.models import InboundUpdate
from bot.logs import JsonLines, configure_logging
from common.leader import Leadership
from dialogues.core.models import MessageLog
from dialogues.core.outbox import OutboxMessage
from tests.conftest import make_settings
from tests.fake_graph import FakeGraph
from tests.test_messenger import APP_SECRET, TOKEN, batch, messenger_env, postback_event, sign

ROOT = Path(__file__).resolve().parent.parent


def test_json_lines_keep_extra_fields(tmp_path: Path, sqlite_url: str) -> None:
    record = logging.LogRecord("bot.dashboard", logging.WARNING, __file__, 1,
                               "login refused for %s", ("caf",), None)
    record.address = "127.0.0.1"
    line = json.loads(JsonLines().format(record))
    assert line["level"] == "warning" and line["logger"] == "bot.dashboard"
    assert line["message"] == "login refused for caf" and line["address"] == "127.0.0.1"
    assert line["time"].endswith("+00:00") and isinstance(line["pid"], int)


def test_log_settings_are_checked(tmp_path: Path, sqlite_url: str) -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="ISAFBOT_LOG_FORMAT"):
        configure_logging(make_settings(tmp_path, sqlite_url, ISAFBOT_LOG_FORMAT="xml"))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(make_settings(tmp_path, sqlite_url, ISAFBOT_LOG_FORMAT="json",
                                        ISAFBOT_LOG_LEVEL="DEBUG"))
        assert isinstance(root.handlers[0].formatter, JsonLines)
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_one_leader_at_a_time(database_url: str) -> None:
    first_db, second_db = Database(database_url), Database(database_url)
    first, second = Leadership(first_db), Leadership(second_db)
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
        first_db.dispose()
        second_db.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_worker_processes_share_the_inbox(tmp_path: Path, database_url: str) -> None:
    Database(database_url).migrate()
    users, per_user = 8, 5
    with FakeGraph(TOKEN, APP_SECRET) as graph:
        port = _free_port()
        env = {**os.environ, **messenger_env(graph),
               "ISAFBOT_DATABASE_URL": database_url, "ISAFBOT_DATA_DIR": str(tmp_path / "var"),
               "ISAFBOT_SECRET_KEY": "test-secret-key-0123456789",
               "ISAFBOT_HTTP_PORT": str(port), "ISAFBOT_LOG_FORMAT": "json",
               # postbacks never reach the NLU: a server that is not there proves it
               "ISAFBOT_NLU_URL": "http://127.0.0.1:9"}
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--workers", "2", "--handlers", "2"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=10) as http:
                pids: dict[int, bool] = {}
                deadline = time.monotonic() + 120
                while (len(pids) < 2 or not any(pids.values())) \
                        and time.monotonic() < deadline:
                    assert server.poll() is None, server.communicate()[1][-3000:]
                    try:
                        health = http.get("/healthz").json()
                        pids[health["pid"]] = health["leader"]
                    except httpx.TransportError:
                        time.sleep(0.2)
                        continue
                    http.close()  # a new connection may land on the other process
                    http = httpx.Client(base_url=base, timeout=10)
                assert len(pids) == 2, f"one process answered: {pids}"
                assert sum(pids.values()) == 1, f"leaders: {pids}"
                events = [postback_event(f"psid-{u}", "Where", "svc:birth_certificate:place")
                          for _ in range(per_user) for u in range(users)]
                bodies = [json.dumps(batch(event)).encode() for event in events]
                for body in bodies + bodies:  # every update delivered twice (redelivery)
                    response = httpx.post(f"{base}/webhooks/messenger", content=body,
                                          headers={"Content-Type": "application/json",
                                                   "X-Hub-Signature-256": sign(body)})
                    assert response.status_code == 200
            database = Database(database_url)
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    with database.session() as session:
                        left = session.execute(select(func.count()).select_from(
                            InboundUpdate).where(InboundUpdate.status != "done")).scalar_one()
                        unsent = session.execute(select(func.count()).select_from(
                            OutboxMessage).where(OutboxMessage.status != "sent")).scalar_one()
                    if left == 0 and unsent == 0:
                        break
                    time.sleep(0.2)
                with database.session() as session:
                    updates = session.execute(select(func.count()).select_from(
                        InboundUpdate)).scalar_one()
                    handled = session.execute(select(func.count()).select_from(
                        MessageLog).where(MessageLog.direction == "in")).scalar_one()
                    statuses = dict(session.execute(select(
                        OutboxMessage.status, func.count()).group_by(
                        OutboxMessage.status)).all())
                    outbox = sum(statuses.values())
            finally:
                database.dispose()
            assert updates == users * per_user  # redeliveries dropped
            assert handled == users * per_user  # each update handled exactly once
            assert statuses == {"sent": outbox} and outbox >= users * per_user
            sends = [c for c in graph.calls if c.path.endswith("/me/messages")
                     and (c.body or {}).get("message")]
            assert len(sends) == outbox  # each reply sent once, by the one dispatcher
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                _, stderr = server.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                _, stderr = server.communicate()
    assert server.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message", "pid"} <= set(x) for x in lines)
    assert any("leader" in x["message"] for x in lines)
    assert len({x["pid"] for x in lines}) >= 2


def test_the_leader_hears_other_workers_queue_replies(postgres_url: str) -> None:
    """PostgreSQL: a worker's NOTIFY (sent at commit) reaches the leader's connection, so the
    leader's dispatcher sends at once instead of at its next poll."""
    from sqlalchemy import text

    from common.leader import OUTBOX_CHANNEL

    leader_db, worker_db = Database(postgres_url), Database(postgres_url)
    leader = Leadership(leader_db)
    try:
        assert leader.try_acquire()
        descriptor = leader.listen()
        assert descriptor is not None and not leader.notified()
        with worker_db.session() as session:
            session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        import select as io

        readable, _, _ = io.select([descriptor], [], [], 10)
        assert readable and leader.notified()
        assert not leader.notified()  # read once
    finally:
        leader.release()
        leader_db.dispose()
        worker_db.dispose()


def test_sqlite_leader_polls(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    leader = Leadership(database)
    try:
        assert leader.try_acquire() and leader.listen() is None and not leader.notified()
    finally:
        leader.release()
        database.dispose()


def test_several_workers_refuse_telegram_polling(tmp_path: Path, sqlite_url: str) -> None:
    from bot.serving import serve_processes
    from bot.settings import SettingsError

    settings = make_settings(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN="123456:ABCdef")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_URL"):
        serve_processes(settings, processes=2, handlers=2)


def test_log_level_survives_rasa_resetting_the_root_logger(tmp_path: Path,
                                                           sqlite_url: str) -> None:
    from bot.logs import OWN_LOGGERS

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(make_settings(tmp_path, sqlite_url, ISAFBOT_LOG_LEVEL="INFO"))
        root.setLevel(logging.WARNING)  # what loading a Rasa model does
        assert logging.getLogger("uvicorn.error").isEnabledFor(logging.INFO)
        assert logging.getLogger("bot.server").isEnabledFor(logging.INFO)
        assert logging.getLogger("scheduler.service").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name in OWN_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
