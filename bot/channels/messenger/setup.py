"""`isafbot messenger setup`: the page's Get Started button, welcome-screen greeting and
persistent menu, in Khmer and English, through the Messenger Profile API (the same client the
bot sends with). Cheap to import: the work happens inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.features import Features
    from content.model import Content
    from dialogues.core.router import MenuItem

GREETING_KEY = "messenger_greeting"
MAX_GREETING = 160
MAX_MENU_TITLE = 30
MAX_MENU_ITEMS = 20
# Messenger shows the menu and greeting of the user's Facebook locale, else "default".
# Most users in Cambodia read Khmer: the default is Khmer.
LOCALES = {"default": "km", "km_KH": "km", "en_US": "en", "en_GB": "en"}


def register_cli(subparsers: Any) -> None:
    messenger = subparsers.add_parser("messenger", help="Facebook Messenger page tools")
    sub = messenger.add_subparsers(dest="messenger_command", required=True)
    setup = sub.add_parser(
        "setup", help="set the Get Started button, greeting and persistent menu (km and en)")
    setup.add_argument("--dry-run", action="store_true",
                       help="print the Messenger profile instead of sending it")
    setup.set_defaults(func=cmd_setup)


def menu_items(features: Features) -> list[MenuItem]:
    """The main menu the features' dialogues contribute, in their order."""
    return sorted((item for router in features.routers for item in router.menu),
                  key=lambda item: item.order)


def build_profile(content: Content, items: list[MenuItem]) -> dict[str, Any]:
    """The Messenger profile: Get Started posts `get_started` (handled as /start); the
    persistent menu holds "Menu" and the dialogues' menu entries, with their payloads."""
    from bot.channels.messenger.outbound import shorten
    from bot.channels.messenger.settings import GET_STARTED
    from common.splitting import units

    entries = [("menu_button", "menu"), *((item.message_key, item.payload) for item in items)]
    entries = entries[:MAX_MENU_ITEMS]
    greeting, menu = [], []
    for locale, lang in LOCALES.items():
        text = content.message(GREETING_KEY, lang)
        if units(text) > MAX_GREETING:
            raise ValueError(f"content/messages.yml: {GREETING_KEY}: {lang}: longer than "
                             f"{MAX_GREETING} characters ({units(text)})")
        greeting.append({"locale": locale, "text": text})
        menu.append({"locale": locale, "composer_input_disabled": False, "call_to_actions": [
            {"type": "postback", "title": shorten(content.message(key, lang), MAX_MENU_TITLE),
             "payload": payload} for key, payload in entries]})
    return {"get_started": {"payload": GET_STARTED}, "greeting": greeting,
            "persistent_menu": menu}


def cmd_setup(args: argparse.Namespace) -> int:
    from bot.channels.messenger.client import GraphError, MessengerClient
    from bot.channels.messenger.settings import MessengerSettings
    from bot.settings import Settings

    features: Features = args.features  # the records the parser was built from
    settings = Settings.from_env()
    content = features.load_content(settings.content_dir, extra_messages={GREETING_KEY})
    try:
        profile = build_profile(content, menu_items(features))
    except ValueError as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(profile, ensure_ascii=False, indent=2))
        return 0
    messenger = MessengerSettings.from_env(settings.env)
    if messenger is None:
        print("isafbot: set MESSENGER_PAGE_ACCESS_TOKEN, MESSENGER_APP_SECRET and "
              "MESSENGER_VERIFY_TOKEN first (see README, \"Facebook Messenger\")",
              file=sys.stderr)
        return 2
    client = MessengerClient.from_settings(messenger)
    try:
        client.set_profile(profile)
        stored = client.get_profile(["get_started", "greeting", "persistent_menu"])
    except GraphError as error:
        from common.redact import Redactor

        redact = Redactor.from_env(settings.env)
        print(redact(f"isafbot: the page was not set up: {error}"), file=sys.stderr)
        return 1
    finally:
        client.close()
    data = (stored.get("data") or [{}])[0]
    menus = {m.get("locale"): len(m.get("call_to_actions") or [])
             for m in data.get("persistent_menu") or []}
    print(f"Messenger page set up through {client.graph_url}:")
    print(f"  Get Started button: payload {data.get('get_started', {}).get('payload')!r}")
    print(f"  greeting: {', '.join(g.get('locale', '?') for g in data.get('greeting') or [])}")
    print("  persistent menu: " + ", ".join(f"{locale} ({n} items)"
                                            for locale, n in menus.items()))
    return 0
