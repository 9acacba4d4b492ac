"""The real `isafbot run` process under faults, for tests/test_faults.py and
bench/fault_recovery.py.

The bot runs as a subprocess against the fake Telegram (long polling) and the fake Graph API,
and asks a real Rasa server for understanding. Between the bot and each dependency sits the
tests' own `FaultProxy` (PostgreSQL, the Rasa server, both platforms), which refuses, cuts or
stalls connections; the fakes can also answer every call with 5xx or 429 (`outage`).

`Traffic` plays citizens: Telegram texts (which need the NLU) and button presses, Messenger
texts and postbacks, round robin over a few users, each message answered by exactly one
reply. Messenger webhooks that fail (the process killed, the database down: 503) are posted
again, as Meta does; Telegram keeps what was not confirmed, as Telegram does.

`Scenario.run` measures, and `Outcome` holds what the test asserts (every message answered
exactly once, at most the documented re-send of what was in flight at a kill; /healthz 503
during the fault and 200 after; every loop up) and the recovery times the benchmark reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from bot.inbox.models import InboundUpdate
from common.db.base import Base
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import OutboxMessage
from tests import fake_graph, fake_telegram
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.fault_proxy import FaultProxy
from tests.test_messenger import APP_SECRET, TOKEN, VERIFY_TOKEN, batch, postback_event, sign
from tests.test_messenger import text_event as messenger_text

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ01234567"
TELEGRAM_CHATS = (7_100_001, 7_100_002, 7_100_003)
MESSENGER_USERS = ("psid-fault-1", "psid-fault-2", "psid-fault-3")
QUESTION_EN = "what documents for a birth certificate"  # one reply (a fee adds the rights)
QUESTION_KM = "ធ្វើសំបុត្រកំណើតត្រូវការឯកសារអ្វីខ្លះ"
BUTTON = "svc:birth_certificate:place"
HANDLERS = 4
EXPECTED_LOOPS = {"inbox", "dispatcher", "scheduler",
                  "telegram-polling"}
# How fast the bot notices and retries, for a suite that must stay short: each setting is the
# production one scaled down (docs/deployment.md has the defaults); what is tested is the same.
FAST = {
    "ISAFBOT_LOOP_MAX_BACKOFF": "1",  # 10 s in production
    "ISAFBOT_NLU_MAX_BACKOFF": "1",  # 30 s
    "ISAFBOT_SEND_MAX_BACKOFF": "2",  # 120 s
    "ISAFBOT_LEASE_SECONDS": "4",  # 120 s: what a kill -9 left in hand is taken back after it
    "ISAFBOT_HEALTH_INBOX_MAX_AGE": "3",  # 120 s
    "ISAFBOT_HEALTH_OUTBOX_MAX_AGE": "3",  # 900 s
    "ISAFBOT_DB_CONNECT_TIMEOUT": "2",  # 5 s
    "ISAFBOT_DB_KEEPALIVE_IDLE": "5",  # 30 s
    "TELEGRAM_POLL_TIMEOUT": "1",  # 30 s
    "TELEGRAM_TIMEOUT": "2",  # 10 s
    "TELEGRAM_RETRY_SECONDS": "0.5",  # 5 s
    "MESSENGER_TIMEOUT": "2",  # 10 s
    "MESSENGER_RETRY_SECONDS": "0.5",  # 20 s
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def empty_database(url: str) -> None:
    """A clean slate: the schema migrated, every table of the app emptied."""
    from bot.db import Database

    database = Database(url)
    try:
        database.migrate()
        names = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with database.engine.begin() as connection:
            if database.is_postgres:
                connection.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names)
                                        + " RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    connection.execute(text(f'DELETE FROM "{name}"'))
    finally:
        database.dispose()


class Bot:
    """`isafbot run` as a subprocess, with every dependency behind a fault proxy."""

    def __init__(self, database_url: str, rasa_url: str, data_dir: Path, *,
                 fast: bool = True) -> None:
        self.database_url = database_url
        self.telegram = FakeTelegram(TELEGRAM_TOKEN).__enter__()
        self.graph = FakeGraph(TOKEN, APP_SECRET).__enter__()
        self.telegram_proxy = FaultProxy.for_url(self.telegram.url)
        self.graph_proxy = FaultProxy.for_url(self.graph.url)
        self.nlu_proxy = FaultProxy.for_url(rasa_url)
        postgres = database_url.startswith("postgresql")
        self.db_proxy = FaultProxy.for_url(database_url) if postgres else None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ, **(FAST if fast else {}),
            "ISAFBOT_DATABASE_URL": self.db_proxy.url(database_url) if self.db_proxy
            else database_url,
            "ISAFBOT_DATA_DIR": str(data_dir), "ISAFBOT_SECRET_KEY": "fault-secret-0123456789",
            "ISAFBOT_HTTP_PORT": str(self.port), "ISAFBOT_LOG_FORMAT": "json",
            "ISAFBOT_NLU_URL": self.nlu_proxy.url(rasa_url),
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE_URL": f"{self.telegram_proxy.url(self.telegram.url)}/bot",
            "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN, "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN, "MESSENGER_API_VERSION": "26.0",
            "MESSENGER_GRAPH_URL": self.graph_proxy.url(self.graph.url),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.engine: Engine = create_engine(database_url, future=True)  # the test's own view

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--handlers", str(HANDLERS)], cwd=ROOT,
            env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)

    def kill(self) -> dict[str, int]:
        """kill -9; returns, per chat address, the outbox rows it had in flight ("sending"):
        the only messages the documented guarantee allows to be sent twice."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        with self.engine.connect() as connection:
            rows = connection.execute(select(OutboxMessage.address, func.count()).where(
                OutboxMessage.status == "sending").group_by(OutboxMessage.address)).all()
        return {str(address): int(count) for address, count in rows}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self, last: int = 6000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-last:]

    def health(self) -> tuple[int | None, dict[str, Any]]:
        try:
            response = httpx.get(f"{self.url}/healthz", timeout=5)
        except httpx.HTTPError:
            return None, {}
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}

    def loops(self) -> dict[str, float]:
        """isafbot_loop_up per loop, from /metrics (served to loopback)."""
        body = httpx.get(f"{self.url}/metrics", timeout=10).text
        found: dict[str, float] = {}
        for line in body.splitlines():
            if line.startswith("isafbot_loop_up{"):
                name = line.split('loop="', 1)[1].split('"', 1)[0]
                found[name] = float(line.rsplit(" ", 1)[1])
        return found

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds until `condition()` held; fails with the bot's log otherwise."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not reached in {timeout:g} s: {what}\n{self.logs()}")
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the bot exited ({self.process.returncode}) while "
                                     f"waiting for: {what}\n{self.logs()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def close(self) -> None:
        self.stop()
        for proxy in (self.telegram_proxy, self.graph_proxy, self.nlu_proxy, self.db_proxy):
            if proxy is not None:
                proxy.close()
        self.telegram.__exit__()
        self.graph.__exit__()
        self.engine.dispose()
        self.log.close()


class Traffic:
    """Citizens writing, one message every `interval` seconds in round robin: a Telegram text
    (needs the NLU), a Telegram button, a Messenger text, a Messenger postback."""

    def __init__(self, bot: Bot, interval: float = 0.25) -> None:
        self.bot = bot
        self.interval = interval
        self.sent: Counter[tuple[str, str]] = Counter()  # (channel, user) -> messages
        self.stored_ids: dict[str, int] = {"telegram": 0, "messenger": 0}
        self._stop = threading.Event()
        self._posts: queue.Queue[bytes | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._write, daemon=True),
                         threading.Thread(target=self._post, daemon=True)]
        self._turn = 0

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """No new messages; waits until every Messenger webhook was accepted."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._threads[0].join(30)
        self._posts.put(None)
        self._threads[1].join(120)
        assert not self._threads[1].is_alive(), "Messenger webhooks were never accepted"

    def send_one_each(self) -> None:
        """After stop(): one message of each kind, Messenger's posted at once."""
        for _ in range(4):
            self._send_next(post_now=True)

    def _write(self) -> None:
        while not self._stop.is_set():
            self._send_next()
            self._stop.wait(self.interval)

    def _send_next(self, *, post_now: bool = False) -> None:
        turn, self._turn = self._turn, self._turn + 1
        kind = turn % 4
        index = (turn // 4) % len(TELEGRAM_CHATS)
        if kind < 2:
            chat = TELEGRAM_CHATS[index]
            if kind == 0:
                update = self.bot.telegram.text_update(
                    chat, QUESTION_KM if index % 2 else QUESTION_EN, language="en")
            else:
                update = self.bot.telegram.callback_update(chat, BUTTON)
            self.bot.telegram.push(update)
            self.sent["telegram", str(chat)] += 1
            self.stored_ids["telegram"] += 1
        else:
            psid = MESSENGER_USERS[index]
            event = messenger_text(psid, QUESTION_EN if index % 2 else QUESTION_KM) \
                if kind == 2 else postback_event(psid, "Where", BUTTON)
            body = json.dumps(batch(event)).encode()
            if post_now:
                with httpx.Client(timeout=10) as http:
                    self._deliver(http, body)
            else:
                self._posts.put(body)
            self.sent["messenger", psid] += 1
            self.stored_ids["messenger"] += 1

    def _post(self) -> None:
        """Meta's side: a webhook not answered 200 is delivered again, in order."""
        with httpx.Client(timeout=10) as http:
            while True:
                body = self._posts.get()
                if body is None:
                    return
                self._deliver(http, body)

    def _deliver(self, http: httpx.Client, body: bytes) -> None:
        while True:
            try:
                response = http.post(f"{self.bot.url}/webhooks/messenger", content=body,
                                     headers={"Content-Type": "application/json",
                                              "X-Hub-Signature-256": sign(body)})
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)


@dataclass
class Outcome:
    """What one scenario observed."""

    name: str
    health: list[tuple[float, int | None]] = field(default_factory=list)  # (t, status)
    fault: tuple[float, float] = (0.0, 0.0)  # monotonic start and end of the fault
    in_flight_at_kill: dict[str, int] = field(default_factory=dict)
    first_answer_after: float = 0.0  # seconds from the fault's end to the first reply sent
    answered_after: float = 0.0  # seconds from the fault's end to every message answered
    healthy_after: float = 0.0  # seconds from the fault's end to /healthz 200
    messages: int = 0
    duplicates: int = 0
    restarted_at: float | None = None

    def saw_503_during_fault(self) -> bool:
        start, end = self.fault
        return any(code == 503 and start <= t <= end + 0.5 for t, code in self.health)

    def restarted_during_fault(self) -> bool:
        """The process started after the kill answered /healthz before the fault ended."""
        return self.restarted_at is not None and any(
            code is not None and self.restarted_at < t <= self.fault[1]
            for t, code in self.health)


@contextlib.contextmanager
def health_watch(bot: Bot, outcome: Outcome) -> Iterator[None]:
    """Polls /healthz four times a second for the whole scenario."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            code, _ = bot.health()
            outcome.health.append((time.monotonic(), code))
            stop.wait(0.25)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def replies_by_chat(bot: Bot) -> Counter[str]:
    """Messages each chat received, as the platforms saw them (accepted sends only)."""
    counts: Counter[str] = Counter()
    for chat in TELEGRAM_CHATS:
        counts[str(chat)] = len(bot.telegram.sent(chat))
    for psid in MESSENGER_USERS:
        counts[psid] = len(bot.graph.sent(psid))
    return counts


def all_answered(bot: Bot, traffic: Traffic) -> bool:
    """Every message sent so far has its reply at the platform (one reply each; a chat's
    replies come in order, so counting per chat is enough)."""
    received = replies_by_chat(bot)
    return all(received[user] >= count for (_, user), count in traffic.sent.items())


@dataclass
class Fault:
    """A named fault: how it begins and ends, and when the kill -9 comes (seconds into it)."""

    name: str
    begin: Callable[[Bot], None]
    end: Callable[[Bot], None]
    seconds: float
    phases: tuple[tuple[float, Callable[[Bot], None]], ...] = ()  # (at, change) within it
    before_start: bool = False  # the fault is there when the bot starts (database down)
    # seconds into the fault for the kill -9: early enough that the new process (about 3 s
    # to start) meets the fault (on a slow machine the fault lasts until it has)
    kill_at: float = 0.0

    def __post_init__(self) -> None:
        self.kill_at = self.kill_at or self.seconds / 2


def database_cut(seconds: float = 5.0) -> Fault:
    def begin(bot: Bot) -> None:
        assert bot.db_proxy is not None
        bot.db_proxy.cut()

    def end(bot: Bot) -> None:
        assert bot.db_proxy is not None
        bot.db_proxy.restore()

    return Fault("database cut", begin, end, seconds, kill_at=1.0)


def database_down_at_start(seconds: float = 8.0) -> Fault:
    fault = database_cut(seconds)
    return Fault("database down at start", fault.begin, fault.end, seconds, before_start=True,
                 kill_at=3.5)


def nlu_down(seconds: float = 10.0) -> Fault:
    return Fault("NLU server down", lambda bot: bot.nlu_proxy.refuse(),
                 lambda bot: bot.nlu_proxy.restore(), seconds)


def platforms_failing(seconds: float = 15.0) -> Fault:
    """A third of the time 5xx, a third timeouts (nothing answers), a third a 429 storm, on
    both platforms (sends and Telegram's getUpdates alike)."""
    third = seconds / 3

    def server_errors(bot: Bot) -> None:
        bot.telegram.outage(fake_telegram.SERVER_DOWN)
        bot.graph.outage(fake_graph.TEMPORARY)

    def timeouts(bot: Bot) -> None:
        bot.telegram.outage(None)
        bot.graph.outage(None)
        bot.telegram_proxy.stall()
        bot.graph_proxy.stall()

    def rate_limited(bot: Bot) -> None:
        bot.telegram_proxy.restore()
        bot.graph_proxy.restore()
        bot.telegram.outage(fake_telegram.RETRY_AFTER(1))
        bot.graph.outage(fake_graph.RATE_LIMITED)

    def end(bot: Bot) -> None:
        bot.telegram.outage(None)
        bot.graph.outage(None)
        bot.telegram_proxy.restore()
        bot.graph_proxy.restore()

    return Fault("platforms failing (5xx, timeouts, 429)", server_errors, end, seconds,
                 phases=((third, timeouts), (2 * third, rate_limited)))


# The suite's scenarios, by name: the database each runs on and its fault. On SQLite only
# those that need no network database.
SCENARIOS: dict[str, tuple[str, Callable[[], Fault]]] = {
    "pg-database-cut-5s": ("postgresql", database_cut),
    "pg-database-down-at-start-8s": ("postgresql", database_down_at_start),
    "sqlite-nlu-down-10s": ("sqlite", nlu_down),
    "pg-nlu-down-10s": ("postgresql", nlu_down),
    "sqlite-platforms-15s": ("sqlite", platforms_failing),
    "pg-platforms-15s": ("postgresql", platforms_failing),
}


def run_scenario(bot: Bot, fault: Fault, *, kill: bool) -> Outcome:
    """Traffic before and during the fault (and, with `kill`, a kill -9 and a restart during
    it), then the fault ends: how long until every message is answered and /healthz is 200."""
    outcome = Outcome(fault.name)
    with health_watch(bot, outcome):
        if fault.before_start:
            fault.begin(bot)
            outcome.fault = (time.monotonic(), 0.0)
        bot.start()
        bot.wait_until(lambda: bot.health()[0] is not None, 60, "the web server answers")
        if not fault.before_start:
            bot.wait_until(lambda: bot.health()[0] == 200, 60, "healthy at start")
        with Traffic(bot) as traffic:
            if not fault.before_start:
                time.sleep(1.5)  # ordinary traffic first
                fault.begin(bot)
                outcome.fault = (time.monotonic(), 0.0)
            started = outcome.fault[0]
            steps = sorted([*fault.phases, *([(fault.kill_at, _kill_and_restart(outcome))]
                                            if kill else [])],
                           key=lambda step: step[0])
            until = started + fault.seconds
            for at, change in steps:
                time.sleep(max(0.0, started + at - time.monotonic()))
                change(bot)
            if kill:  # the new process must meet the fault, however slowly it started
                bot.wait_until(lambda: bot.health()[0] is not None, 120,
                               "the restarted process answers")
                until = max(until, time.monotonic() + 1.0)
            time.sleep(max(0.0, until - time.monotonic()))
            before = sum(replies_by_chat(bot).values())
            fault.end(bot)
            ended = time.monotonic()
            outcome.fault = (started, ended)
            outcome.first_answer_after = bot.wait_until(
                lambda: sum(replies_by_chat(bot).values()) > before
                or all_answered(bot, traffic), 300, "a reply after the fault")
            traffic.stop()  # Meta's retries of refused webhooks are part of the recovery
            bot.wait_until(lambda: all_answered(bot, traffic), 300, "every message answered")
            outcome.answered_after = time.monotonic() - ended
            bot.wait_until(lambda: bot.health()[0] == 200, 300, "/healthz 200 after the fault")
            outcome.healthy_after = _first_200_after(outcome, ended)
        traffic.send_one_each()  # the bot works normally afterwards
        bot.wait_until(lambda: all_answered(bot, traffic), 120, "answers after recovery")
        outcome.messages = sum(traffic.sent.values())
        _check(bot, traffic, outcome)
    return outcome


def _first_200_after(outcome: Outcome, ended: float) -> float:
    """From the health watcher's record (polled every 0.25 s)."""
    times = [t for t, code in outcome.health if code == 200 and t >= ended]
    return (min(times) if times else time.monotonic()) - ended


def _kill_and_restart(outcome: Outcome) -> Callable[[Bot], None]:
    def kill(bot: Bot) -> None:
        for address, count in bot.kill().items():
            outcome.in_flight_at_kill[address] = outcome.in_flight_at_kill.get(address, 0) + count
        outcome.restarted_at = time.monotonic()
        bot.start()
    return kill


def _check(bot: Bot, traffic: Traffic, outcome: Outcome) -> None:
    """Every message stored once, handled once, answered once (plus at most what was in
    flight at the kill), nothing failed, no loop down."""

    def settled() -> bool:  # the platform saw the last send a moment before it was marked
        with bot.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "sending")))).scalar_one() == 0

    bot.wait_until(settled, 120, "every send recorded")
    with bot.engine.connect() as connection:
        stored = dict(connection.execute(select(InboundUpdate.channel, func.count())
                                         .group_by(InboundUpdate.channel)).all())
        statuses = dict(connection.execute(select(InboundUpdate.status, func.count())
                                           .group_by(InboundUpdate.status)).all())
        handled = dict(connection.execute(
            select(User.channel_user_id, func.count()).join(MessageLog,
                                                            MessageLog.user_id == User.id)
            .where(MessageLog.direction == "in").group_by(User.channel_user_id)).all())
        rows = dict(connection.execute(select(OutboxMessage.address, func.count())
                                       .group_by(OutboxMessage.address)).all())
        unsent = connection.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != "sent")).scalar_one()
    assert stored == traffic.stored_ids, (stored, traffic.stored_ids)
    assert statuses == {"done": sum(traffic.stored_ids.values())}, statuses
    for (_, user), count in traffic.sent.items():
        assert handled.get(user) == count, (user, handled.get(user), count)  # handled once
        assert rows.get(user) == count, (user, rows.get(user), count)  # one reply each
    assert unsent == 0
    received = replies_by_chat(bot)
    for (_, user), count in traffic.sent.items():
        extra = received[user] - count
        allowed = outcome.in_flight_at_kill.get(user, 0)
        assert 0 <= extra <= allowed, (user, received[user], count, allowed)
        outcome.duplicates += extra
    healthy, report = bot.health()
    assert healthy == 200, report
    loops = bot.loops()
    assert set(loops) == EXPECTED_LOOPS and all(up == 1.0 for up in loops.values()), loops
