"""The scorecard rounds in the dashboard: the list of rounds the viewer may see, a round's
page (results, trend, breakdowns, comments), its charts and CSV exports, and publishing a
closed round on the public results page. Also the cache of published results the public pages
read (`PublishedResults`).

An open round shows its number of responses only: anything more (figures, charts, breakdowns,
comments, CSV) would let someone who reloads after each response read that person's answers.
A round outside the viewer's communes is a 403, one that does not exist a 404.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data
from bot.dashboard.auth import Principal
from bot.dashboard.board import Board, Endpoint, commune_name, strings
from bot.dashboard.views import chart_spec, results_view, round_name, round_row, trend_view
from common import charts
from common import formatting as fmt
from common.redact import mask_personal_data
from content.surveys.section import Surveys
from dialogues.scorecard.export import write_comments_csv, write_responses_csv
from dialogues.scorecard.jaap.store import valid_id
from dialogues.scorecard.results import MIN_GROUP, RoundResults, round_results

log = logging.getLogger(__name__)

EXPORTS = ("responses", "comments")
ACTIONS = ("publish", "unpublish")


class PublishedResults:
    """Results of published rounds, computed once per publication: a round is published only
    once closed (nothing changes its answers any more), so the results stay right until the
    round is unpublished or published again, which changes the key. Shared by the threads of
    one process; each process keeps its own (every request reads the publications)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._results: OrderedDict[tuple[int, datetime, datetime], RoundResults] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, surveys: Surveys,
            published: data.Published) -> RoundResults:
        key = (published.round.id, published.round.closed_at, published.at)
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        results = round_results(session, surveys, published.round.id)
        with self._lock:
            self._results[key] = results
            while len(self._results) > self._size:
                self._results.popitem(last=False)
        return results


def routes(board: Board) -> list[BaseRoute]:
    page = board.page
    return [
        Route("/dashboard/", page(partial(rounds, board))),
        Route("/dashboard/rounds/{round_id:int}", page(partial(round_page, board))),
        Route("/dashboard/rounds/{round_id:int}/charts/{indicator:str}.png",
              page(partial(chart, board))),
        Route("/dashboard/rounds/{round_id:int}/{kind:str}.csv",
              _only("kind", EXPORTS, page(partial(csv, board)))),
        Route("/dashboard/rounds/{round_id:int}/{action:str}",
              _only("action", ACTIONS, page(partial(publish, board))), methods=["POST"]),
    ]


def _only(name: str, allowed: tuple[str, ...], endpoint: Endpoint) -> Endpoint:
    """A 404 for any other value of the path parameter `name`."""
    async def guarded(request: Request) -> Response:
        if request.path_params[name] not in allowed:
            return Response(status_code=404)
        return await endpoint(request)
    return guarded


async def rounds(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    surveys = board.surveys

    def load(session: Session) -> list[dict[str, Any]]:
        published = data.published_ids(session)
        visible = data.visible_rounds(session, surveys, who)
        counts = data.response_counts(session, [r.id for r in visible])
        return [{**round_row(r, surveys, lang, r.id in published),
                 "responses": fmt.integer(counts.get(r.id, 0), lang)} for r in visible]

    return board.render(request, "rounds.html", who, rounds=await board.read(load))


async def round_page(board: Board, request: Request, who: Principal, *,
                     notice: str | None = None) -> Response:
    round_id = valid_id(request.path_params["round_id"])
    if round_id is None:  # a forged id beyond any key: none (not a database error)
        return board.message(request, "not_found", 404, who)
    lang = board.lang(request)
    surveys = board.surveys

    def load(session: Session) -> dict[str, Any] | None:
        row = data.visible_round(session, surveys, who, round_id)
        if row is None:
            return None
        facility = surveys.facilities.get(row.facility_id)
        about = {"published": round_id in data.published_ids(session),
                 "facility": facility.name(lang) if facility else row.facility_id,
                 "commune": commune_name(facility.commune if facility else None, lang),
                 "commune_code": facility.commune if facility else "",
                 "round_name": round_name(row, lang),
                 "opened": fmt.day(row.opened_at, lang),
                 "closed": fmt.day(row.closed_at, lang) if row.closed_at else None}
        if row.closed_at is None:  # its count only, until it is closed
            count = data.response_counts(session, [round_id]).get(round_id, 0)
            return {**about, "open_responses": fmt.integer(count, lang)}
        return {**about, **_closed_round(session, surveys, row.facility_id, round_id, lang)}

    values = await board.read(load)
    if values is None:
        return await refuse(board, request, who, round_id)
    return board.render(request, "round.html", who, round_id=round_id, notice=notice,
                        **values)


def _closed_round(session: Session, surveys: Surveys, facility_id: str, round_id: int,
                  lang: str) -> dict[str, Any]:
    """A closed round's figures: its results, the facility's trend, the comments."""
    results = round_results(session, surveys, round_id)
    history = [r for r in data.facility_rounds(session, facility_id) if r.closed_at is not None]
    trend = [(round_name(r, lang), round_results(session, surveys, r.id)) for r in history]
    return {"res": results_view(results, surveys, lang),
            "trend": trend_view(trend, results, lang),
            "comments": data.comments(session, round_id)}


async def refuse(board: Board, request: Request, who: Principal, round_id: int) -> Response:
    """403 for a round that exists outside the viewer's communes, 404 for none."""
    exists = await board.read(lambda s: data.round_exists(s, round_id))
    if exists:
        log.warning("dashboard: round outside the viewer's communes",
                    extra={"username": who.username, "round_id": round_id})
        return board.message(request, "forbidden", 403, who)
    return board.message(request, "not_found", 404, who)


async def chart(board: Board, request: Request, who: Principal) -> Response:
    round_id = valid_id(request.path_params["round_id"])
    if round_id is None:  # a forged id beyond any key: none (not a database error)
        return board.message(request, "not_found", 404, who)
    surveys = board.surveys

    def load(session: Session) -> RoundResults | bool:
        row = data.visible_round(session, surveys, who, round_id)
        if row is None:
            return False
        if row.closed_at is None:
            return True  # no figures of an open round
        return round_results(session, surveys, round_id)

    results = await board.read(load)
    if results is False:
        return await refuse(board, request, who, round_id)
    if results is True:
        return Response(status_code=404)
    return await chart_response(board, request, results, cache="no-store")


async def chart_response(board: Board, request: Request, results: RoundResults, *,
                         cache: str) -> Response:
    """The PNG of one indicator of `results` (404 under the small-group rule)."""
    indicator = request.path_params["indicator"]
    lang = board.lang(request)
    stats = next((s for s in results.indicators if s.indicator == indicator), None)
    if stats is None or stats.count < MIN_GROUP:
        return Response(status_code=404)
    spec = chart_spec(results, board.surveys, indicator, lang)
    directory = board.app.settings.data_dir / "dashboard-charts"
    path = await asyncio.to_thread(charts.chart_file, spec, directory,
                                   f"r{results.round.id}-{indicator}-{lang}")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": cache})


async def csv(board: Board, request: Request, who: Principal) -> Response:
    round_id = valid_id(request.path_params["round_id"])
    if round_id is None:  # a forged id beyond any key: none (not a database error)
        return board.message(request, "not_found", 404, who)
    kind = request.path_params["kind"]
    surveys = board.surveys
    handle, name = tempfile.mkstemp(prefix="isafbot-export-", suffix=".csv")
    path = Path(name)
    writer = write_responses_csv if kind == "responses" else partial(
        write_comments_csv, mask=mask_personal_data)

    def export(session: Session) -> str:
        row = data.visible_round(session, surveys, who, round_id)
        if row is None:
            return "refused"
        if row.closed_at is None:
            return "open"
        writer(session, surveys, round_id, path)
        return "written"

    try:
        os.close(handle)
        outcome = await board.read(export)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if outcome != "written":
        path.unlink(missing_ok=True)
        if outcome == "open":
            return board.message(request, "round_open_no_export", 409, who)
        return await refuse(board, request, who, round_id)
    log.info("dashboard CSV export", extra={"username": who.username, "round_id": round_id,
                                            "kind": kind})
    return FileResponse(path, media_type="text/csv; charset=utf-8",
                        filename=f"round-{round_id}-{kind}.csv",
                        headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(path.unlink, missing_ok=True))


async def publish(board: Board, request: Request, who: Principal) -> Response:
    round_id = valid_id(request.path_params["round_id"])
    if round_id is None:  # a forged id beyond any key: none (not a database error)
        return board.message(request, "not_found", 404, who)
    action = request.path_params["action"]
    if not who.is_admin:
        return board.message(request, "forbidden", 403, who)
    surveys = board.surveys

    def change(session: Session) -> bool | None:
        if data.visible_round(session, surveys, who, round_id) is None:
            return None
        if action == "publish":
            return data.publish(session, round_id, who.username)
        data.unpublish(session, round_id)
        return True

    done = await board.write(change)
    if done is None:
        return await refuse(board, request, who, round_id)
    if not done:
        notice = strings()["publish_open_refused"][board.lang(request)]
        return await round_page(board, request, who, notice=notice)
    log.info("dashboard round %s", action, extra={"username": who.username,
                                                  "round_id": round_id})
    return RedirectResponse(f"/dashboard/rounds/{round_id}", status_code=303)
