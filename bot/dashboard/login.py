"""Logging in and out of the dashboard, and the language switch.

The login form carries a double-submit CSRF token (a cookie and a hidden field that must
match); refusals say why only as far as is safe (limited, disabled, or wrong), and every
refusal is logged. The session cookie is HttpOnly, SameSite=Lax, and Secure over HTTPS.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from functools import partial

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import auth
from bot.dashboard.auth import Principal
from bot.dashboard.board import (
    LANG_COOKIE,
    LANGS,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Board,
    safe_next,
    strings,
)

log = logging.getLogger(__name__)

# A refused login: the message and the status for each refusal of auth.log_in
_REFUSALS = {"limited": ("login_limited", 429), "disabled": ("login_disabled", 403)}
_WRONG = ("login_failed", 401)


def routes(board: Board) -> list[BaseRoute]:
    return [
        Route("/dashboard/login", partial(login_page, board), methods=["GET"]),
        Route("/dashboard/login", partial(login, board), methods=["POST"]),
        Route("/dashboard/logout", board.page(partial(logout, board)), methods=["POST"]),
        Route("/dashboard/lang", partial(set_language, board)),
    ]


async def login_page(board: Board, request: Request) -> Response:
    return login_form(board, request, error=None, username="", status=200)


def login_form(board: Board, request: Request, *, error: str | None, username: str,
               status: int) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    next_path = safe_next(request.query_params.get("next")
                          or getattr(request.state, "next", None))
    response = board.render(request, "login.html", status=status, error=error,
                            login_csrf=token, next=next_path, username=username)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="lax",
                        secure=board.secure(request), path="/dashboard")
    return response


async def login(board: Board, request: Request) -> Response:
    form = await board.form(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), form.get("csrf", "").encode()):
        return board.message(request, "csrf_failed", 403)
    username = form.get("username", "")[:64]
    password = form.get("password", "")[:256]
    address = request.client.host if request.client else "unknown"
    request.state.next = form.get("next")
    result = await asyncio.to_thread(auth.log_in, board.app.db, username, password, address)
    if result.status != "ok" or result.token is None:
        key, status = _REFUSALS.get(result.status, _WRONG)
        log.log(logging.WARNING if result.status == "limited" else logging.INFO,
                "dashboard login refused (%s)", result.status,
                extra={"username": username, "address": address})
        return login_form(board, request, error=strings()[key][board.lang(request)],
                          username=username, status=status)
    log.info("dashboard login", extra={"username": username})
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    lifetime = int(auth.SESSION_LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, result.token, max_age=lifetime, httponly=True,
                        samesite="lax", secure=board.secure(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard")
    return response


async def logout(board: Board, request: Request, who: Principal) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await board.write(lambda s: auth.end_session(s, token))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def set_language(board: Board, request: Request) -> Response:
    lang = request.query_params.get("to")
    response = RedirectResponse(safe_next(request.query_params.get("next"), allow_public=True),
                                status_code=303)
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                            samesite="lax", secure=board.secure(request), path="/")
    return response
