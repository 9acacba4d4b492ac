"""Outbound rate limits, shared by replies, reminders and broadcasts of one channel.

Token buckets: one for the whole bot (Telegram: about 30 messages/s), one per chat (1/s, with a
small burst so that a text and its chart go out together) and one per group (20/min). A 429's
retry_after pauses everything: Telegram asks the whole bot to wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

_EPSILON = 1e-6


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0
    burst: float = 1.0  # evenly spaced: never more than `per_second` in any second
    per_chat_per_second: float = 1.0
    chat_burst: float = 3.0
    per_group_per_minute: float = 20.0


class TokenBucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when it is now)."""
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:  # float refills land a hair below 1
            return 0.0
        return max((1 - self.tokens) / self.rate, _EPSILON)

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class RateLimiter:
    """`await limiter.acquire(chat, is_group)` returns when a message to `chat` may be sent."""

    def __init__(self, limits: Limits | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.limits = limits or Limits()
        self._now = monotonic
        self._sleep = sleep
        now = monotonic()
        self._global = TokenBucket(self.limits.per_second, self.limits.burst, now)
        self._chats: dict[str, TokenBucket] = {}
        self._groups: dict[str, TokenBucket] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """The platform said "retry after": nothing goes out until then."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    async def acquire(self, chat: str, *, is_group: bool = False) -> None:
        while True:
            async with self._lock:
                now = self._now()
                buckets = [self._global, self._chat(chat, now)]
                if is_group:
                    buckets.append(self._group(chat, now))
                wait = max([self._paused_until - now, *(b.wait_time(now) for b in buckets)])
                if wait <= 0:
                    for bucket in buckets:
                        bucket.take(now)
                    self._forget_idle(now)
                    return
            await self._sleep(wait)

    def _chat(self, chat: str, now: float) -> TokenBucket:
        if chat not in self._chats:
            self._chats[chat] = TokenBucket(self.limits.per_chat_per_second,
                                            self.limits.chat_burst, now)
        return self._chats[chat]

    def _group(self, chat: str, now: float) -> TokenBucket:
        if chat not in self._groups:
            self._groups[chat] = TokenBucket(self.limits.per_group_per_minute / 60.0,
                                             min(self.limits.per_group_per_minute, 3.0), now)
        return self._groups[chat]

    def _forget_idle(self, now: float) -> None:
        """Full buckets carry no information: drop them so memory stays bounded."""
        if len(self._chats) > 10_000:
            self._chats = {k: b for k, b in self._chats.items() if not b.is_full(now)}
        if len(self._groups) > 10_000:
            self._groups = {k: b for k, b in self._groups.items() if not b.is_full(now)}
