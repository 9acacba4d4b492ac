"""Open-loop load test of the webhook path (issue 17): one `isafbot run` process (NLU in
process, PostgreSQL), driven from this separate process at fixed arrival rates.

    .venv/bin/python -m bench.load                      # the headline table, about 4 minutes
    .venv/bin/python -m bench.load --rates 50 --seconds 30 --profile bench/results/x.svg

Arrivals are open loop: message i is posted at t0 + i / rate whether or not earlier ones were
answered (people do not wait for each other). Messenger events are signed batches of one event;
Telegram updates carry the secret token; a fifth of the traffic is Telegram, at most 20
updates/s (its bot-wide limit is 30 messages/s). Every user sends one of six scripts of mixed
Khmer and English questions (fees, documents, places); users are many (each sends a message
every `users / rate` seconds, 5 s by default). Replies go to the tests' fake Graph API (here
with HTTP/1.1 keep-alive, like Meta's) and fake Bot API on 127.0.0.1, in this process, which
note when each message is accepted.

Before the timed rates, one calibration user per (channel, script) sends its script one
message at a time: the texts it gets are what every user of that script must get, exactly
once and in that order (checked for every chat at the end of each rate).

Reported per rate: messages answered per second (answered / (last reply - first post)),
reply latency p50/p95/p99 (webhook POST started -> the platform accepted the last message of
that question's reply), webhook answer p95, backlog when the arrivals stop (inbox updates and
outbox messages not finished) and how long it took to drain, the bot's CPU-seconds per message
(the server process's user+system time over the rate, /proc) and PostgreSQL's (the backends
connected to the bench database), statements, transactions, pool checkouts and claims per
message (bench/counting_server.py), the server's RSS, and the load average at start and end.
Then Messenger's 1,000-event batch (100 users x 10 messages) end to end.

Writes bench/results/load.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.messenger_bench import database, percentile  # noqa: E402
from bench.server_bench import TELEGRAM_SECRET, TELEGRAM_TOKEN, free_port, rss_mb  # noqa: E402
from tests.fake_graph import FakeGraph  # noqa: E402
from tests.test_messenger import APP_SECRET, TOKEN, batch, messenger_env, sign, text_event  # noqa: E402

LINES = ["how much is a birth certificate", "សំបុត្រកំណើតថ្លៃប៉ុន្មាន",
         "documents for an ID card", "ធ្វើអត្តសញ្ញាណប័ណ្ណនៅណា",
         "where do I get a family book", "លិខិតបញ្ជាក់ទីលំនៅត្រូវការឯកសារអ្វីខ្លះ"]
SCRIPTS = [[LINES[(start + n) % len(LINES)] for n in range(len(LINES))]
           for start in range(len(LINES))]
TELEGRAM_SHARE, TELEGRAM_MAX_RATE = 0.2, 20.0


class Arrivals:
    """What the fake platforms accepted: per chat, (time, text) in order. Thread-safe (the
    fakes answer in their own threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[str, list[tuple[float, str]]] = defaultdict(list)

    def note(self, chat: str, text: str) -> None:
        at = time.perf_counter()
        with self.lock:
            self.messages[chat].append((at, text))

    def of(self, chat: str) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.messages.get(chat, ()))

    def total(self, chats: list[str]) -> int:
        with self.lock:
            return sum(len(self.messages.get(c, ())) for c in chats)


class KeepAliveGraph(FakeGraph):
    """The tests' fake Graph API, answering with HTTP/1.1 keep-alive as Meta does (the tests'
    fake closes every connection), noting each accepted message."""

    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__(TOKEN, APP_SECRET)
        self.arrivals = arrivals
        self._server.RequestHandlerClass.protocol_version = "HTTP/1.1"
        self._server.request_queue_size = 1024

    def _send(self, body: Any) -> tuple[int, Any]:
        status, answer = super()._send(body)
        if status == 200 and isinstance(body, dict) and body.get("message"):
            message = body["message"]
            self.arrivals.note("m" + str(body["recipient"]["id"]),
                               str(message.get("text") or json.dumps(message.get("attachment"))))
        with self._lock:
            self.calls.clear()  # nothing reads them here: keep memory flat
        return status, answer


@dataclass
class Sent:
    chat: str
    script: int
    position: int  # the how-many-th message of this chat (0-based)
    posted: float = 0.0
    acknowledged: float = 0.0
    status: int = 0  # the webhook's answer; -1: no answer (connection error)
    error: str = ""


@dataclass
class Platforms:
    arrivals: Arrivals = field(default_factory=Arrivals)
    graph: Any = None
    telegram: Any = None

    def __enter__(self) -> Platforms:
        from tests.fake_telegram import FakeTelegram

        self.graph = KeepAliveGraph(self.arrivals).__enter__()
        self.telegram = FakeTelegram(TELEGRAM_TOKEN, record_calls=False, on_send=lambda chat, r:
                                     self.arrivals.note("t" + str(chat), str(r.get("text"))))
        self.telegram.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.telegram.__exit__(*exc)
        self.graph.__exit__(*exc)

    def env(self) -> dict[str, str]:
        return {**messenger_env(self.graph), "MESSENGER_RETRY_SECONDS": "1",
                "MESSENGER_TIMEOUT": "10", "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_BASE_URL": self.telegram.base_url,
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET}

    def request(self, chat: str, text: str) -> tuple[str, bytes, dict[str, str]]:
        """(path, body, headers) of one webhook POST for `chat` ("m..." or "t...")."""
        if chat.startswith("m"):
            body = json.dumps(batch(text_event(chat[1:], text))).encode()
            return "/webhooks/messenger", body, {"Content-Type": "application/json",
                                                 "X-Hub-Signature-256": sign(body)}
        update = self.telegram.text_update(int(chat[1:]), text)
        return "/webhooks/telegram", json.dumps(update).encode(), {
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token":
            TELEGRAM_SECRET}


class Server:
    """`isafbot run --workers 1 --handlers N` through bench.counting_server."""

    def __init__(self, url: str, tmp: Path, platforms: Platforms, handlers: int) -> None:
        self.port = free_port()
        self.counts_file = tmp / "counts.json"
        env = {**os.environ, **platforms.env(), "ISAFBOT_DATABASE_URL": url,
               "ISAFBOT_DATA_DIR": str(tmp / "var"),
               "ISAFBOT_SECRET_KEY": "bench-secret-0123456789",
               "ISAFBOT_HTTP_PORT": str(self.port), "ISAFBOT_LOG_LEVEL": "WARNING"}
        self.log = open(tmp / "server.log", "wb")  # noqa: SIM115  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.counting_server", str(self.counts_file), "run",
             "--workers", "1", "--handlers", str(handlers)], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = url

    def wait_ready(self) -> float:
        import httpx

        started = time.monotonic()
        while time.monotonic() - started < 300:
            if self.process.poll() is not None:
                raise RuntimeError("the server stopped (see server.log)")
            try:
                if httpx.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the server did not become healthy")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def counts(self) -> dict[str, int]:
        try:
            return dict(json.loads(self.counts_file.read_text()))
        except (OSError, ValueError):
            return {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the bench database."""
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    engine = create_engine(url.rsplit("/", 1)[0] + "/test", future=True)
    with engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                                  {"n": name}).scalars().all()
    engine.dispose()
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # the backend ended meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def backlog(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        inbox = connection.execute(text("SELECT count(*) FROM inbound_updates WHERE status IN "
                                        "('pending', 'processing')")).scalar_one()
        outbox = connection.execute(text("SELECT count(*) FROM outbox WHERE status IN "
                                         "('pending', 'sending')")).scalar_one()
    engine.dispose()
    return {"inbox": int(inbox), "outbox": int(outbox)}


# ------------------------------------------------------------------ posting

async def post_all(base: str, platforms: Platforms, plan: list[tuple[float, Sent, str]],
                   connections: int = 256) -> None:
    """Post each planned message at its time (open loop); notes posted/acknowledged times."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(base, connector=connector) as http:
        async def one(sent: Sent, text: str) -> None:
            path, body, headers = platforms.request(sent.chat, text)
            sent.posted = time.perf_counter()
            try:
                async with http.post(path, data=body, headers=headers) as response:
                    await response.read()
                    sent.status = response.status
            except aiohttp.ClientError as error:  # counted: the platform would redeliver
                sent.status = -1
                sent.error = type(error).__name__
            sent.acknowledged = time.perf_counter()

        start = time.perf_counter()
        tasks = []
        for offset, sent, text in plan:
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(sent, text)))
        await asyncio.gather(*tasks)


async def settle(arrivals: Arrivals, chat: str, before: int, quiet: float = 0.8,
                 timeout: float = 300) -> int:
    """Wait for a reply after `before` messages, then until none came for `quiet` seconds
    (the first replies wait for the model, which loads after the server answers)."""
    deadline = time.monotonic() + timeout
    while len(arrivals.of(chat)) <= before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{chat}: no reply")
        await asyncio.sleep(0.02)
    while True:
        count = len(arrivals.of(chat))
        await asyncio.sleep(quiet)
        if len(arrivals.of(chat)) == count:
            return count


async def calibrate(base: str, platforms: Platforms, length: int) -> dict[tuple[str, int],
                                                                        list[list[str]]]:
    """Per (channel, script): the texts answering each of its first `length` messages, from
    one user sending them one at a time."""
    import aiohttp

    async with aiohttp.ClientSession(base) as http:
        async def one(channel: str, script: int) -> list[list[str]]:
            chat = f"{channel}{'9' if channel == 't' else ''}99{script:02d}"
            replies: list[list[str]] = []
            count = 0
            for position in range(length):
                path, body, headers = platforms.request(chat, SCRIPTS[script][position %
                                                                              len(LINES)])
                async with http.post(path, data=body, headers=headers) as response:
                    assert response.status == 200, await response.text()
                after = await settle(platforms.arrivals, chat, count)
                replies.append([text for _, text in platforms.arrivals.of(chat)[count:after]])
                count = after
            return replies

        keys = [(c, s) for c in "mt" for s in range(len(SCRIPTS))]
        answers = await asyncio.gather(*(one(c, s) for c, s in keys))
    return dict(zip(keys, answers, strict=True))


# ------------------------------------------------------------------ one rate

def make_plan(rate: float, seconds: float, users_per_rate_second: float, tag: int
              ) -> list[tuple[float, Sent, str]]:
    """Message i at i / rate, to user i % users; a fifth (at most 20/s) on Telegram."""
    total = max(1, round(rate * seconds))
    users = max(1, round(rate * users_per_rate_second))
    telegram_every = max(1, round(rate / min(TELEGRAM_SHARE * rate, TELEGRAM_MAX_RATE)))
    plan = []
    for index in range(total):
        user = index % users
        channel = "t" if user % telegram_every == 0 else "m"
        chat = f"{channel}{tag}{user:05d}" if channel == "m" else f"t{tag}{user:05d}"
        sent = Sent(chat, user % len(SCRIPTS), index // users)
        plan.append((index / rate, sent, SCRIPTS[sent.script][sent.position % len(LINES)]))
    return plan


def check_chats(plan: list[tuple[float, Sent, str]], platforms: Platforms,
                expected: dict[tuple[str, int], list[list[str]]]
                ) -> tuple[list[float], list[str]]:
    """Latency of each message (to the last message of its reply) and every problem: a chat
    whose texts are not exactly its script's answers in order (lost, duplicated, reordered)."""
    by_chat: dict[str, list[Sent]] = defaultdict(list)
    for _, sent, _ in plan:
        by_chat[sent.chat].append(sent)
    latencies, problems = [], []
    for chat, sents in by_chat.items():
        sents = [s for s in sents if s.status == 200]  # a refused webhook: not stored
        want = [expected[(chat[0], sents[0].script)][s.position] for s in sents] \
            if sents else []
        got = platforms.arrivals.of(chat)
        flat = [t for texts in want for t in texts]
        if [t for _, t in got] != flat:
            problems.append(f"{chat}: got {len(got)} messages, expected {len(flat)} in order")
        index = 0
        for sent, texts in zip(sents, want, strict=True):  # the answered prefix, when in order
            index += len(texts)
            if index > len(got) or [t for _, t in got[index - len(texts):index]] != texts:
                break
            latencies.append(got[index - 1][0] - sent.posted)
    return latencies, problems


def run_rate(server: Server, platforms: Platforms, rate: float, seconds: float,
             expected: dict[tuple[str, int], list[list[str]]], tag: int,
             profile: str | None = None) -> dict[str, Any]:
    plan = make_plan(rate, seconds, 5.0, tag)
    chats = sorted({s.chat for _, s, _ in plan})
    want = sum(len(expected[(s.chat[0], s.script)][s.position]) for _, s, _ in plan)
    load_start = os.getloadavg()
    counts_before, cpu_before = server.counts(), cpu_seconds(server.process.pid)
    pg_before = postgres_cpu(server.url)
    spy = _profiler(server.process.pid, profile, seconds) if profile else None
    asyncio.run(post_all(server.base, platforms, plan))
    arrivals_stopped = time.perf_counter()
    left = backlog(server.url)
    deadline = time.monotonic() + max(60.0, 4 * seconds)
    while platforms.arrivals.total(chats) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    drained = time.perf_counter() - arrivals_stopped
    time.sleep(1.0)  # anything sent twice would arrive now
    if spy is not None:
        spy.wait()
    cpu = cpu_seconds(server.process.pid) - cpu_before
    pg_after = postgres_cpu(server.url)
    pg = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items())
    counts_after = server.counts()
    delta = {k: counts_after.get(k, 0) - counts_before.get(k, 0) for k in counts_after}
    latencies, problems = check_chats(plan, platforms, expected)
    sent = [s for _, s, _ in plan]
    refused = sum(s.status != 200 for s in sent)
    last_reply = max((m[-1][0] for c in chats if (m := platforms.arrivals.of(c))), default=0)
    first = min(s.posted for s in sent)
    count = len(sent)
    result = {
        "rate": rate, "seconds": seconds, "messages": count, "chats": len(chats),
        "telegram_messages": sum(s.chat.startswith("t") for s in sent),
        "answered_per_s": len(latencies) / max(1e-9, last_reply - first),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else None,
        "webhook_p95_ms": 1000 * percentile([s.acknowledged - s.posted for s in sent], 0.95),
        "posting_s": arrivals_stopped - first,
        "backlog_at_end": left, "drain_s": drained,
        "cpu_s_per_message": cpu / count, "postgres_cpu_s_per_message": pg / count,
        "per_message": {k: round(v / count, 2) for k, v in sorted(delta.items()) if v},
        "rss_mb": round(rss_mb(server.process.pid)),
        "answered": len(latencies), "webhook_refused": refused,
        "problems": problems[:10], "chats_wrong": len(problems),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
    }
    return result


def _profiler(pid: int, output: str, seconds: float) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration",
                             str(int(seconds)), "--rate", "50", "--nonblocking", "-o", output,
                             *(["--format", "raw"] if output.endswith(".txt") else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------ the 1,000-event batch

def run_batch(server: Server, platforms: Platforms,
              expected: dict[tuple[str, int], list[list[str]]]) -> dict[str, Any]:
    """One signed webhook body with 1,000 events: 100 users x 10 messages, in order."""
    users, each = 100, 10
    events, plan = [], []
    for number in range(each):
        for user in range(users):
            sent = Sent(f"m8{user:05d}", user % len(SCRIPTS), number)
            text = SCRIPTS[sent.script][number % len(LINES)]
            events.append(text_event(sent.chat[1:], text))
            plan.append((0.0, sent, text))
    body = json.dumps(batch(*events, entries=10)).encode()
    want = sum(len(expected[("m", s.script)][s.position]) for _, s, _ in plan)
    chats = sorted({s.chat for _, s, _ in plan})
    load_start = os.getloadavg()
    cpu_before = cpu_seconds(server.process.pid)
    import httpx

    started = time.perf_counter()
    response = httpx.post(server.base + "/webhooks/messenger", content=body, timeout=60,
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": sign(body)})
    acknowledged = time.perf_counter() - started
    assert response.status_code == 200, response.text
    for _, sent, _ in plan:
        sent.posted, sent.status = started, response.status_code
    deadline = time.monotonic() + 300
    while platforms.arrivals.total(chats) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    done = time.perf_counter() - started
    time.sleep(1.0)
    _, problems = check_chats(plan, platforms, expected)
    return {"events": len(events), "webhook_answered_s": acknowledged, "all_replies_s": done,
            "events_per_s": len(events) / done,
            "cpu_s_per_message": (cpu_seconds(server.process.pid) - cpu_before) / len(events),
            "chats_wrong": len(problems), "problems": problems[:10],
            "load_start": [round(x, 2) for x in load_start],
            "load_end": [round(x, 2) for x in os.getloadavg()]}


# ------------------------------------------------------------------ main

def table(results: dict[str, Any]) -> str:
    lines = ["| rate (msg/s) | answered/s | p50 ms | p95 ms | p99 ms | webhook p95 ms | backlog at "
             "end (inbox+outbox) | drain s | bot CPU-s/msg | PostgreSQL CPU-s/msg | statements"
             "/msg | transactions/msg | checkouts/msg | claims/msg (empty) | RSS MB | wrong chats"
             " | load avg start → end |", "|" + "---|" * 17]
    for r in results["rates"]:
        per = r["per_message"]
        claims = per.get("inbox_claims", 0) + per.get("outbox_claims", 0)
        empty = per.get("inbox_empty_claims", 0) + per.get("outbox_empty_claims", 0)
        backlog_end = r["backlog_at_end"]
        lines.append(
            f"| {r['rate']:g} | {r['answered_per_s']:.1f} | {_ms(r['p50_ms'])} | "
            f"{_ms(r['p95_ms'])} | {_ms(r['p99_ms'])} | {r['webhook_p95_ms']:.0f} | "
            f"{backlog_end['inbox']}+{backlog_end['outbox']} | {r['drain_s']:.1f} | "
            f"{r['cpu_s_per_message']:.4f} | {r['postgres_cpu_s_per_message']:.4f} | "
            f"{per.get('statements', 0):.1f} | {per.get('commits', 0):.1f} | "
            f"{per.get('checkouts', 0):.1f} | {claims:.1f} ({empty:.1f}) | {r['rss_mb']} | "
            f"{r['chats_wrong']} | {r['load_start'][0]:.1f} → {r['load_end'][0]:.1f} |")
    b = results.get("batch")
    if b:
        lines.append(f"\nMessenger 1,000-event batch: webhook answered in "
                     f"{b['webhook_answered_s']:.2f} s, all replies in {b['all_replies_s']:.1f} s"
                     f" ({b['events_per_s']:.0f} events/s), {b['cpu_s_per_message']:.4f} "
                     f"CPU-s/event, wrong chats {b['chats_wrong']}, load average "
                     f"{b['load_start'][0]:.1f} → {b['load_end'][0]:.1f}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="10,25,50,100,150")
    parser.add_argument("--seconds", type=float, default=20.0, help="arrivals per rate")
    parser.add_argument("--handlers", type=int, default=4)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--profile", help="py-spy flame graph of the server (an .svg path)")
    parser.add_argument("--profile-at", type=float, help="the rate profiled (default: the "
                                                         "first)")
    parser.add_argument("--output", default=str(RESULTS / "load.json"))
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                           "load_start": os.getloadavg()}, "rates": []}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, Platforms() as platforms, \
            database("postgresql", Path(tmp)) as url:
        server = Server(url, Path(tmp), platforms, args.handlers)
        try:
            results["startup_s"] = server.wait_ready()
            length = max(10, max(round(5.0 * r * args.seconds / max(1, round(r * 5.0)))
                                 for r in rates))
            expected = asyncio.run(calibrate(server.base, platforms, length))
            for number, rate in enumerate(rates, start=1):
                result = run_rate(server, platforms, rate, args.seconds, expected, number,
                                  args.profile if rate == (args.profile_at or rates[0])
                                  else None)
                results["rates"].append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
                if result["answered"] < result["messages"] - result["webhook_refused"]:
                    print(f"{rate:g} msg/s was not answered in full within the drain time: "
                          "higher rates are not run", flush=True)
                    break
            if not args.no_batch:
                results["batch"] = run_batch(server, platforms, expected)
                print(json.dumps(results["batch"]), flush=True)
        finally:
            server.stop()
            log = Path(tmp) / "server.log"
            errors = [line for line in log.read_text(errors="replace").splitlines()
                      if "ERROR" in line or "Traceback" in line]
            results["server_errors"] = errors[:20]
            if sys.exc_info()[0] is not None:  # failed: show what the server said
                print(log.read_text(errors="replace")[-5000:], file=sys.stderr)
    results["machine"]["load_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print()
    print(table(results))
    print(f"\nload average at end: {os.getloadavg()}; server errors logged: "
          f"{len(results['server_errors'])}")


if __name__ == "__main__":
    main()
