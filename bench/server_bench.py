"""Production server benchmark: `isafbot run --workers N` as real processes on PostgreSQL,
driven over loopback by this process with signed Messenger webhook updates; replies go to a
fake Graph API (tests/fake_graph.py) in this process, which notes when each one arrives.

Closed loop: U virtual users each send a text, wait for the bot's whole reply to reach the
fake Graph API, then send the next one. Reported per configuration (1 and 2 workers, NLU in
process or asked of one `rasa run --enable-api` serving the same model):
- messages/s (measured messages / wall time), p50 and p95 latency (webhook POST -> last reply
  message accepted by the Graph API), and the RSS of each worker process (and the Rasa server).

Telegram updates (secret-checked webhook, replies to tests/fake_telegram.py) are driven too
when the Telegram channel is installed (configurations `1-local-telegram`, `2-local-telegram`).

    .venv/bin/python -m bench.server_bench [--messages 300] [--users 16]
        [--only 1-local,2-local,1-rasa,2-rasa,1-local-telegram,2-local-telegram]

Writes bench/results/server.json and prints a Markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.messenger_bench import database, percentile  # noqa: E402
from tests.fake_graph import FakeGraph  # noqa: E402
from tests.rasa_server import rasa_server  # noqa: E402
from tests.test_messenger import (  # noqa: E402
    APP_SECRET,
    TOKEN,
    batch,
    messenger_env,
    sign,
    text_event,
)

LINES = ["how much is a birth certificate", "សំបុត្រកំណើតថ្លៃប៉ុន្មាន",
         "documents for an ID card", "ធ្វើអត្តសញ្ញាណប័ណ្ណនៅណា"]


class Arrivals:
    """When each reply message reached the fake platform, per chat."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.arrived = threading.Condition()

    def note(self, chat: str) -> None:
        with self.arrived:
            self.times[chat].append(time.perf_counter())
            self.arrived.notify_all()

    def count(self, chat: str) -> int:
        with self.arrived:
            return len(self.times[chat])

    def wait(self, chat: str, count: int, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.times[chat]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{chat}: {len(self.times[chat])}/{count} replies")
                self.arrived.wait(left)
            return self.times[chat][count - 1]


class TimedGraph(FakeGraph):
    """The fake Graph API, noting when each message (not typing indicators) arrives."""

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__(TOKEN, APP_SECRET)
        self.arrivals = arrivals

    def _send(self, body: Any) -> tuple[int, Any]:
        status, answer = super()._send(body)
        if status == 200 and isinstance(body, dict) and body.get("message"):
            self.arrivals.note(str(body["recipient"]["id"]))
        return status, answer


class MessengerDriver:
    name = "messenger"

    def __init__(self) -> None:
        self.arrivals = Arrivals()
        self.fake = TimedGraph(self.arrivals)

    def __enter__(self) -> MessengerDriver:
        self.fake.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fake.__exit__(*exc)

    def env(self) -> dict[str, str]:
        return {**messenger_env(self.fake), "MESSENGER_RETRY_SECONDS": "1",
                "MESSENGER_TIMEOUT": "10"}

    def chat(self, prefix: str, number: int) -> str:
        return f"{prefix}{number:04d}"

    def post(self, http: Any, chat: str, text: str) -> float:
        body = json.dumps(batch(text_event(chat, text))).encode()
        started = time.perf_counter()
        response = http.post("/webhooks/messenger", content=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(body)})
        assert response.status_code == 200, response.text
        return started


TELEGRAM_TOKEN = "123456789:AAbenchmarkTokenForTheFakeBotApi_12345"
TELEGRAM_SECRET = "bench-webhook-secret-0123456789"


class TelegramDriver:
    name = "telegram"

    def __init__(self) -> None:
        from tests.fake_telegram import FakeTelegram

        self.arrivals = Arrivals()
        self.fake = FakeTelegram(TELEGRAM_TOKEN, record_calls=False,
                                 on_send=lambda chat, _: self.arrivals.note(str(chat)))

    def __enter__(self) -> TelegramDriver:
        self.fake.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fake.__exit__(*exc)

    def env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_BASE_URL": self.fake.base_url,
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET}

    def chat(self, prefix: str, number: int) -> str:
        return str(int(f"{prefix}{number:04d}"))

    def post(self, http: Any, chat: str, text: str) -> float:
        update = self.fake.text_update(int(chat), text)
        started = time.perf_counter()
        response = http.post("/webhooks/telegram", content=json.dumps(update).encode(),
                             headers={"Content-Type": "application/json",
                                      "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert response.status_code == 200, response.text
        return started


def telegram_installed() -> bool:
    return (ROOT / "bot" / "channels" / "telegram" / "channel.py").exists() and \
        (ROOT / "tests" / "fake_telegram.py").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            command = (entry / "cmdline").read_bytes()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid \
                    and b"resource_tracker" not in command:  # multiprocessing's helper
                found.append(int(entry.name))
    return found


@contextmanager
def bot_server(url: str, tmp: Path, driver: Any, workers: int,
               nlu_url: str | None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    import httpx

    port = free_port()
    env = {**os.environ, **driver.env(), "ISAFBOT_DATABASE_URL": url,
           "ISAFBOT_DATA_DIR": str(tmp / "var"), "ISAFBOT_SECRET_KEY": "bench-secret-0123456789",
           "ISAFBOT_HTTP_PORT": str(port), "ISAFBOT_LOG_LEVEL": "WARNING"}
    if nlu_url:
        env["ISAFBOT_NLU_URL"] = nlu_url
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--workers",
                                str(workers), "--handlers", "4"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 300
        while len(pids) < workers and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the server stopped")
            try:
                with httpx.Client(base_url=base, timeout=10) as http:
                    pids.add(http.get("/healthz").json()["pid"])
            except httpx.TransportError:
                time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def drive(base: str, driver: Any, users: int, per_user: int, prefix: str,
          expected: dict[str, int]) -> list[tuple[float, float]]:
    """Each user greets (not timed), then sends `per_user` messages, one at a time, each when
    the whole reply to the previous one arrived; returns (sent, replied) times."""
    import httpx

    latencies: list[tuple[float, float]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def user(number: int) -> None:
        chat = driver.chat(prefix, number)
        try:
            with httpx.Client(base_url=base, timeout=60) as http:
                driver.post(http, chat, "hello")  # not timed: a first message may say more
                received = _settled(driver.arrivals, chat, 1)
                for n in range(per_user):
                    line = LINES[(number + n) % len(LINES)]
                    started = driver.post(http, chat, line)
                    received += expected[line]
                    arrived = driver.arrivals.wait(chat, received)
                    with lock:
                        latencies.append((started, arrived))
        except BaseException as error:  # reported after the run
            errors.append(error)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return latencies


def _settled(arrivals: Arrivals, chat: str, at_least: int) -> int:
    """Wait for `at_least` messages, then until no more come for 1.5 s; returns the count."""
    arrivals.wait(chat, at_least)
    while True:
        count = arrivals.count(chat)
        time.sleep(1.5)
        if arrivals.count(chat) == count:
            return count


def replies_per_line(base: str, driver: Any) -> dict[str, int]:
    """How many messages the bot sends for each line, after a greeting (a fresh user each)."""
    import httpx

    expected: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=120) as http:
        for index, line in enumerate(LINES):
            chat = driver.chat("9", index)
            driver.post(http, chat, "hello")
            greeted = _settled(driver.arrivals, chat, 1)
            driver.post(http, chat, line)
            expected[line] = _settled(driver.arrivals, chat, greeted + 1) - greeted
    return expected


def run(config: str, messages: int, users: int, tmp: Path,
        rasa: tuple[str, subprocess.Popen[bytes]] | None) -> dict[str, Any]:
    workers = int(config.split("-")[0])
    driver = TelegramDriver() if config.endswith("telegram") else MessengerDriver()
    with driver, database("postgresql", tmp) as url, \
            bot_server(url, tmp, driver, workers, rasa[0] if rasa else None) as (base, process):
        expected = replies_per_line(base, driver)
        # warm every worker's NLU: a round of messages from other users
        drive(base, driver, users, 2, "7", expected)
        per_user = max(1, messages // users)
        timed = drive(base, driver, users, per_user, "8", expected)
        seconds = max(a for _, a in timed) - min(s for s, _ in timed)
        latencies = [a - s for s, a in timed]
        pids = children(process.pid) if workers > 1 else [process.pid]
        result = {
            "channel": driver.name, "workers": workers,
            "nlu": "rasa server" if rasa else "in process",
            "messages": len(latencies), "users": users, "seconds": seconds,
            "messages_per_s": len(latencies) / seconds,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 0.95),
            "replies_per_message": expected,
            "worker_rss_mb": sorted(round(rss_mb(pid)) for pid in pids),
            "supervisor_rss_mb": round(rss_mb(process.pid)) if workers > 1 else None,
            "rasa_rss_mb": round(rss_mb(rasa[1].pid)) if rasa else None,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--only", default="1-local,2-local,1-rasa,2-rasa,1-local-telegram,"
                                           "2-local-telegram")
    args = parser.parse_args()
    configs = [c for c in args.only.split(",")
               if not c.endswith("telegram") or telegram_installed()]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_before": os.getloadavg()}}
    with tempfile.TemporaryDirectory() as tmp:
        for config in [c for c in configs if "-local" in c]:
            results[config] = run(config, args.messages, args.users, Path(tmp), None)
            print(config, json.dumps(results[config]), flush=True)
        remote = [c for c in configs if c.endswith("rasa")]
        if remote:
            with rasa_server() as rasa:
                for config in remote:
                    results[config] = run(config, args.messages, args.users, Path(tmp), rasa)
                    print(config, json.dumps(results[config]), flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print("\n| channel | workers | NLU | messages/s | p50 ms | p95 ms | RSS per worker (MB) |")
    print("|---|---|---|---|---|---|---|")
    for config in configs:
        r = results[config]
        rss = ", ".join(str(x) for x in r["worker_rss_mb"])
        extra = f" (+ Rasa server {r['rasa_rss_mb']})" if r["rasa_rss_mb"] else ""
        print(f"| {r['channel']} | {r['workers']} | {r['nlu']} | {r['messages_per_s']:.1f} "
              f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {rss}{extra} |")
    print(f"\nload average before {results['machine']['load_before']}, "
          f"after {results['machine']['load_after']}")


if __name__ == "__main__":
    main()
