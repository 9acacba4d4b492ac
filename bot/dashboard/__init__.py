"""The web dashboard for CAFs and NGO staff, and the public results pages.

`routes(runtime)` is the dashboard record's pages (bot.features); the pages live in `web`, the
scoped queries in `data`, accounts and sessions in `auth`, the CLI in bot/cli/dashboard.py.
"""

from __future__ import annotations

from typing import Any


def routes(runtime: Any) -> list[Any]:
    from bot.dashboard.web import routes as dashboard_routes

    return dashboard_routes(runtime)
