"""The fault-injection suite: the real `isafbot run` process (a subprocess) against the fake
Telegram (long polling) and fake Graph API, asking a real Rasa server, with the tests' own TCP
proxy (tests/fault_proxy.py) in front of PostgreSQL, the Rasa server and both platforms.

Each scenario sends citizens' messages before and during a fault, kills the bot with SIGKILL
during the fault and starts it again early enough that the new process meets the fault too,
ends the fault, and asserts:

- every message was stored once, handled once (one message-log row, one outbox row each) and
  answered: the platforms received each reply once, plus at most the documented re-send of the
  outbox rows that were in flight ("sending") at the kill (bot/delivery.py);
- /healthz answered 503 during the fault and 200 after it;
- every supervised loop is up afterwards (the inbox workers, the dispatcher, the scheduler,
  Telegram's polling), read from /metrics.

The recovery times (from the fault's end to every message answered, and to /healthz 200) are
measured, not asserted: bench/fault_recovery.py reports them (docs/benchmarks.md).

Durations. The issue names 5 s for the database cut, 30 s for the NLU server and 60 s for the
platforms. The database cut keeps its 5 s. The others are shortened, with the bot's retry
settings scaled down with them (tests/fault_harness.py FAST; production defaults in
docs/deployment.md), so the same things happen in less time: the NLU server is down for 10 s,
which with a 1-second backoff cap is about ten retries of each waiting update (the old code
failed an update after 5 tries in 0.08 s, so anything past a second proves the point); the
platforms fail for 15 s, 5 s of each kind, which with a 2-second send backoff cap is more
than the 5 attempts after which the old dispatcher gave a message up, in each kind. The
database down at start lasts 8 s, long enough for the process to answer /healthz and be
killed and restarted while it waits. On SQLite the scenarios that need no network database
run too (the NLU server down, the platforms failing); on PostgreSQL all four. About 2.5
minutes in all on 2 cores, plus the Rasa server's start, shared with the other tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault_harness import SCENARIOS, Bot, empty_database, run_scenario


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_bot_outlives_the_fault_and_answers_everything_once(
        name: str, request: pytest.FixtureRequest, tmp_path: Path, rasa_url: str) -> None:
    database, make_fault = SCENARIOS[name]
    url = request.getfixturevalue("postgres_url") if database == "postgresql" \
        else f"sqlite:///{tmp_path / 'isafbot.db'}"
    empty_database(url)
    fault = make_fault()
    bot = Bot(url, rasa_url, tmp_path / "var")
    try:
        outcome = run_scenario(bot, fault, kill=True)
    finally:
        bot.close()
    assert outcome.saw_503_during_fault(), outcome.health
    assert outcome.restarted_during_fault(), "the restarted process never met the fault"
    assert outcome.messages > 10
