"""Cold start, parse time and memory of the NLU in process (issue 17).

    .venv/bin/python -m bench.cold_start [--runs 5] [--parses 300]

- cold start: `isafbot chat --script` answering one line, from process start to its exit
  (median of `--runs`, wall and CPU seconds, page cache warm after the first run);
- in-process parse: p50 and p95 of `LocalNlu.parse` over the held-out texts (after a warm-up),
  wall and CPU (process time) per parse;
- memory of a process holding the model: RSS and PSS (/proc/self/smaps_rollup).
Prints the load average at start and end: on a shared machine the times are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LINE = {"user": "bench", "text": "how much is a birth certificate"}


def cold_start(runs: int) -> dict[str, Any]:
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "one.jsonl"
        script.write_text(json.dumps(LINE) + "\n")
        for run in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            answer = subprocess.run(
                [sys.executable, "-m", "bot.cli.main", "chat", "--script", str(script),
                 "--db", f"sqlite:///{tmp}/chat{run}.db"], cwd=ROOT, capture_output=True,
                text=True, env={**os.environ, "ISAFBOT_DATA_DIR": tmp}, check=True)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if '"error"' in answer.stdout:
                raise RuntimeError(answer.stdout)
    return {"runs": runs, "wall_median_s": statistics.median(walls),
            "cpu_median_s": statistics.median(cpus), "walls": walls, "cpus": cpus}


def memory() -> dict[str, float]:
    found = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            found[name.lower() + "_mb"] = int(rest.split()[0]) / 1024
    return found


def parses(count: int) -> dict[str, Any]:
    import yaml

    from bot.settings import Settings
    from nlu.engine import HELDOUT, load_local

    settings = Settings.from_env()
    started = time.perf_counter()
    nlu = load_local(settings.model_dir)
    loaded = time.perf_counter() - started
    data = yaml.safe_load(HELDOUT.read_text())
    texts = [line.lstrip("- ").strip() for block in data["nlu"]
             for line in str(block.get("examples", "")).splitlines() if line.strip()]
    texts = [t.replace("[", "").replace("]", "") for t in texts][:count]

    async def run() -> tuple[list[float], list[float]]:
        for text in texts[:20]:
            await nlu.parse(text)
        walls, cpus = [], []
        for text in texts:
            wall, cpu = time.perf_counter(), time.process_time()
            await nlu.parse(text)
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
        return walls, cpus

    walls, cpus = asyncio.run(run())
    ordered = sorted(walls)
    return {"texts": len(texts), "model_load_s": loaded,
            "parse_p50_ms": 1000 * statistics.median(walls),
            "parse_p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
            "parse_cpu_p50_ms": 1000 * statistics.median(cpus),
            "parse_cpu_p95_ms": 1000 * sorted(cpus)[int(0.95 * (len(cpus) - 1))],
            "lean": bool(getattr(nlu.agent, "lean", False)),
            "tensorflow_imported": "tensorflow" in sys.modules, **memory()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parses", type=int, default=300)
    args = parser.parse_args()
    result: dict[str, Any] = {"load_start": os.getloadavg()}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    result["cold_start"] = cold_start(args.runs)
    print(json.dumps(result["cold_start"]), flush=True)
    result["in_process"] = parses(args.parses)
    print(json.dumps(result["in_process"]), flush=True)
    result["load_end"] = os.getloadavg()
    print(f"load average at end: {os.getloadavg()}")
    (ROOT / "bench" / "results" / "cold_start.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
