"""Schema and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import Database
from bot.db.all_models import Base

pytestmark = pytest.mark.fresh_database  # the migrations themselves, from an empty file


def test_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            # APScheduler's job store creates and owns its table (scheduler/reminders.py)
            "include_name": lambda name, kind, _parent: not (
                kind == "table" and name == "apscheduler_jobs"),
        })
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    tables = set(inspect(database.engine).get_table_names())
    assert {"users", "conversations", "message_log", "inbound_updates", "outbox"} <= tables


def test_migrating_twice_is_harmless(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    database.migrate()
