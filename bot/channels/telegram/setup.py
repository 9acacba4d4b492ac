"""`isafbot telegram set-webhook URL | delete-webhook | webhook-info`: register the bot's
webhook with Telegram (with the secret token and the update types the bot handles), remove it
(back to long polling), or show what Telegram has. Cheap to import: the work happens inside
the commands.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.channels.telegram.settings import TelegramSettings


def register_cli(subparsers: Any) -> None:
    telegram = subparsers.add_parser("telegram", help="Telegram bot tools")
    sub = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = sub.add_parser(
        "set-webhook", help="register URL (ending in /webhooks/telegram) as the bot's webhook, "
                            "with TELEGRAM_WEBHOOK_SECRET as its secret token")
    set_webhook.add_argument("url", nargs="?",
                             help="public https URL of /webhooks/telegram (default: "
                                  "TELEGRAM_WEBHOOK_URL)")
    set_webhook.add_argument("--drop-pending-updates", action="store_true",
                             help="forget updates Telegram is still holding for the bot")
    set_webhook.add_argument("--max-connections", type=int, default=40,
                             help="parallel webhook connections Telegram may open (1-100)")
    set_webhook.set_defaults(func=cmd_set_webhook)
    delete = sub.add_parser("delete-webhook",
                            help="remove the webhook (the bot can then poll with getUpdates)")
    delete.add_argument("--drop-pending-updates", action="store_true")
    delete.set_defaults(func=cmd_delete_webhook)
    info = sub.add_parser("webhook-info", help="show the webhook Telegram has for the bot")
    info.set_defaults(func=cmd_webhook_info)


def _settings() -> TelegramSettings | None:
    from bot.channels.telegram.settings import TelegramSettings
    from bot.settings import Settings, SettingsError

    try:
        env = Settings.from_env().env
        telegram = TelegramSettings.from_env(env)
    except SettingsError as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return None
    if telegram is None:
        print("isafbot: set TELEGRAM_BOT_TOKEN first (see README, \"Telegram\")",
              file=sys.stderr)
    else:
        from bot.channels.telegram.settings import protect_token
        from common.redact import Redactor

        protect_token(Redactor.from_env(env))
    return telegram


def cmd_set_webhook(args: argparse.Namespace) -> int:
    from bot.channels.telegram.settings import ALLOWED_UPDATES, WEBHOOK_PATH

    telegram = _settings()
    if telegram is None:
        return 2
    if not telegram.webhook_secret:
        print("isafbot: set TELEGRAM_WEBHOOK_SECRET (16 to 256 characters of A-Z, a-z, 0-9, _ "
              "and -) first: the bot refuses webhook calls without it", file=sys.stderr)
        return 2
    args.url = args.url or telegram.webhook_url
    if not args.url:
        print("isafbot: give the webhook URL (or set TELEGRAM_WEBHOOK_URL)", file=sys.stderr)
        return 2
    if not args.url.startswith("https://"):
        print("isafbot: Telegram only calls https:// webhooks (a local Bot API server "
              "accepts http)", file=sys.stderr)
    if not 1 <= args.max_connections <= 100:
        print("isafbot: --max-connections must be between 1 and 100", file=sys.stderr)
        return 2
    if not args.url.rstrip("/").endswith(WEBHOOK_PATH):
        print(f"isafbot: note: the bot serves its webhook at {WEBHOOK_PATH}", file=sys.stderr)
    if telegram.webhook_url and telegram.webhook_url != args.url:
        print(f"isafbot: note: TELEGRAM_WEBHOOK_URL is {telegram.webhook_url}",
              file=sys.stderr)

    async def run() -> dict[str, Any]:
        async with telegram.bot(connections=2) as bot:
            await bot.set_webhook(args.url, secret_token=telegram.webhook_secret,
                                  allowed_updates=list(ALLOWED_UPDATES),
                                  max_connections=args.max_connections,
                                  drop_pending_updates=args.drop_pending_updates)
            return (await bot.get_webhook_info()).to_dict()

    return _report(run, "webhook set")


def cmd_delete_webhook(args: argparse.Namespace) -> int:
    telegram = _settings()
    if telegram is None:
        return 2

    async def run() -> dict[str, Any]:
        async with telegram.bot(connections=2) as bot:
            await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
            return (await bot.get_webhook_info()).to_dict()

    return _report(run, "webhook deleted (the bot polls with getUpdates when run without "
                        "TELEGRAM_WEBHOOK_URL)")


def cmd_webhook_info(args: argparse.Namespace) -> int:
    telegram = _settings()
    if telegram is None:
        return 2

    async def run() -> dict[str, Any]:
        async with telegram.bot(connections=2) as bot:
            return (await bot.get_webhook_info()).to_dict()

    return _report(run, "webhook info")


def _report(run: Any, done: str) -> int:
    from telegram.error import TelegramError

    try:
        info = asyncio.run(run())
    except TelegramError as error:
        from bot.settings import Settings
        from common.redact import Redactor

        redact = Redactor.from_env(Settings.from_env().env)
        print(redact(f"isafbot: Telegram refused: {error}"), file=sys.stderr)
        return 1
    print(f"{done}:")
    print(f"  url: {info.get('url') or '(none)'}")
    print(f"  pending updates: {info.get('pending_update_count', 0)}")
    if info.get("allowed_updates"):
        print(f"  allowed updates: {', '.join(info['allowed_updates'])}")
    if info.get("last_error_message"):
        print(f"  last error: {info['last_error_message']}")
    return 0
