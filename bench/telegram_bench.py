"""Telegram end-to-end benchmark: simulated chats talking to the bot through its webhook.

Each of N chats (default 200) sends M messages (default 10: commands, questions, button presses,
a sticker or a voice note; half the chats in English, half in Khmer). Like a person, a chat
sends its next message only when the bot's whole answer to the previous one arrived. Updates go
over real HTTP to the project's web app (uvicorn on 127.0.0.1, webhook mode, secret token
checked), through the inbox, the real NLU model, the dialogues, the outbox, the dispatcher and
the rate limiter, to python-telegram-bot's Bot, which sends to the fake Bot API of the tests
(tests/fake_telegram.py) enforcing Telegram's limits (30 messages/s, 1/s per chat with bursts
of 3: anything above is answered 429 and counted).

Measured: throughput (updates answered per second, Bot API messages per second), reply latency
(from posting an update to the last message of its answer arriving at the fake; p50, p95,
max), webhook answer time (as the poster saw it, through at most `--connections` connections
like Telegram's max_connections, and inside the handler), and correctness: every chat's
messages are compared with what the console app answers to the same script, so lost and
duplicated replies (both must be zero) and wrong ones are counted.

    .venv/bin/python -m bench.telegram_bench [--chats 200] [--messages 10]
        [--db sqlite|postgresql|both] [--workers 4] [--connections 40] [--no-limits]

Writes bench/results/telegram.json and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.messenger_bench import database, percentile  # noqa: E402

# (action, value): text (commands included), press (a button payload), or a kind of media.
ENGLISH = [("text", "/start"), ("text", "how much is a birth certificate"),
           ("press", "svc:birth_certificate:place"), ("text", "what documents for an ID card"),
           ("media", "sticker"), ("text", "/help"), ("press", "svcs"),
           ("press", "svc:family_book"), ("text", "thank you"), ("text", "bye")]
KHMER = [("text", "/start"), ("text", "ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន"),
         ("press", "svc:birth_certificate:documents"), ("text", "អត្តសញ្ញាណប័ណ្ណធ្វើនៅណា"),
         ("media", "voice"), ("text", "/help"), ("press", "svcs"), ("press", "svc:id_card"),
         ("text", "អរគុណ"), ("text", "លាហើយ")]


def expected_messages(console: Any, script: list[tuple[str, str]], language: str
                      ) -> list[list[str]]:
    """What Telegram should show for each step: the console app's replies, rendered into Bot
    API messages (texts or captions) exactly as the sender renders them."""
    from bot.channels.telegram.outbound import render
    from common.messages import Incoming, Kind

    kinds = {"sticker": Kind.STICKER, "voice": Kind.VOICE}
    user = f"calibration-{language}"
    steps = []
    for action, value in script:
        if action == "text" and value.startswith("/"):
            command, _, argument = value[1:].partition(" ")
            incoming = Incoming("console", user, Kind.COMMAND, text=value, command=command,
                                argument=argument or None, language_hint=language)
        elif action == "text":
            incoming = Incoming("console", user, Kind.TEXT, text=value, language_hint=language)
        elif action == "press":
            incoming = Incoming("console", user, Kind.BUTTON, payload=value,
                                language_hint=language)
        else:
            incoming = Incoming("console", user, kinds[value], language_hint=language)
        replies = asyncio.run(console.handle(incoming))
        steps.append([part.text or "" for reply in replies for part in render(reply)])
    return steps


class Chats:
    """Messages the fake Bot API accepted, per chat, timed on arrival (the fake's threads tell
    the event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.received: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
        self.waiting: dict[str, tuple[int, asyncio.Event]] = {}

    def on_send(self, chat: str, record: dict[str, Any]) -> None:  # a fake's thread
        at = time.perf_counter()
        text = str(record.get("text") or record.get("caption") or "")
        self.loop.call_soon_threadsafe(self._arrived, chat, at, text)

    def _arrived(self, chat: str, at: float, text: str) -> None:
        self.received[chat].append((at, text))
        waiting = self.waiting.get(chat)
        if waiting and len(self.received[chat]) >= waiting[0]:
            waiting[1].set()

    async def until(self, chat: str, count: int, timeout: float) -> float | None:
        """When the chat's `count`-th message arrived (None: not within `timeout`)."""
        if len(self.received[chat]) < count:
            event = asyncio.Event()
            self.waiting[chat] = (count, event)
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except asyncio.TimeoutError:
                return None
            finally:
                self.waiting.pop(chat, None)
        return self.received[chat][count - 1][0]


async def drive(live: Any, tg: Any, chats: Chats, plans: dict[int, tuple[list[tuple[str, str]],
                list[list[str]], str]], timeout: float, connections: int) -> dict[str, Any]:
    import httpx

    from tests.test_telegram import SECRET

    latencies: list[float] = []
    acks: list[float] = []
    errors: list[str] = []
    timeouts = 0
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as http:

        async def chat(chat_id: int) -> None:
            nonlocal timeouts
            script, expected, language = plans[chat_id]
            total = 0
            for (action, value), answer in zip(script, expected, strict=True):
                if action == "text":
                    update = tg.text_update(chat_id, value, language=language)
                elif action == "press":
                    update = tg.callback_update(chat_id, value, language=language)
                else:
                    update = tg.media_update(chat_id, value, language=language)
                total += len(answer)
                started = time.perf_counter()
                for _ in range(5):  # Telegram redelivers what did not get a 200
                    try:
                        response = await http.post(
                            "/webhooks/telegram", content=json.dumps(update),
                            headers={"Content-Type": "application/json",
                                     "X-Telegram-Bot-Api-Secret-Token": SECRET})
                    except httpx.TransportError as error:
                        # a kept-alive connection the server closed as it was reused
                        errors.append(f"{type(error).__name__}: {error}")
                        continue
                    if response.status_code == 200:
                        break
                    errors.append(f"{response.status_code}: {response.text[:100]}")
                acks.append(time.perf_counter() - started)
                arrived = await chats.until(str(chat_id), total, timeout)
                if arrived is None:
                    timeouts += 1
                    return  # this chat's user gave up: counted as lost below
                latencies.append(arrived - started)

        started = time.perf_counter()
        await asyncio.gather(*(chat(chat_id) for chat_id in plans))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "latencies": latencies, "acks": acks, "timeouts": timeouts,
            "errors": errors}


@contextlib.contextmanager
def timed_webhook() -> Iterator[list[float]]:
    """Time the webhook handler itself (secret, body, store, answer), server side."""
    from bot.channels.telegram.channel import TelegramChannel

    seconds: list[float] = []
    original = TelegramChannel.receive

    async def receive(self: Any, request: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, request)
        finally:
            seconds.append(time.perf_counter() - started)

    TelegramChannel.receive = receive  # type: ignore[method-assign]
    try:
        yield seconds
    finally:
        TelegramChannel.receive = original  # type: ignore[method-assign]


def run(args: argparse.Namespace, db: str, nlu: Any) -> dict[str, Any]:
    from bot.bootstrap import bootstrap
    from bot.ratelimit import Limits, RateLimiter
    from tests.conftest import make_settings
    from tests.fake_telegram import FakeTelegram
    from tests.test_telegram import TOKEN, LiveServer, telegram_env

    loop = asyncio.new_event_loop()
    chats = Chats(loop)
    with tempfile.TemporaryDirectory() as tmp, database(db, Path(tmp)) as url, \
            FakeTelegram(TOKEN, record_calls=False, on_send=chats.on_send) as tg:
        console = bootstrap(make_settings(Path(tmp) / "console",
                                          f"sqlite:///{Path(tmp) / 'console.db'}"), nlu=nlu)
        scripts = {"en": ENGLISH[:args.messages], "km": KHMER[:args.messages]}
        expected = {lang: expected_messages(console, script, lang)
                    for lang, script in scripts.items()}
        console.close()
        plans = {}
        for n in range(args.chats):
            language = "en" if n % 2 == 0 else "km"
            plans[7_000_000 + n] = (scripts[language], expected[language], language)
        env = {**telegram_env(tg, webhook=True), "TELEGRAM_TIMEOUT": "10",
               "TELEGRAM_RETRY_SECONDS": "5"}  # production defaults, not the tests' short ones
        app = bootstrap(make_settings(Path(tmp), url, **env), nlu=nlu)
        if args.no_limits:
            tg_limits = None
        else:
            tg_limits = {"max_per_second": 30, "per_chat_per_second": 1, "chat_burst": 3}
            tg.enforce_limits(**tg_limits)
        with timed_webhook() as handler, LiveServer(app, tg, workers=args.workers) as live:
            if args.no_limits:  # what the pipeline itself can do
                free = RateLimiter(Limits(per_second=10_000, burst=100, per_chat_per_second=100,
                                          chat_burst=100))
                live.runtime.dispatcher.limiters["telegram"] = free
                live.runtime.dispatcher.senders["telegram"].limiter = free  # type: ignore
            tg.wait_for(lambda: tg.counts["getMe"] > 0)
            load_before = os.getloadavg()
            outcome = loop.run_until_complete(drive(live, tg, chats, plans, args.timeout,
                                                    args.connections))
            load_after = os.getloadavg()
            live.wait_idle(timeout=600)  # anything still in flight (a duplicate would show)
            loop.run_until_complete(asyncio.sleep(1.0))
        app.close()
        lost = duplicated = wrong = 0
        for chat_id, (_, answers, _) in plans.items():
            want = [text for answer in answers for text in answer]
            got = [text for _, text in chats.received[str(chat_id)]]
            lost += max(0, len(want) - len(got))
            duplicated += max(0, len(got) - len(want))
            wrong += sum(1 for a, b in zip(want, got, strict=False) if a != b)
        updates = len(outcome["latencies"])
        messages = sum(len(v) for v in chats.received.values())
        latencies, acks = outcome["latencies"], outcome["acks"]
        return {
            "database": db, "chats": args.chats, "messages_per_chat": args.messages,
            "workers": args.workers, "telegram_limits": tg_limits,
            "seconds": round(outcome["seconds"], 1),
            "updates_answered": updates,
            "updates_per_s": round(updates / outcome["seconds"], 1),
            "bot_api_messages": messages,
            "bot_api_messages_per_s": round(messages / outcome["seconds"], 1),
            "latency_p50_s": round(percentile(latencies, 0.5), 2),
            "latency_p95_s": round(percentile(latencies, 0.95), 2),
            "latency_max_s": round(max(latencies), 2),
            "webhook_ack_p50_ms": round(1000 * statistics.median(acks), 1),
            "webhook_ack_p95_ms": round(1000 * percentile(acks, 0.95), 1),
            "webhook_handler_p50_ms": round(1000 * statistics.median(handler), 1),
            "webhook_handler_p95_ms": round(1000 * percentile(handler, 0.95), 1),
            "webhook_handler_max_ms": round(1000 * max(handler), 1),
            "client_connections": args.connections,
            "lost_replies": lost, "duplicated_replies": duplicated, "wrong_replies": wrong,
            "chats_timed_out": outcome["timeouts"],
            "webhook_errors": outcome["errors"],
            "answered_429": len(tg.limit_violations),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}",
            "load_average_before": [round(x, 1) for x in load_before],
            "load_average_after": [round(x, 1) for x in load_after],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10, choices=range(1, 11))
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=40,
                        help="parallel webhook connections (Telegram's max_connections "
                             "default is 40)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds a simulated user waits for an answer")
    parser.add_argument("--no-limits", action="store_true",
                        help="lift Telegram's limits (fake and rate limiter): the pipeline alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from nlu.engine import LocalNlu, train

    nlu = LocalNlu.load(train(ROOT / "models")[0])
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "telegram.json" if (args.chats, args.messages) == (200, 10) else \
        f"telegram-{args.chats}x{args.messages}.json"
    path = RESULTS / name
    previous = json.loads(path.read_text()) if path.exists() else {}
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        results = run(args, db, nlu)
        previous[f"{db}{'-no-limits' if args.no_limits else ''}"] = results
        path.write_text(json.dumps(previous, indent=2, ensure_ascii=False))
        print(json.dumps(results, indent=2), flush=True)


if __name__ == "__main__":
    main()
