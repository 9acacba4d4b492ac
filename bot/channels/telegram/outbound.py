"""Replies out through the Bot API: a `Reply` rendered as messages (`render`, `keyboard`),
sent by `TelegramSender` (several messages of one reply resumed where a failure stopped them,
a group that became a supergroup followed), and the library's errors mapped to what the
dispatcher does (`delivery_error`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.channels.telegram.settings import CHANNEL
from bot.delivery import DeliveryError, Recipient, Rejected, RetryLater, Unreachable
from bot.ratelimit import RateLimiter
from common.messages import THREAD_SEPARATOR, Button, Reply
from common.splitting import clusters, split_text, units

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One Bot API call: a text message, or a photo with an optional caption; the reply's
    buttons go under its last part."""

    text: str | None
    photo: Path | None = None
    buttons: tuple[Button, ...] = ()


def render(reply: Reply) -> list[Part]:
    """A reply as Bot API messages in order: the photo (with the text as its caption when it
    fits in 1,024 characters), then the text split at 4,096 on paragraph, line or sentence
    boundaries (never inside a Khmer cluster)."""
    text = reply.text.strip()
    chunks = split_text(text, MAX_TEXT)
    parts: list[Part] = []
    if reply.image is not None:
        if len(chunks) <= 1 and units(text) <= MAX_CAPTION:
            parts.append(Part(text or None, reply.image))
            chunks = []
        else:
            parts.append(Part(None, reply.image))
    parts += [Part(chunk) for chunk in chunks]
    if reply.buttons:
        if not parts:  # choices without any text: their labels are the text
            parts.append(Part("\n".join(b.title for b in reply.buttons)))
        parts[-1] = replace(parts[-1], buttons=reply.buttons)
    return parts


SHORT_LABEL = 14  # two buttons this short share a row on a phone (in user-perceived characters)


def keyboard(buttons: tuple[Button, ...], username: str | None = None
             ) -> InlineKeyboardMarkup | None:
    """Inline buttons in their order: two short labels share a row ("Fee", "Where"), longer
    ones (most Khmer service names) get a row of their own. A link button opens the bot's
    private chat, started with its payload (`https://t.me/<username>?start=<payload>`)."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if button.link:
            item = InlineKeyboardButton(button.title,
                                        url=f"https://t.me/{username}?start={button.payload}")
        else:
            item = InlineKeyboardButton(button.title, callback_data=button.payload)
        last = rows[-1] if rows else None
        if last is not None and len(last) == 1 and _short(last[0].text) and \
                _short(button.title):
            last.append(item)
        else:
            rows.append([item])
    return InlineKeyboardMarkup(rows)


def _short(label: str) -> bool:
    return len(clusters(label)) <= SHORT_LABEL


def retry_seconds_of(error: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: Exception, retry_seconds: float) -> DeliveryError:
    """What the dispatcher should do about a Bot API error (BadRequest is a NetworkError in
    the library: the order of these checks matters)."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, RetryAfter):
        return RetryLater(retry_seconds_of(error), text, told=True)
    if isinstance(error, Forbidden):  # blocked by the user, deactivated, kicked from the group
        return Unreachable(text)
    if isinstance(error, ChatMigrated):
        return Rejected(f"{text} (the group became supergroup {error.new_chat_id})")
    if isinstance(error, BadRequest):
        if "chat not found" in str(error).lower():
            return Unreachable(text)
        return Rejected(text)
    if isinstance(error, InvalidToken):
        # Every message fails until someone fixes TELEGRAM_BOT_TOKEN: wait long.
        log.error("Telegram refused the bot token: %s", error)
        return RetryLater(max(retry_seconds, 300.0), text)
    return RetryLater(retry_seconds, text)  # NetworkError, TimedOut, Conflict, 5xx


class TelegramSender:
    """Sends outbox rows with the library's Bot. A reply of several messages (a long text, a
    photo and its text) takes one rate-limiter token per message; one that fails part-way is
    resumed where it stopped when the dispatcher retries it (kept in memory for an hour)."""

    channel = CHANNEL

    def __init__(self, bot: Bot, limiter: RateLimiter, retry_seconds: float) -> None:
        self.bot = bot
        self.limiter = limiter
        self.retry_seconds = retry_seconds
        self._progress: dict[str, tuple[int, float]] = {}
        self._moved: dict[int, int] = {}  # groups that became supergroups: old id -> new

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        chat, _, topic = recipient.address.partition(THREAD_SEPARATOR)
        try:
            chat_id, thread_id = int(chat), int(topic) if topic else None
        except ValueError:
            raise Rejected(f"{recipient.address!r} is not a Telegram chat id") from None
        chat_id = self._moved.get(chat_id, chat_id)
        parts = render(reply)
        key = _progress_key(recipient.address, parts)
        done = self._resume(key)
        try:
            first = True
            for index, part in enumerate(parts):
                if index < done:
                    continue
                if not first:  # the dispatcher took a token for the row; further messages
                    await self.limiter.acquire(recipient.chat, is_group=recipient.is_group)
                first = False
                try:
                    await self._send_part(chat_id, thread_id, part)
                except ChatMigrated as moved:  # the group is a supergroup now: follow it
                    self._moved[chat_id] = int(moved.new_chat_id)
                    chat_id, thread_id = int(moved.new_chat_id), None
                    await self._send_part(chat_id, thread_id, part)
                done = index + 1
        except DeliveryError as failed:
            self._settle(key, done, failed)
            raise
        except (TelegramError, RuntimeError) as error:  # RuntimeError: the client was closed
            mapped = delivery_error(error, self.retry_seconds)
            self._settle(key, done, mapped)
            raise mapped from error
        self._progress.pop(key, None)

    async def _send_part(self, chat_id: int, thread_id: int | None, part: Part) -> None:
        username = await self._username() if any(b.link for b in part.buttons) else None
        markup = keyboard(part.buttons, username)
        if part.photo is None:
            await self.bot.send_message(chat_id=chat_id, text=part.text or "",
                                        reply_markup=markup, message_thread_id=thread_id)
            return
        photo = await asyncio.to_thread(_read_photo, part.photo)
        await self.bot.send_photo(chat_id=chat_id, photo=photo, filename=part.photo.name,
                                  caption=part.text, reply_markup=markup,
                                  message_thread_id=thread_id)

    async def _username(self) -> str:
        """The bot's @username for links to its private chat (getMe once, then cached)."""
        try:
            return str(self.bot.username)
        except RuntimeError:  # getMe has not answered yet
            return str((await self.bot.get_me()).username)

    def _resume(self, key: str) -> int:
        now = time.monotonic()
        for stale in [k for k, (_, at) in self._progress.items() if now - at > 3600]:
            del self._progress[stale]
        return self._progress.get(key, (0, now))[0]

    def _settle(self, key: str, done: int, raised: DeliveryError) -> None:
        if isinstance(raised, RetryLater) and done:
            self._progress[key] = (done, time.monotonic())
        else:
            self._progress.pop(key, None)


def _read_photo(path: Path) -> bytes:
    if not path.is_file():
        raise Rejected(f"image {path} does not exist")
    data = path.read_bytes()
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise Rejected(f"image {path} is empty or larger than 10 MB")
    return data


def _progress_key(address: str, parts: list[Part]) -> str:
    data = json.dumps([[p.text, str(p.photo), [b.payload for b in p.buttons]] for p in parts],
                      ensure_ascii=False)
    return hashlib.sha256(f"{address}\n{data}".encode()).hexdigest()


