"""The Telegram channel, on python-telegram-bot 22: updates translated into `Incoming`,
replies sent with the library's `Bot` (through the outbox, the rate limiter and `TelegramSender`).

Two ways to receive, both storing each update in the durable inbox first (the update_id is the
key, so a redelivered update is stored once, across restarts and workers):

- long polling (default): `start()` deletes any webhook, then runs a getUpdates loop (in the
  leader process only when several run). The offset lives in memory only: after a restart
  Telegram sends again what was not yet confirmed (at most the last batch) and the inbox drops
  it;
- webhook (when TELEGRAM_WEBHOOK_URL is set): POST /webhooks/telegram on the project's web
  server, registered with `isafbot telegram set-webhook`. The X-Telegram-Bot-Api-Secret-Token
  header must equal TELEGRAM_WEBHOOK_SECRET (compared in constant time) or nothing is stored.

Groups: only commands (bare or addressed to this bot), replies to the bot's messages and
mentions of the bot are answered; other chatter is silence. A reply goes to the forum topic the
message was written in (the address "<chat>/<topic>"). Surveys and CAF tools answer in a group
with a button to the private chat (a `t.me/<bot>?start=...` link: dialogues.core.router). A group
upgraded to a supergroup gets a new id: its migration messages re-address what is queued for
it (Kind.MOVED), and a send refused with ChatMigrated follows the new id at once. Edited
messages are ignored: the original was already answered, and answering an edit again would
repeat a reply or feed a survey answer twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.delivery import DeliveryError, Recipient, Rejected, RetryLater, Unreachable
from bot.ratelimit import Limits, RateLimiter
from bot.request_body import parse_json, read_body
from bot.settings import SettingsError, seconds_setting
from common.db.session import database_unavailable
from common.messages import THREAD_SEPARATOR, Button, Incoming, Kind, Reply, is_valid_payload
from common.redact import URL_LOGGERS, Redactor, protect
from common.splitting import clusters, split_text, units
from common.supervise import Backoff, LoopState, Supervisor

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.server import Runtime

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
POLLING_LOOP = "telegram-polling"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# What the bot asks Telegram for (getUpdates and setWebhook): everything else is not sent.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_BODY_BYTES = 1024 * 1024  # one update; Telegram's are a few kB
MAX_DEEP_LINK = 64  # Telegram's limit for the /start parameter
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?$")


# ------------------------------------------------------------------ settings

@dataclass(frozen=True)
class TelegramSettings:
    token: str
    base_url: str = DEFAULT_BASE_URL
    webhook_url: str | None = None
    webhook_secret: str | None = None
    poll_timeout: float = 30.0  # seconds a getUpdates long poll waits at Telegram
    timeout: float = 10.0  # seconds, every other Bot API request
    retry_seconds: float = 5.0  # wait after a network error or a Telegram outage

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def bot_id(self) -> int:
        """The bot's own user id: the number before the colon of its token."""
        return int(self.token.split(":", 1)[0])

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelegramSettings | None:
        """None when TELEGRAM_BOT_TOKEN is not set (the channel is off)."""
        token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
        if not token:
            if env.get("TELEGRAM_WEBHOOK_URL"):
                raise SettingsError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not")
            return None
        if not _TOKEN.match(token):
            raise SettingsError("TELEGRAM_BOT_TOKEN does not look like a bot token from "
                                "BotFather (digits, a colon, then letters and digits)")
        base_url = env.get("TELEGRAM_API_BASE_URL") or DEFAULT_BASE_URL
        if not base_url.startswith(("https://", "http://")):
            raise SettingsError(f"TELEGRAM_API_BASE_URL={base_url!r} must be an http(s) URL "
                                "ending in /bot (the token is appended)")
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL") or None
        secret = env.get("TELEGRAM_WEBHOOK_SECRET") or None
        if webhook_url is not None:
            if not webhook_url.startswith(("https://", "http://")):
                raise SettingsError(f"TELEGRAM_WEBHOOK_URL={webhook_url!r} must be an https "
                                    "URL")
            if secret is None:
                raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be set when "
                                    "TELEGRAM_WEBHOOK_URL is (Telegram sends it back with "
                                    "every update; anything without it is refused)")
        if secret is not None and not _SECRET.match(secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 16 to 256 characters of "
                                "A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return cls(
            token=token, base_url=base_url, webhook_url=webhook_url, webhook_secret=secret,
            poll_timeout=seconds_setting(env, "TELEGRAM_POLL_TIMEOUT", 30.0, high=50.0,
                                         zero_ok=True),
            timeout=seconds_setting(env, "TELEGRAM_TIMEOUT", 10.0),
            retry_seconds=seconds_setting(env, "TELEGRAM_RETRY_SECONDS", 5.0),
        )

    def bot(self, *, connections: int = 64) -> Bot:
        """python-telegram-bot's Bot on TELEGRAM_API_BASE_URL; long polls get their own
        connection so they never hold up sending."""
        request = HTTPXRequest(connection_pool_size=connections, read_timeout=self.timeout,
                               write_timeout=self.timeout, connect_timeout=self.timeout,
                               pool_timeout=self.timeout, media_write_timeout=self.timeout * 3)
        polling = HTTPXRequest(connection_pool_size=2, read_timeout=self.timeout,
                               write_timeout=self.timeout, connect_timeout=self.timeout,
                               pool_timeout=self.timeout)
        return Bot(self.token, base_url=self.base_url, request=request,
                   get_updates_request=polling)


# ------------------------------------------------------------------ updates

def stored(update: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(external_id, chat_key, what to store) for the inbox, or None when this is not an
    update. What is stored is the update reduced to what `to_incoming` reads (`reduced`)."""
    if not isinstance(update, dict):
        return None
    update_id = _int(update.get("update_id"))
    if update_id is None:
        return None
    chat = _chat_of(update)
    return str(update_id), f"{CHANNEL}:{chat if chat is not None else '-'}", reduced(update)


# Kept of a user or chat: what tells groups from private chats and the bot from people, and the
# language hint. Names, usernames, titles and photos are never stored.
_PERSON = ("id", "is_bot", "language_code")
_CHAT = ("id", "type", "is_forum")
# Kept of a message besides its content: what addresses replies in groups (forum topics, a group
# migrated to a supergroup) and what tells whether the bot was addressed.
_MESSAGE = ("message_id", "date", "text", "caption", "message_thread_id", "is_topic_message",
            "migrate_to_chat_id", "migrate_from_chat_id")


def reduced(update: dict[str, Any]) -> dict[str, Any]:
    """The update as stored in the inbox: only the fields the handler reads. A button press
    loses the message it was under (its text and its keyboard would show which label the
    person chose) and every name; media, contacts and locations become their kind only."""
    out: dict[str, Any] = {"update_id": update["update_id"]}
    if isinstance(update.get("message"), dict):
        out["message"] = _reduced_message(update["message"])
    if isinstance(update.get("edited_message"), dict):  # ignored (module docstring)
        edited = update["edited_message"]
        out["edited_message"] = {"message_id": edited.get("message_id"),
                                 "chat": _only(edited.get("chat"), _CHAT)}
    if isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        under = _dict(query.get("message"))
        out["callback_query"] = {
            **_only(query, ("id", "data")), "from": _only(query.get("from"), _PERSON),
            "message": {**_only(under, ("message_id", "message_thread_id",
                                        "is_topic_message")),
                        "chat": _only(under.get("chat"), _CHAT)}}
    if isinstance(update.get("my_chat_member"), dict):
        change = update["my_chat_member"]
        out["my_chat_member"] = {
            "chat": _only(change.get("chat"), _CHAT), "from": _only(change.get("from"), _PERSON),
            **{side: _only(change.get(side), ("status",))
               for side in ("old_chat_member", "new_chat_member")}}
    return out


def _reduced_message(message: dict[str, Any]) -> dict[str, Any]:
    out = _only(message, _MESSAGE)
    out["chat"] = _only(message.get("chat"), _CHAT)
    out["from"] = _only(message.get("from"), _PERSON)
    for key in ("entities", "caption_entities"):
        if isinstance(message.get(key), list):
            out[key] = [{**_only(entity, ("type", "offset", "length")),
                         **({"user": _only(entity["user"], ("id",))}
                            if isinstance(_dict(entity).get("user"), dict) else {})}
                        for entity in message[key] if isinstance(entity, dict)]
    replied = _dict(message.get("reply_to_message"))
    if replied:
        out["reply_to_message"] = {"message_id": replied.get("message_id"),
                                   "from": _only(replied.get("from"), ("id", "is_bot"))}
    for key, _ in _CONTENT_KINDS:  # what was sent, not the file, contact card or place
        if key in message:
            out[key] = {}
    for key in _OTHER_CONTENT:
        if key in message:
            out[key] = {}
    return out


def _only(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    found = _dict(value)
    return {key: found[key] for key in keys if key in found}


def _chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its order key), when it has one."""
    for key in ("message", "edited_message", "my_chat_member"):
        chat = _dict(_dict(update.get(key)).get("chat"))
        if _int(chat.get("id")) is not None:
            return _int(chat.get("id"))
    query = _dict(update.get("callback_query"))
    chat_id = _int(_dict(_dict(query.get("message")).get("chat")).get("id"))
    return chat_id if chat_id is not None else _int(_dict(query.get("from")).get("id"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    """An id: Telegram's are 64-bit integers (a bigger one would not fit the inbox's keys)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) < value < 2**63:
        return value
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Message content → what the dialogues answer; checked in this order (an animation also
# carries a document, a venue a location).
_CONTENT_KINDS: tuple[tuple[str, Kind], ...] = (
    ("sticker", Kind.STICKER),
    ("voice", Kind.VOICE),
    ("audio", Kind.AUDIO),
    ("video_note", Kind.VIDEO),
    ("animation", Kind.VIDEO),
    ("video", Kind.VIDEO),
    ("photo", Kind.IMAGE),
    ("document", Kind.FILE),
    ("venue", Kind.LOCATION),
    ("location", Kind.LOCATION),
    ("contact", Kind.CONTACT),
)
# Content the bot cannot do anything with but a person sent on purpose: "I can't read that".
_OTHER_CONTENT = frozenset({"poll", "dice", "game", "story", "invoice", "paid_media",
                            "checklist", "giveaway", "passport_data"})


@dataclass(frozen=True)
class Me:
    """Who the bot is, for telling what in a group is addressed to it."""

    id: int
    username: str | None = None  # known after getMe

    def is_me(self, name: str) -> bool:
        return bool(self.username) and name.lower().lstrip("@") == str(self.username).lower()


def to_incoming(update: dict[str, Any], me: Me) -> Incoming | None:
    """A stored update as the core message type; None when there is nothing to answer. Never
    raises: an update of a shape not foreseen is logged and left unanswered."""
    try:
        return _incoming(update, me)
    except Exception:  # an odd update must not fail the worker five times
        log.exception("Telegram update %s of an unexpected shape left unanswered",
                      update.get("update_id") if isinstance(update, dict) else None)
        return None


def _incoming(update: dict[str, Any], me: Me) -> Incoming | None:
    if isinstance(update.get("callback_query"), dict):
        return _callback(update["callback_query"])
    if isinstance(update.get("message"), dict):
        return _message(update["message"], me)
    if isinstance(update.get("my_chat_member"), dict):
        return _membership(update["my_chat_member"], me)
    return None  # edited_message (see the module's docstring), channel posts, polls...


def _sender(message: dict[str, Any]) -> dict[str, Any] | None:
    sender = _dict(message.get("from"))
    if _int(sender.get("id")) is None or sender.get("is_bot"):
        return None
    return sender


def _message(message: dict[str, Any], me: Me) -> Incoming | None:
    chat = _dict(message.get("chat"))
    chat_id = _int(chat.get("id"))
    if chat_id is not None and chat.get("type") in ("group", "supergroup"):
        moved = _migration(message, chat_id)
        if moved is not None:
            return moved
    sender = _sender(message)
    if chat_id is None or sender is None:
        return None
    chat_type = chat.get("type")
    group = chat_type in ("group", "supergroup")
    if not group and chat_type != "private":
        return None  # channels
    user = str(sender["id"])
    hint = _str(sender.get("language_code")) or None
    where = str(chat_id) if group else None
    topic = _topic(message) if group else None
    mid = f"{chat_id}:{message.get('message_id')}"
    reply_to_bot = _int(_dict(_dict(message.get("reply_to_message")).get("from")).get("id")) \
        == me.id
    raw_text = message.get("text")
    if isinstance(raw_text, str):
        command = _command(raw_text, me, group)
        if command is not None:
            if command is _NOT_OURS:
                return None
            name, argument = command
            return Incoming(CHANNEL, user, Kind.COMMAND, text=raw_text, command=name,
                            argument=argument, message_id=mid, chat_id=where,
                            language_hint=hint, thread_id=topic)
        text = raw_text
        if group:
            mentioned, text = _mention(raw_text, message.get("entities"), me)
            if not (mentioned or reply_to_bot):
                return None
        return Incoming(CHANNEL, user, Kind.TEXT, text=text.strip(), message_id=mid,
                        chat_id=where, language_hint=hint, thread_id=topic)
    kind = next((k for key, k in _CONTENT_KINDS if key in message), None)
    if kind is None:
        if not any(key in message for key in _OTHER_CONTENT):
            return None  # a service message: someone joined, the title changed, a pin...
        kind = Kind.UNSUPPORTED
    if group:
        mentioned, _ = _mention(_str(message.get("caption")), message.get("caption_entities"),
                                me)
        if not (mentioned or reply_to_bot):
            return None
    return Incoming(CHANNEL, user, kind, message_id=mid, chat_id=where, language_hint=hint,
                    thread_id=topic)


def _topic(message: dict[str, Any]) -> str | None:
    """The forum topic a group message was written in (replies go there, not to General).
    Only `is_topic_message` says so: in a group without topics `message_thread_id` is the
    thread of a reply, where Telegram does not take it back."""
    thread = _int(message.get("message_thread_id"))
    return str(thread) if message.get("is_topic_message") is True and thread else None


def _migration(message: dict[str, Any], chat_id: int) -> Incoming | None:
    """The service messages of a group upgraded to a supergroup (a new chat id): the old
    group's says `migrate_to_chat_id`, the new supergroup's `migrate_from_chat_id`. Either
    re-addresses what is still queued for the old id (Kind.MOVED)."""
    to_id = _int(message.get("migrate_to_chat_id"))
    from_id = _int(message.get("migrate_from_chat_id"))
    if to_id is not None:
        old, new = chat_id, to_id
    elif from_id is not None:
        old, new = from_id, chat_id
    else:
        return None
    sender = _int(_dict(message.get("from")).get("id"))
    return Incoming(CHANNEL, str(sender or ""), Kind.MOVED, chat_id=str(new),
                    moved_from=str(old), message_id=f"{chat_id}:{message.get('message_id')}")


_NOT_OURS = ("", None)  # a command for another bot in the group


def _command(text: str, me: Me, group: bool) -> tuple[str, str | None] | None:
    """("start", "caf-AB12CD") for "/start caf-AB12CD" or "/start@isafbot caf-AB12CD"; None
    when the text is not a command; `_NOT_OURS` when it is addressed to another bot."""
    if not text.startswith("/"):
        return None
    head, *rest = text.split(maxsplit=1)
    match = _COMMAND.match(head)
    if not match:
        return None
    target = match.group(2)
    if target and group and not me.is_me(target):
        return _NOT_OURS
    argument = " ".join(rest[0].split()) if rest else None
    name = match.group(1).lower()
    if name == "start" and argument:
        argument = argument[:MAX_DEEP_LINK]
    return name, argument


def _mention(text: str, entities: Any, me: Me) -> tuple[bool, str]:
    """Whether the bot is mentioned (@username, or a text mention of its id), and the text
    without the @username."""
    mentioned = False
    if isinstance(entities, list):
        for entity in entities:
            entity = _dict(entity)
            if entity.get("type") == "text_mention" and \
                    _int(_dict(entity.get("user")).get("id")) == me.id:
                mentioned = True
    if me.username:
        pattern = re.compile(rf"@{re.escape(me.username)}\b", re.IGNORECASE)
        if pattern.search(text):
            mentioned = True
            text = pattern.sub(" ", text)
    return mentioned, " ".join(text.split())


def _callback(query: dict[str, Any]) -> Incoming | None:
    sender = _sender(query)
    if sender is None:
        return None
    user = str(sender["id"])
    message = _dict(query.get("message"))
    chat_id = _int(_dict(message.get("chat")).get("id"))
    where = str(chat_id) if chat_id is not None and str(chat_id) != user else None
    data = query.get("data")
    payload = data if isinstance(data, str) and is_valid_payload(data) else "menu"
    return Incoming(CHANNEL, user, Kind.BUTTON, payload=payload,
                    message_id=f"callback:{query.get('id')}", chat_id=where,
                    language_hint=_str(sender.get("language_code")) or None,
                    thread_id=_topic(message) if where else None)


def _membership(change: dict[str, Any], me: Me) -> Incoming | None:
    """The bot added to a group: it introduces itself there (as /start). Everything else
    (removed, made admin, a user blocking or unblocking the bot) needs no message."""
    chat = _dict(change.get("chat"))
    sender = _sender(change)
    if chat.get("type") not in ("group", "supergroup") or sender is None \
            or _int(chat.get("id")) is None:
        return None
    old = _str(_dict(change.get("old_chat_member")).get("status"))
    new = _str(_dict(change.get("new_chat_member")).get("status"))
    if old not in ("left", "kicked") or new not in ("member", "administrator"):
        return None
    return Incoming(CHANNEL, str(sender["id"]), Kind.COMMAND, text="/start", command="start",
                    chat_id=str(chat["id"]),
                    language_hint=_str(sender.get("language_code")) or None)


# ------------------------------------------------------------------ replies

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


# ------------------------------------------------------------------ the token in logs

def protect_token(redactor: Redactor) -> None:
    """The bot token is part of every Bot API URL: the loggers that log URLs (httpx at INFO,
    python-telegram-bot at DEBUG) get the one redaction filter (common.redact), so the token
    reaches no log whatever handler writes it. httpx's line per request is noise at INFO
    (several a second under load), so it logs warnings only unless configured."""
    httpx_logger = logging.getLogger("httpx")
    if httpx_logger.level == logging.NOTSET:
        httpx_logger.setLevel(logging.WARNING)
    protect(redactor, loggers=(*URL_LOGGERS, Bot._LOGGER.name))


# ------------------------------------------------------------------ the channel

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
        self._supervisor: Supervisor | None = None

    # -- webhook

    def routes(self) -> list[BaseRoute]:
        if not self.settings.webhook_mode:
            return []
        return [Route(WEBHOOK_PATH, self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
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
        runtime: Runtime = request.app.state.runtime
        try:
            new = await self._store(runtime.accept, CHANNEL, *item)
        except Exception as error:
            if not database_unavailable(error):
                raise
            # not stored: Telegram delivers it again later
            return PlainTextResponse("database unavailable, retry later", status_code=503)
        if new:
            runtime.inbox.wake()
            self._answer_callback(item[2])
        return JSONResponse({})

    # -- long polling

    async def _poll(self, runtime: Runtime, state: LoopState) -> None:
        """getUpdates until stopped; each update stored (once) before it is confirmed. Runs
        under the runtime's supervisor: failures wait a capped backoff (Telegram's own
        retry_after when it gives one) and are logged once per outage; anything unforeseen
        restarts the loop (updates not yet confirmed are fetched again, stored once)."""
        offset: int | None = None
        webhook_deleted = False
        while not self._stopping.is_set():
            if not getattr(runtime, "leading", True):
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
                params: dict[str, Any] = {"timeout": int(self.settings.poll_timeout),
                                          "allowed_updates": list(ALLOWED_UPDATES)}
                if offset is not None:
                    params["offset"] = offset
                # Raw JSON, stored exactly as a webhook receives it. The library's get_updates
                # parses every update and fails the whole batch on one it cannot parse (a poll
                # without a field a newer Bot API made required, for instance).
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Please use 'Bot.getUpdates'")
                    updates = await self.bot.do_api_request(
                        "getUpdates", api_kwargs=params,
                        read_timeout=self.settings.timeout + self.settings.poll_timeout)
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
            if not isinstance(updates, list):
                state.ok()
                continue
            items = [item for update in updates if (item := stored(update))]
            if items:
                try:
                    fresh = await self._store(self._accept_all, runtime, items)
                except Exception as error:  # the database is unreachable: not confirmed,
                    await self._sleep(state.failed(error))  # Telegram keeps them
                    continue
                runtime.inbox.wake()
                for item in fresh:
                    self._answer_callback(item[2])
                offset = max(int(item[0]) for item in items) + 1  # confirms them at Telegram
            state.ok()

    async def _store(self, function: Any, *args: Any) -> Any:
        """Run a storing call in the channel's own threads: the default executor is shared
        with the workers and the dispatcher, and under load a webhook waited seconds there
        for a thread before it could store and answer."""
        return await asyncio.get_running_loop().run_in_executor(self._store_pool, function,
                                                                *args)

    @staticmethod
    def _accept_all(runtime: Runtime, items: list[tuple[str, str, dict[str, Any]]]
                    ) -> list[tuple[str, str, dict[str, Any]]]:
        return [item for item in items if runtime.accept(CHANNEL, *item)]

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- callback queries: stop the client's spinner

    def _answer_callback(self, update: dict[str, Any]) -> None:
        query_id = _dict(update.get("callback_query")).get("id")
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

    async def start(self, runtime: Runtime) -> None:
        self._stopping = asyncio.Event()
        self._spawn(self._identify())
        if not self.settings.webhook_mode:
            # the runtime's supervisor (a runtime of tests' own may not have one)
            self._supervisor = getattr(runtime, "supervisor", None) or Supervisor()
            base = self.settings.retry_seconds
            self._supervisor.spawn(
                POLLING_LOOP, lambda state: self._poll(runtime, state),
                backoff=Backoff(base=base, cap=max(base, self._supervisor.backoff.cap)))
        else:
            log.info("Telegram channel: webhook at %s", WEBHOOK_PATH)

    async def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            await self._supervisor.retire(POLLING_LOOP)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.bot.shutdown()
        self._store_pool.shutdown(wait=True)


def channel_from_settings(app: App) -> TelegramChannel | None:
    settings = TelegramSettings.from_env(app.settings.env)
    return TelegramChannel(settings, app.redactor) if settings else None


__all__ = ["CHANNEL", "TelegramChannel", "TelegramSender", "TelegramSettings",
           "channel_from_settings", "delivery_error", "protect_token", "render", "stored",
           "to_incoming"]
