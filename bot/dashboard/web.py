"""The dashboard's pages: login, rounds and their results (charts, trend, breakdowns,
comments, CSV), usage, deliveries, and the public results page of a commune.

Every page under /dashboard/ needs a session; the viewer's scope is applied in the query that
reads the data (`bot.dashboard.data`), and every POST checks the session's CSRF token. Pages
are rendered on the server (Jinja2, autoescaped); the stylesheet and the Khmer font are served
from the package, so the dashboard works without internet.

An open round shows its number of responses only: anything more (figures, charts, breakdowns,
comments, CSV) would let someone who reloads after each response read that person's answers.
Pages that only read use read-only sessions (on SQLite they never take the write lock), and
the public page computes a published round's results once per publication.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.bootstrap import App
from bot.dashboard import auth, data
from bot.dashboard.auth import Principal
from bot.request_body import read_body
from common import charts
from common import formatting as fmt
from common.db.base import utcnow
from content.places import gazetteer
from content.surveys.section import Surveys, surveys_of
from dialogues.scorecard.export import write_comments_csv, write_responses_csv
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.results import MIN_GROUP, NO_ANSWER, RoundResults, round_results

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "isafbot_session"
LOGIN_COOKIE = "isafbot_login"  # double-submit CSRF token of the login form
LANG_COOKIE = "isafbot_lang"
LANGS = ("km", "en")
MAX_FORM_BYTES = 16_384
# Sent with every response to a request that came over HTTPS (directly, or from a trusted
# proxy that said so in X-Forwarded-Proto: see `routes`). Browsers ignore it over plain HTTP.
HSTS = "max-age=31536000"
# Pages load nothing from elsewhere, run no script, and are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    loaded = yaml.safe_load((HERE / "strings.yml").read_text(encoding="utf-8"))
    return {str(k): {lang: str(v[lang]) for lang in LANGS} for k, v in loaded.items()}


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


def font_file() -> Path:
    """Noto Sans Khmer from the fontpkg package the charts use (a variable font)."""
    import fontpkg_noto_sans_khmer

    files = Path(fontpkg_noto_sans_khmer.__file__).resolve().parent / "files"
    return sorted(files.glob("NotoSansKhmer*.ttf"))[0]


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


@dataclass
class Dashboard:
    """The dashboard of one server process (built by `routes`)."""

    app: App
    secure_cookies: bool
    published: PublishedResults = field(default_factory=PublishedResults)

    # -------------------------------------------------------------- helpers

    @property
    def surveys(self) -> Surveys:
        return surveys_of(self.app.content)

    async def read(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in a read-only database session on a thread (a session per request)."""
        def run() -> Any:
            with self.app.db.read_session() as session:
                return work(session)
        return await asyncio.to_thread(run)

    async def write(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in a database transaction on a thread: short, and nothing slow in it."""
        def run() -> Any:
            with self.app.db.session() as session:
                return work(session)
        return await asyncio.to_thread(run)

    def secure(self, request: Request) -> bool:
        """Cookies are Secure when the request came over HTTPS (uvicorn takes the scheme from
        X-Forwarded-Proto only from ISAFBOT_FORWARDED_ALLOW_IPS), or when configured."""
        return self.secure_cookies or request.url.scheme == "https"

    @staticmethod
    def lang(request: Request) -> str:
        wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        return wanted if wanted in LANGS else "km"

    def render(self, request: Request, name: str, who: Principal | None = None, *,
               status: int = 200, **values: Any) -> HTMLResponse:
        lang = self.lang(request)
        other = "en" if lang == "km" else "km"
        table = strings()

        def t(key: str, **params: Any) -> str:
            return table[key][lang].format(**params)

        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        html = templates().get_template(name).render(
            t=t, lang=lang, other_lang=other, who=who, static_prefix="/dashboard/static",
            lang_url=f"/dashboard/lang?to={other}&next={quote(here, safe='')}",
            min_group=fmt.integer(MIN_GROUP, lang), num=lambda n: fmt.integer(int(n), lang),
            **values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(self, request: Request, key: str, status: int,
                who: Principal | None = None) -> HTMLResponse:
        text = strings()[key][self.lang(request)]
        return self.render(request, "message.html", who, status=status, message=text)

    async def viewer(self, request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await self.read(lambda s: auth.principal(s, token))  # type: ignore[no-any-return]

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """An urlencoded form (the only kind the dashboard posts); a body over MAX_FORM_BYTES
        is not read further and counts as empty (so its CSRF check fails)."""
        body = await read_body(request, MAX_FORM_BYTES)
        if body is None:
            return {}
        parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    # -------------------------------------------------------------- decorators

    def page(self, handler: Callable[[Request, Principal], Awaitable[Response]]
             ) -> Callable[[Request], Awaitable[Response]]:
        """A page that needs a logged-in viewer; POSTs also need the session's CSRF token."""
        async def endpoint(request: Request) -> Response:
            who = await self.viewer(request)
            if who is None:
                if request.method != "GET":
                    return self.message(request, "csrf_failed", 403)
                target = quote(request.url.path, safe="")
                return RedirectResponse(f"/dashboard/login?next={target}", status_code=303)
            if request.method == "POST":
                form = await self.form(request)
                if not auth.csrf_ok(who, form.get("csrf")):
                    return self.message(request, "csrf_failed", 403, who)
                request.state.form = form
            return await handler(request, who)
        return endpoint

    # -------------------------------------------------------------- login

    async def login_page(self, request: Request) -> Response:
        return self._login_form(request, error=None, username="", status=200)

    def _login_form(self, request: Request, *, error: str | None, username: str,
                    status: int) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        next_path = _safe_next(request.query_params.get("next")
                               or getattr(request.state, "next", None))
        response = self.render(request, "login.html", status=status, error=error,
                               login_csrf=token, next=next_path, username=username)
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="lax",
                            secure=self.secure(request), path="/dashboard")
        return response

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie.encode(),
                                                 form.get("csrf", "").encode()):
            return self.message(request, "csrf_failed", 403)
        username = form.get("username", "")[:64]
        password = form.get("password", "")[:256]
        address = request.client.host if request.client else "unknown"
        request.state.next = form.get("next")
        lang = self.lang(request)
        result = await asyncio.to_thread(auth.log_in, self.app.db, username, password, address)
        if result.status != "ok" or result.token is None:
            refusal = {"limited": ("login_limited", 429), "disabled": ("login_disabled", 403)
                       }.get(result.status, ("login_failed", 401))
            log.log(logging.WARNING if result.status == "limited" else logging.INFO,
                    "dashboard login refused (%s)", result.status,
                    extra={"username": username, "address": address})
            return self._login_form(request, error=strings()[refusal[0]][lang],
                                    username=username, status=refusal[1])
        log.info("dashboard login", extra={"username": username})
        response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
        lifetime = int(auth.SESSION_LIFETIME.total_seconds())
        response.set_cookie(SESSION_COOKIE, result.token, max_age=lifetime, httponly=True,
                            samesite="lax", secure=self.secure(request), path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/dashboard")
        return response

    async def logout(self, request: Request, who: Principal) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        await self.write(lambda s: auth.end_session(s, token))
        response = RedirectResponse("/dashboard/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def set_language(self, request: Request) -> Response:
        lang = request.query_params.get("to")
        response = RedirectResponse(_safe_next(request.query_params.get("next"), allow_public=True),
                                    status_code=303)
        if lang in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                                samesite="lax", secure=self.secure(request), path="/")
        return response

    # -------------------------------------------------------------- rounds

    async def rounds(self, request: Request, who: Principal) -> Response:
        lang = self.lang(request)
        surveys = self.surveys

        def load(session: Session) -> list[dict[str, Any]]:
            published = data.published_ids(session)
            rounds = data.visible_rounds(session, surveys, who)
            counts = data.response_counts(session, [r.id for r in rounds])
            return [{**self._round_row(r, surveys, lang, r.id in published),
                     "responses": fmt.integer(counts.get(r.id, 0), lang)} for r in rounds]

        return self.render(request, "rounds.html", who, rounds=await self.read(load))

    def _round_row(self, row: ScoringRound, surveys: Surveys, lang: str,
                   published: bool) -> dict[str, Any]:
        facility = surveys.facilities.get(row.facility_id)
        return {"id": row.id, "name": self._round_name(row, lang),
                "facility": facility.name(lang) if facility else row.facility_id,
                "commune": _commune_name(facility.commune if facility else None, lang),
                "opened": fmt.day(row.opened_at, lang),
                "closed": fmt.day(row.closed_at, lang) if row.closed_at else None,
                "published": published}

    def _round_name(self, row: ScoringRound, lang: str) -> str:
        return row.label or f"{strings()['round'][lang]} {fmt.integer(row.id, lang)}"

    async def round_page(self, request: Request, who: Principal) -> Response:
        round_id = int(request.path_params["round_id"])
        return await self._round_page(request, who, round_id, notice=None)

    async def _round_page(self, request: Request, who: Principal, round_id: int, *,
                          notice: str | None) -> Response:
        lang = self.lang(request)
        surveys = self.surveys

        def load(session: Session) -> dict[str, Any] | None:
            row = data.visible_round(session, surveys, who, round_id)
            if row is None:
                return None
            facility = surveys.facilities.get(row.facility_id)
            about = {"published": round_id in data.published_ids(session),
                     "facility": facility.name(lang) if facility else row.facility_id,
                     "commune": _commune_name(facility.commune if facility else None, lang),
                     "commune_code": facility.commune if facility else "",
                     "round_name": self._round_name(row, lang),
                     "opened": fmt.day(row.opened_at, lang),
                     "closed": fmt.day(row.closed_at, lang) if row.closed_at else None}
            if row.closed_at is None:  # its count only, until it is closed
                count = data.response_counts(session, [round_id]).get(round_id, 0)
                return {**about, "open_responses": fmt.integer(count, lang)}
            results = round_results(session, surveys, round_id)
            history = [r for r in data.facility_rounds(session, row.facility_id)
                       if r.closed_at is not None]
            trend = [(self._round_name(r, lang), round_results(session, surveys, r.id))
                     for r in history]
            return {**about, "res": results_view(results, surveys, lang),
                    "trend": trend_view(trend, results, lang),
                    "comments": data.comments(session, round_id)}

        values = await self.read(load)
        if values is None:
            return await self._refuse(request, who, round_id)
        return self.render(request, "round.html", who, round_id=round_id, notice=notice,
                           **values)

    async def _refuse(self, request: Request, who: Principal, round_id: int) -> Response:
        """403 for a round that exists outside the viewer's communes, 404 for none."""
        exists = await self.read(lambda s: data.round_exists(s, round_id))
        if exists:
            log.warning("dashboard: round outside the viewer's communes",
                        extra={"username": who.username, "round_id": round_id})
            return self.message(request, "forbidden", 403, who)
        return self.message(request, "not_found", 404, who)

    async def chart(self, request: Request, who: Principal) -> Response:
        round_id = int(request.path_params["round_id"])
        surveys = self.surveys

        def load(session: Session) -> RoundResults | bool:
            row = data.visible_round(session, surveys, who, round_id)
            if row is None:
                return False
            if row.closed_at is None:
                return True  # no figures of an open round
            return round_results(session, surveys, round_id)

        results = await self.read(load)
        if results is False:
            return await self._refuse(request, who, round_id)
        if results is True:
            return Response(status_code=404)
        return await self._chart(request, results, cache="no-store")

    async def _chart(self, request: Request, results: RoundResults, *,
                     cache: str) -> Response:
        indicator = request.path_params["indicator"]
        lang = self.lang(request)
        stats = next((s for s in results.indicators if s.indicator == indicator), None)
        if stats is None or stats.count < MIN_GROUP:
            return Response(status_code=404)
        spec = chart_spec(results, self.surveys, indicator, lang)
        directory = self.app.settings.data_dir / "dashboard-charts"
        path = await asyncio.to_thread(charts.chart_file, spec, directory,
                                       f"r{results.round.id}-{indicator}-{lang}")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": cache})

    async def csv(self, request: Request, who: Principal) -> Response:
        round_id = int(request.path_params["round_id"])
        kind = request.path_params["kind"]
        surveys = self.surveys
        handle, name = tempfile.mkstemp(prefix="isafbot-export-", suffix=".csv")
        path = Path(name)
        writer = write_responses_csv if kind == "responses" else write_comments_csv

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
            outcome = await self.read(export)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if outcome != "written":
            path.unlink(missing_ok=True)
            if outcome == "open":
                return self.message(request, "round_open_no_export", 409, who)
            return await self._refuse(request, who, round_id)
        log.info("dashboard CSV export", extra={"username": who.username, "round_id": round_id,
                                                "kind": kind})
        return FileResponse(path, media_type="text/csv; charset=utf-8",
                            filename=f"round-{round_id}-{kind}.csv",
                            headers={"Cache-Control": "no-store"},
                            background=BackgroundTask(path.unlink, missing_ok=True))

    async def publish(self, request: Request, who: Principal) -> Response:
        round_id = int(request.path_params["round_id"])
        action = request.path_params["action"]
        if not who.is_admin:
            return self.message(request, "forbidden", 403, who)
        surveys = self.surveys

        def change(session: Session) -> bool | None:
            if data.visible_round(session, surveys, who, round_id) is None:
                return None
            if action == "publish":
                return data.publish(session, round_id, who.username)
            data.unpublish(session, round_id)
            return True

        done = await self.write(change)
        if done is None:
            return await self._refuse(request, who, round_id)
        if not done:
            notice = strings()["publish_open_refused"][self.lang(request)]
            return await self._round_page(request, who, round_id, notice=notice)
        log.info("dashboard round %s", action, extra={"username": who.username,
                                                      "round_id": round_id})
        return RedirectResponse(f"/dashboard/rounds/{round_id}", status_code=303)

    # -------------------------------------------------------------- usage, deliveries

    async def usage(self, request: Request, who: Principal) -> Response:
        lang = self.lang(request)
        since = utcnow() - timedelta(weeks=12)
        found = await self.read(lambda s: data.usage(s, who, since=since))
        table = strings()
        weeks = [fmt.day(w, lang) for w in found.weeks]

        def label(key: str) -> str:
            if key == "-":
                return table["no_intent"][lang]
            return table[f"lang_{key}"][lang] if f"lang_{key}" in table else key

        def weekly(title: str, counts: dict[str, Any]) -> dict[str, Any]:
            rows = [(label(key), [fmt.integer(c[w], lang) for w in found.weeks])
                    for key, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))]
            return {"title": title, "first": "", "columns": weeks, "rows": rows}

        tables = [
            weekly(table["by_intent"][lang], found.by_intent),
            weekly(table["by_language"][lang], found.by_language),
            weekly(table["by_channel"][lang], found.by_channel),
            {"title": table["low_confidence"][lang], "first": table["question"][lang],
             "columns": [table["times"][lang]],
             "rows": [(q, [fmt.integer(n, lang)]) for q, n in found.unanswered]},
            {"title": table["subscribers"][lang], "first": table["commune"][lang],
             "columns": [table["count"][lang]],
             "rows": [(_commune_name(code, lang), [fmt.integer(n, lang)])
                      for code, n in found.subscribers]},
        ]
        return self.render(request, "usage.html", who, tables=tables)

    async def deliveries(self, request: Request, who: Principal) -> Response:
        lang = self.lang(request)
        found = await self.read(lambda s: data.batches(s, who))
        rows = [{"name": b.name, "queued": fmt.day(b.queued, lang), "report": b.report}
                for b in found]
        return self.render(request, "deliveries.html", who, batches=rows,
                           statuses=("sent", "pending", "held", "failed", "unreachable"))

    async def meetings(self, request: Request, who: Principal) -> Response:
        lang = self.lang(request)
        table = strings()
        zone = ZoneInfo(self.app.settings.timezone)

        def when(moment: datetime) -> str:
            local = moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
            return fmt.moment(local, lang)

        def kind(name: str) -> str:
            key = f"meet_kind_{name}"
            return self.app.content.message(key, lang) if key in self.app.content.messages \
                else name

        def load(session: Session) -> dict[str, Any]:
            meetings = [{
                "when": when(m.meeting.starts_at),
                "commune": _commune_name(m.meeting.commune_code, lang),
                "kind": kind(m.meeting.kind), "place": m.meeting.place,
                "status": table.get(f"meeting_{m.meeting.status}", {}).get(lang,
                                                                         m.meeting.status),
                "reminders": [{"label": table["reminder_before"][lang].format(
                                   hours=fmt.number(round(r.offset_minutes / 60, 1), lang)),
                               "report": report,
                               "recipients": fmt.integer(r.recipients, lang)}
                              for r, report in m.reminders]}
                for m in data.meetings(session, who)]
            broadcasts = [{"when": when(b.created_at),
                           "commune": _commune_name(b.commune_code, lang), "text": b.text,
                           "recipients": fmt.integer(b.recipients, lang), "report": report}
                          for b, report in data.broadcasts(session, who)]
            return {"meetings": meetings, "broadcasts": broadcasts}

        return self.render(request, "meetings.html", who,
                           statuses=("sent", "pending", "held", "failed", "unreachable"),
                           **await self.read(load))

    # -------------------------------------------------------------- public pages

    async def public(self, request: Request) -> Response:
        commune = request.path_params["commune"]
        lang = self.lang(request)
        surveys = self.surveys
        if gazetteer().get(commune) is None:
            return self.message(request, "not_found", 404)

        def load(session: Session) -> list[dict[str, Any]]:
            return [{**self._round_row(p.round, surveys, lang, True),
                     "res": results_view(self.published.get(session, surveys, p), surveys, lang)}
                    for p in data.published_rounds_of(session, surveys, commune)]

        return self.render(request, "public.html", rounds=await self.read(load),
                           commune=_commune_name(commune, lang), commune_code=commune)

    async def public_index(self, request: Request) -> Response:
        lang = self.lang(request)
        surveys = self.surveys
        codes = await self.read(lambda s: data.published_communes(s, surveys))
        return self.render(request, "public_index.html",
                           communes=[(code, _commune_name(code, lang)) for code in codes])

    async def public_chart(self, request: Request) -> Response:
        commune = request.path_params["commune"]
        round_id = int(request.path_params["round_id"])
        surveys = self.surveys

        def load(session: Session) -> RoundResults | None:
            found = next((p for p in data.published_rounds_of(session, surveys, commune)
                          if p.round.id == round_id), None)
            return None if found is None else self.published.get(session, surveys, found)

        results = await self.read(load)
        if results is None:
            return Response(status_code=404)
        # Public figures, but an unpublished round must disappear at once: revalidate.
        return await self._chart(request, results, cache="no-cache")

    async def font(self, request: Request) -> Response:
        return FileResponse(font_file(), media_type="font/ttf",
                            headers={"Cache-Control": "public, max-age=86400"})

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/dashboard/", status_code=303)


# ------------------------------------------------------------------ views of the results

def _number(value: float | None, lang: str) -> str:
    return "–" if value is None else fmt.number(round(value, 2), lang)


def _commune_name(code: str | None, lang: str) -> str:
    if not code:
        return "–"
    place = gazetteer().get(code)
    return place.name(lang) if place else code


def _indicator_title(results: RoundResults, indicator: str, lang: str) -> str:
    found = results.survey.indicator(indicator) if results.survey else None
    return found.text(lang) if found else indicator


def results_view(results: RoundResults, surveys: Surveys, lang: str) -> dict[str, Any]:
    """The round's results as the templates show them: an indicator with fewer than MIN_GROUP
    ratings shows its count only; breakdown cells hidden by the small-group rule say so."""
    rows = []
    for stats in results.indicators:
        shown = stats.count >= MIN_GROUP
        rows.append({"indicator": stats.indicator,
                     "title": _indicator_title(results, stats.indicator, lang),
                     "count": fmt.integer(stats.count, lang), "shown": shown,
                     "mean": _number(stats.mean, lang), "median": _number(stats.median, lang),
                     "alt": ", ".join(f"{surveys.level(v).label(lang)} {fmt.integer(n, lang)}"
                                      for v, n in enumerate(stats.distribution, start=1))})
    breakdowns = []
    questions = {q.id: q for q in surveys.profile}
    for item in results.breakdowns:
        question = questions.get(item.question)
        groups = []
        for group in item.groups:
            option = question.option(group.option) if question else None
            label = (strings()["no_answer"][lang] if group.option == NO_ANSWER
                     else option.label(lang) if option else group.option)
            cells = [None if (s := group.indicators.get(str(r["indicator"]))) is None
                     else _number(s.mean, lang) for r in rows]
            groups.append({"label": label, "cells": cells,
                           "size": None if group.respondents is None
                           else fmt.integer(group.respondents, lang)})
        breakdowns.append({"title": question.text(lang) if question else item.question,
                           "groups": groups})
    return {"rows": rows, "breakdowns": breakdowns,
            "responses": fmt.integer(results.responses, lang),
            "complete": fmt.integer(results.complete, lang)}


def trend_view(trend: list[tuple[str, RoundResults]], current: RoundResults,
               lang: str) -> dict[str, Any]:
    """Mean per indicator in each round of the facility (indicators of the current round;
    a mean from fewer than MIN_GROUP ratings is not shown)."""
    rows = []
    for stats in current.indicators:
        values = []
        for _, results in trend:
            found = next((s for s in results.indicators if s.indicator == stats.indicator),
                         None)
            values.append(None if found is None or found.count < MIN_GROUP
                          else _number(found.mean, lang))
        rows.append({"title": _indicator_title(current, stats.indicator, lang),
                     "cells": values})
    return {"rounds": [name for name, _ in trend], "rows": rows}


def chart_spec(results: RoundResults, surveys: Surveys, indicator: str,
               lang: str) -> charts.ChartSpec:
    """One indicator's distribution over the five levels, drawn by the budget chart code."""
    stats = next(s for s in results.indicators if s.indicator == indicator)
    table = strings()
    subtitle = table["ratings_line"][lang].format(
        count=fmt.integer(stats.count, lang), mean=_number(stats.mean, lang),
        median=_number(stats.median, lang))
    bars = tuple(
        charts.Bar(label=surveys.level(value).label(lang), share=n / stats.count,
                   value=f"{fmt.integer(n, lang)} · {fmt.percent(n / stats.count, lang)}")
        for value, n in enumerate(stats.distribution, start=1))
    facility = results.facility.name(lang) if results.facility else results.round.facility_id
    return charts.ChartSpec(title=_indicator_title(results, indicator, lang), subtitle=subtitle,
                            bars=bars, footer=(facility,))


def _safe_next(target: str | None, *, allow_public: bool = False) -> str:
    """Only local paths (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard/"
    if not allow_public and not target.startswith("/dashboard"):
        return "/dashboard/"
    return target


def routes(runtime: Any) -> list[BaseRoute]:
    """The dashboard's routes for `bot.server` (the dashboard record's pages)."""
    app: App = runtime.app
    secure = app.settings.env.get("ISAFBOT_DASHBOARD_SECURE_COOKIES", "").lower() in (
        "1", "true", "yes")
    board = Dashboard(app, secure_cookies=secure)
    page = board.page
    return [_hardened(route) for route in [
        Route("/dashboard", board.home),
        Route("/dashboard/login", board.login_page, methods=["GET"]),
        Route("/dashboard/login", board.login, methods=["POST"]),
        Route("/dashboard/logout", page(board.logout), methods=["POST"]),
        Route("/dashboard/lang", board.set_language),
        Route("/dashboard/", page(board.rounds)),
        Route("/dashboard/rounds/{round_id:int}", page(board.round_page)),
        Route("/dashboard/rounds/{round_id:int}/charts/{indicator:str}.png", page(board.chart)),
        Route("/dashboard/rounds/{round_id:int}/{kind:str}.csv", _only_kinds(page(board.csv))),
        Route("/dashboard/rounds/{round_id:int}/{action:str}", _only_actions(page(board.publish)),
              methods=["POST"]),
        Route("/dashboard/usage", page(board.usage)),
        Route("/dashboard/deliveries", page(board.deliveries)),
        Route("/dashboard/meetings", page(board.meetings)),
        Route("/dashboard/static/font/NotoSansKhmer.ttf", board.font),
        Mount("/dashboard/static", app=StaticFiles(directory=HERE / "static")),
        Route("/results", board.public_index),
        Route("/results/{commune:str}", board.public),
        Route("/results/{commune:str}/rounds/{round_id:int}/charts/{indicator:str}.png",
              board.public_chart),
    ]]


def _hardened(route: BaseRoute) -> BaseRoute:
    """Every dashboard and public response: HSTS when the request came over HTTPS, and not
    stored by browsers or proxies unless the endpoint allowed it (static files, the font,
    public charts)."""
    if not isinstance(route, Route):
        return route
    endpoint = route.endpoint

    async def hardened(request: Request) -> Response:
        response: Response = await endpoint(request)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return Route(route.path, hardened, methods=route.methods, name=route.name)


def _only_kinds(endpoint: Callable[[Request], Awaitable[Response]]
                ) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if request.path_params["kind"] not in ("responses", "comments"):
            return Response(status_code=404)
        return await endpoint(request)
    return guarded


def _only_actions(endpoint: Callable[[Request], Awaitable[Response]]
                  ) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if request.path_params["action"] not in ("publish", "unpublish"):
            return Response(status_code=404)
        return await endpoint(request)
    return guarded


__all__ = ["Dashboard", "chart_spec", "results_view", "routes"]
