"""`isafbot run`: the production process. One web server (webhooks, dashboard, /healthz),
the inbox workers that handle stored updates, the outbox dispatcher, and each enabled channel's
background work, started and stopped together.

Shutdown (SIGTERM/SIGINT) is graceful: the server stops accepting, the workers finish the
updates in hand (anything not finished stays in the inbox for the next start), and the
dispatcher stops after its current batch.

Several processes (`isafbot run --workers N`, or N `isafbot run` behind nginx) share one
PostgreSQL: each handles webhooks and inbox updates; one of them, the leader (`bot.leader`),
runs the dispatcher and the background services (the single scheduler).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.bootstrap import App
from bot.channels.base import Channel
from bot.delivery import Dispatcher
from bot.inbox import Claimed, Inbox
from bot.leader import Leadership
from bot.request_body import AsciiQuery
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# Channel modules: each has `channel_from_settings(app) -> Channel | None` (None when its
# settings are not given, so the channel is off).
CHANNEL_MODULES: tuple[str, ...] = ("bot.channels.messenger", "bot.channels.telegram")
# Other route providers (the dashboard): each has `routes(runtime) -> list[BaseRoute]`.
ROUTE_MODULES: tuple[str, ...] = ("bot.dashboard",)
# Background services (the scheduler): each has `start(runtime) -> stop coroutine function`.
SERVICE_MODULES: tuple[str, ...] = ("scheduler.service",)


@dataclass
class Runtime:
    """Everything running in one server process."""

    app: App
    channels: dict[str, Channel]
    inbox: Inbox
    dispatcher: Dispatcher
    workers: int = 4
    # None: this process leads (a single process); else it competes for leadership, retrying
    # every `elect_seconds` (see bot.leader)
    leadership: Leadership | None = None
    elect_seconds: float = 5.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)
    _leading: bool = False
    _listening: int | None = None
    on_stopped: list[Callable[[], Any]] = field(default_factory=list)

    async def handle_update(self, claimed: Claimed) -> Any:
        channel = self.channels.get(claimed.channel)
        if channel is None:
            raise RuntimeError(f"no channel {claimed.channel!r} is enabled for stored update")
        incoming = channel.to_incoming(claimed.payload)
        effects = await self.app.prepare(incoming)
        self.dispatcher.wake()
        return effects

    def accept(self, channel: str, external_id: str, chat_key: str,
               payload: dict[str, Any]) -> bool:
        """Store an update for the workers (False when it is a redelivery)."""
        return self.inbox.accept(channel, external_id, chat_key, payload)

    @property
    def leading(self) -> bool:
        """True while this process runs the dispatcher and the background services."""
        return self._leading

    async def start(self) -> None:
        for _ in range(self.workers):
            self._tasks.append(asyncio.create_task(self.inbox.work(self._handle_and_wake,
                                                                   stop=self._stop)))
        for channel in self.channels.values():
            await channel.start(self)
        if self.leadership is None:
            await self._lead()
        else:
            self._tasks.append(asyncio.create_task(self._elect()))

    async def _lead(self) -> None:
        self._leading = True
        self.dispatcher._stopping = False
        self._tasks.append(asyncio.create_task(self.dispatcher.run()))
        if self.leadership is not None:
            descriptor = await asyncio.to_thread(self.leadership.listen)
            if descriptor is not None:
                self._listening = descriptor
                asyncio.get_running_loop().add_reader(descriptor, self._on_notify)
        for module in SERVICE_MODULES:
            stop = await importlib.import_module(module).start(self)
            self._stoppers.append(stop)

    async def _elect(self) -> None:
        """Become the leader when no other process is; keep checking the lock is held."""
        assert self.leadership is not None
        while not self._stop.is_set():
            if not self._leading:
                try:
                    won = await asyncio.to_thread(self.leadership.try_acquire)
                except Exception:  # the database is down: try again later
                    log.exception("leader election failed")
                    won = False
                if won:
                    log.info("this process is the leader: dispatcher and services started")
                    await self._lead()
            elif not self.leadership.still_held():  # in the loop: the reader shares it
                log.error("leadership lost: stopping so a supervisor restarts this process")
                await self._stop_leading()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.elect_seconds)

    def _on_notify(self) -> None:
        if self.leadership is not None and self.leadership.notified():
            self.dispatcher.wake()

    def _stop_listening(self) -> None:
        if self._listening is not None:
            asyncio.get_running_loop().remove_reader(self._listening)
            self._listening = None

    async def _stop_leading(self) -> None:
        self._stop_listening()
        for stop in reversed(self._stoppers):
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        self._stoppers.clear()
        self.dispatcher.stop()
        self._leading = False

    async def _handle_and_wake(self, claimed: Claimed) -> Any:
        effects = await self.handle_update(claimed)
        if self.leadership is not None and not self._leading and self.app.db.is_postgres:
            return _notifying(effects)  # the leader's dispatcher sends: tell it at commit
        return _then(effects, self.dispatcher.wake)

    async def stop(self) -> None:
        for stop in reversed(self._stoppers):
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        for channel in self.channels.values():
            await channel.stop()
        self._stop.set()
        self.dispatcher.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._stop_listening()
        if self.leadership is not None:
            await asyncio.to_thread(self.leadership.release)
        for done in self.on_stopped:
            done()


def _then(effects: Any, after: Callable[[], None]) -> Any:
    if effects is None:
        return None

    def run(session: Any) -> None:
        effects(session)
        after()

    return run


def _notifying(effects: Any) -> Any:
    """Effects that also NOTIFY the leader (delivered when the transaction commits)."""
    from sqlalchemy import text

    from bot.leader import OUTBOX_CHANNEL

    def run(session: Any) -> None:
        if effects is not None:
            effects(session)
        session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))

    return run


def build_runtime(app: App, *, workers: int = 4, elect: bool = False) -> Runtime:
    """The runtime of one process; `elect`: compete for leadership (several processes)."""
    channels: dict[str, Channel] = {}
    for module in CHANNEL_MODULES:
        channel = importlib.import_module(module).channel_from_settings(app)
        if channel is not None:
            channels[channel.name] = channel
    dispatcher = Dispatcher(
        app.db,
        senders={name: c.sender() for name, c in channels.items()},
        limiters={name: lim for name, c in channels.items() if (lim := c.limiter())},
        policies={name: pol for name, c in channels.items() if (pol := c.policy())},
        redact=app.redactor,
    )
    return Runtime(app=app, channels=channels, inbox=Inbox(app.db, redact=app.redactor),
                   dispatcher=dispatcher,
                   workers=workers, leadership=Leadership(app.db) if elect else None)


def build_web_app(runtime: Runtime) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        ok = await asyncio.to_thread(_database_ok, runtime)
        return JSONResponse({"status": "ok" if ok else "database unavailable",
                             "channels": sorted(runtime.channels), "pid": os.getpid(),
                             "leader": runtime.leading},
                            status_code=200 if ok else 503)

    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    for channel in runtime.channels.values():
        routes.extend(channel.routes())
    for module in ROUTE_MODULES:
        routes.extend(importlib.import_module(module).routes(runtime))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    web = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(AsciiQuery)])
    web.state.runtime = runtime
    return web


def _database_ok(runtime: Runtime) -> bool:
    from sqlalchemy import text

    try:
        with runtime.app.db.session() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # the health check reports, it does not raise
        log.exception("health check: database unavailable")
        return False


def serve(app: App, *, host: str, port: int, workers: int = 4) -> None:
    """Run one process until SIGTERM/SIGINT (uvicorn handles the signals and the graceful
    shutdown). `workers`: updates handled concurrently in this process."""
    import uvicorn

    runtime = build_runtime(app, workers=workers, elect=_leader_mode(app) == "elect")
    if _leader_mode(app) == "no":
        runtime.leadership = _NeverLead(app.db)
    web = build_web_app(runtime)
    uvicorn.Server(uvicorn.Config(web, host=host, port=port,
                                  **_uvicorn_options(app.settings))).run()


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Shared by one process and several: our logging (bot.logs), graceful shutdown, and the
    trusted proxy."""
    return {"access_log": False, "log_config": None, "timeout_graceful_shutdown": 20,
            "lifespan": "on", "ws": "none",  # Rasa pins an old websockets; nothing needs it
            **proxy_options(settings)}


def proxy_options(settings: Settings) -> dict[str, Any]:
    """The client's address (X-Forwarded-For) and scheme (X-Forwarded-Proto: the dashboard's
    Secure cookies and HSTS) are taken from these headers only when the connection comes from
    ISAFBOT_FORWARDED_ALLOW_IPS."""
    return {"proxy_headers": True,
            "forwarded_allow_ips": settings.env.get("ISAFBOT_FORWARDED_ALLOW_IPS", "127.0.0.1")}


def serve_processes(settings: Settings, *, processes: int, handlers: int) -> None:
    """`isafbot run --workers N`: N server processes sharing the port (uvicorn's supervisor,
    which restarts a worker that dies). Each builds its app with `create_app`; they elect the
    leader. The schema is migrated here once, before they start."""
    import uvicorn

    from bot.db import Database

    if settings.env.get("TELEGRAM_BOT_TOKEN") and not settings.env.get("TELEGRAM_WEBHOOK_URL"):
        raise SettingsError("several workers need Telegram's webhook (TELEGRAM_WEBHOOK_URL): "
                            "only one process at a time may poll Telegram for updates")
    database = Database(settings.database_url)
    try:
        database.migrate()
    finally:
        database.dispose()
    os.environ["ISAFBOT_HANDLERS"] = str(handlers)
    os.environ.setdefault("ISAFBOT_LEADER", "elect")
    uvicorn.run("bot.server:create_app", factory=True, workers=processes,
                host=settings.http_host, port=settings.http_port, **_uvicorn_options(settings))


def create_app() -> Starlette:
    """The app factory each worker process calls (`bot.server:create_app`, factory=True):
    settings from the environment, the app bootstrapped in this process."""
    from bot.bootstrap import bootstrap
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings)
    app = bootstrap(settings, migrate=False)
    runtime = build_runtime(app, workers=int(settings.env.get("ISAFBOT_HANDLERS", "4")),
                            elect=_leader_mode(app) == "elect")
    if _leader_mode(app) == "no":
        runtime.leadership = _NeverLead(app.db)
    runtime.on_stopped.append(app.close)
    return build_web_app(runtime)


def _leader_mode(app: App) -> str:
    from bot.leader import MODES

    mode = app.settings.env.get("ISAFBOT_LEADER", "yes").lower()
    if mode not in MODES:
        raise SettingsError(f"ISAFBOT_LEADER={mode!r} must be one of {', '.join(MODES)}")
    return mode


class _NeverLead(Leadership):
    """ISAFBOT_LEADER=no: a web and inbox worker only."""

    def try_acquire(self) -> bool:
        return False
