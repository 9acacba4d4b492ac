"""Intent accuracy per intent and language, on the held-out split and the independent
report_problem sets, for one trained model: the before/after comparison of an NLU change.

    .venv/bin/python -m bench.nlu_intents [MODEL.tar.gz] [--out bench/results/NAME.json]

Without MODEL, the model for the current data and config (`make model`). The independent sets
(nlu/heldout/independent/report_problem_*.yml) are never trained on; their other files use
intent names outside the contract (issue 18 maps them) and are not scored here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from common.khmer import script_of
from nlu.engine import HELDOUT, NLU_DIR, LocalNlu, load_local

ROOT = Path(__file__).resolve().parent.parent
INDEPENDENT = sorted((NLU_DIR / "heldout" / "independent").glob("report_problem_*.yml"))


def language(text: str) -> str:
    lang = script_of(text) or "en"
    has_latin = any(ch.isascii() and ch.isalpha() for ch in text)
    return "mixed" if lang == "km" and has_latin else lang


def examples(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [(ex.get("text"), ex.get("intent")) for ex in load_data(str(path)).intent_examples]


async def score(nlu: Any, items: list[tuple[str, str]], by_file: str | None = None
                ) -> dict[str, dict[str, list[int]]]:
    """{intent: {language: [right, total]}}; `by_file` names the language instead."""
    table: dict[str, dict[str, list[int]]] = {}
    for text, intent in items:
        parsed = await nlu.parse(text)
        cell = table.setdefault(intent, {}).setdefault(by_file or language(text), [0, 0])
        cell[0] += parsed.intent == intent
        cell[1] += 1
    return table


def render(title: str, table: dict[str, dict[str, list[int]]]) -> str:
    lines = [f"\n{title}", f"{'intent':22} " + " ".join(f"{c:>16}" for c in ("km", "en",
                                                                              "mixed", "all"))]
    for intent in sorted(table):
        cells = table[intent]
        right = sum(c[0] for c in cells.values())
        total = sum(c[1] for c in cells.values())
        shown = [f"{cells[k][0]}/{cells[k][1]} {cells[k][0] / cells[k][1]:.0%}" if k in cells
                 else "-" for k in ("km", "en", "mixed")]
        lines.append(f"{intent:22} " + " ".join(f"{s:>16}" for s in
                                                [*shown, f"{right}/{total} {right / total:.1%}"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    nlu = LocalNlu.load(args.model) if args.model else load_local(ROOT / "models")
    heldout = asyncio.run(score(nlu, examples(HELDOUT)))
    independent: dict[str, dict[str, list[int]]] = {}
    for path in INDEPENDENT:
        name = path.stem.removeprefix("report_problem_")
        part = asyncio.run(score(nlu, examples(path), by_file=name))
        for intent, cells in part.items():
            independent.setdefault(intent, {}).update(cells)
    print(f"model: {nlu.path.name}")
    print(render("held-out split (nlu/heldout/test.yml)", heldout))
    print(render("independent report_problem sets (by file: km, en, mixed; romanised "
                 "below)", independent))
    print("romanised:", {k: v.get("romanised") for k, v in independent.items()})
    if args.out:
        args.out.write_text(json.dumps({"model": nlu.path.name, "heldout": heldout,
                                        "independent": independent}, indent=1) + "\n")


if __name__ == "__main__":
    main()
