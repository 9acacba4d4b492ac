"""Citizen reports in the dashboard: the list of the viewer's communes' reports (filtered by
kind, status, facility and commune), a report's page with its media, the status form and the
moderation of its text. The figures are `report_figures`.

Every read and change goes through `dialogues.reports.store` with the viewer's `Actor`, which
checks the commune again (a URL or a POST can name any report): a report outside the viewer's
communes is a 404, as one that does not exist, so its existence is not told either. No page
shows who reported (the tables do not know); phone numbers in the text are masked. Media files
live under the data directory, never the web root, and are served only through
`/dashboard/reports/{reference}/media/{id}` after the same check.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.auth import Principal
from bot.dashboard.board import Board, commune_name, strings
from bot.dashboard.report_views import facility_name, label, month_name, shown_text
from common import formatting as fmt
from common.khmer import arabic_to_khmer_digits
from dialogues.reports import store
from dialogues.reports.media import media_dir
from dialogues.reports.models import KINDS, STATUSES, Report
from dialogues.reports.texts import followup_notice, subject_label

log = logging.getLogger(__name__)

LIST_LIMIT = 500
MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
               "webp": "image/webp", "ogg": "audio/ogg", "oga": "audio/ogg",
               "mp3": "audio/mpeg", "m4a": "audio/mp4"}
MODERATION_ACTIONS = {"approve": "approved", "reject": "rejected"}


def routes(board: Board) -> list[BaseRoute]:
    page = board.page
    return [
        Route("/dashboard/reports", page(partial(listing, board))),
        Route("/dashboard/reports/{reference:str}", page(partial(detail, board))),
        Route("/dashboard/reports/{reference:str}/media/{media_id:str}",
              page(partial(media, board))),
        Route("/dashboard/reports/{reference:str}/status", page(partial(set_status, board)),
              methods=["POST"]),
        Route("/dashboard/reports/{reference:str}/{action:str}",
              page(partial(moderate, board)), methods=["POST"]),
    ]




# ------------------------------------------------------------------ the list

def _filters(request: Request, who: Principal) -> store.Filters:
    """The list's filters from the query string; unknown values are ignored."""
    params = request.query_params
    kind = params.get("kind") if params.get("kind") in KINDS else None
    status = params.get("status") if params.get("status") in STATUSES else None
    commune = params.get("commune") or None
    if commune and not who.may_see_commune(commune):
        commune = None
    return store.Filters(status=status, kind=kind, commune=commune,
                         facility=(params.get("facility") or "")[:40] or None)


async def listing(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    chosen = _filters(request, who)

    def load(session: Session) -> dict[str, Any]:
        everything = store.list_reports(session, who.actor, limit=LIST_LIMIT)
        found = store.list_reports(session, who.actor, chosen, limit=LIST_LIMIT)
        return {"reports": [_row(board, r, lang) for r in found],
                "filters": _filter_choices(board, everything, chosen, lang)}

    return board.render(request, "reports.html", who, **await board.read(load))


def _row(board: Board, report: Report, lang: str) -> dict[str, Any]:
    return {"reference": report.reference, "month": month_name(report.created_month, lang),
            "commune": commune_name(report.commune_code, lang),
            "facility": _facility(board, report.facility_id or report.facility_type, lang),
            "kind": label("kind", report.kind, lang),
            "status": label("rstatus", report.status, lang),
            "text_state": label("mod", report.text_state, lang) if report.text else "–"}


def _facility(board: Board, value: str | None, lang: str) -> str:
    """A facility's name (content/surveys), or the label of a facility type or service."""
    if value and value in board.surveys.facilities:
        return facility_name(board.surveys, value, lang)
    return subject_label(board.app.content, value, lang) if value else "–"


def _filter_choices(board: Board, reports: list[Report], chosen: store.Filters,
                    lang: str) -> list[dict[str, Any]]:
    """The filter menus: every kind and status, the facilities and communes of the reports
    the viewer may see."""
    table = strings()
    facilities = sorted({r.facility_id or r.facility_type for r in reports
                         if r.facility_id or r.facility_type})
    communes = sorted({r.commune_code for r in reports})
    return [
        {"name": "kind", "title": table["report_kind"][lang], "chosen": chosen.kind,
         "options": [(k, label("kind", k, lang)) for k in KINDS]},
        {"name": "status", "title": table["report_status"][lang], "chosen": chosen.status,
         "options": [(s, label("rstatus", s, lang)) for s in STATUSES]},
        {"name": "facility", "title": table["facility"][lang], "chosen": chosen.facility,
         "options": [(f, _facility(board, f, lang)) for f in facilities]},
        {"name": "commune", "title": table["commune"][lang], "chosen": chosen.commune,
         "options": [(c, commune_name(c, lang)) for c in communes]},
    ]


# ------------------------------------------------------------------ one report

def _amount(report: Report, lang: str) -> str | None:
    if report.amount_minor is None:
        return None
    minor = int(report.amount_minor)  # riel, or US cents
    asked = _usd(minor, lang) if report.currency == "usd" else fmt.riel(minor, lang)
    if report.official_fee_riel is None:
        return asked
    official = strings()["official_fee"][lang].format(
        fee=fmt.riel(int(report.official_fee_riel), lang),
        source=report.official_fee_source or "–",
        checked=fmt.day(report.official_fee_checked, lang)
        if report.official_fee_checked else "–")
    return f"{asked} · {official}"


def _usd(cents: int, lang: str) -> str:
    """Dollars with their cents when there are any ($1.50; fmt.usd rounds to whole dollars)."""
    if cents % 100 == 0:
        return fmt.usd(cents // 100, lang)
    amount = f"{cents / 100:,.2f}"
    return f"{arabic_to_khmer_digits(amount)} ដុល្លារ" if lang == "km" else f"${amount}"


def _report_view(board: Board, session: Session, who: Principal, report: Report,
                 lang: str) -> dict[str, Any]:
    """A report as its page shows it: text masked, media as authenticated URLs."""
    files = store.media_of(session, who.actor, report)
    return {**_row(board, report, lang), "status_id": report.status,
            "service": _facility(board, report.service, lang) if report.service else None,
            "amount": _amount(report, lang),
            "happened": fmt.day(report.happened_on, lang) if report.happened_on else None,
            "text": shown_text(report.text),
            "forwarded_to": shown_text(report.forwarded_to),
            "answer": shown_text(report.answer),
            "follow_up": store.wants_followup(session, report),
            "media": [{"kind": m.kind,
                       "url": f"/dashboard/reports/{report.reference}/media/{m.id}"}
                      for m in files],
            "history": [{"when": fmt.day(h.at, lang), "note": shown_text(h.note), "by": h.actor,
                         "status": label("rstatus", h.status, lang)}
                        for h in store.history(session, who.actor, report)]}


async def detail(board: Board, request: Request, who: Principal, *,
                 notice: str | None = None, error: str | None = None,
                 status: int = 200) -> Response:
    reference = request.path_params["reference"]
    lang = board.lang(request)

    def load(session: Session) -> dict[str, Any] | None:
        try:
            report = store.get_report(session, who.actor, reference)
        except store.UnknownReport:
            return None
        return _report_view(board, session, who, report, lang)

    found = await board.read(load)
    if found is None:
        return _unknown(board, request, who, reference)
    statuses = [(s, label("rstatus", s, lang)) for s in STATUSES if s != "new"]
    return board.render(request, "report.html", who, r=found, statuses=statuses,
                        notice=notice, error=error, status=status)


def _unknown(board: Board, request: Request, who: Principal, reference: str) -> Response:
    """Not found, or outside the viewer's communes: the same 404 (and a log line)."""
    log.warning("dashboard: report not found or outside the viewer's communes",
                extra={"username": who.username, "reference": reference[:16]})
    return board.message(request, "not_found", 404, who)


async def media(board: Board, request: Request, who: Principal) -> Response:
    """A report's photo or voice note, after the viewer's commune is checked."""
    reference = request.path_params["reference"]
    media_id = request.path_params["media_id"]

    def load(session: Session) -> str | None:
        try:
            report = store.get_report(session, who.actor, reference)
        except store.UnknownReport:
            return None
        found = next((m for m in store.media_of(session, who.actor, report)
                      if m.id == media_id), None)
        return None if found is None else str(found.file_name)

    name = await board.read(load)
    root = media_dir(board.app.settings.data_dir).resolve()
    path = (root / name).resolve() if name else None
    if path is None or path.parent != root or not path.is_file():
        return _unknown(board, request, who, reference)
    suffix = path.suffix.lstrip(".").lower()
    return FileResponse(path, media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-store",
                                 "Content-Disposition": "inline",
                                 "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; "
                                                            "media-src 'self'; sandbox"})


# ------------------------------------------------------------------ changing a report

async def set_status(board: Board, request: Request, who: Principal) -> Response:
    """The status form: the store re-checks the viewer and queues the reporter's follow-up."""
    reference = request.path_params["reference"]
    form = request.state.form
    status = form.get("status", "")
    note = form.get("forwarded_to") if status == "forwarded" else form.get("answer")
    notice = followup_notice(board.app.content)  # the same words as the CAF's /reports

    def change(session: Session) -> str | None:
        try:
            store.change_status(session, who.actor, reference, status, notice=notice,
                                note=(note or "")[:1000])
        except store.UnknownReport:
            return None
        except ValueError as problem:
            return str(problem)
        return ""

    outcome = await board.write(change)
    lang = board.lang(request)
    if outcome is None:
        return _unknown(board, request, who, reference)
    if outcome:
        error = strings()["status_refused"][lang].format(reason=outcome)
        return await detail(board, request, who, error=error, status=400)
    log.info("dashboard report status", extra={"username": who.username, "status": status})
    return RedirectResponse(f"/dashboard/reports/{reference}", status_code=303)


async def moderate(board: Board, request: Request, who: Principal) -> Response:
    reference = request.path_params["reference"]
    state = MODERATION_ACTIONS.get(request.path_params["action"])
    if state is None:
        return Response(status_code=404)

    def change(session: Session) -> bool:
        try:
            store.moderate(session, who.actor, reference, state)
        except store.UnknownReport:
            return False
        return True

    if not await board.write(change):
        return _unknown(board, request, who, reference)
    log.info("dashboard report text %s", state, extra={"username": who.username})
    return RedirectResponse(f"/dashboard/reports/{reference}", status_code=303)
