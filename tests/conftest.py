"""Shared fixtures: real databases (SQLite and the PostgreSQL on 127.0.0.1), the real trained
NLU model (loaded once per session), and an app wired by `bootstrap` exactly as in production.

PostgreSQL is required: when it cannot be reached the PostgreSQL tests fail, they are never
skipped silently (set ISAFBOT_TEST_POSTGRES=skip to skip them explicitly on a laptop).
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from bot.bootstrap import App, bootstrap
from bot.db import Database
from bot.settings import Settings
from common.db import Base
from common.messages import Incoming, Kind, Reply
from tests.fake_nlu import RecordedNlu

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis (tests/test_fuzz.py): a modest budget so `make test` stays fast; CI runs the same
# examples every time (derandomized, no example database); ISAFBOT_FUZZ=deep for a long local
# run (`ISAFBOT_FUZZ=deep .venv/bin/pytest tests/test_fuzz.py`). The fuzz tests share one app
# and fake platforms across their examples on purpose: function-scoped fixtures are fine.
_SHARED = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                       HealthCheck.too_slow,
                                                       HealthCheck.data_too_large]}
settings.register_profile("default", max_examples=40, **_SHARED)
settings.register_profile("ci", max_examples=40, derandomize=True, database=None, **_SHARED)
settings.register_profile("deep", max_examples=2000, **_SHARED)
settings.load_profile(os.environ.get("ISAFBOT_FUZZ") or
                      ("ci" if os.environ.get("CI") else "default"))
POSTGRES_ADMIN_URL = os.environ.get("ISAFBOT_TEST_POSTGRES_URL",
                                    "postgresql://root@127.0.0.1:5432/test")


# ------------------------------------------------------------------ network guard

@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never talk to anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") \
                and not host.startswith("/"):
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


# ------------------------------------------------------------------ databases

@contextmanager
def scratch_database(kind: str, directory: Path, prefix: str = "isafbot_scratch"
                     ) -> Iterator[str]:
    """A new, empty database (no schema) for a test or a benchmark run: a SQLite file in
    `directory`, or a database on the test PostgreSQL, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'{prefix}-{uuid.uuid4().hex[:6]}.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if os.environ.get("ISAFBOT_TEST_POSTGRES") == "skip":
        pytest.skip("ISAFBOT_TEST_POSTGRES=skip")
    with scratch_database("postgresql", tmp_path_factory.getbasetemp(),
                          prefix="isafbot_test") as url:
        Database(url).migrate()
        yield url


def _truncate(url: str) -> None:
    engine = create_engine(url, future=True)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker): each test's database starts
    as a copy of it, as PostgreSQL's starts from the session's migrated, emptied database.
    Running every migration for each test cost about a second a test (minutes a run)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "isafbot.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()  # the last connection closed checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _sqlite_file(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's SQLite database: a copy of the migrated template (migrating it again is a
    no-op), or an empty file for tests marked `fresh_database` (the migrations' own tests)."""
    path = tmp_path / "isafbot.db"
    if request.node.get_closest_marker("fresh_database") is None:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a new SQLite file and on an emptied PostgreSQL."""
    if request.param == "sqlite":
        return _sqlite_file(request, tmp_path)
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _sqlite_file(request, tmp_path)


# ------------------------------------------------------------------ content to break

@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the bundled content for a test to break (files only, no code)."""
    from content.loader import CONTENT_DIR

    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file (which must contain it) with `new`."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ------------------------------------------------------------------ settings and app

def make_settings(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    env = {
        "ISAFBOT_DATABASE_URL": database_url,
        "ISAFBOT_DATA_DIR": str(tmp_path / "var"),
        "ISAFBOT_MODEL_DIR": str(ROOT / "models"),
        "ISAFBOT_SECRET_KEY": "test-secret-key-0123456789",
        **extra,
    }
    return Settings.from_env(env)


@functools.cache
def real_nlu() -> Any:
    """The real model for the current data and config (trained here if `make` did not),
    loaded once per session."""
    from nlu.engine import LocalNlu, train

    models = ROOT / "models"
    models.mkdir(exist_ok=True)
    # Under pytest-xdist each worker is a process of its own: one trains (when `make` did not),
    # the other waits for the lock and finds the model there.
    with (models / ".train.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path, _ = train(models)
    return LocalNlu.load(path)


@pytest.fixture(scope="session")
def nlu() -> Any:
    """The real model. Dialogue test modules override this fixture with `recorded_nlu`."""
    return real_nlu()


@pytest.fixture(scope="session")
def recorded_nlu() -> Iterator[RecordedNlu]:
    """The real model's recorded answers (tests/fake_nlu.py): dialogue tests without the
    model. While recording (ISAFBOT_RECORD_NLU), the table is written at the end."""
    recorded = RecordedNlu.from_environment(real_nlu)
    yield recorded
    recorded.save()


@pytest.fixture(scope="session")
def rasa_url() -> Iterator[str]:
    """A real Rasa server (`rasa run --enable-api`) with the current model, started once per
    session for every test that asks it through RemoteNlu."""
    from tests.rasa_server import rasa_server

    with rasa_server() as (url, _):
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings: Settings, nlu: Any) -> Iterator[App]:
    application = bootstrap(settings, nlu=nlu)
    yield application
    application.close()


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_url: str, nlu: Any) -> Iterator[App]:
    application = bootstrap(make_settings(tmp_path, sqlite_url), nlu=nlu)
    yield application
    application.close()


@pytest.fixture
def make_app(tmp_path: Path, database_url: str, nlu: Any) -> Iterator[Callable[..., App]]:
    """Apps with a channel's settings (given as environment variables), closed after the
    test: the platform tests make one per channel."""
    made: list[App] = []

    def make(env: dict[str, str]) -> App:
        made.append(bootstrap(make_settings(tmp_path, database_url, **env), nlu=nlu))
        return made[-1]

    yield make
    for application in made:
        application.close()


@pytest.fixture
def console_app(tmp_path: Path, nlu: Any) -> Iterator[App]:
    """A second, independent app on its own SQLite file: a platform's conversation is
    compared with the same conversation on the console."""
    application = bootstrap(make_settings(tmp_path / "console",
                                          f"sqlite:///{tmp_path / 'console.db'}"), nlu=nlu)
    yield application
    application.close()


@pytest.fixture
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dashboard tests log in hundreds of times: scrypt at N=2^10 instead of the production
    cost (OWASP's 2^17: 0.4 s and 128 MiB a hash). The same code runs; the tests of the cost
    and of rehashing do not use this."""
    from bot.dashboard import auth

    monkeypatch.setattr(auth, "PASSWORD_COST", auth.ScryptCost(2**10, 8, 1))


@pytest.fixture
def board(tmp_path: Path, database_url: str, quick_passwords: None) -> Iterator[App]:
    """A dashboard app (no NLU) with the accounts of tests/dashboard_helpers."""
    from tests.dashboard_helpers import add_accounts, dashboard_app

    application = dashboard_app(tmp_path, database_url)
    add_accounts(application)
    yield application
    application.close()


# ------------------------------------------------------------------ the browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"  # screenshots (Khmer shaping is checked by looking at them)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never Playwright's own downloads).
    Module-scoped on purpose: Playwright's sync API runs an event loop in this thread while it
    is open, and the other modules' tests call asyncio.run here."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


class Chat:
    """One user talking to an app, the way tests like to write conversations."""

    def __init__(self, app: App, user: str = "u1", channel: str = "console") -> None:
        self.app = app
        self.user = user
        self.channel = channel
        self.last: list[Reply] = []

    def send(self, text: str, kind: Kind = Kind.TEXT) -> list[Reply]:
        if text.startswith("/") and kind == Kind.TEXT:
            command, _, argument = text[1:].partition(" ")
            incoming = Incoming(self.channel, self.user, Kind.COMMAND, text=text,
                                command=command, argument=argument or None)
        else:
            incoming = Incoming(self.channel, self.user, kind, text=text)
        self.last = asyncio.run(self.app.handle(incoming))
        return self.last

    def press(self, payload: str) -> list[Reply]:
        self.last = asyncio.run(self.app.handle(
            Incoming(self.channel, self.user, Kind.BUTTON, payload=payload)))
        return self.last

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)

    @property
    def payloads(self) -> list[str]:
        return [button.payload for reply in self.last for button in reply.buttons]


@pytest.fixture
def chat(sqlite_app: App) -> Chat:
    return Chat(sqlite_app)


def script_lines(*items: dict[str, Any]) -> list[bytes]:
    return [json.dumps(item, ensure_ascii=False).encode() for item in items]
