"""Messenger's settings from the environment (MESSENGER_*): the page's credentials and the
Graph API's host and version. The client is built from them (`MessengerClient.from_settings`);
this module imports nothing of the channel, so every other module of it may import this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import SettingsError, seconds_setting

CHANNEL = "messenger"
WEBHOOK_PATH = "/webhooks/messenger"
GET_STARTED = "get_started"  # the Get Started button's postback payload (`isafbot messenger setup`)
GRAPH_URL = "https://graph.facebook.com"
API_VERSION = 26.0  # July 2026; Meta keeps a version for about two years


def api_version_number(raw: str | float) -> float:
    """"26.0", "v26.0" or 26 → 26.0 (pymessenger formats it after a "v")."""
    text = str(raw).strip().lstrip("vV")
    value = float(text)
    if value < 2:
        raise ValueError(f"Graph API version {raw!r} is not a version")
    return value


@dataclass(frozen=True)
class MessengerSettings:
    page_access_token: str
    app_secret: str
    verify_token: str
    graph_url: str = GRAPH_URL
    api_version: float = API_VERSION
    timeout: float = 10.0  # seconds, every Graph API request
    retry_seconds: float = 20.0  # wait after a rate limit or a Graph API outage

    REQUIRED = ("MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MessengerSettings | None:
        """None when none of the three required variables is set (the channel is off); an
        error naming the missing ones when only some are."""
        given = [name for name in cls.REQUIRED if env.get(name)]
        if not given:
            return None
        missing = [name for name in cls.REQUIRED if not env.get(name)]
        if missing:
            raise SettingsError(f"Messenger is half configured: set {', '.join(missing)} too "
                                f"(or unset {', '.join(given)} to switch Messenger off)")
        try:
            version = api_version_number(env.get("MESSENGER_API_VERSION") or API_VERSION)
        except ValueError:
            raise SettingsError(f"MESSENGER_API_VERSION={env['MESSENGER_API_VERSION']!r} is "
                                "not a Graph API version such as 26.0") from None
        graph_url = env.get("MESSENGER_GRAPH_URL") or GRAPH_URL
        if not graph_url.startswith(("https://", "http://")):
            raise SettingsError(f"MESSENGER_GRAPH_URL={graph_url!r} must be an http(s) URL")
        return cls(
            page_access_token=env["MESSENGER_PAGE_ACCESS_TOKEN"],
            app_secret=env["MESSENGER_APP_SECRET"],
            verify_token=env["MESSENGER_VERIFY_TOKEN"],
            graph_url=graph_url,
            api_version=version,
            timeout=seconds_setting(env, "MESSENGER_TIMEOUT", 10.0),
            retry_seconds=seconds_setting(env, "MESSENGER_RETRY_SECONDS", 20.0),
        )
