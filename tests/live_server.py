"""`isafbot run` in a thread for tests and benchmarks: the project's real web app (webhooks,
inbox workers, dispatcher) on 127.0.0.1, port 0. Channel tests subclass it with their own way
of posting updates."""

from __future__ import annotations

import threading
import time
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.inbox.models import InboundUpdate
from bot.server import build_runtime, build_web_app
from bot.serving import proxy_options
from common.db.base import utcnow
from dialogues.core.outbox import OutboxMessage

Server = TypeVar("Server", bound="LiveServer")


class LiveServer:
    """The web server with its runtime; `wait_idle` waits until the bot has finished."""

    def __init__(self, app: App, *, workers: int = 2) -> None:
        self.app = app
        self.runtime = build_runtime(app, workers=workers)
        config = uvicorn.Config(build_web_app(self.runtime), host="127.0.0.1", port=0,
                                lifespan="on", log_level="warning", ws="none",
                                # uvicorn closes a connection idle for 5 s; a test client that
                                # sends on it at that moment gets "Server disconnected"
                                timeout_keep_alive=300, **proxy_options(app.settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""
        self.http: httpx.Client | None = None

    def __enter__(self: Server) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        if self.http:
            self.http.close()

    def wait_idle(self, timeout: float = 120) -> None:
        """Until every stored update is handled and every due outbox row is delivered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.app.db.session() as session:
                inbound = session.execute(select(func.count()).select_from(InboundUpdate).where(
                    InboundUpdate.status.in_(("pending", "processing")))).scalar_one()
                outbound = session.execute(select(func.count()).select_from(OutboxMessage).where(
                    (OutboxMessage.status == "sending") |
                    ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= utcnow()))
                )).scalar_one()
            if inbound == 0 and outbound == 0:
                return
            time.sleep(0.05)
        raise AssertionError("the bot did not finish its work in time")
