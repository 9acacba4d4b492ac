"""NLU benchmark: our pipeline against Rasa's stock one, on the same data and held-out split.

For each pipeline: training time, model load time (fresh process), intent accuracy per language
and entity recall on the held-out split, parse latency p50/p95 in-process, and the cold start of
`isafbot chat --script` to its first reply (a fresh process, model on disk, nothing cached).
When the dashboard's reviewed questions were exported (`isafbot nlu export-reviewed`), their
held-out share (nlu/heldout/reviewed.yml, never trained on) is scored too: `reviewed_heldout`.

    .venv/bin/python -m bench.nlu_bench [--only NAME] [--runs N]

Writes bench/results/nlu.json and prints a Markdown table (quoted in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MODELS = ROOT / "var" / "bench-models"
PIPELINES = {
    "khmer-lr-crf (default)": ROOT / "nlu" / "config.yml",
    "khmer-diet": ROOT / "bench" / "configs" / "khmer-diet.yml",
    "stock-whitespace-diet": ROOT / "bench" / "configs" / "stock-diet.yml",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def language(text: str) -> str:
    from common.khmer import script_of

    lang = script_of(text) or "en"
    return "mixed" if lang == "km" and any(c.isascii() and c.isalpha() for c in text) else lang


def load_seconds(model: Path) -> float:
    """Model load in a fresh process (imports included), as the bot pays it at start."""
    code = ("import time; t = time.perf_counter(); from nlu.engine import LocalNlu; "
            f"LocalNlu.load(__import__('pathlib').Path({str(model)!r})); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def cold_start_seconds(model: Path) -> float:
    """Process start to the first reply of `isafbot chat --script` (fresh database)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ISAFBOT_DATA_DIR": tmp, "ISAFBOT_NLU_MODEL": str(model)}
        line = json.dumps({"user": "u1", "text": "how much is a birth certificate"}) + "\n"
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "chat", "--script", "-"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        assert process.stdin and process.stdout
        process.stdin.write(line.encode())
        process.stdin.flush()
        first = process.stdout.readline()
        elapsed = time.perf_counter() - started
        process.stdin.close()
        process.wait(timeout=60)
        assert b"replies" in first, first
        return elapsed


def heldout_examples(path: Path) -> list[Any]:
    from rasa.shared.nlu.training_data.loading import load_data

    return list(load_data(str(path)).intent_examples) if path.exists() else []


def evaluate(model: Path, heldout: Path | None = None) -> dict[str, Any]:
    from nlu.engine import HELDOUT, LocalNlu

    nlu = LocalNlu.load(model)
    examples = heldout_examples(heldout or HELDOUT)
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    entities_expected = entities_found = 0
    latencies: list[float] = []

    async def run() -> None:
        nonlocal entities_expected, entities_found
        for example in examples[:20]:  # warm-up
            await nlu.parse(example.get("text"))
        for example in examples:
            text = example.get("text")
            started = time.perf_counter()
            parsed = await nlu.parse(text)
            latencies.append((time.perf_counter() - started) * 1000)
            lang = language(text)
            totals[lang] += 1
            right[lang] += parsed.intent == example.get("intent")
            got = {(e.entity, e.value) for e in parsed.entities}
            for entity in example.get("entities") or []:
                entities_expected += 1
                entities_found += (entity["entity"], str(entity["value"])) in got

    asyncio.run(run())
    accuracy = {lang: right[lang] / totals[lang] for lang in totals}
    km_total = totals["km"] + totals["mixed"]
    accuracy["km+mixed"] = (right["km"] + right["mixed"]) / km_total if km_total else 0.0
    return {
        "examples": dict(totals),
        "intent_accuracy": {k: round(v, 4) for k, v in accuracy.items()},
        "entity_recall": round(entities_found / max(1, entities_expected), 4),
        "parse_ms_p50": round(percentile(latencies, 0.5), 2),
        "parse_ms_p95": round(percentile(latencies, 0.95), 2),
    }


def bench(name: str, config: Path, runs: int) -> dict[str, Any]:
    from nlu.engine import TRAINING_DATA, train

    started = time.perf_counter()
    model, trained = train(MODELS, config=config, data=TRAINING_DATA)
    result: dict[str, Any] = {"pipeline": name, "config": str(config.relative_to(ROOT))}
    result["train_seconds"] = round(time.perf_counter() - started, 1) if trained else None
    result["model_mb"] = round(model.stat().st_size / 1e6, 1)
    result["load_seconds"] = [round(load_seconds(model), 2) for _ in range(runs)]
    result["cold_start_to_first_reply_seconds"] = [round(cold_start_seconds(model), 2)
                                                   for _ in range(runs)]
    result.update(evaluate(model))
    from nlu.reviewed import REVIEWED_HELDOUT

    if heldout_examples(REVIEWED_HELDOUT):  # the reviewed questions' held-out share
        result["reviewed_heldout"] = evaluate(model, REVIEWED_HELDOUT)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="one pipeline name (substring)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    for name, config in PIPELINES.items():
        if args.only and args.only not in name:
            continue
        print(f"== {name}", flush=True)
        result = bench(name, config, args.runs)
        print(json.dumps(result, indent=2), flush=True)
        results.append(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "date": time.strftime("%Y-%m-%d")}
    out = RESULTS / ("nlu.json" if not args.only else f"nlu-{args.only}.json")
    out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print("\n| pipeline | intent acc. km+mixed | intent acc. en | entity recall | parse p50 / p95 "
          "| load | cold start to 1st reply | train |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        acc = r["intent_accuracy"]
        print(f"| {r['pipeline']} | {acc.get('km+mixed', 0):.1%} | {acc.get('en', 0):.1%} | "
              f"{r['entity_recall']:.1%} | {r['parse_ms_p50']} / {r['parse_ms_p95']} ms | "
              f"{statistics.median(r['load_seconds']):.1f} s | "
              f"{statistics.median(r['cold_start_to_first_reply_seconds']):.1f} s | "
              f"{r['train_seconds']:.0f} s |")
    for r in results:
        if "reviewed_heldout" in r:
            reviewed = r["reviewed_heldout"]
            print(f"reviewed questions held out, {r['pipeline']}: {reviewed['examples']} "
                  f"examples, intent accuracy {reviewed['intent_accuracy']}, entity recall "
                  f"{reviewed['entity_recall']:.1%}")


if __name__ == "__main__":
    main()
