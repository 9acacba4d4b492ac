"""`isafbot run`: the production process. One web server (webhooks, dashboard, /healthz,
/metrics), the inbox workers that handle stored updates, the outbox dispatcher, and each
enabled channel's background work, started and stopped together.

Every background loop runs under a `Supervisor` (common.supervise): an exception, such as the
database going away, never ends it; it is logged once per burst and the loop starts again after
a capped exponential backoff. The process starts even while the database is down: the web
server answers at once (/healthz says 503 and why), and a start-up task migrates the schema as
soon as the database answers, then starts the workers, the channels and the leader's work.

Shutdown (SIGTERM/SIGINT) is graceful: the server stops accepting, the workers finish the
updates in hand (anything not finished stays in the inbox for the next start), and the
dispatcher stops after its current batch.

Several processes (`isafbot run --workers N`, or N `isafbot run` behind nginx) share one
PostgreSQL: each handles webhooks and inbox updates; one of them, the leader (`common.leader`),
runs the dispatcher and the background services (the single scheduler). Starting the
processes (uvicorn, the app factory, ISAFBOT_LEADER) is bot/serving.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import scheduling
from bot.bootstrap import App
from bot.channels.base import Channel
from bot.delivery import Dispatcher
from bot.inbox.queue import Claimed, Inbox, RetryUpdateLater
from bot.metrics import CONTENT_TYPE, Backlog, Metrics, read_backlog
from bot.request_body import AsciiQuery
from common.db.base import utcnow
from common.leader import Leadership
from common.supervise import Backoff, Loop, LoopState, Supervisor, sleep_unless
from nlu.engine import NluUnavailable

log = logging.getLogger(__name__)

# A background service of the leader (the scheduler): started with the runtime, it returns its
# stop coroutine function.
Service = Callable[["Runtime"], Awaitable[Callable[[], Any]]]
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass
class Runtime:
    """Everything running in one server process."""

    app: App
    channels: dict[str, Channel]
    inbox: Inbox
    dispatcher: Dispatcher
    workers: int = 4
    # None: this process leads (a single process); else it competes for leadership, retrying
    # every `elect_seconds` (see common.leader)
    leadership: Leadership | None = None
    elect_seconds: float = 5.0
    metrics: Metrics = field(default_factory=Metrics)
    supervisor: Supervisor = field(default_factory=Supervisor)
    migrate: bool = False  # the start-up task brings the schema up to date first
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _stoppers: list[Callable[[], Any]] = field(default_factory=list)
    _leading: bool = False
    _ready: bool = False
    _started: set[str] = field(default_factory=set)
    _listening: int | None = None
    on_stopped: list[Callable[[], Any]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)  # started in the leader

    async def handle_update(self, claimed: Claimed) -> Any:
        """Understand a stored update and return its effects. While the NLU server cannot be
        reached the update waits (RetryUpdateLater), for the NLU retry horizon at most; then
        the person is told politely that the bot cannot understand right now."""
        channel = self.channels.get(claimed.channel)
        if channel is None:
            raise RuntimeError(f"no channel {claimed.channel!r} is enabled for stored update")
        incoming = channel.to_incoming(claimed.payload)
        if incoming is None:  # nothing to answer (group chatter, delivery receipts)
            return None
        settings = self.app.settings
        try:
            effects = await self.app.prepare(incoming, understood=self._nlu_answered)
        except NluUnavailable as error:
            self.metrics.nlu_failures.inc()
            received = claimed.received_at or utcnow()
            waited = (utcnow() - received).total_seconds()
            if waited < settings.nlu_retry_horizon:
                wait = Backoff(base=1.0, cap=settings.nlu_max_backoff).after(waited)
                raise RetryUpdateLater(wait, f"waiting for the NLU server: {error}") from error
            log.warning("update %s: the NLU server has been unreachable for %.0f s: answering "
                        "that the bot cannot understand right now", claimed.id, waited)
            self.metrics.handled(claimed.channel, "nlu_unavailable")
            effects = await self.app.prepare(incoming, nlu_unavailable=True)
        return effects  # the dispatcher is told once they commit (_handle_and_wake)

    async def _nlu_answered(self) -> None:
        """The NLU answers (again): what waited for it goes now."""
        if self.inbox.waiting and await asyncio.to_thread(self.inbox.retry_waiting) > 0:
            self.inbox.wake()

    # -- the channels' intake (bot.channels.base.Intake)

    def accept(self, channel: str, external_id: str, chat_key: str,
               payload: dict[str, Any]) -> bool:
        """Store an update for the workers (False when it is a redelivery)."""
        return self.inbox.accept(channel, external_id, chat_key, payload)

    def accept_many(self, channel: str, items: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Store a batch in one transaction; how many were new."""
        return self.inbox.accept_many(channel, items)

    def wake(self) -> None:
        self.inbox.wake()

    def supervise(self, name: str, loop: Loop, *, base_backoff: float) -> None:
        """A channel's loop under this process's supervisor (its failures reach /healthz)."""
        cap = max(base_backoff, self.supervisor.backoff.cap)
        self.supervisor.spawn(name, loop, backoff=Backoff(base=base_backoff, cap=cap))

    async def retire(self, name: str) -> None:
        await self.supervisor.retire(name)

    @property
    def leading(self) -> bool:
        """True while this process runs the dispatcher and the background services."""
        return self._leading

    @property
    def ready(self) -> bool:
        """True once the start-up task has run (the database answered, schema migrated)."""
        return self._ready

    async def start(self) -> None:
        """Returns at once: the start-up task waits for the database if it is down."""
        self.metrics.watch(self.app.db, self.supervisor.active)
        self.supervisor.spawn("startup", self._startup, once=True)

    async def _startup(self, state: LoopState) -> None:
        """Migrate (waiting for the database: the supervisor retries), then start the
        workers, the channels and the election or the leader's work. Each step runs once,
        even if a later one fails and the task is tried again."""
        if self.migrate and "migrate" not in self._started:
            await asyncio.to_thread(self.app.db.migrate)
            self._started.add("migrate")
        self._ready = True
        if "workers" not in self._started:
            self.supervisor.spawn("inbox", self._work)
            self._started.add("workers")
        for name, channel in self.channels.items():
            if f"channel:{name}" not in self._started:
                await channel.start(self)
                self._started.add(f"channel:{name}")
        if "lead" not in self._started:
            if self.leadership is None:
                await self._lead()
            else:
                self.supervisor.spawn("election", self._elect)
            self._started.add("lead")

    async def _work(self, state: LoopState) -> None:
        await self.inbox.work(self._handle_and_wake, stop=self._stop, state=state,
                              concurrency=self.workers)

    async def _lead(self) -> None:
        self._leading = True
        self.dispatcher._stopping = False
        self.supervisor.spawn("dispatcher", self.dispatcher.run)
        if self.leadership is not None:
            await self._start_listening()
        for service in self.services:
            self._stoppers.append(await service(self))

    async def _elect(self, state: LoopState) -> None:
        """Become the leader when no other process is; keep checking the lock is held. Every
        database call runs in a thread (a lost network must not freeze the event loop); the
        LISTEN connection's reader is paused meanwhile, since the check uses that connection."""
        assert self.leadership is not None
        while not self._stop.is_set():
            if not self._leading:
                if await asyncio.to_thread(self.leadership.try_acquire):
                    log.info("this process is the leader: dispatcher and services started")
                    await self._lead()
            else:
                self._stop_listening()
                if await asyncio.to_thread(self.leadership.still_held):
                    await self._start_listening()
                else:
                    log.error("leadership lost: the dispatcher and services stop until this "
                              "process is elected again")
                    await self._stop_leading()
            state.ok()
            await sleep_unless(self._stop, self.elect_seconds)

    async def _start_listening(self) -> None:
        assert self.leadership is not None
        descriptor = await asyncio.to_thread(self.leadership.listen)
        if descriptor is not None:
            self._listening = descriptor
            asyncio.get_running_loop().add_reader(descriptor, self._on_notify)

    def _on_notify(self) -> None:
        if self.leadership is not None and self.leadership.notified():
            self.dispatcher.wake()

    def _stop_listening(self) -> None:
        if self._listening is not None:
            with contextlib.suppress(ValueError, OSError):
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
        await self.supervisor.retire("dispatcher")
        self._leading = False

    async def _handle_and_wake(self, claimed: Claimed) -> Any:
        effects = await self.handle_update(claimed)
        if self.leadership is not None and not self._leading and self.app.db.is_postgres:
            return _notifying(effects)  # the leader's dispatcher sends: tell it at commit
        if effects is not None and self._leading:
            return _handing_over(effects, self.dispatcher)
        return _then(effects, self.dispatcher.wake)

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, report) for /healthz: unhealthy while starting, while the database does
        not answer (within the connect timeout plus a little), while a loop is down, or when
        the oldest waiting update or message waited longer than the configured maximum."""
        settings = self.app.settings
        problems: list[str] = []
        if not self._ready:
            startup = self.supervisor.loops.get("startup")
            why = startup.burst.last_error if startup is not None else None
            problems.append("starting: waiting for the database" + (f" ({why})" if why else ""))
        backlog: Backlog | None = None
        limit = settings.db_connect_timeout + 2.0
        try:
            backlog = await asyncio.wait_for(asyncio.to_thread(self._probe), limit)
            self.metrics.database_up.set(1)
        except asyncio.TimeoutError:
            problems.append(f"database unavailable: no answer within {limit:g} s")
            self.metrics.database_up.set(0)
        except Exception as error:  # the health check reports, it does not raise
            problems.append(f"database unavailable: {type(error).__name__}: "
                            f"{str(error).strip()[:300]}")
            self.metrics.database_up.set(0)
        problems.extend(self.supervisor.problems())
        report: dict[str, Any] = {"channels": sorted(self.channels), "pid": os.getpid(),
                                  "leader": self.leading}
        if backlog is not None:
            report["inbox"] = {"waiting": backlog.inbox,
                               "oldest_seconds": round(backlog.inbox_oldest, 1)}
            report["outbox"] = {"waiting": sum(backlog.outbox.values()),
                                "oldest_seconds": round(backlog.outbox_oldest_any, 1)}
            if backlog.inbox_oldest > settings.health_inbox_max_age:
                problems.append(f"an update has waited {backlog.inbox_oldest:.0f} s to be "
                                f"handled (more than {settings.health_inbox_max_age:g} s)")
            for channel, age in sorted(backlog.outbox_oldest.items()):
                if age > settings.health_outbox_max_age:
                    problems.append(f"a {channel} message has waited {age:.0f} s to be sent "
                                    f"(more than {settings.health_outbox_max_age:g} s)")
        report["status"] = "ok" if not problems else "; ".join(problems)
        report["problems"] = problems
        return not problems, report

    def _probe(self) -> Backlog | None:
        from sqlalchemy import text

        with self.app.db.read_session() as session:
            session.execute(text("SELECT 1"))
        return read_backlog(self.app.db) if self._ready else None

    async def stop(self) -> None:
        for stop in reversed(self._stoppers):
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        for channel in self.channels.values():
            await channel.stop()
        self._stop.set()
        self.dispatcher.stop()
        await self.supervisor.stop()
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


def _handing_over(effects: Any, dispatcher: Dispatcher) -> Any:
    """Effects that lease the turn's replies to this process's dispatcher when nothing is
    ahead of them for their chat, and send them as soon as the turn commits (else the
    dispatcher, woken, sends them in order)."""
    def run(session: Any) -> Callable[[], None]:
        effects(session)
        taken, left = dispatcher.take_fresh(session)

        def after_commit() -> None:
            dispatcher.send_now(taken)
            if left:  # replies behind others, or released held messages
                dispatcher.wake()

        return after_commit

    return run


def _notifying(effects: Any) -> Any:
    """Effects that also NOTIFY the leader (delivered when the transaction commits)."""
    from sqlalchemy import text

    from common.leader import OUTBOX_CHANNEL

    def run(session: Any) -> None:
        if effects is not None:
            effects(session)
        session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))

    return run


def build_runtime(app: App, *, workers: int = 4, elect: bool = False,
                  migrate: bool = False) -> Runtime:
    """The runtime of one process, from the app's feature records: their channels (those
    whose settings are given), and the scheduler for their jobs; `elect`: compete for
    leadership (several processes); `migrate`: the start-up task migrates the schema (waiting
    for the database)."""
    settings = app.settings
    metrics = Metrics()
    backoff = Backoff(cap=settings.loop_max_backoff)
    channels: dict[str, Channel] = {}
    for make_channel in app.features.channels:
        channel = make_channel(app)
        if channel is not None:
            channels[channel.name] = channel
    dispatcher = Dispatcher(
        app.db,
        senders={name: c.sender() for name, c in channels.items()},
        limiters={name: lim for name, c in channels.items() if (lim := c.limiter())},
        policies={name: pol for name, c in channels.items() if (pol := c.policy())},
        retry_horizon=settings.send_retry_horizon, max_backoff=settings.send_max_backoff,
        metrics=metrics, database_backoff=backoff, lease_seconds=settings.lease_seconds,
        redact=app.redactor,
    )
    return Runtime(app=app, channels=channels,
                   inbox=Inbox(app.db, metrics=metrics, backoff=backoff,
                               lease_seconds=settings.lease_seconds, redact=app.redactor),
                   dispatcher=dispatcher, workers=workers,
                   leadership=Leadership(app.db) if elect else None, metrics=metrics,
                   supervisor=Supervisor(backoff=backoff), migrate=migrate,
                   services=[scheduling.start] if app.features.jobs else [])


def build_web_app(runtime: Runtime) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        healthy, report = await runtime.health()
        return JSONResponse(report, status_code=200 if healthy else 503)

    token = runtime.app.settings.metrics_token

    async def metrics(request: Request) -> Response:
        if not _may_read_metrics(request, token):
            return PlainTextResponse("metrics are served to loopback, or with the bearer "
                                     "token ISAFBOT_METRICS_TOKEN", status_code=403)
        body = await asyncio.to_thread(runtime.metrics.render)  # reads the database
        return Response(body, media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics)]
    for channel in runtime.channels.values():
        routes.extend(channel.routes(runtime))
    for pages in runtime.app.features.pages:
        routes.extend(pages(runtime))

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


def _may_read_metrics(request: Request, token: str | None) -> bool:
    """With the bearer token when one is set; else only from this machine, and not through a
    proxy (a request nginx forwarded carries X-Forwarded-For)."""
    given = request.headers.get("authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(
            given[len("Bearer "):].strip().encode(), token.encode()):
        return True
    host = request.client.host if request.client else ""
    return host in LOOPBACK and "x-forwarded-for" not in request.headers
