"""Recovery after faults: the real `isafbot run` process under the fault-injection suite's
scenarios (tests/fault_harness.py), measuring how long after the fault ends

- the first reply goes out again (for the database and platform faults, nothing can be sent
  during them; during the NLU outage buttons keep being answered, so that figure is 0 there),
- every message sent before and during the fault has been answered,
- /healthz answers 200 again (0 when it never left 200, see "503 seen").

Each scenario runs without and with a `kill -9` during the fault (the process is started
again while the fault lasts). Two settings: `fast`, the suite's scaled-down retry settings
(tests/fault_harness.py FAST), and `default`, the production defaults (docs/deployment.md),
where what a kill -9 left in hand waits for its 120-second lease.

    .venv/bin/python -m bench.fault_recovery [--settings fast,default] [--only NAME,...]

Needs the PostgreSQL of the tests (ISAFBOT_TEST_POSTGRES_URL). Writes
bench/results/fault_recovery.json and prints a Markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.messenger_bench import database  # noqa: E402
from tests.fault_harness import SCENARIOS, Bot, empty_database, run_scenario  # noqa: E402
from tests.rasa_server import rasa_server  # noqa: E402


def measure(name: str, rasa: str, settings: str, kill: bool) -> dict[str, Any]:
    kind, make_fault = SCENARIOS[name]
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        empty_database(url)
        fault = make_fault()
        bot = Bot(url, rasa, Path(tmp) / "var", fast=settings == "fast")
        try:
            outcome = run_scenario(bot, fault, kill=kill)
        finally:
            bot.close()
    return {"scenario": name, "settings": settings, "kill": kill,
            "fault_seconds": fault.seconds, "messages": outcome.messages,
            "first_answer_after_s": round(outcome.first_answer_after, 2),
            "all_answered_after_s": round(outcome.answered_after, 2),
            "healthy_after_s": round(outcome.healthy_after, 2),
            "saw_503": outcome.saw_503_during_fault(),
            "resent_after_kill": outcome.duplicates,
            "in_flight_at_kill": sum(outcome.in_flight_at_kill.values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", default="fast,default")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                           "platform": platform.platform(),
                                           "python": platform.python_version(),
                                           "load_before": os.getloadavg()}, "runs": rows}
    with rasa_server() as (rasa, _):
        for settings in args.settings.split(","):
            for name in args.only.split(","):
                for kill in (False, True):
                    row = measure(name, rasa, settings, kill)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fault_recovery.json").write_text(json.dumps(results, indent=2))
    print("\n| scenario | settings | kill -9 | first reply | all answered | /healthz 200 | "
          "503 seen | re-sent after kill |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['settings']} | {'yes' if r['kill'] else 'no'} | "
              f"{r['first_answer_after_s']:.1f} s | {r['all_answered_after_s']:.1f} s | "
              f"{r['healthy_after_s']:.1f} s | {'yes' if r['saw_503'] else 'no'} | "
              f"{r['resent_after_kill']} of {r['in_flight_at_kill']} in flight |")
    print(f"\nload average before {results['machine']['load_before']}, "
          f"after {results['machine']['load_after']}")


if __name__ == "__main__":
    main()
