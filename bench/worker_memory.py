"""Memory of `isafbot run --workers N` with the NLU model in process (issue 17): RSS and PSS of
each worker and of the parent, workers forked after the model is loaded (the default) or spawned
by uvicorn (ISAFBOT_PRELOAD=no), once each worker's memory stops growing (model loaded).

    .venv/bin/python -m bench.worker_memory [--workers 1 2 4] [--modes fork spawn]

Results in bench/results/worker_memory.json. PSS (proportional set size) counts a page shared
by k processes as 1/k in each: the sum of the PSS of all the processes is what they cost the
machine together, which RSS (every shared page counted in full in every process) overstates.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smaps(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            found[name.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return found


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def settled(pids: list[int]) -> dict[int, dict[str, float]]:
    """Each worker's memory once it stops growing (a spawned worker loads the model in the
    background after it answers /healthz)."""
    last: dict[int, dict[str, float]] = {}
    for _ in range(150):
        now = {pid: smaps(pid) for pid in pids}
        if last and all(abs(now[p]["rss_mb"] - last[p]["rss_mb"]) < 2 for p in pids) \
                and all(m["rss_mb"] > 150 for m in now.values()):
            return now
        last = now
        time.sleep(3)
    return last


def measure(workers: int, mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {**os.environ, "ISAFBOT_DATABASE_URL": f"sqlite:///{tmp}/bot.db",
               "ISAFBOT_DATA_DIR": tmp, "ISAFBOT_HTTP_PORT": str(port),
               "ISAFBOT_SECRET_KEY": "bench-secret-key-0123456789",
               "ISAFBOT_PRELOAD": "yes" if mode == "fork" else "no"}
        env.pop("ISAFBOT_NLU_URL", None)
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--workers",
                                   str(workers), "--handlers", "2"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            seen: set[int] = set()
            deadline = time.monotonic() + 600
            while len(seen) < workers and time.monotonic() < deadline:
                assert server.poll() is None, server.communicate()[1][-3000:]
                try:
                    with httpx.Client(timeout=30) as http:  # a new connection each time
                        health = http.get(f"http://127.0.0.1:{port}/healthz")
                        seen.add(health.json()["pid"])
                except (httpx.TransportError, ValueError):
                    time.sleep(0.5)
            ready = time.perf_counter() - started
            pids = [pid for pid in children(server.pid) if pid in seen] or sorted(seen)
            per_worker = settled(pids)
            # --workers 1 is one process (no parent)
            parent = smaps(server.pid) if server.pid not in pids else {"rss_mb": 0.0,
                                                                        "pss_mb": 0.0}
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
    total_pss = sum(m["pss_mb"] for m in per_worker.values()) + parent["pss_mb"]
    return {"workers": workers, "mode": mode, "all_ready_s": round(ready, 1),
            "parent": parent, "per_worker": list(per_worker.values()),
            "total_pss_mb": round(total_pss, 1), "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--modes", nargs="+", default=["fork", "spawn"])
    args = parser.parse_args()
    results = []
    for mode in args.modes:
        for workers in args.workers:
            result = measure(workers, mode)
            print(json.dumps(result), flush=True)
            results.append(result)
    (ROOT / "bench" / "results" / "worker_memory.json").write_text(
        json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
