"""The POSTs of the dashboard's scorecard-cycle pages (bot/dashboard/jaap.py): each calls the
store function the chat calls too, with the account as the actor, in one transaction. A
refusal that names a reason (ProposalError, PlanError) re-renders the page with it (400); a
facility, call, round or action outside the viewer's communes is a 403 whatever the form says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.auth import Principal
from bot.dashboard.board import Board
from bot.dashboard.jaap import call_page, plan_page, today
from content.model import Content
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.scorecard.jaap import plan, proposals
from dialogues.scorecard.jaap.plan import PlanError
from dialogues.scorecard.jaap.proposals import ProposalError

log = logging.getLogger(__name__)
Form = dict[str, str]
CALL_OPS = ("moderate", "merge", "indicator", "remove", "close")
ROUND_OPS = ("discussion", "action", "status", "share")


def routes(board: Board) -> list[BaseRoute]:
    page = board.page
    return [
        Route("/dashboard/jaap/facilities/{facility:str}/call",
              page(partial(open_call, board)), methods=["POST"]),
        Route("/dashboard/jaap/calls/{call_id:int}/{op:str}", page(partial(call_post, board)),
              methods=["POST"]),
        Route("/dashboard/jaap/rounds/{round_id:int}/{op:str}",
              page(partial(round_post, board)), methods=["POST"]),
    ]


class Refused(Exception):
    """A refusal with the reason to show (a message key)."""


def _reason(content: Content, error: Exception, lang: str) -> str:
    key = getattr(error, "reason", "jaap_error")
    return content.message(key, lang, max=str(proposals.MAX_PER_PERSON))


async def _apply(board: Board, request: Request, who: Principal,
                 work: Callable[[Session, Actor, Form], Any]) -> tuple[str, Any]:
    """Run `work` in a transaction: ("ok", result), ("refused", reason text) or
    ("forbidden", None)."""
    form: Form = getattr(request.state, "form", {})

    def run(session: Session) -> tuple[str, Any]:
        try:
            return "ok", work(session, who.actor, form)
        except NotAllowed:
            session.rollback()
            return "forbidden", None
        except (ProposalError, PlanError) as error:
            session.rollback()
            return "refused", _reason(board.app.content, error, board.lang(request))

    outcome: tuple[str, Any] = await board.write(run)
    if outcome[0] == "forbidden":
        log.warning("dashboard: JAAP change outside the viewer's communes",
                    extra={"username": who.username, "path": request.url.path})
    return outcome


async def open_call(board: Board, request: Request, who: Principal) -> Response:
    facility = request.path_params["facility"]

    def work(session: Session, actor: Actor, form: Form) -> int:
        return int(proposals.open_call(session, board.app.content, facility, by=actor).id)

    status, value = await _apply(board, request, who, work)
    if status == "ok":
        return RedirectResponse(f"/dashboard/jaap/calls/{value}", status_code=303)
    if status == "forbidden" or facility not in board.surveys.facilities:
        return board.message(request, "forbidden", 403, who)
    return board.render(request, "message.html", who, status=400, message=value)


def _call_work(board: Board, call_id: int, op: str) -> Callable[[Session, Actor, Form], Any]:
    content = board.app.content

    def work(session: Session, actor: Actor, form: Form) -> Any:
        if op == "moderate":
            return proposals.moderate(session, content, call_id, form.get("proposal", ""),
                                      form.get("state", ""), by=actor)
        if op == "merge":
            others = [key[len("dup_"):] for key in form if key.startswith("dup_")]
            return proposals.merge(session, content, call_id, form.get("into", ""), others,
                                   by=actor)
        if op == "indicator":
            source = form.get("proposal") or None
            supporters = next((t.supporters for t in proposals.tally(session, call_id)
                               if t.proposal.id == source), 0)
            return proposals.add_custom_indicator(
                session, content, call_id, label_km=form.get("label_km", ""),
                label_en=form.get("label_en", ""), proposal_id=source, supporters=supporters,
                by=actor)
        if op == "remove":
            number = form.get("indicator", "")
            if not number.isdigit():
                raise ProposalError("jaap_error")
            proposals.checked_call(session, content, call_id, actor)
            return proposals.remove_custom_indicator(session, content, int(number), by=actor)
        return proposals.close_call(session, content, call_id, by=actor)

    return work


async def call_post(board: Board, request: Request, who: Principal) -> Response:
    call_id = int(request.path_params["call_id"])
    return await _post(board, request, who, CALL_OPS, partial(_call_work, board, call_id),
                       call_page, f"/dashboard/jaap/calls/{call_id}")


async def _post(board: Board, request: Request, who: Principal, ops: tuple[str, ...],
                work_for: Callable[[str], Callable[[Session, Actor, Form], Any]],
                page: Callable[..., Any], back: str) -> Response:
    """One POST of a page: the operation in the path, done as `work_for(op)` says; then back
    to the page (303), the page with the reason (400), or 403 outside the viewer's communes."""
    op = request.path_params["op"]
    if op not in ops:
        return Response(status_code=404)
    status, value = await _apply(board, request, who, work_for(op))
    if status == "forbidden":
        return board.message(request, "forbidden", 403, who)
    if status == "refused":
        response: Response = await page(board, request, who, notice=value)
        response.status_code = 400 if response.status_code == 200 else response.status_code
        return response
    log.info("dashboard JAAP %s", op, extra={"username": who.username, "path": back})
    return RedirectResponse(back, status_code=303)


def _due(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise PlanError("jaap_action_no_date") from None


def _round_work(board: Board, round_id: int, op: str) -> Callable[[Session, Actor, Form], Any]:
    content = board.app.content

    def work(session: Session, actor: Actor, form: Form) -> Any:
        if op == "discussion":
            return plan.save_discussion(
                session, content, round_id, form.get("indicator", ""),
                strengths=form.get("strengths"), weaknesses=form.get("weaknesses"),
                suggested_actions=form.get("suggested_actions"), by=actor)
        if op == "action":
            return plan.add_action(
                session, content, round_id, what=form.get("what"),
                responsible=form.get("responsible") or None, due=_due(form.get("due", "")),
                by=actor, today=today(board), indicator=form.get("indicator") or None)
        if op == "status":
            action = form.get("action", "")
            if not action.isdigit():
                raise PlanError("jaap_error")
            row = plan.checked_action(session, content, int(action), actor)
            if int(row.round_id) != round_id:
                raise PlanError("jaap_error")
            return plan.set_status(session, content, int(action), form.get("status", ""),
                                   note=form.get("note"), by=actor)
        return plan.share_plan(session, content, round_id, by=actor)

    return work


async def round_post(board: Board, request: Request, who: Principal) -> Response:
    round_id = int(request.path_params["round_id"])
    return await _post(board, request, who, ROUND_OPS, partial(_round_work, board, round_id),
                       plan_page, f"/dashboard/jaap/rounds/{round_id}")
