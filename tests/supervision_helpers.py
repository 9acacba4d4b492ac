"""What the supervision tests share: a minimal channel that records what it sends, a runtime
around it, database outages on SQLite (a hook that fails every statement) and PostgreSQL (the
fault proxy cutting the connections), and waiting for a condition without blocking the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from bot.bootstrap import App
from bot.delivery import Recipient
from bot.server import Runtime, build_runtime
from common.messages import Incoming, Kind, Reply
from tests.fault_proxy import FaultProxy


class RecordingChannel:
    """A channel of the tests' own: payloads {"user", "text"} or {"user", "button"}; what the
    dispatcher sends is recorded as (address, text)."""

    name = "test"
    channel = "test"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def routes(self, intake: Any) -> list[Any]:
        return []

    def to_incoming(self, payload: dict[str, Any]) -> Incoming:
        if payload.get("button"):
            return Incoming("test", payload["user"], Kind.BUTTON, payload=payload["button"])
        return Incoming("test", payload["user"], Kind.TEXT, text=payload["text"])

    def sender(self) -> RecordingChannel:
        return self

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        self.sent.append((recipient.address, reply.text))

    def limiter(self) -> None:
        return None

    def policy(self) -> None:
        return None

    async def start(self, intake: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    def texts(self, address: str) -> list[str]:
        return [text for to, text in self.sent if to == address]


async def deliver(runtime: Runtime, external_id: str, user: str, *, text: str | None = None,
                  button: str | None = None) -> None:
    """Store an update of the recording channel, as its webhook would, and wake the workers."""
    payload = {"user": user, "text": text} if text is not None else \
        {"user": user, "button": button}
    await asyncio.to_thread(runtime.accept, "test", external_id, f"test:{user}", payload)
    runtime.inbox.wake()


def recording_runtime(app: App, channel: RecordingChannel, **options: Any) -> Runtime:
    runtime = build_runtime(app, **options)
    runtime.channels[channel.name] = channel  # type: ignore[assignment]
    runtime.dispatcher.senders[channel.name] = channel
    return runtime


async def until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Wait for `condition()` (run in a thread: it may read the database) to be truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout:g} s: {what}"
        await asyncio.sleep(0.1)


class Outage:
    """A database outage for an app: PostgreSQL through the fault proxy (its connections cut,
    new ones refused), SQLite by failing every statement with the error a vanished database
    file gives."""

    def __init__(self, url: str) -> None:
        self.proxy = FaultProxy.for_url(url) if url.startswith("postgresql") else None
        self.url = self.proxy.url(url) if self.proxy else url
        self._failing = False

    def attach(self, app: App) -> None:
        if self.proxy is not None:
            return
        dbapi = app.db.engine.dialect.dbapi

        def fail(*_: Any) -> None:
            if self._failing:
                raise dbapi.OperationalError("unable to open database file (test outage)")

        for name in ("do_execute", "do_execute_no_params", "do_executemany"):
            event.listen(app.db.engine, name, fail)

    def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        self._failing = True

    def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        self._failing = False

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
