"""Alembic environment: runs against the engine the app built (or the URL in the config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from bot.db.all_models import Base

config = context.config
target_metadata = Base.metadata

# Several workers may start at once on one PostgreSQL: one migrates, the others wait.
_MIGRATION_LOCK = 734_211_001


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            # A migration may rewrite a big table, and waiting for another worker's migration
            # is expected: neither is cut by the engine's statement timeout.
            connection.execute(text("SET statement_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=True, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": _MIGRATION_LOCK})
                connection.execute(text("RESET statement_timeout"))  # the pool's default
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
