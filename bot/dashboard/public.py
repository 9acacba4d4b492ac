"""The public results pages, without a login: the communes with published rounds, a commune's
published rounds with their results and their action plan (JAAP) with each action's status,
and their charts. Only closed rounds an admin published are shown; their results are computed
once per publication (`PublishedResults`); the plan is read at each request (its statuses
change). Never shown: comments, suggestions, the discussion, progress notes.

A commune's page also shows the citizen reports' figures (counts by facility, kind and month,
kept under the small-group rule by `dialogues.reports.aggregates.kept_cells`), their CSV and
chart: counts only, never a reporter's text, approved or not."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data
from bot.dashboard.board import Board, commune_name
from bot.dashboard.jaap import action_view, today
from bot.dashboard.report_figures import chart_png, figures_view
from bot.dashboard.report_views import figures_csv
from bot.dashboard.results import PublishedResults, chart_response
from bot.dashboard.views import results_view, round_row
from content.places import gazetteer
from dialogues.reports.aggregates import Figures, kept_cells
from dialogues.scorecard.jaap.store import actions
from dialogues.scorecard.results import RoundResults


def routes(board: Board) -> list[BaseRoute]:
    published = PublishedResults()
    return [
        Route("/results", partial(index, board)),
        Route("/results/{commune:str}", partial(commune, board, published)),
        Route("/results/{commune:str}/rounds/{round_id:int}/charts/{indicator:str}.png",
              partial(chart, board, published)),
        Route("/results/{commune:str}/reports.csv", partial(reports_csv, board)),
        Route("/results/{commune:str}/reports.png", partial(reports_chart, board)),
    ]


async def index(board: Board, request: Request) -> Response:
    lang = board.lang(request)
    surveys = board.surveys
    codes = await board.read(lambda s: sorted(set(data.published_communes(s, surveys))
                                              | set(kept_cells(s, None).communes)))
    return board.render(request, "public_index.html",
                        communes=[(code, commune_name(code, lang)) for code in codes])


async def commune(board: Board, published: PublishedResults, request: Request) -> Response:
    code = request.path_params["commune"]
    lang = board.lang(request)
    surveys = board.surveys
    if gazetteer().get(code) is None:
        return board.message(request, "not_found", 404)

    def load(session: Session) -> dict[str, Any]:
        rounds = [{**round_row(p.round, surveys, lang, True),
                   "res": results_view(published.get(session, surveys, p), surveys, lang),
                   "jaap": public_plan(board, session, p.round.id, lang)}
                  for p in data.published_rounds_of(session, surveys, code)]
        figures = figures_view(board, kept_cells(session, [code]), lang,
                               csv_url=f"/results/{code}/reports.csv",
                               chart_url="/results/{commune}/reports.png")
        return {"rounds": rounds, "figures": figures}

    return board.render(request, "public.html", **await board.read(load),
                        commune=commune_name(code, lang), commune_code=code)


def public_plan(board: Board, session: Session, round_id: int, lang: str
                ) -> list[dict[str, Any]]:
    """A published round's JAAP for everyone: each action as agreed at the interface meeting
    (what, who, by when) and its status. Never the CAFs' progress notes, the discussion, the
    citizens' suggestions or comments: only the plan and where it stands."""
    now = today(board)
    return [{key: value for key, value in action_view(board.app.content, action, lang,
                                                      now).items() if key != "note"}
            for action in actions(session, round_id)]


async def chart(board: Board, published: PublishedResults, request: Request) -> Response:
    code = request.path_params["commune"]
    round_id = int(request.path_params["round_id"])
    surveys = board.surveys

    def load(session: Session) -> RoundResults | None:
        found = next((p for p in data.published_rounds_of(session, surveys, code)
                      if p.round.id == round_id), None)
        return None if found is None else published.get(session, surveys, found)

    results = await board.read(load)
    if results is None:
        return Response(status_code=404)
    # Public figures, but an unpublished round must disappear at once: revalidate.
    return await chart_response(board, request, results, cache="no-cache")


async def _public_figures(board: Board, request: Request) -> Figures | None:
    code = request.path_params["commune"]
    if gazetteer().get(code) is None:
        return None
    return await board.read(lambda s: kept_cells(s, [code]))  # type: ignore[no-any-return]


async def reports_csv(board: Board, request: Request) -> Response:
    """The commune's report figures as CSV: the kept cells, counts only."""
    figures = await _public_figures(board, request)
    if figures is None:
        return Response(status_code=404)
    code = request.path_params["commune"]
    return Response(figures_csv(figures.cells, board.surveys),
                    media_type="text/csv; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "Content-Disposition":
                             f'attachment; filename="reports-{code}.csv"'})


async def reports_chart(board: Board, request: Request) -> Response:
    figures = await _public_figures(board, request)
    if figures is None:
        return Response(status_code=404)
    code = request.path_params["commune"]
    return await chart_png(board, figures.of(code), code, board.lang(request),
                           cache="no-cache")


def font_file() -> Path:
    """Noto Sans Khmer from the fontpkg package the charts use (a variable font)."""
    import fontpkg_noto_sans_khmer

    files = Path(fontpkg_noto_sans_khmer.__file__).resolve().parent / "files"
    return sorted(files.glob("NotoSansKhmer*.ttf"))[0]


async def font(request: Request) -> Response:
    return FileResponse(font_file(), media_type="font/ttf",
                        headers={"Cache-Control": "public, max-age=86400"})
