"""Progress photos of JAAP actions in the dashboard: a CAF uploads a picture for an action of
their commune (multipart form, up to MAX_PHOTO_BYTES), it is re-encoded without EXIF into
ISAFBOT_DATA_DIR/jaap-photos (outside the web root, dialogues.scorecard.jaap.plan.store_photo),
and CAFs of the commune see it through a checked route. Photos are never on the public page.

The dashboard's other forms are urlencoded and small (bot.dashboard.board.Board.form); this one
reads its own body, parsed with the standard library's MIME parser, and checks the same
session and CSRF token.
"""

from __future__ import annotations

import email
import email.policy
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import auth
from bot.dashboard.board import Board
from bot.request_body import read_body
from dialogues.core.permissions import NotAllowed
from dialogues.scorecard.jaap import plan
from dialogues.scorecard.jaap.plan import PlanError
from dialogues.scorecard.jaap.store import valid_id

MAX_PHOTO_BYTES = 8 * 1024 * 1024
FOLDER = "jaap-photos"


def routes(board: Board) -> list[BaseRoute]:
    return [
        Route("/dashboard/jaap/rounds/{round_id:int}/photo", partial(upload, board),
              methods=["POST"]),
        Route("/dashboard/jaap/actions/{action_id:int}/photo.jpg", partial(show, board)),
    ]


def folder(board: Board) -> Path:
    return Path(board.app.settings.data_dir) / FOLDER


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """The text fields and the files of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}, {}
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body,
        policy=email.policy.HTTP)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if not isinstance(name, str):
            continue
        if part.get_filename():
            files[name] = data
        else:
            fields[name] = data.decode("utf-8", errors="replace")
    return fields, files


async def upload(board: Board, request: Request) -> Response:
    round_id = int(request.path_params["round_id"])
    who = await board.viewer(request)
    body = await read_body(request, MAX_PHOTO_BYTES)
    if who is None or body is None:
        return board.message(request, "csrf_failed", 403 if body is not None else 413, who)
    fields, files = parse_multipart(request.headers.get("content-type", ""), body)
    if not auth.csrf_ok(who, fields.get("csrf")):
        return board.message(request, "csrf_failed", 403, who)
    action_id = valid_id(fields.get("action", ""))

    def work(session: Session) -> str:
        try:
            row = plan.checked_action(session, board.app.content, action_id or 0, who.actor)
            if int(row.round_id) != round_id:
                raise PlanError("jaap_error")
            row.photo = plan.store_photo(files.get("photo", b""), folder(board))
        except NotAllowed:
            return "forbidden"
        except PlanError as error:
            return error.reason
        return "ok"

    outcome = await board.write(work)
    if outcome == "forbidden":
        return board.message(request, "forbidden", 403, who)
    if outcome != "ok":
        message = board.app.content.message(outcome, board.lang(request))
        return board.render(request, "message.html", who, status=400, message=message)
    return RedirectResponse(f"/dashboard/jaap/rounds/{round_id}", status_code=303)


async def show(board: Board, request: Request) -> Response:
    """The photo, to CAFs of the action's commune and admins only."""
    action_id = valid_id(request.path_params["action_id"])
    who = await board.viewer(request)
    if who is None or action_id is None:
        return Response(status_code=404)

    def load(session: Session) -> str | None:
        try:
            row = plan.checked_action(session, board.app.content, action_id, who.actor)
        except (NotAllowed, PlanError):
            return None
        return str(row.photo) if row.photo else None

    name = await board.read(load)
    path = folder(board) / name if name else None
    if path is None or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
