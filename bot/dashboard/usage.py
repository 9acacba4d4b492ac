"""Usage and deliveries in the dashboard: twelve weeks of questions by intent, language and
channel, the questions the bot did not understand, subscribers per commune, and the delivery
report of each batch of automated messages. Both in the viewer's communes only (`data`)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import data
from bot.dashboard.auth import Principal
from bot.dashboard.board import DELIVERY_STATUSES, Board, commune_name, strings
from common import formatting as fmt
from common.db.base import utcnow

WEEKS = 12


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/dashboard/usage", board.page(partial(usage, board))),
            Route("/dashboard/deliveries", board.page(partial(deliveries, board)))]


async def usage(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    since = utcnow() - timedelta(weeks=WEEKS)
    found = await board.read(lambda s: data.usage(s, who, since=since))
    return board.render(request, "usage.html", who, tables=usage_tables(found, lang))


def usage_tables(found: data.Usage, lang: str) -> list[dict[str, Any]]:
    """The usage page's tables: weekly counts, unanswered questions, subscribers."""
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

    return [
        weekly(table["by_intent"][lang], found.by_intent),
        weekly(table["by_language"][lang], found.by_language),
        weekly(table["by_channel"][lang], found.by_channel),
        {"title": table["low_confidence"][lang], "first": table["question"][lang],
         "columns": [table["times"][lang]],
         "rows": [(q, [fmt.integer(n, lang)]) for q, n in found.unanswered]},
        {"title": table["subscribers"][lang], "first": table["commune"][lang],
         "columns": [table["count"][lang]],
         "rows": [(commune_name(code, lang), [fmt.integer(n, lang)])
                  for code, n in found.subscribers]},
    ]


async def deliveries(board: Board, request: Request, who: Principal) -> Response:
    lang = board.lang(request)
    found = await board.read(lambda s: data.batches(s, who))
    rows = [{"name": b.name, "queued": fmt.day(b.queued, lang), "report": b.report}
            for b in found]
    return board.render(request, "deliveries.html", who, batches=rows,
                        statuses=DELIVERY_STATUSES)
