"""A dispatcher process for the kill-and-restart test (tests/test_broadcast_kill.py): it
delivers the outbox through a minimal HTTP platform (tests' fake server) until no row is
pending or in flight, then exits. Run: python -m tests.broadcast_worker DB_URL SERVER_URL."""

from __future__ import annotations

import asyncio
import sys

import httpx
from sqlalchemy import func, select

from bot.db import Database
from bot.delivery import Dispatcher, Recipient, RetryLater, Unreachable
from common.messages import Reply
from dialogues.core.outbox import OutboxMessage

TELEGRAM_TOKEN = "123456789:KILLtest-token-abcdefghijklmnop"


class HttpSender:
    """POST {chat_id, text}: 200 sent, 403 blocked, 429 retry later."""

    channel = "fake"

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=10)

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        response = await self.client.post("/send", json={"chat_id": recipient.address,
                                                         "text": reply.text})
        if response.status_code == 403:
            raise Unreachable("403 Forbidden: bot was blocked by the user")
        if response.status_code == 429:
            raise RetryLater(float(response.json().get("retry_after", 1)), "429")
        response.raise_for_status()


def open_rows(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("pending", "sending")))).scalar_one())


async def main(url: str, server: str) -> None:
    """`server` is the fake platform's URL, or `telegram:<fake Bot API base URL>` to send
    with the Telegram channel's own sender and rate limiter (python-telegram-bot)."""
    db = Database(url)
    bot = None
    if server.startswith("telegram:"):
        from bot.channels.telegram.channel import TelegramChannel
        from bot.channels.telegram.settings import TelegramSettings

        settings = TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                                              "TELEGRAM_API_BASE_URL": server[9:]})
        assert settings is not None
        channel = TelegramChannel(settings)
        bot = channel.bot
        await bot.initialize()
        senders: dict = {"telegram": channel.sender()}
        limiters: dict = {"telegram": channel.limiter()}
    else:
        senders, limiters = {"fake": HttpSender(server)}, {}
    dispatcher = Dispatcher(db, senders, limiters, lease_seconds=2, poll_seconds=0.1)
    while open_rows(db):
        if not await dispatcher.deliver_due():
            await asyncio.sleep(0.1)  # rows of a killed run wait for their lease to end
    if bot is not None:
        await bot.shutdown()
    db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
