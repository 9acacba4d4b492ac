"""`isafbot run`: the production process. One web server (webhooks, dashboard, /healthz),
the inbox workers that handle stored updates, the outbox dispatcher, and each enabled channel's
background work, started and stopped together.

Shutdown (SIGTERM/SIGINT) is graceful: the server stops accepting, the workers finish the
updates in hand (anything not finished stays in the inbox for the next start), and the
dispatcher stops after its current batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.bootstrap import App
from bot.channels.base import Channel
from bot.delivery import Dispatcher
from bot.inbox import Claimed, Inbox

log = logging.getLogger(__name__)

# Channel modules: each has `channel_from_settings(app) -> Channel | None` (None when its
# settings are not given, so the channel is off).
CHANNEL_MODULES: tuple[str, ...] = ("bot.channels.messenger",)
# Other route providers (the dashboard): each has `routes(runtime) -> list[BaseRoute]`.
ROUTE_MODULES: tuple[str, ...] = ("bot.dashboard",)
# Background services (the scheduler): each has `start(runtime) -> stop coroutine function`.
SERVICE_MODULES: tuple[str, ...] = ()


@dataclass
class Runtime:
    """Everything running in one server process."""

    app: App
    channels: dict[str, Channel]
    inbox: Inbox
    dispatcher: Dispatcher
    workers: int = 4
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)

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

    async def start(self) -> None:
        for _ in range(self.workers):
            self._tasks.append(asyncio.create_task(self.inbox.work(self._handle_and_wake,
                                                                   stop=self._stop)))
        self._tasks.append(asyncio.create_task(self.dispatcher.run()))
        for channel in self.channels.values():
            await channel.start(self)
        for module in SERVICE_MODULES:
            stop = await importlib.import_module(module).start(self)
            self._stoppers.append(stop)

    async def _handle_and_wake(self, claimed: Claimed) -> Any:
        effects = await self.handle_update(claimed)
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


def _then(effects: Any, after: Callable[[], None]) -> Any:
    if effects is None:
        return None

    def run(session: Any) -> None:
        effects(session)
        after()

    return run


def build_runtime(app: App, *, workers: int = 4) -> Runtime:
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
    )
    return Runtime(app=app, channels=channels, inbox=Inbox(app.db), dispatcher=dispatcher,
                   workers=workers)


def build_web_app(runtime: Runtime) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        ok = await asyncio.to_thread(_database_ok, runtime)
        return JSONResponse({"status": "ok" if ok else "database unavailable",
                             "channels": sorted(runtime.channels)},
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

    web = Starlette(routes=routes, lifespan=lifespan)
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
    """Run until SIGTERM/SIGINT (uvicorn handles the signals and the graceful shutdown)."""
    import uvicorn

    runtime = build_runtime(app, workers=workers)
    web = build_web_app(runtime)
    config = uvicorn.Config(web, host=host, port=port, log_level="info", access_log=False,
                            timeout_graceful_shutdown=20, lifespan="on",
                            ws="none")  # Rasa pins an old websockets; no endpoint needs it
    uvicorn.Server(config).run()
