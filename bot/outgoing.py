"""What the dispatcher (bot.delivery) works with: the errors a channel's sender raises, the
recipient, the Sender and Policy protocols, a stored reply read back, and the group commit of
"sent" marks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from common.messages import THREAD_SEPARATOR, Button, Reply

# ------------------------------------------------------------------ what senders raise

class DeliveryError(Exception):
    """A message could not be sent; subclasses say what to do about it."""


class RetryLater(DeliveryError):
    """Temporary: rate limited (429) or the platform is unavailable. Try again later: after
    `seconds` exactly when the platform said so (`told`, Telegram's retry_after), else after a
    backoff that starts at `seconds` and grows with each failure."""

    def __init__(self, seconds: float, reason: str = "", *, told: bool = False,
                 rate_limited: bool = False) -> None:
        super().__init__(reason or f"retry after {seconds:g} s")
        self.seconds = seconds
        self.told = told
        self.rate_limited = rate_limited or told


class Unreachable(DeliveryError):
    """The user blocked the bot or no longer exists (403): stop sending to them."""


class Rejected(DeliveryError):
    """The platform refused this message for good (400): do not retry it."""


class Held(DeliveryError):
    """The platform's own policy refused it now (Messenger: the 24-hour window closed before
    it went out): hold it like the channel's Policy would, until the user writes again."""


@dataclass(frozen=True)
class Recipient:
    user_id: int
    channel_user_id: str
    address: str  # chat id the message goes to
    last_inbound_at: datetime | None  # naive UTC
    unreachable: bool = False  # blocked the bot (a 403 earlier)

    @property
    def is_group(self) -> bool:
        # Telegram group chats have negative ids; private chats equal the user id.
        return self.address.startswith("-")

    @property
    def chat(self) -> str:
        """The chat of the address, without its forum topic ("-100123/45" -> "-100123"):
        what the platform's per-chat limits count."""
        return self.address.partition(THREAD_SEPARATOR)[0]


class Sender(Protocol):
    """Sends one reply to one recipient on one platform, or raises a DeliveryError."""

    channel: str

    async def send(self, recipient: Recipient, reply: Reply) -> None: ...


class Policy(Protocol):
    """Whether an automated message may go to a recipient now (platform rules); `human`: a
    person's reply (a handover), which Messenger allows for longer."""

    def may_send(self, recipient: Recipient, automated: bool, now: datetime, *,
                 human: bool = False) -> bool: ...


class AlwaysSend:
    def may_send(self, recipient: Recipient, automated: bool, now: datetime, *,
                 human: bool = False) -> bool:
        return True


def reply_from_json(data: dict) -> Reply:
    return Reply(
        text=str(data.get("text", "")),
        buttons=tuple(Button(b["title"], b["payload"], bool(b.get("link")))
                      for b in data.get("buttons", [])),
        image=Path(data["image"]) if data.get("image") else None,
        automated=bool(data.get("automated", False)),
        human=bool(data.get("human", False)),
    )


class SentMarks:
    """Group commit of "sent": a row's mark waits for the transaction in progress to end,
    then goes with every other mark that arrived meanwhile (one transaction for many sends
    at a busy moment, one per send when quiet). A send is recorded before `mark` returns, so
    the window in which a kill makes a message go twice stays a commit or two long."""

    def __init__(self, write: Callable[..., Any], write_many: Callable[[list[int]], None]
                 ) -> None:
        self._write = write
        self._write_many = write_many
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None

    async def mark(self, row_id: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row_id, future))
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write(self._write_many, [row_id for row_id, _ in batch])
                except BaseException as error:  # the caller sees what its mark saw
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = False
