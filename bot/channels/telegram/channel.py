"""The Telegram channel's wiring: the webhook endpoint and the long-polling loop, both handing
each update to the server's intake (stored durably, then the workers woken), the bot's
identity (getMe), and the core protocol (`to_incoming`, the sender, the rate limiter)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot.channels.base import Intake
from bot.channels.telegram.files import TelegramFiles
from bot.channels.telegram.inbound import Me, stored, to_incoming
from bot.channels.telegram.outbound import TelegramSender, retry_seconds_of
from bot.channels.telegram.settings import (
    ALLOWED_UPDATES,
    CHANNEL,
    WEBHOOK_PATH,
    TelegramSettings,
    protect_token,
)
from bot.ratelimit import Limits, RateLimiter
from bot.request_body import parse_json, read_body
from common.db.session import database_unavailable
from common.files import register
from common.messages import Incoming
from common.redact import Redactor
from common.supervise import LoopState

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

POLLING_LOOP = "telegram-polling"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY_BYTES = 1024 * 1024  # one update; Telegram's are a few kB

Item = tuple[str, str, dict[str, Any]]  # (external_id, chat_key, stored update)


class TelegramChannel:
    name = CHANNEL

    def __init__(self, settings: TelegramSettings, redactor: Redactor | None = None) -> None:
        self.settings = settings
        protect_token(redactor or Redactor({"TELEGRAM_BOT_TOKEN": settings.token}))
        self.bot = settings.bot()
        self.me = Me(settings.bot_id)
        self._limiter = RateLimiter(Limits(per_second=30.0, burst=1.0, per_chat_per_second=1.0,
                                           chat_burst=3.0, per_group_per_minute=20.0))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._store_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="telegram-in")
        self._intake: Intake | None = None  # while polling
        self.files = TelegramFiles(self.bot)  # the dialogues' file port (common/files.py)

    # -- webhook

    def routes(self, intake: Intake) -> list[BaseRoute]:
        if not self.settings.webhook_mode:
            return []

        async def receive(request: Request) -> Response:
            return await self.receive(request, intake)

        return [Route(WEBHOOK_PATH, receive, methods=["POST"])]

    async def receive(self, request: Request, intake: Intake) -> Response:
        """Check the secret token, store the update, answer 200; workers handle it after."""
        secret = request.headers.get(SECRET_HEADER, "")
        expected = self.settings.webhook_secret or ""
        if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
            log.warning("Telegram webhook: missing or wrong secret token, update dropped")
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        try:
            update = parse_json(body)
        except ValueError:  # UnicodeDecodeError is one
            return PlainTextResponse("body is not JSON", status_code=400)
        item = stored(update)
        if item is None:
            return PlainTextResponse("body is not a Telegram update", status_code=400)
        try:
            new = await self._store(intake.accept, CHANNEL, *item)
        except Exception as error:
            if not database_unavailable(error):
                raise
            # not stored: Telegram delivers it again later
            return PlainTextResponse("database unavailable, retry later", status_code=503)
        if new:
            intake.wake()
            self._answer_callback(item[2])
        return JSONResponse({})

    # -- long polling

    async def _poll(self, intake: Intake, state: LoopState) -> None:
        """getUpdates until stopped; each update stored (once) before it is confirmed. Runs
        under the server's supervisor: failures wait a capped backoff (Telegram's own
        retry_after when it gives one) and are logged once per outage; anything unforeseen
        restarts the loop (updates not yet confirmed are fetched again, stored once)."""
        offset: int | None = None
        webhook_deleted = False
        while not self._stopping.is_set():
            if not intake.leading:
                # processes electing a leader: only the leader may poll, or Telegram answers
                # the others 409 Conflict (`isafbot run --workers N` requires the webhook)
                webhook_deleted = False
                await self._sleep(1.0)
                continue
            try:
                if not webhook_deleted:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                    log.info("Telegram channel polling %s", self.settings.base_url)
                updates = await self._get_updates(offset)
            except asyncio.CancelledError:
                raise
            except RetryAfter as error:
                state.failed(error)
                await self._sleep(retry_seconds_of(error))
                continue
            except Conflict as error:  # a webhook was set, or another process polls
                webhook_deleted = False
                await self._sleep(state.failed(error))
                continue
            except (TelegramError, RuntimeError) as error:
                if isinstance(error, InvalidToken) and not state.failing:
                    log.error("Telegram refused the bot token: %s", error)
                await self._sleep(state.failed(error))
                continue
            offset = await self._keep(intake, updates, offset, state)

    async def _get_updates(self, offset: int | None) -> Any:
        """One long poll. Raw JSON, stored exactly as a webhook receives it: the library's
        get_updates parses every update and fails the whole batch on one it cannot parse (a
        poll without a field a newer Bot API made required, for instance)."""
        params: dict[str, Any] = {"timeout": int(self.settings.poll_timeout),
                                  "allowed_updates": list(ALLOWED_UPDATES)}
        if offset is not None:
            params["offset"] = offset
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Please use 'Bot.getUpdates'")
            return await self.bot.do_api_request(
                "getUpdates", api_kwargs=params,
                read_timeout=self.settings.timeout + self.settings.poll_timeout)

    async def _keep(self, intake: Intake, updates: Any, offset: int | None,
                    state: LoopState) -> int | None:
        """Store a polled batch; the next offset confirms it at Telegram. While the database
        is unreachable nothing is confirmed (the offset stays): Telegram keeps the updates."""
        items = [item for update in (updates if isinstance(updates, list) else [])
                 if (item := stored(update))]
        if items:
            try:
                fresh = await self._store(self._accept_all, intake, items)
            except Exception as error:
                await self._sleep(state.failed(error))
                return offset
            intake.wake()
            for item in fresh:
                self._answer_callback(item[2])
            offset = max(int(item[0]) for item in items) + 1
        state.ok()
        return offset

    async def _store(self, function: Any, *args: Any) -> Any:
        """Run a storing call in the channel's own threads: the default executor is shared
        with the workers and the dispatcher, and under load a webhook waited seconds there
        for a thread before it could store and answer."""
        return await asyncio.get_running_loop().run_in_executor(self._store_pool, function,
                                                                *args)

    @staticmethod
    def _accept_all(intake: Intake, items: list[Item]) -> list[Item]:
        return [item for item in items if intake.accept(CHANNEL, *item)]

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- callback queries: stop the client's spinner

    def _answer_callback(self, update: dict[str, Any]) -> None:
        query = update.get("callback_query")
        query_id = query.get("id") if isinstance(query, dict) else None
        if isinstance(query_id, str) and query_id:
            self._spawn(self._answer(query_id))

    async def _answer(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except (TelegramError, RuntimeError) as error:  # too old, or shutting down
            log.debug("answerCallbackQuery %s failed: %s", query_id, error)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Telegram background task failed", exc_info=task.exception())

    async def _identify(self) -> None:
        """getMe (the bot's username, for mentions and /cmd@bot in groups), retried."""
        delay = self.settings.retry_seconds
        while not self._stopping.is_set():
            try:
                user = await self.bot.get_me()
            except asyncio.CancelledError:
                raise
            except (TelegramError, RuntimeError) as error:
                log.warning("Telegram getMe failed (retrying): %s", error)
                await self._sleep(delay)
                delay = min(delay * 2, 300.0)
                continue
            self.me = Me(user.id, user.username)
            log.info("Telegram bot @%s (%s mode)", user.username,
                     "webhook" if self.settings.webhook_mode else "polling")
            return

    # -- core protocol

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        return to_incoming(payload, self.me)

    def sender(self) -> TelegramSender:
        return TelegramSender(self.bot, self._limiter, self.settings.retry_seconds)

    def limiter(self) -> RateLimiter:
        return self._limiter

    def policy(self) -> None:
        return None  # Telegram has no messaging window

    async def start(self, intake: Intake) -> None:
        self._stopping = asyncio.Event()
        self.files.bind(asyncio.get_running_loop())
        self._spawn(self._identify())
        if not self.settings.webhook_mode:
            self._intake = intake
            intake.supervise(POLLING_LOOP, lambda state: self._poll(intake, state),
                             base_backoff=self.settings.retry_seconds)
        else:
            log.info("Telegram channel: webhook at %s", WEBHOOK_PATH)

    async def stop(self) -> None:
        self._stopping.set()
        if self._intake is not None:
            await self._intake.retire(POLLING_LOOP)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.bot.shutdown()
        self._store_pool.shutdown(wait=True)


def channel_from_settings(app: App) -> TelegramChannel | None:
    settings = TelegramSettings.from_env(app.settings.env)
    if settings is None:
        return None
    channel = TelegramChannel(settings, app.redactor)
    register(app.dialogues.ctx.extras, CHANNEL, channel.files)
    return channel
