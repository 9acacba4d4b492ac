"""In-process parse time, Rasa's Agent against nlu/pipeline.py, on the same model and texts,
interleaved text by text in one process so both see the same machine load (issue 17).

    .venv/bin/python -m bench.parse_ab [--texts 300] [--rounds 3]

CPU time of the parsing thread (time.thread_time) and wall time per parse; p50 and p95 of each.
Results in bench/results/parse_ab.json. Imports TensorFlow (the Agent's path needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(1000 * statistics.median(ordered), 3),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from nlu.engine import (
        HELDOUT,
        _load_agent,
        _parse_in_thread,
        _quiet_rasa,
        cache_dir,
        model_path,
    )
    from nlu.pipeline import load_pipeline

    _quiet_rasa()
    model = model_path(ROOT / "models")
    load_start = os.getloadavg()
    paths: dict[str, Any] = {"pipeline": load_pipeline(model, cache=cache_dir(model)),
                             "agent": _load_agent(model)}
    data = yaml.safe_load(HELDOUT.read_text())
    texts = [line.lstrip("- ").strip().replace("[", "").replace("]", "")
             for block in data["nlu"] for line in str(block.get("examples", "")).splitlines()
             if line.strip()][: args.texts]
    for text in texts[:20]:
        for runner in paths.values():
            _parse_in_thread(runner, text)
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    wall: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for text in texts:
            for name, runner in paths.items():
                started, ticks = time.perf_counter(), time.thread_time()
                _parse_in_thread(runner, text)
                cpu[name].append(time.thread_time() - ticks)
                wall[name].append(time.perf_counter() - started)
    result = {"texts": len(texts), "rounds": args.rounds, "load_start": load_start,
              "load_end": os.getloadavg(),
              **{name: {"cpu": _summary(cpu[name]), "wall": _summary(wall[name])}
                 for name in paths}}
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results" / "parse_ab.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
