"""The NLU review page (admins only: NGO staff log in as admins): the questions the bot did not
answer or understood with low confidence, grouped with their counts; for each, choose the
intent, mark entities (by naming the words, an entity and its canonical value, or by typing
Rasa's markup), mark it out of scope, or dismiss it. Reviewed examples are exported as
training data by `isafbot nlu export-reviewed` (nlu/reviewed.py).

CAFs are refused: reviewing shows questions from every commune and teaches the bot for everyone.
The page runs no script (the dashboard's CSP forbids it): marking words is a form post that
comes back with the markup filled in.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import review_data
from bot.dashboard.auth import Principal
from bot.dashboard.board import Board
from common import formatting as fmt
from common.db.base import utcnow
from nlu import contract, reviewed

ACTIONS = ("save", "out_of_scope", "dismiss", "mark")


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/dashboard/review", board.page(partial(review, board)),
                  methods=["GET", "POST"]),
            Route("/dashboard/review/undo", board.page(partial(undo, board)), methods=["POST"])]


async def review(board: Board, request: Request, who: Principal) -> Response:
    if not who.is_admin:
        return board.message(request, "forbidden", 403, who)
    if request.method == "GET":
        return await _page(board, request, who)
    form: dict[str, str] = request.state.form
    question = reviewed.question_text(form.get("question", ""))
    action = form.get("action", "save")
    if not question or action not in ACTIONS:
        return await _page(board, request, who, status=400)
    try:  # on a thread: the first check loads the Khmer word segmenter
        draft, example = await asyncio.to_thread(_decide, form, question, action)
    except reviewed.AnnotationError as error:
        draft = {"intent": form.get("intent", ""), "annotated": form.get("annotated", ""),
                 "error": str(error)}
        return await _page(board, request, who, drafts={question: draft}, status=400)
    if action == "mark":
        return await _page(board, request, who, drafts={question: draft})
    await board.write(lambda s: review_data.save(s, question, example, who.actor.name))
    return RedirectResponse("/dashboard/review", status_code=303)


def _decide(form: dict[str, str], question: str, action: str
            ) -> tuple[dict[str, str], reviewed.Example | None]:
    """The item's form as it goes back to the page, and the example to store (None for a
    dismissed question, or while only marking)."""
    if action == "dismiss":
        return {}, None
    if action == "out_of_scope":
        return {}, reviewed.check(question, question, "out_of_scope")
    draft = _draft(form, question)
    if action == "mark":
        return draft, None
    return draft, reviewed.check(draft["annotated"], question, draft["intent"])


def _draft(form: dict[str, str], question: str) -> dict[str, str]:
    """The item's form as posted, with the words named in the marking fields marked."""
    annotated = form.get("annotated", "").strip() or question
    words = reviewed.question_text(form.get("words", ""))
    if words:
        entity = form.get("entity", "").strip()
        value = form.get("value", "").strip() or words
        problem = contract.value_problem(entity, value)
        if problem:
            raise reviewed.AnnotationError(problem)
        annotated = reviewed.mark(annotated, words, entity, value)
    return {"intent": form.get("intent", ""), "annotated": annotated, "error": ""}


async def undo(board: Board, request: Request, who: Principal) -> Response:
    if not who.is_admin:
        return board.message(request, "forbidden", 403, who)
    key = request.state.form.get("key", "")
    await board.write(lambda s: review_data.forget(s, key))
    return RedirectResponse("/dashboard/review", status_code=303)


async def _page(board: Board, request: Request, who: Principal, *, status: int = 200,
                drafts: dict[str, dict[str, str]] | None = None) -> Response:
    lang = board.lang(request)
    since = utcnow() - timedelta(days=board.app.settings.retention.message_log_days)

    def read(session: Any) -> tuple[list[review_data.Question], list[Any]]:
        return (review_data.pending(session, since=since),
                [(r.key, r.status, r.intent, r.annotated, r.reviewed_by, r.reviewed_at)
                 for r in review_data.latest(session)])

    questions, done = await board.read(read)
    drafts = drafts or {}
    items = [{"key": q.key, "text": q.text, "count": fmt.integer(q.count, lang),
              "guess": q.guess, **drafts.get(q.text, {})} for q in questions]
    known = {q.text for q in questions}
    items += [{"key": reviewed.key(text), "text": text, "count": fmt.integer(0, lang),
               "guess": None, **draft} for text, draft in drafts.items() if text not in known]
    values = contract.entity_values()
    return board.render(
        request, "review.html", who, status=status, items=items,
        intents=contract.intents(), entities=contract.entities(),
        values=sorted({v for e, found in values.items() if e not in contract.OPEN_ENTITIES
                       for v in found}),
        done=[{"key": k, "status": s, "intent": i, "annotated": a, "by": b,
               "at": fmt.day(at, lang)} for k, s, i, a, b, at in done])
