"""What feature subcommands (`isafbot rounds`, `isafbot caf`, `isafbot meetings`...) share:
content and a migrated database as the bot itself would have them, who is acting (for the
audit), and how a refusal is reported. Cheap to import: the heavy modules load when used."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.db import Database
    from bot.settings import Settings
    from content.model import Content
    from dialogues.core.permissions import Actor


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[tuple[Database, Content, Settings]]:
    """Content (validated) and the migrated database; the database is closed afterwards."""
    from bot.cli.core import _features, _settings
    from bot.db import Database

    settings = _settings(args)
    content = _features(args).load_content(settings.content_dir)
    database = Database.from_settings(settings)
    database.migrate()
    try:
        yield database, content, settings
    finally:
        database.dispose()


def actor(args: argparse.Namespace) -> str:
    """`--by NAME`, or `cli:<login>` of whoever runs the command."""
    return str(args.by or f"cli:{getpass.getuser()}")


def cli_actor(args: argparse.Namespace) -> Actor:
    """Who acts from the CLI, for the permission check (dialogues.core.permissions): whoever
    runs it has the server and its database, so an admin, named as `actor` says."""
    from dialogues.core.permissions import operator

    return operator(actor(args))


def fail(message: str) -> int:
    print(f"isafbot: {message}", file=sys.stderr)
    return 1
