"""Kill the dispatcher with SIGKILL in the middle of a broadcast and start it again, on SQLite
and PostgreSQL: nobody is lost, and the only possible duplicates are the messages that were in
flight at the kill (their HTTP request reached the platform, their "sent" mark was never
committed). That is the guarantee, stated in docs/meetings.md:

- a row marked sent (committed) is never sent again;
- a row not yet tried is sent exactly once after the restart;
- a row in flight at the kill ("sending", its lease not over) is sent again once its lease
  ends, so its recipient may get it twice; at most `concurrency` rows are in that state.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.features import FEATURES
from content.loader import load_content
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage, batch_report
from dialogues.meetings import broadcasts, store
from dialogues.meetings.texts import MeetingTexts
from tests.meetings_helpers import KK, pp

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 400
BLOCKED = {"chat-7", "chat-150", "chat-333"}


class Platform:
    """A loopback HTTP platform that records every message it accepted."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat = str(body["chat_id"])
                with platform.lock:
                    platform.received[chat] += 1
                time.sleep(0.003)  # a little latency, so a kill lands mid-flight
                status = 403 if chat in BLOCKED else 200
                payload = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the killed client is gone
                    self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the dispatcher opens up to 64 connections at once
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection reset by the killed worker

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def snapshot(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.received)


@pytest.fixture
def platform() -> Iterator[Platform]:
    found = Platform()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _broadcast(db: Database, channel: str = "fake", ids: list[str] | None = None) -> None:
    ids = ids or [f"chat-{i}" for i in range(RECIPIENTS)]
    content = load_content(sections=FEATURES.sections)
    with db.session() as session:
        caf = User(channel="console", channel_user_id="caf", language="en", role="caf",
                   language_chosen=True, unreachable=False)
        session.add(caf)
        session.flush()
        for chat in ids:
            user = User(channel=channel, channel_user_id=chat, language="en",
                        language_chosen=True, role="citizen", unreachable=False)
            session.add(user)
            session.flush()
            store.subscribe(session, user, KK)
        store.create_invite(session, [KK], by="test")
        from dialogues.core.models import CafCommune

        session.add(CafCommune(user_id=caf.id, commune_code=KK))
        session.flush()
        broadcast = broadcasts.create_broadcast(session, MeetingTexts(content, "Asia/Phnom_Penh"),
                                                caf, KK, "Meeting on Sunday",
                                                now=pp(2026, 12, 1))
        assert broadcast.recipients == len(ids)


def _worker(database_url: str, server: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.Popen([sys.executable, "-m", "tests.broadcast_worker", database_url,
                             server], cwd=ROOT, env=env)


def test_sigkill_mid_broadcast_then_restart(database_url: str, platform: Platform) -> None:
    db = Database(database_url)
    db.migrate()
    _broadcast(db)
    worker = _worker(database_url, platform.url)
    deadline = time.monotonic() + 120
    while platform.total() < RECIPIENTS // 3:
        assert worker.poll() is None, "the worker ended before the kill"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    time.sleep(0.3)  # requests already on the wire reach the server
    before = platform.snapshot()
    with db.session() as session:
        rows = list(session.execute(select(OutboxMessage).where(
            OutboxMessage.batch == "bc:1")).scalars())
    at_kill = {r.address: r.status for r in rows}
    in_flight = {address for address, status in at_kill.items() if status == "sending"}
    assert 0 < sum(before.values()) < RECIPIENTS  # the kill really was mid-broadcast

    restarted = _worker(database_url, platform.url)
    assert restarted.wait(timeout=180) == 0
    after = platform.snapshot()
    with db.session() as session:
        final = {r.address: (r.status, r.attempts) for r in session.execute(
            select(OutboxMessage).where(OutboxMessage.batch == "bc:1")).scalars()}
        report = batch_report(session, "bc:1")
    db.dispose()

    everyone = {f"chat-{i}" for i in range(RECIPIENTS)}
    assert set(after) == everyone  # nobody lost
    duplicated = {chat for chat, count in after.items() if count > 1}
    # the only duplicates: in flight at the kill and already received by the platform then
    assert duplicated <= in_flight & set(before)
    assert max(after.values()) <= 2
    for chat in everyone - in_flight:  # committed (sent) or never tried: exactly once
        assert after[chat] == 1, chat
    assert report == {"sent": RECIPIENTS - len(BLOCKED), "unreachable": len(BLOCKED)}
    for chat in BLOCKED:
        assert final[chat][0] == "unreachable"
    print(f"\n{database_url.split(':')[0]}: {sum(before.values())} received before the kill, "
          f"{len(in_flight)} rows in flight, {len(duplicated)} duplicates after restart")


def test_sigkill_mid_broadcast_through_telegram(database_url: str) -> None:
    """The same through the Telegram channel's sender, rate limiter (30/s) and
    python-telegram-bot, against the fake Bot API enforcing Telegram's limits."""
    from tests import fake_telegram
    from tests.broadcast_worker import TELEGRAM_TOKEN
    from tests.fake_telegram import FakeTelegram

    count = 150
    chats = [str(8_000_000 + i) for i in range(count)]
    blocked = {chats[5], chats[120]}
    received: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def on_send(chat_id: str, _params: dict[str, Any]) -> None:
        with lock:
            received[str(chat_id)] += 1

    def snapshot() -> collections.Counter[str]:
        with lock:
            return collections.Counter(received)

    db = Database(database_url)
    db.migrate()
    with FakeTelegram(TELEGRAM_TOKEN, record_calls=False, on_send=on_send) as tg:
        tg.enforce_limits()
        for chat in blocked:
            tg.fail(chat, *[fake_telegram.BLOCKED] * 3)
        _broadcast(db, "telegram", chats)
        worker = _worker(database_url, f"telegram:{tg.base_url}")
        deadline = time.monotonic() + 120
        while sum(snapshot().values()) < count // 3:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        time.sleep(0.3)
        before = snapshot()
        with db.session() as session:
            in_flight = {r.address for r in session.execute(select(OutboxMessage).where(
                OutboxMessage.batch == "bc:1", OutboxMessage.status == "sending")).scalars()}
        restarted = _worker(database_url, f"telegram:{tg.base_url}")
        assert restarted.wait(timeout=180) == 0
        after = snapshot()
        violations = len(tg.limit_violations)
    with db.session() as session:
        report = batch_report(session, "bc:1")
    db.dispose()
    assert set(after) == set(chats) - blocked  # nobody lost
    duplicated = {chat for chat, n in after.items() if n > 1}
    assert duplicated <= in_flight & set(before)
    for chat in set(chats) - blocked - in_flight:
        assert after[chat] == 1, chat
    assert report == {"sent": count - len(blocked), "unreachable": len(blocked)}
    assert violations == 0  # the channel's limiter kept under Telegram's limits
    print(f"\ntelegram/{database_url.split(':')[0]}: {sum(before.values())} before the kill, "
          f"{len(in_flight)} in flight, {len(duplicated)} duplicates")
