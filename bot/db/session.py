"""Engine, sessions and migrations for one database URL (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema cannot be brought up to date by this version of the code."""


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# Execution option of the read-only sessions' connections (see `_sqlite_begin`).
READ_ONLY = "isafbot_read_only"


class Database:
    """One engine per process and a session per update or job (never shared between them)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url, echo)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False, future=True)
        readers = self.engine.execution_options(**{READ_ONLY: True}) if self.is_sqlite else \
            self.engine.execution_options(postgresql_readonly=True)
        self._readers = sessionmaker(bind=readers, expire_on_commit=False, future=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads (web pages anyone can load, login's password lookup).

        On SQLite it begins a deferred transaction (a snapshot, thanks to WAL) instead of
        BEGIN IMMEDIATE, so it never holds or waits for the single write lock; on PostgreSQL
        the transaction is READ ONLY. On both a write raises instead of being kept."""
        session = self._readers()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (every branch head)."""
        from alembic import command
        from alembic.util.exc import CommandError

        try:
            command.upgrade(alembic_config(self), "heads")
        except CommandError as error:
            raise SchemaError(
                f"cannot migrate the database at {_safe_url(self.url)}: {error} (was it "
                "created by a newer or different version of isaf-bot?)") from error

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(database: Database) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["engine"] = database.engine
    return config


def _make_engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        # A file database keeps a small pool of connections (SQLAlchemy 1.4 would open and
        # close one per session: its PRAGMAs plus a WAL checkpoint on every close).
        pool = {} if _is_memory(url) else {"poolclass": QueuePool, "pool_size": 5,
                                           "max_overflow": 10}
        engine = create_engine(url, echo=echo, future=True, **pool,
                               connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, future=True, pool_pre_ping=True)


def _is_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        # a new directory is the owner's only: the database holds personal data
        Path(path).expanduser().parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that BEGIN IMMEDIATE (below)
    # takes the write lock up front: two writers then wait for each other instead of failing.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Writers take the write lock up front; read-only sessions (`Database.read_session`)
    take none, and query_only makes SQLite refuse their writes."""
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("PRAGMA query_only=ON")
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("PRAGMA query_only=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
