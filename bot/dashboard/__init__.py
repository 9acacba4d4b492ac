"""The web dashboard for CAFs and NGO staff, and the public results pages.

`routes(runtime)` is listed in `bot.server.ROUTE_MODULES`; `app` gathers the pages, one module
each: `login` (login, logout, language), `results` (rounds, results, charts, CSV, publishing),
`usage` (usage and deliveries), `meetings` (meetings and broadcasts), `review` (the NLU's
review of unanswered questions, with `review_data` and `review_models`), `reports` (citizen
reports: list, page, media, status, moderation), `report_pages` (their figures, CSV, charts,
sending them to a meeting), `jaap` (the scorecard cycle), `printing` (posters, workbooks, the
JAAP to print), `handovers` (conversations handed to a person), `public` (the public results
pages); `board` is what they share, `views` the results as shown, `report_views` and
`report_figures` the reports as shown, `data` the scoped queries, `auth` accounts and sessions,
`cli` the commands (cheap to import).
"""

from __future__ import annotations

from typing import Any


def routes(runtime: Any) -> list[Any]:
    from bot.dashboard.app import routes as dashboard_routes

    return dashboard_routes(runtime)
