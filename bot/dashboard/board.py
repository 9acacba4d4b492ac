"""What every dashboard page shares: the `Board` of one server process (the app, database
sessions on threads, the viewer's session and language, rendering with the security headers,
the login-and-CSRF wrapper) and the small helpers the page modules use.

Every page under /dashboard/ needs a session; the viewer's scope is applied in the query that
reads the data (`bot.dashboard.data`), and every POST checks the session's CSRF token. Pages
are rendered on the server (Jinja2, autoescaped); the stylesheet and the Khmer font are served
from the package, so the dashboard works without internet. Pages that only read use read-only
sessions (on SQLite they never take the write lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.dashboard import auth
from bot.dashboard.auth import Principal
from bot.request_body import read_body
from common import formatting as fmt
from content.places import gazetteer
from content.surveys.section import Surveys, surveys_of
from dialogues.scorecard.results import MIN_GROUP

if TYPE_CHECKING:
    from bot.bootstrap import App

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "isafbot_session"
LOGIN_COOKIE = "isafbot_login"  # double-submit CSRF token of the login form
LANG_COOKIE = "isafbot_lang"
LANGS = ("km", "en")
MAX_FORM_BYTES = 16_384
# Pages load nothing from elsewhere, run no script, and are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Delivery states shown in the reports of the deliveries and meetings pages, in this order.
DELIVERY_STATUSES = ("sent", "pending", "held", "failed", "unreachable")

Handler = Callable[[Request, Principal], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    """The dashboard's own texts (strings.yml), in both languages."""
    loaded = yaml.safe_load((HERE / "strings.yml").read_text(encoding="utf-8"))
    return {str(k): {lang: str(v[lang]) for lang in LANGS} for k, v in loaded.items()}


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


def commune_name(code: str | None, lang: str) -> str:
    if not code:
        return "–"
    place = gazetteer().get(code)
    return place.name(lang) if place else code


def safe_next(target: str | None, *, allow_public: bool = False) -> str:
    """Only local paths (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard/"
    if not allow_public and not target.startswith("/dashboard"):
        return "/dashboard/"
    return target


@dataclass
class Board:
    """The dashboard of one server process: what its page modules share."""

    app: App
    secure_cookies: bool

    @property
    def surveys(self) -> Surveys:
        return surveys_of(self.app.content)

    async def read(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in a read-only database session on a thread (a session per request)."""
        def run() -> Any:
            with self.app.db.read_session() as session:
                return work(session)
        return await asyncio.to_thread(run)

    async def write(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in a database transaction on a thread: short, and nothing slow in it."""
        def run() -> Any:
            with self.app.db.session() as session:
                return work(session)
        return await asyncio.to_thread(run)

    def secure(self, request: Request) -> bool:
        """Cookies are Secure when the request came over HTTPS (uvicorn takes the scheme from
        X-Forwarded-Proto only from ISAFBOT_FORWARDED_ALLOW_IPS), or when configured."""
        return self.secure_cookies or request.url.scheme == "https"

    @staticmethod
    def lang(request: Request) -> str:
        wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        return wanted if wanted in LANGS else "km"

    def render(self, request: Request, name: str, who: Principal | None = None, *,
               status: int = 200, **values: Any) -> HTMLResponse:
        lang = self.lang(request)
        other = "en" if lang == "km" else "km"
        table = strings()

        def t(key: str, **params: Any) -> str:
            return table[key][lang].format(**params)

        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = templates().get_template(name).render(
            t=t, lang=lang, other_lang=other, who=who, static_prefix="/dashboard/static",
            lang_url=f"/dashboard/lang?to={other}&next={quote(here, safe='')}",
            min_group=fmt.integer(MIN_GROUP, lang), num=lambda n: fmt.integer(int(n), lang),
            **values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(self, request: Request, key: str, status: int,
                who: Principal | None = None) -> HTMLResponse:
        text = strings()[key][self.lang(request)]
        return self.render(request, "message.html", who, status=status, message=text)

    async def viewer(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await self.read(lambda s: auth.principal(s, token))  # type: ignore[no-any-return]

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """An urlencoded form (the only kind the dashboard posts); a body over MAX_FORM_BYTES
        is not read further and counts as empty (so its CSRF check fails)."""
        body = await read_body(request, MAX_FORM_BYTES)
        if body is None:
            return {}
        parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def page(self, handler: Handler) -> Endpoint:
        """A page that needs a logged-in viewer; POSTs also need the session's CSRF token."""
        async def endpoint(request: Request) -> Response:
            who = await self.viewer(request)
            if who is None:
                if request.method != "GET":
                    return self.message(request, "csrf_failed", 403)
                target = quote(request.url.path, safe="")
                return RedirectResponse(f"/dashboard/login?next={target}", status_code=303)
            if request.method == "POST":
                form = await self.form(request)
                if not auth.csrf_ok(who, form.get("csrf")):
                    return self.message(request, "csrf_failed", 403, who)
                request.state.form = form
            return await handler(request, who)
        return endpoint
