"""Telegram's side of the file port (common/files.py): getFile, then the file URL
`<base_file_url>/<file_path>`, through python-telegram-bot's `Bot.get_file` and
`File.download_to_memory`.

The size Telegram announced (in the update, then in getFile's answer) is checked before any
download: bots may download at most 20 MB, and the caller's limit is usually far lower. The
dialogues call `fetch` from a worker thread; the download runs on the channel's event loop,
where its Bot and its connection pool live, and the thread waits for it (with a timeout).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging

from telegram import Bot
from telegram.error import TelegramError

from common.files import FetchRefused, FileRef

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's limit for bots' downloads


class TelegramFiles:
    """A `FileFetcher` for Telegram; `bind` gives it the loop the channel runs on."""

    def __init__(self, bot: Bot, timeout: float = 60.0) -> None:
        self.bot = bot
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def fetch(self, file: FileRef, max_bytes: int) -> bytes:
        limit = min(max_bytes, MAX_DOWNLOAD)
        if file.size is not None and file.size > limit:
            raise FetchRefused("too_big", f"{file.size} bytes announced")
        loop = self._loop
        if loop is None or loop.is_closed():
            raise FetchRefused("failed", "the Telegram channel is not running")
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:  # waiting here would block the loop the download needs
            raise FetchRefused("failed", "fetch called on the channel's event loop")
        future = asyncio.run_coroutine_threadsafe(self._fetch(file, limit), loop)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            raise FetchRefused("failed", "timed out") from error

    async def _fetch(self, file: FileRef, limit: int) -> bytes:
        try:
            found = await self.bot.get_file(file.ref)
            if found.file_size is not None and found.file_size > limit:
                raise FetchRefused("too_big", f"{found.file_size} bytes at getFile")
            out = io.BytesIO()
            await found.download_to_memory(out)
        except (TelegramError, RuntimeError) as error:
            log.warning("Telegram file download failed: %s", type(error).__name__)
            raise FetchRefused("failed", type(error).__name__) from error
        data = out.getvalue()
        if len(data) > limit:
            raise FetchRefused("too_big", f"{len(data)} bytes downloaded")
        return data
