"""Printable things on a round's page: the poster for public voting (while the round is open),
the round's Excel workbook and the JAAP's PDF (once it is closed).

Same rules as the CSV downloads (bot/dashboard/results.py): a round outside the viewer's
communes is a 403, one that does not exist a 404; an open round has no workbook (its figures
change with each answer), and a closed one no poster (people would scan it for nothing).
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data
from bot.dashboard.auth import Principal
from bot.dashboard.board import Board
from bot.dashboard.results import refuse
from common import pages
from dialogues.scorecard.jaap.store import valid_id
from dialogues.scorecard.jaap_print import Plan, plan_of, write_plan_pdf
from dialogues.scorecard.poster import (
    LANGS,
    ChatLinks,
    Poster,
    PosterError,
    draw_poster,
    poster_for,
)
from dialogues.scorecard.workbook import Row, round_workbook, write_workbook

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_STORE = {"Cache-Control": "no-store"}


def routes(board: Board) -> list[BaseRoute]:
    page = board.page
    return [
        Route("/dashboard/rounds/{round_id:int}/poster/{which:str}.{ext:str}",
              page(partial(poster, board))),
        Route("/dashboard/rounds/{round_id:int}/workbook.xlsx", page(partial(workbook, board))),
        Route("/dashboard/rounds/{round_id:int}/jaap.pdf", page(partial(jaap_pdf, board))),
    ]


def _round_id(request: Request) -> int | None:
    """The path's round id when it can be one (a forged one beyond any key is none)."""
    return valid_id(request.path_params["round_id"])


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'})


async def poster(board: Board, request: Request, who: Principal) -> Response:
    round_id = _round_id(request)
    which, ext = request.path_params["which"], request.path_params["ext"]
    if round_id is None or which not in LANGS or ext not in ("pdf", "png"):
        return board.message(request, "not_found", 404, who)
    settings = board.app.settings
    links = ChatLinks(settings.telegram_username, settings.messenger_page)

    def load(session: Session) -> Poster | str:
        row = data.visible_round(session, board.surveys, who, round_id)
        if row is None:
            return "refused"
        if row.closed_at is not None:
            return "poster_round_closed"
        try:
            return poster_for(session, board.app.content, str(row.facility_id), links,
                              forget_after_days=settings.retention.inactive_users_days,
                              tz=settings.timezone)
        except PosterError:
            return "poster_no_links"

    found = await board.read(load)
    if found == "refused":
        return await refuse(board, request, who, round_id)
    if isinstance(found, str):
        return board.message(request, found, 409, who)
    try:
        body = await asyncio.to_thread(_poster_bytes, board, found, which, ext)
    except PosterError:
        return board.message(request, "poster_too_long", 409, who)
    log.info("dashboard poster", extra={"username": who.username, "round_id": round_id})
    return _download(body, "application/pdf" if ext == "pdf" else "image/png",
                     f"poster-{found.facility.id}-{which}.{ext}")


def _poster_bytes(board: Board, found: Poster, which: str, ext: str) -> bytes:
    page = draw_poster(board.app.content, found, LANGS[which])
    buffer = io.BytesIO()
    if ext == "pdf":
        page.save(buffer, format="PDF", resolution=float(pages.DPI))
    else:
        page.save(buffer, format="PNG", dpi=(pages.DPI, pages.DPI))
    return buffer.getvalue()


async def workbook(board: Board, request: Request, who: Principal) -> Response:
    round_id = _round_id(request)
    if round_id is None:
        return board.message(request, "not_found", 404, who)
    lang = board.lang(request)

    def export(session: Session) -> dict[str, list[Row]] | str:
        row = data.visible_round(session, board.surveys, who, round_id)
        if row is None:
            return "refused"
        if row.closed_at is None:
            return "round_open_no_export"
        return round_workbook(session, board.app.content, round_id, lang)

    found = await board.read(export)
    if found == "refused":
        return await refuse(board, request, who, round_id)
    if isinstance(found, str):
        return board.message(request, found, 409, who)
    body = await asyncio.to_thread(_file_bytes, "round.xlsx",
                                   partial(write_workbook, found))
    log.info("dashboard workbook export", extra={"username": who.username,
                                                 "round_id": round_id})
    return _download(body, XLSX, f"round-{round_id}.xlsx")


async def jaap_pdf(board: Board, request: Request, who: Principal) -> Response:
    round_id = _round_id(request)
    if round_id is None:
        return board.message(request, "not_found", 404, who)
    content = board.app.content

    def load(session: Session) -> Plan | None:
        if data.visible_round(session, board.surveys, who, round_id) is None:
            return None
        return plan_of(session, content, round_id, tz=board.app.settings.timezone)

    plan = await board.read(load)
    if plan is None:
        return await refuse(board, request, who, round_id)
    body = await asyncio.to_thread(_file_bytes, "jaap.pdf",
                                   partial(write_plan_pdf, content, plan))
    return _download(body, "application/pdf", f"jaap-round-{round_id}.pdf")


def _file_bytes(name: str, write: Callable[[Path], object]) -> bytes:
    """What `write` puts in a file, drawn outside any database transaction."""
    with tempfile.TemporaryDirectory(prefix="isafbot-print-") as folder:
        path = Path(folder) / name
        write(path)
        return path.read_bytes()
