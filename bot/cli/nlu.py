"""`isafbot nlu export-reviewed`: the questions reviewed on the dashboard's review page, as
Rasa 3 YAML, into the reviewed file training reads (nlu/data/reviewed.yml) and, for a fixed
share chosen by a hash of each text, the held-out file training never reads
(nlu/heldout/reviewed.yml). Then `isafbot train` (or `make model`) retrains: the model's hash
covers every file of nlu/data/. Cheap to import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_export_reviewed(args: argparse.Namespace) -> int:
    from bot.cli.support import opened
    from bot.dashboard import review_data
    from nlu import reviewed

    with opened(args) as (database, _, _), database.read_session() as session:
        stored = review_data.examples(session)
    examples = []
    for example in stored:  # reviewed earlier: the contract may have changed since
        try:
            examples.append(reviewed.check(example.annotated, reviewed.parse(
                example.annotated)[0], example.intent))
        except reviewed.AnnotationError as error:
            print(f"isafbot: left out {example.annotated!r} ({example.intent}): {error}",
                  file=sys.stderr)
    out = Path(args.out) if args.out else reviewed.REVIEWED
    heldout = Path(args.heldout) if args.heldout else reviewed.REVIEWED_HELDOUT
    training, kept_out = reviewed.export(examples, out, heldout)
    print(f"{training} reviewed examples for training in {out}, "
          f"{kept_out} held out in {heldout}; `isafbot train` retrains")
    return 0


def register_cli(sub: Any) -> None:
    nlu = sub.add_parser("nlu", help="NLU data tools")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)
    export = nlu_sub.add_parser(
        "export-reviewed", help="write the dashboard's reviewed questions as Rasa YAML for "
                                "training (1 in 5 held out for testing)")
    export.add_argument("--out", help="the training file (default: nlu/data/reviewed.yml)")
    export.add_argument("--heldout",
                        help="the held-out file (default: nlu/heldout/reviewed.yml)")
    export.add_argument("--db", help="database URL")
    export.set_defaults(func=cmd_export_reviewed)
