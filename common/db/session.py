"""Engine, sessions and migrations for one database URL (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

D = TypeVar("D", bound="Database")


class DatabaseSettings(Protocol):
    """What `Database.from_settings` reads (bot.settings.Settings has it)."""

    @property
    def database_url(self) -> str: ...
    @property
    def db_connect_timeout(self) -> float: ...
    @property
    def db_statement_timeout(self) -> float: ...
    @property
    def db_keepalive_idle(self) -> float: ...


class SchemaError(RuntimeError):
    """The database schema cannot be brought up to date by this version of the code."""


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class DbTimeouts:
    """How long PostgreSQL calls may take, so that a database or network that stops answering
    makes calls fail (and the loops retry) instead of hanging threads, webhooks and shutdown:

    - `connect`: seconds to open a connection (libpq connect_timeout);
    - `statement`: seconds a statement may run on the server (statement_timeout; 0 for none);
      a transaction left idle is ended by the server after twice that (at least a minute);
    - `keepalive_idle`: seconds of silence before TCP keepalives probe a connection (3 probes,
      a third of that apart); TCP_USER_TIMEOUT gives up on unacknowledged data after as long,
      so a connection whose network went dead fails within about twice `keepalive_idle`.

    A waiting thread also gives up on a pooled connection after `connect` + 5 seconds.
    SQLite is a local file: only its busy timeout (30 s) applies.
    """

    connect: float = 5.0
    statement: float = 30.0
    keepalive_idle: float = 30.0

    def postgres_connect_args(self, url: str) -> dict[str, Any]:
        interval = max(1, round(self.keepalive_idle / 3))
        options = [f"-c statement_timeout={round(self.statement * 1000)}",
                   "-c idle_in_transaction_session_timeout="
                   f"{round(max(60.0, 2 * self.statement) * 1000)}"]
        given = make_url(url).query.get("options")
        if given:  # the URL's own options come last: they win
            options.append(given if isinstance(given, str) else " ".join(given))
        return {
            "connect_timeout": max(1, round(self.connect)),
            "keepalives": 1,
            "keepalives_idle": max(1, round(self.keepalive_idle)),
            "keepalives_interval": interval,
            "keepalives_count": 3,
            "tcp_user_timeout": round((self.keepalive_idle + 3 * interval) * 1000),
            "options": " ".join(options),
        }

    def engine_options(self, url: str) -> dict[str, Any]:
        """create_engine() keyword arguments for this URL (also used by APScheduler's job
        store, which has an engine of its own)."""
        if url.startswith("sqlite"):
            return {"connect_args": {"check_same_thread": False, "timeout": 30}}
        return {"connect_args": self.postgres_connect_args(url),
                "pool_timeout": self.connect + 5.0}


def database_unavailable(error: BaseException) -> bool:
    """True for errors that mean "the database cannot be reached or did not answer in time"
    (worth waiting out) rather than "this statement is wrong" (a bug, or bad data)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError,
                              exc.DisconnectionError))


# Execution option of the read-only sessions' connections (see `_sqlite_begin`).
READ_ONLY = "isafbot_read_only"


class Database:
    """One engine per process and a session per update or job (never shared between them).

    `migrations` is the Alembic script directory `migrate()` applies: the app's subclass
    (bot.db.Database) names it, since the migrations see every feature's models."""

    migrations: ClassVar[Path | None] = None

    def __init__(self, url: str, *, echo: bool = False,
                 timeouts: DbTimeouts | None = None) -> None:
        self.url = url
        self.timeouts = timeouts or DbTimeouts()
        self.engine: Engine = _make_engine(url, echo, self.timeouts)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False, future=True)
        readers = self.engine.execution_options(**{READ_ONLY: True}) if self.is_sqlite else \
            self.engine.execution_options(postgresql_readonly=True)
        self._readers = sessionmaker(bind=readers, expire_on_commit=False, future=True)

    @classmethod
    def from_settings(cls: type[D], settings: DatabaseSettings) -> D:
        return cls(settings.database_url, timeouts=DbTimeouts(
            connect=settings.db_connect_timeout, statement=settings.db_statement_timeout,
            keepalive_idle=settings.db_keepalive_idle))

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

    if database.migrations is None:
        raise SchemaError(f"{type(database).__name__} names no migrations to apply")
    config = Config()
    config.set_main_option("script_location", str(database.migrations))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["engine"] = database.engine
    return config


def _make_engine(url: str, echo: bool, timeouts: DbTimeouts) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        # A file database keeps a small pool of connections (SQLAlchemy 1.4 would open and
        # close one per session: its PRAGMAs plus a WAL checkpoint on every close).
        pool = {} if _is_memory(url) else {"poolclass": QueuePool, "pool_size": 5,
                                           "max_overflow": 10}
        engine = create_engine(url, echo=echo, future=True, **pool,
                               **timeouts.engine_options(url))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, echo=echo, future=True, **timeouts.engine_options(url))
    event.listen(engine.pool, "checkin", _note_checkin)
    event.listen(engine.pool, "checkout", _ping_if_idle(engine))
    return engine


# A pooled connection is pinged (a round trip) before use only when it has been idle this long:
# SQLAlchemy's pool_pre_ping pinged at every checkout, a round trip per transaction that the
# profile of the serving path showed as a tenth of the worker's samples. A connection used
# within the last second that died since fails its first statement instead, which every
# caller already treats as "the database is unavailable" (retried, or a 503 to the webhook).
PING_AFTER_IDLE = 1.0


def _note_checkin(_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def checkout(connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("checked_in")
        if last is not None and time.monotonic() - last < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(connection)
        except Exception as error:  # the pool replaces it with a new connection
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("the pooled connection did not answer a ping")

    return checkout


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
