"""`isafbot content import-budget`: a budget CSV into content/budgets/data
(content.budgets.budget_import does the work; this reads the settings and prints)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_import_budget(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from content.budgets.budget_import import import_budget

    settings = Settings.from_env()
    csv_path = Path(args.file)
    result = import_budget(csv_path, settings.content_dir, name=args.name,
                           check_only=args.check, sections=args.features.sections)
    for problem in result.problems:
        print(f"{csv_path.name}: {problem}")
    if result.problems:
        print(f"{len(result.problems)} problem(s): nothing was imported.", file=sys.stderr)
        return 1
    for line in result.summary:
        print(line)
    if result.written and result.target:
        print(f"imported {result.rows} row(s) into {result.target}; restart the bot to use "
              "them")
    else:
        print(f"{result.rows} row(s) are valid (--check: nothing written)")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `import-budget` under `isafbot content`."""
    content = subparsers.choices["content"]
    content_sub = next(action for action in content._actions
                       if isinstance(action, argparse._SubParsersAction))
    parser = content_sub.add_parser("import-budget",
                                    help="import budget figures from a CSV spreadsheet")
    parser.add_argument("file", help="the CSV file (UTF-8; see docs/budget-csv.md)")
    parser.add_argument("--name", help="data file name (default: the CSV file's name)")
    parser.add_argument("--check", action="store_true",
                        help="only check the file, write nothing")
    parser.set_defaults(func=cmd_import_budget)
