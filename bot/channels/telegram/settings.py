"""Telegram's settings from the environment (TELEGRAM_*), the library's `Bot` built from them,
and keeping the bot token (part of every Bot API URL) out of the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.settings import SettingsError, seconds_setting
from common.redact import URL_LOGGERS, Redactor, protect

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# What the bot asks Telegram for (getUpdates and setWebhook): everything else is not sent.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


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
    def file_url(self) -> str:
        """Where files are downloaded from: the API URL with /file before /bot (Telegram's
        https://api.telegram.org/file/bot, or the fake server's in tests)."""
        if self.base_url.endswith("/bot"):
            return self.base_url[:-len("/bot")] + "/file/bot"
        return self.base_url.rstrip("/") + "/file/bot"

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
        return Bot(self.token, base_url=self.base_url, base_file_url=self.file_url,
                   request=request, get_updates_request=polling)




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


