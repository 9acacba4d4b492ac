"""The reports' figures in the dashboard: the page (the viewer's communes, with the approved
words of citizens for the meeting), its CSV and charts, and sending the figures to a meeting's
subscribers.

Attaching the figures to a meeting (the interface meeting where the commune and the service
providers answer citizens): a CAF picks one of their communes' meetings ahead, and every
subscriber of that commune receives, through the outbox, the chart in their language with a
caption naming the meeting (its kind, time and place), the small-group rule and the source.
Once per meeting: the outbox's dedup key makes a second press a no-op, and the CAF audit trail
records who sent it. The chart is drawn before the transaction that queues it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.auth import Principal
from bot.dashboard.board import Board, commune_name, strings
from bot.dashboard.report_figures import chart_file, chart_png, figures_view, today
from bot.dashboard.report_views import figures_csv, shown_text
from common import formatting as fmt
from common.db.base import utcnow
from common.messages import Reply
from dialogues.core.outbox import OutboxMessage, enqueue
from dialogues.meetings import store as meetings
from dialogues.meetings.models import Meeting
from dialogues.reports.aggregates import Figures, approved_texts, kept_cells
from dialogues.reports.store import MIN_GROUP

log = logging.getLogger(__name__)

QUOTES = 20  # approved texts shown with the figures, newest first
LANGS = ("km", "en")


def routes(board: Board) -> list[BaseRoute]:
    page = board.page
    return [
        Route("/dashboard/reports/figures", page(partial(figures_page, board))),
        Route("/dashboard/reports/figures.csv", page(partial(figures_download, board))),
        Route("/dashboard/reports/figures/{commune:str}.png", page(partial(chart, board))),
        Route("/dashboard/reports/figures/meetings/{meeting_id:int}",
              page(partial(attach, board)), methods=["POST"]),
    ]


async def figures_page(board: Board, request: Request, who: Principal, *,
                       notice: str | None = None, error: str | None = None,
                       status: int = 200) -> Response:
    lang = board.lang(request)
    zone = ZoneInfo(board.app.settings.timezone)

    def load(session: Session) -> dict[str, Any]:
        figures = kept_cells(session, who.actor.commune_scope())
        ahead = meetings.list_meetings(session, communes=who.actor.commune_scope(),
                                       now=utcnow().replace(tzinfo=timezone.utc))
        return {"figures": figures_view(
                    board, figures, lang, csv_url="/dashboard/reports/figures.csv",
                    chart_url="/dashboard/reports/figures/{commune}.png"),
                "quotes": [shown_text(text) for text in
                           approved_texts(session, who.actor, QUOTES)],
                "meetings": [_meeting_row(board, m, lang, zone) for m in ahead]}

    return board.render(request, "report_figures.html", who, notice=notice, error=error,
                        status=status, **await board.read(load))


def _meeting_row(board: Board, meeting: Meeting, lang: str, zone: ZoneInfo) -> dict[str, Any]:
    return {"id": meeting.id, "when": fmt.moment(_local(meeting.starts_at, zone), lang),
            "commune": commune_name(meeting.commune_code, lang),
            "kind": _kind(board, meeting.kind, lang), "place": meeting.place}


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def _kind(board: Board, kind: str, lang: str) -> str:
    key = f"meet_kind_{kind}"
    content = board.app.content
    return content.message(key, lang) if key in content.messages else kind


async def figures_download(board: Board, request: Request, who: Principal) -> Response:
    figures: Figures = await board.read(lambda s: kept_cells(s, who.actor.commune_scope()))
    log.info("dashboard reports CSV export", extra={"username": who.username})
    return Response(figures_csv(figures.cells, board.surveys),
                    media_type="text/csv; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": 'attachment; filename="reports.csv"'})


async def chart(board: Board, request: Request, who: Principal) -> Response:
    commune = request.path_params["commune"]
    if not who.may_see_commune(commune):
        return board.message(request, "forbidden", 403, who)
    figures: Figures = await board.read(lambda s: kept_cells(s, [commune]))
    return await chart_png(board, figures.of(commune), commune, board.lang(request),
                           cache="no-store")


# ------------------------------------------------------------------ sending to a meeting

@dataclass(frozen=True)
class Attachment:
    """What the chosen meeting's subscribers receive, drawn before the transaction."""

    meeting_id: int
    commune: str
    images: dict[str, Path]  # per language
    captions: dict[str, str]


def batch_of(meeting_id: int) -> str:
    return f"reports-meeting:{meeting_id}"


async def attach(board: Board, request: Request, who: Principal) -> Response:
    meeting_id = int(request.path_params["meeting_id"])
    lang = board.lang(request)
    table = strings()
    prepared = await _prepare(board, who, meeting_id, lang)
    if prepared == "missing":
        return board.message(request, "not_found", 404, who)
    if prepared == "forbidden":
        return board.message(request, "forbidden", 403, who)
    if isinstance(prepared, str):
        return await figures_page(board, request, who, status=409,
                                  error=table["attach_refused"][lang].format(reason=prepared))
    if not prepared.images:
        return await figures_page(board, request, who, status=409, error=table[
            "attach_none"][lang].format(min=fmt.integer(MIN_GROUP, lang)))
    try:
        queued = await board.write(partial(_queue, prepared, who))
    except IntegrityError:  # a second press raced this one: its rows are the ones kept
        queued = None
    if queued is None:
        return await figures_page(board, request, who, notice=table["attach_again"][lang])
    log.info("dashboard reports sent to a meeting's subscribers",
             extra={"username": who.username, "meeting_id": meeting_id, "queued": queued})
    return await figures_page(board, request, who, notice=table["attached"][lang].format(
        count=fmt.integer(queued, lang)))


async def _prepare(board: Board, who: Principal, meeting_id: int,
                   lang: str) -> Attachment | str:
    """The meeting checked (the viewer's commune, scheduled, ahead) and its charts drawn; else
    why not: "missing", "forbidden" (outside the viewer's communes), or a reason to show."""
    def load(session: Session) -> tuple[Meeting, Figures] | None:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            return None
        session.expunge(meeting)
        return meeting, kept_cells(session, [meeting.commune_code])

    found = await board.read(load)
    if found is None:
        return "missing"
    meeting, figures = found
    if not who.may_see_commune(meeting.commune_code):
        log.warning("dashboard: meeting outside the viewer's communes",
                    extra={"username": who.username, "meeting_id": meeting_id})
        return "forbidden"
    if meeting.status != "scheduled" or meeting.starts_at <= utcnow():
        return strings()["meeting_not_ahead"][lang]
    cells = figures.of(meeting.commune_code)
    images: dict[str, Path] = {}
    if cells:
        for language in LANGS:
            images[language] = await asyncio.to_thread(
                chart_file, board, cells, meeting.commune_code, language,
                f"reports-meeting-{meeting_id}-{language}")
    zone = ZoneInfo(board.app.settings.timezone)
    captions = {language: strings()["attach_caption"][language].format(
        commune=commune_name(meeting.commune_code, language),
        kind=_kind(board, meeting.kind, language),
        when=fmt.moment(_local(meeting.starts_at, zone), language), place=meeting.place,
        min=fmt.integer(MIN_GROUP, language), day=fmt.day(today(), language))
        for language in LANGS}
    return Attachment(meeting_id, meeting.commune_code, images, captions)


def _queue(prepared: Attachment, who: Principal, session: Session) -> int | None:
    """One message per subscriber, in the transaction that records the act; None when this
    meeting's figures were already sent."""
    who.actor.require(prepared.commune)
    batch = batch_of(prepared.meeting_id)
    if session.execute(select(OutboxMessage.id).where(OutboxMessage.batch == batch)).first():
        return None
    people = meetings.subscribers(session, prepared.commune)
    for user in people:
        lang = user.language if user.language in LANGS else "km"
        enqueue(session, user_id=user.id, channel=user.channel, address=user.channel_user_id,
                replies=[Reply(prepared.captions[lang], image=prepared.images[lang])],
                automated=True, batch=batch, dedup_key=f"{batch}:u{user.id}")
    meetings.audit(session, who.actor.name, "reports.attach", prepared.commune,
                   meeting=prepared.meeting_id, recipients=len(people))
    return len(people)
