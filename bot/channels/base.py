"""What a chat platform plugs into the server: its webhook routes, how a stored update becomes
an `Incoming`, and how a `Reply` is sent (with the platform's limits and policy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

from bot.delivery import Policy, Sender
from bot.ratelimit import RateLimiter
from common.messages import Incoming

if TYPE_CHECKING:
    from bot.server import Runtime


class Channel(Protocol):
    """A platform adapter. It only translates; everything else is the core's."""

    name: str

    def routes(self) -> list[BaseRoute]:
        """Webhook endpoints served by the project's web server."""
        ...

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        """A stored platform update as the core message type; None when there is nothing to
        answer (a delivery receipt, group chatter not addressed to the bot)."""
        ...

    def sender(self) -> Sender: ...

    def limiter(self) -> RateLimiter | None: ...

    def policy(self) -> Policy | None: ...

    async def start(self, runtime: Runtime) -> None:
        """Background work the channel needs (e.g. long polling); returns when started."""
        ...

    async def stop(self) -> None: ...
