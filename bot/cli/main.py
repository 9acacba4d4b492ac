"""`isafbot`: the command line. Every sub-command comes from a feature record (bot.features):
the core record's (chat, train, parse, content, run, db) and each feature's own."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from bot.settings import SettingsError

if TYPE_CHECKING:
    from bot.features import Features


def build_parser(features: Features | None = None) -> argparse.ArgumentParser:
    """The parser with the sub-commands of every record, in the records' order (a record may
    add to an earlier one's command, as budgets adds `content import-budget`)."""
    if features is None:
        from bot.features import FEATURES  # here, not above: bot.features imports bot.cli

        features = FEATURES
    parser = argparse.ArgumentParser(prog="isafbot", description=__doc__)
    parser.set_defaults(features=features)  # every command builds from the same records
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in features.commands:
        commands(sub)
    return parser


def _quiet_libraries() -> None:
    """Rasa's dependencies print deprecation warnings nobody using the bot can act on."""
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if sys.warnoptions:  # the user asked for warnings (python -W ...): show them all
        return
    show = warnings.showwarning
    noise = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)

    def show_useful(message: Warning | str, category: type[Warning], filename: str,
                    lineno: int, file: Any = None, line: str | None = None) -> None:
        # Libraries reset the warning filters while they import; this cannot be undone.
        if not issubclass(category, noise):
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = show_useful


def main(argv: list[str] | None = None, *, features: Features | None = None) -> int:
    _quiet_libraries()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from common.redact import Redactor, protect

    protect(Redactor.from_env(os.environ), handlers=logging.getLogger().handlers)
    args = build_parser(features).parse_args(argv)
    from common.db.session import SchemaError
    from content.loader import ContentError
    from nlu.engine import NluError

    try:
        return int(args.func(args))
    except (ContentError, SettingsError, NluError, SchemaError) as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
