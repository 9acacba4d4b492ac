"""Scorecard figures for docs/benchmarks.md: how fast respondents can answer through the real
dialogue engine (one database transaction per message), and how long results take.

    .venv/bin/python -m bench.scorecard_bench                      # SQLite in a temp dir
    .venv/bin/python -m bench.scorecard_bench --db postgresql://root@127.0.0.1:5432/DB

PostgreSQL: give a database made for the run (it is migrated and filled; drop it afterwards).
No NLU model is loaded: the messages are button presses and typed digits, which the survey
understands without it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.bootstrap import bootstrap
from bot.settings import Settings
from common.messages import Incoming, Kind, Reply
from content.surveys.section import surveys_of
from dialogues.core.permissions import operator
from dialogues.scorecard.results import round_results
from dialogues.scorecard.rounds import open_round


def _turn(app: object, user: str, incoming: Incoming, timings: list[float]) -> list[Reply]:
    started = time.perf_counter()
    replies = app.handle_understood(incoming, None)  # type: ignore[attr-defined]
    timings.append(time.perf_counter() - started)
    return list(replies)


def respondent(app: object, facility: str, person: int, timings: list[float]) -> None:
    user = f"bench-{person}"

    def press(payload: str) -> list[Reply]:
        return _turn(app, user, Incoming("console", user, Kind.BUTTON, payload=payload),
                     timings)

    def say(text: str) -> list[Reply]:
        return _turn(app, user, Incoming("console", user, Kind.TEXT, text=text), timings)

    press(f"svy:f:{facility}")
    replies = press("svy:yes:consent")
    for question in range(10):
        score = 1 + (person + question) % 5
        if person % 2:
            replies = say(str(score))
        else:
            buttons = [b.payload for r in replies for b in r.buttons
                       if b.payload.startswith("svy:a:")]
            replies = press(buttons[score - 1])
    say("skip")
    press("svy:skip:profile")
    press("svy:no:notify")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scorecard-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings.from_env({"ISAFBOT_DATABASE_URL": url, "ISAFBOT_DATA_DIR": str(tmp),
                                  "ISAFBOT_SECRET_KEY": "bench-secret-key-0123456789"})
    app = bootstrap(settings, nlu=object())  # type: ignore[arg-type]
    facility = "hc_120809"
    with app.db.session() as session:
        round_id = open_round(session, app.content, facility, by=operator("bench")).id
    timings: list[float] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        list(pool.map(lambda p: respondent(app, facility, p, timings), range(args.respondents)))
    elapsed = time.perf_counter() - started
    timings.sort()
    with app.db.session() as session:
        computed = time.perf_counter()
        results = round_results(session, surveys_of(app.content), round_id)
        results_seconds = time.perf_counter() - computed
    print(f"database: {app.db.engine.dialect.name}; {args.respondents} respondents, "
          f"{args.threads} threads, {len(timings)} messages in {elapsed:.1f} s "
          f"= {len(timings) / elapsed:.0f} messages/s")
    print(f"per message: median {statistics.median(timings) * 1000:.1f} ms, "
          f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms")
    print(f"results of {results.responses} responses computed in {results_seconds * 1000:.0f} ms")
    app.close()


if __name__ == "__main__":
    main()
