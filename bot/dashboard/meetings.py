"""Meetings and broadcasts in the dashboard: the viewer's communes' meetings with the delivery
report of each reminder and of the citizen reports' figures sent to its subscribers
(`report_pages`), and the CAFs' broadcasts with theirs. Times are shown in the bot's
time zone (ISAFBOT_TIMEZONE)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data, report_pages
from bot.dashboard.auth import Principal
from bot.dashboard.board import DELIVERY_STATUSES, Board, commune_name, strings
from common import formatting as fmt
from dialogues.core.outbox import batch_report


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/dashboard/meetings", board.page(partial(meetings, board)))]


async def meetings(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    zone = ZoneInfo(board.app.settings.timezone)

    def when(moment: datetime) -> str:
        local = moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
        return fmt.moment(local, lang)

    def load(session: Session) -> dict[str, Any]:
        broadcasts = [{"when": when(b.created_at),
                       "commune": commune_name(b.commune_code, lang), "text": b.text,
                       "recipients": fmt.integer(b.recipients, lang), "report": report}
                      for b, report in data.broadcasts(session, who)]
        return {"meetings": _meetings(board, session, who, lang, when),
                "broadcasts": broadcasts}

    return board.render(request, "meetings.html", who, statuses=DELIVERY_STATUSES,
                        **await board.read(load))


def _meetings(board: Board, session: Session, who: Principal, lang: str,
              when: Callable[[datetime], str]) -> list[dict[str, Any]]:
    """The meetings the viewer may see, each with its reminders' delivery reports."""
    table = strings()
    content = board.app.content

    def kind(name: str) -> str:
        key = f"meet_kind_{name}"
        return content.message(key, lang) if key in content.messages else name

    return [{
        "when": when(m.meeting.starts_at),
        "commune": commune_name(m.meeting.commune_code, lang),
        "kind": kind(m.meeting.kind), "place": m.meeting.place,
        "status": table.get(f"meeting_{m.meeting.status}", {}).get(lang, m.meeting.status),
        "figures": batch_report(session, report_pages.batch_of(m.meeting.id)),
        "reminders": [{"label": table["reminder_before"][lang].format(
                           hours=fmt.number(round(r.offset_minutes / 60, 1), lang)),
                       "report": report,
                       "recipients": fmt.integer(r.recipients, lang)}
                      for r, report in m.reminders]}
        for m in data.meetings(session, who)]
