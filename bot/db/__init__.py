"""The app's storage plumbing: common's engine and sessions, migrated by the one Alembic
history in bot/db/migrations (whose env imports every feature's models, bot.db.all_models)."""

from __future__ import annotations

from pathlib import Path

from common.db import Database as _CommonDatabase

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Database(_CommonDatabase):
    """The database every entry point opens: `migrate()` applies bot/db/migrations."""

    migrations = MIGRATIONS


__all__ = ["MIGRATIONS", "Database"]
