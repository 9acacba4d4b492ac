"""The handover queue in the dashboard (issue 19): the conversations people asked to hand to
a person, those of the viewer's communes (an admin: all, and those without a commune), each
with its recent messages from the message log (phone numbers, e-mails and ID numbers masked;
a survey's or form's texts are never in the log). Staff take one, reply (through the outbox,
as a person's reply: Messenger's HUMAN_AGENT tag within 7 days) and close it. Every action
checks the viewer's communes again (dialogues.talk.store.get)."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.auth import Principal
from bot.dashboard.board import Board, commune_name
from common import formatting as fmt
from dialogues.core.permissions import NotAllowed
from dialogues.talk import store

PATH = "/dashboard/handovers"
ACTIONS = ("take", "reply", "close")


def routes(board: Board) -> list[BaseRoute]:
    return [Route(PATH, board.page(partial(queue, board))),
            Route(PATH + "/{handover_id:int}/{action:str}", board.page(partial(act, board)),
                  methods=["POST"])]


async def queue(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    zone = ZoneInfo(board.app.settings.timezone)

    def when(moment: datetime) -> str:
        local = moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
        return fmt.moment(local, lang)

    def load(session: Session) -> list[dict[str, Any]]:
        return [{"id": row.id, "commune": commune_name(row.commune_code, lang),
                 "status": row.status, "opened": when(row.opened_at),
                 "taken_by": row.taken_by,
                 "lines": [{"when": when(line.at), "direction": line.direction,
                            "text": line.text}
                           for line in store.recent(session, int(row.user_id))]}
                for row in store.visible(session, who.actor)]

    return board.render(request, "handovers.html", who, handovers=await board.read(load))


async def act(board: Board, request: Request, who: Principal) -> Response:
    action = request.path_params["action"]
    handover_id = int(request.path_params["handover_id"])
    text = str(request.state.form.get("text", "")).strip()
    if action not in ACTIONS or (action == "reply" and not text):
        return board.message(request, "not_found", 404, who)
    content = board.app.content

    def work(session: Session) -> bool:
        try:
            row = store.get(session, handover_id, who.actor)
        except (store.HandoverGone, NotAllowed):
            return False
        if action == "take":
            store.take_and_tell(session, content, row, who.actor)
        elif action == "reply":
            if row.status == store.OPEN:
                store.take(session, row, who.actor)
            store.staff_reply(session, content, row, text)
        else:
            store.close_and_tell(session, content, row, who.actor.name)
        return True

    if not await board.write(work):
        return board.message(request, "forbidden", 403, who)
    return RedirectResponse(PATH, status_code=303)
