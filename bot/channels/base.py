"""What a chat platform plugs into the server, and the little of the server a platform sees.

A `Channel` translates: its webhook routes, how a stored update becomes an `Incoming`, and how a
`Reply` is sent (with the platform's limits and policy). The server hands it an `Intake`, not
itself: a channel stores updates durably, wakes the workers, and runs its background loop where
/healthz reports it, and nothing more. The server implements `Intake`; this module does not
import the server.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.routing import BaseRoute

from bot.delivery import Policy, Sender
from bot.ratelimit import RateLimiter
from common.messages import Incoming
from common.supervise import Loop


class Intake(Protocol):
    """Where a channel hands what it receives: the durable inbox, the workers, the supervisor."""

    @property
    def leading(self) -> bool:
        """True while this process leads (only the leader may poll a platform)."""
        ...

    def accept(self, channel: str, external_id: str, chat_key: str,
               payload: dict[str, Any]) -> bool:
        """Store one update for the workers, durably; False when it is a redelivery. Blocking
        (a database transaction): call it in a thread."""
        ...

    def accept_many(self, channel: str, items: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Store a batch in one transaction; returns how many were new. Blocking."""
        ...

    def wake(self) -> None:
        """Tell the workers something new is stored."""
        ...

    def supervise(self, name: str, loop: Loop, *, base_backoff: float) -> None:
        """Run `loop` (e.g. long polling; it reports rounds with `state.ok()` and failures
        with `state.failed(error)`) under the server's supervisor: restarted after an exception
        with a capped backoff from `base_backoff` seconds, reported by /healthz while failing."""
        ...

    async def retire(self, name: str) -> None:
        """Stop the loop started with `supervise` and wait for it."""
        ...


class Channel(Protocol):
    """A platform adapter. It only translates; everything else is the core's."""

    name: str

    def routes(self, intake: Intake) -> list[BaseRoute]:
        """Webhook endpoints served by the project's web server, storing into `intake`."""
        ...

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        """A stored platform update as the core message type; None when there is nothing to
        answer (a delivery receipt, group chatter not addressed to the bot)."""
        ...

    def sender(self) -> Sender: ...

    def limiter(self) -> RateLimiter | None: ...

    def policy(self) -> Policy | None: ...

    async def start(self, intake: Intake) -> None:
        """Background work the channel needs (e.g. long polling); returns when started."""
        ...

    async def stop(self) -> None: ...
