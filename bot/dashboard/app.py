"""The dashboard's router: every page module's routes, in one list for the web server, each
response hardened (HSTS over HTTPS, not stored unless the endpoint allowed it).

A page module has `routes(board) -> list[BaseRoute]`; adding a page is a module and a line in
`PAGES`. Order matters where paths overlap (the font before the static files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.dashboard import (
    handovers,
    jaap,
    login,
    meetings,
    printing,
    public,
    report_pages,
    reports,
    results,
    review,
    usage,
)
from bot.dashboard.board import HERE, Board

# Sent with every response to a request that came over HTTPS (directly, or from a trusted
# proxy that said so in X-Forwarded-Proto). Browsers ignore it over plain HTTP.
HSTS = "max-age=31536000"
PAGES: tuple[Callable[[Board], list[BaseRoute]], ...] = (
    login.routes, results.routes, printing.routes, usage.routes, meetings.routes, review.routes,
    jaap.routes, handovers.routes,
    report_pages.routes, reports.routes)  # the figures' paths before a report's


def routes(runtime: Any) -> list[BaseRoute]:
    """The dashboard's routes for `bot.server` (ROUTE_MODULES); only the app is used."""
    app = runtime.app
    secure = app.settings.env.get("ISAFBOT_DASHBOARD_SECURE_COOKIES", "").lower() in (
        "1", "true", "yes")
    board = Board(app, secure_cookies=secure)
    found: list[BaseRoute] = [Route("/dashboard", home)]
    for page in PAGES:
        found.extend(page(board))
    found += [Route("/dashboard/static/font/NotoSansKhmer.ttf", public.font),
              Mount("/dashboard/static", app=StaticFiles(directory=HERE / "static")),
              *public.routes(board)]
    return [_hardened(route) for route in found]


async def home(request: Request) -> Response:
    return RedirectResponse("/dashboard/", status_code=303)


def _hardened(route: BaseRoute) -> BaseRoute:
    """Every dashboard and public response: HSTS when the request came over HTTPS, and not
    stored by browsers or proxies unless the endpoint allowed it (static files, the font,
    public charts)."""
    if not isinstance(route, Route):
        return route
    endpoint = route.endpoint

    async def hardened(request: Request) -> Response:
        response: Response = await endpoint(request)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return Route(route.path, hardened, methods=route.methods, name=route.name)
