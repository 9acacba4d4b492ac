"""Broadcast benchmark: a CAF's message to N subscribers (default 10,000) through the real
outbox, dispatcher, rate limiter and python-telegram-bot's Bot, to the fake Bot API of the
tests (tests/fake_telegram.py) enforcing Telegram's limits (30 messages/s in any second, 429
above it).

Measured: the time to queue the broadcast (one transaction: N outbox rows), the achieved send
rate as a share of the 30/s limit (from the first to the last message the fake accepted), the
429s the fake answered, duplicates and losses (each recipient must get the message exactly
once), the final statuses (batch_report) and the CAF's final report.

    .venv/bin/python -m bench.broadcast_bench [--recipients 10000] [--db sqlite|postgresql]

Writes bench/results/broadcast.json and prints the figures. About 6 minutes for 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.messenger_bench import database  # noqa: E402

TOKEN = "123456789:AAbenchmarkBroadcastTokenForTheFake"
LIMIT = 30.0
COMMUNE = "120809"


def seed(app: Any, recipients: int) -> int:
    """N Telegram subscribers of the commune (bulk insert) and a CAF; returns the CAF's id."""
    from sqlalchemy import insert, select

    from dialogues.core.models import CafCommune, User
    from dialogues.meetings.models import MeetingSubscription

    with app.db.session() as session:
        session.execute(insert(User), [
            {"channel": "telegram", "channel_user_id": str(1_000_000 + i),
             "language": "km" if i % 2 else "en", "language_chosen": True, "role": "citizen",
             "unreachable": False} for i in range(recipients)])
        ids = session.execute(select(User.id).where(User.channel == "telegram")).scalars()
        session.execute(insert(MeetingSubscription),
                        [{"user_id": uid, "commune_code": COMMUNE} for uid in ids])
        caf = User(channel="console", channel_user_id="caf", language="en",
                   language_chosen=True, role="caf", unreachable=False)
        session.add(caf)
        session.flush()
        session.add(CafCommune(user_id=caf.id, commune_code=COMMUNE))
        return int(caf.id)


async def run(url: str, recipients: int, tmp: Path) -> dict[str, Any]:
    from bot.bootstrap import bootstrap
    from bot.channels.telegram import channel as telegram
    from bot.delivery import Dispatcher
    from bot.settings import Settings
    from dialogues.core.models import User
    from dialogues.core.outbox import batch_report
    from dialogues.meetings import broadcasts, store
    from dialogues.meetings.texts import MeetingTexts
    from tests.fake_telegram import FakeTelegram

    arrivals: list[float] = []
    per_chat: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def on_send(chat_id: str, _params: dict[str, Any]) -> None:
        with lock:
            arrivals.append(time.monotonic())
            per_chat[str(chat_id)] += 1

    with FakeTelegram(TOKEN, record_calls=False, on_send=on_send) as fake:
        fake.enforce_limits(max_per_second=LIMIT)
        settings = Settings.from_env({
            "ISAFBOT_DATABASE_URL": url, "ISAFBOT_DATA_DIR": str(tmp / "var"),
            "ISAFBOT_SECRET_KEY": "bench-secret-key-0123456789",
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url})

        class NoNlu:
            async def parse(self, text: str) -> Any:
                raise RuntimeError("the broadcast benchmark understands nothing")

        app = bootstrap(settings, nlu=NoNlu())  # type: ignore[arg-type]
        caf_id = seed(app, recipients)
        notices = MeetingTexts(app.content, settings.timezone)
        channel = telegram.channel_from_settings(app)
        assert channel is not None
        await channel.bot.initialize()
        dispatcher = Dispatcher(app.db, {"telegram": channel.sender()},
                                {"telegram": channel.limiter()})
        started = time.perf_counter()
        with app.db.session() as session:
            caf = session.get(User, caf_id)
            broadcast = broadcasts.create_broadcast(session, notices, caf, COMMUNE,
                                               "The interface meeting is on Sunday at 14:00 "
                                               "in the commune hall.", now=app.clock.now())
            batch = broadcast.batch
        queued = time.perf_counter() - started
        task = asyncio.create_task(dispatcher.run())
        sending_started = time.monotonic()
        progress_samples = []
        while True:
            await asyncio.sleep(2)
            with app.db.session() as session:
                counts = batch_report(session, batch)
            done = sum(counts.get(s, 0) for s in store.FINAL)
            progress_samples.append((round(time.monotonic() - sending_started), done))
            if done >= recipients:
                break
        with app.db.session() as session:
            reported = broadcasts.report_finished(session, notices, now=app.clock.now())
        await asyncio.sleep(1)  # the report goes to the console CAF: no sender, marked failed
        dispatcher.stop()
        await task
        await channel.bot.shutdown()
        app.close()
        violations = len(fake.limit_violations)

    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    rate = (len(arrivals) - 1) / span if span else 0.0
    expected = {str(1_000_000 + i) for i in range(recipients)}
    return {
        "recipients": recipients,
        "queue_seconds": round(queued, 2),
        "send_seconds": round(span, 1),
        "messages_per_second": round(rate, 2),
        "share_of_limit": round(rate / LIMIT, 3),
        "http_429": violations,
        "duplicates": sum(1 for c in per_chat.values() if c > 1),
        "lost": len(expected - set(per_chat)),
        "statuses": counts,
        "final_report_queued": reported,
        "progress": progress_samples[:: max(1, len(progress_samples) // 10)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        with database(args.db, tmp) as url:
            result = asyncio.run(run(url, args.recipients, tmp))
    result.update({"db": args.db, "python": platform.python_version(),
                   "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores"})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "broadcast.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
