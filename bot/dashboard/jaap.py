"""The scorecard cycle in the dashboard (issue 16): per facility of the viewer's communes the
propose phase (open it, moderate and merge suggestions, add custom questions), and per closed
round its plan page (the discussion of each question, the agreed actions, their status and
progress notes, sending the plan to citizens); overdue actions on the overview.

Every POST goes through the same store functions as the chat, with the account as the actor
(dialogues.core.permissions): a CAF of another commune is refused (403) whatever ids a forged
form names. A refused entry (no responsible party, no date...) re-renders the page with the
reason. The POST handlers live in bot/dashboard/jaap_forms.py.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data
from bot.dashboard.auth import Principal
from bot.dashboard.board import Board, commune_name
from bot.dashboard.views import round_name
from common import formatting as fmt
from common import khmer_dates as dates
from content.model import Content
from content.surveys.section import Surveys
from dialogues.core.permissions import NotAllowed
from dialogues.scorecard.jaap import plan, proposals
from dialogues.scorecard.jaap import store as jaap_store
from dialogues.scorecard.jaap.models import RESPONSIBLE, STATUSES, JaapAction, RoundPlan
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.results import MIN_GROUP, round_results
from dialogues.scorecard.store import open_rounds


def routes(board: Board) -> list[BaseRoute]:
    from bot.dashboard import jaap_forms, jaap_photos

    page = board.page
    return [
        Route("/dashboard/jaap", page(partial(overview, board))),
        Route("/dashboard/jaap/calls/{call_id:int}", page(partial(call_page, board))),
        Route("/dashboard/jaap/rounds/{round_id:int}", page(partial(plan_page, board))),
        *jaap_photos.routes(board), *jaap_forms.routes(board),  # "photo" before "{op}"
    ]


def today(board: Board) -> date:
    return board.app.clock.now().astimezone(ZoneInfo(board.app.settings.timezone)).date()


def _label(content: Content, key: str, lang: str) -> str:
    return content.message(key, lang) if key in content.messages else key


def action_view(content: Content, action: JaapAction, lang: str, now: date) -> dict[str, Any]:
    return {"id": action.id, "what": action.what, "indicator": action.indicator,
            "responsible": _label(content, f"jaap_responsible_{action.responsible}", lang),
            "due": dates.day(action.due_date, lang, weekday=False), "status": action.status,
            "status_label": _label(content, f"jaap_status_{action.status}", lang),
            "note": action.progress_note, "late": jaap_store.is_overdue(action, now),
            "photo": bool(action.photo),
            "updated": fmt.day(action.updated_at, lang)}


async def overview(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    surveys = board.surveys
    now = today(board)

    def load(session: Session) -> dict[str, Any]:
        scope = who.actor.facility_scope(surveys)
        facilities = [f for f in surveys.facilities.values() if scope is None or f.id in scope]
        facilities.sort(key=lambda f: (f.commune, f.id))
        ids = [f.id for f in facilities]
        calls = proposals.open_calls(session, ids)
        running = open_rounds(session, ids)
        closed = dict(session.execute(
            select(ScoringRound.facility_id, func.max(ScoringRound.id))
            .where(ScoringRound.facility_id.in_(ids), ScoringRound.closed_at.is_not(None))
            .group_by(ScoringRound.facility_id)).all()) if ids else {}
        rows = [{"id": f.id, "name": f.name(lang), "commune": commune_name(f.commune, lang),
                 "call": calls[f.id].id if f.id in calls else None,
                 "running": f.id in running, "plan": closed.get(f.id)} for f in facilities]
        late = [{**action_view(board.app.content, a, lang, now), "round": r.id,
                 "facility": _facility(surveys, str(r.facility_id), lang)}
                for a, r in plan.overdue(session, scope, now)]
        return {"facilities": rows, "overdue": late}

    return board.render(request, "jaap.html", who, **await board.read(load))


def _facility(surveys: Surveys, facility_id: str, lang: str) -> str:
    facility = surveys.facilities.get(facility_id)
    return facility.name(lang) if facility else facility_id


async def call_page(board: Board, request: Request, who: Principal, *,
                    notice: str | None = None) -> Response:
    call_id = int(request.path_params["call_id"])
    lang = board.lang(request)
    surveys = board.surveys
    if jaap_store.valid_id(call_id) is None:
        return board.message(request, "not_found", 404, who)

    def load(session: Session) -> dict[str, Any] | None:
        try:
            call = proposals.checked_call(session, board.app.content, call_id, who.actor)
        except (NotAllowed, proposals.ProposalError):
            return None
        facility = surveys.facilities.get(str(call.facility_id))
        survey = surveys.survey_for(facility) if facility else None
        tally = []
        for entry in proposals.tally(session, call_id):
            found = survey.indicator(str(entry.proposal.indicator)) if survey else None
            tally.append({"id": entry.proposal.id, "supporters": entry.supporters,
                          "text": found.text(lang) if found else entry.proposal.text,
                          "standard": found is not None, "state": entry.proposal.state,
                          "state_label": _label(board.app.content,
                                                f"jaap_state_{entry.proposal.state}", lang)})
        custom = [{"id": c.id, "label_km": c.label_km, "label_en": c.label_en,
                   "supporters": c.supporters} for c in proposals.call_indicators(session, call_id)]
        return {"call": {"id": call.id, "closed_at": call.closed_at},
                "facility": _facility(surveys, str(call.facility_id), lang),
                "tally": tally, "custom": custom, "locked": call.round_id is not None}

    values = await board.read(load)
    if values is None:
        return await refuse_call(board, request, who, call_id)
    return board.render(request, "jaap_call.html", who, notice=notice, **values)


async def refuse_call(board: Board, request: Request, who: Principal, call_id: int) -> Response:
    exists = await board.read(lambda s: proposals.call_row(s, call_id) is not None)
    return board.message(request, "forbidden" if exists else "not_found", 403 if exists else 404,
                         who)


async def plan_page(board: Board, request: Request, who: Principal, *,
                    notice: str | None = None) -> Response:
    round_id = int(request.path_params["round_id"])
    lang = board.lang(request)
    surveys = board.surveys
    now = today(board)
    if jaap_store.valid_id(round_id) is None:
        return board.message(request, "not_found", 404, who)
    content = board.app.content

    def load(session: Session) -> dict[str, Any] | None:
        row = data.visible_round(session, surveys, who, round_id)
        if row is None:
            return None
        about = {"facility": _facility(surveys, str(row.facility_id), lang),
                 "round_name": round_name(row, lang)}
        if row.closed_at is None:
            return about
        return {**about, **_plan_values(session, content, surveys, row, lang, now)}

    values = await board.read(load)
    if values is None:
        exists = await board.read(lambda s: data.round_exists(s, round_id))
        return board.message(request, "forbidden" if exists else "not_found",
                             403 if exists else 404, who)
    return board.render(request, "jaap_round.html", who, notice=notice, round_id=round_id,
                        responsible=[(r, _label(content, f"jaap_responsible_{r}", lang))
                                     for r in RESPONSIBLE],
                        statuses=[(s, _label(content, f"jaap_status_{s}", lang))
                                  for s in STATUSES], **values)


def _plan_values(session: Session, content: Content, surveys: Surveys, row: ScoringRound,
                 lang: str, now: date) -> dict[str, Any]:
    """A closed round's questions (median shown under the small-group rule), their
    discussion, its actions and whether the plan was sent."""
    results = round_results(session, surveys, int(row.id))
    medians = {s.indicator: s.median for s in results.indicators
               if s.count >= MIN_GROUP and s.median is not None}
    talk = jaap_store.discussion(session, int(row.id))
    indicators = [{"id": i.id, "title": i.text(lang),
                   "median": fmt.number(medians[i.id], lang) if i.id in medians else "–",
                   "talk": {"strengths": found.strengths, "weaknesses": found.weaknesses,
                            "suggested_actions": found.suggested_actions}
                   if (found := talk.get(i.id)) else None}
                  for i in jaap_store.round_indicators(session, surveys, int(row.id))]
    titles = {i["id"]: i["title"] for i in indicators}
    actions = [{**action_view(content, a, lang, now),
                "indicator_title": titles.get(str(a.indicator), "–")}
               for a in jaap_store.actions(session, int(row.id))]
    found = session.get(RoundPlan, int(row.id))  # read-only: never created here
    shared = found.shared_at if found is not None else None
    return {"indicators": indicators, "actions": actions,
            "shared": fmt.day(shared, lang) if shared else None}
