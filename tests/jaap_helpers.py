"""Helpers for the JAAP tests: CAFs and citizens in the chat, a whole survey by buttons, the
periodic job and what the outbox holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from bot.scheduling import job_context
from common.clock import Clock
from dialogues.core.models import CafCommune, User
from dialogues.core.outbox import OutboxMessage
from scheduler import jaap as jaap_job
from tests.conftest import Chat
from tests.scorecard_helpers import level_payload

KK = "120809"  # Kouk Khleang: hc_120809, ps_120809, co_120809
OTHER = "200401"  # a commune with its own health centre hc_200401


def make_caf(app: App, user: str, commune: str = KK) -> Chat:
    """A chat user who is a CAF of `commune` (roles come from invites; here, directly)."""
    chat = Chat(app, user=user)
    chat.send("/start")
    with app.db.session() as session:
        row = session.execute(select(User).where(User.channel_user_id == user)).scalar_one()
        row.role = "caf"
        row.language, row.language_chosen = "en", True
        session.add(CafCommune(user_id=row.id, commune_code=commune))
    return chat


def citizen(app: App, user: str, language: str = "en", channel: str = "console") -> Chat:
    chat = Chat(app, user=user, channel=channel)
    chat.send("/start")
    with app.db.session() as session:
        row = session.execute(select(User).where(User.channel_user_id == user)).scalar_one()
        row.language, row.language_chosen, row.commune_code = language, True, KK
    return chat


def rate_all(chat: Chat, facility: str, score: int, *, notify: bool = True) -> list[str]:
    """Walk the whole survey of `facility` by buttons, every question `score`; returns the
    question texts seen."""
    chat.send(f"/start svy_{facility}")
    chat.press("svy:yes:consent")
    seen = []
    while any(p.startswith("svy:a:") for p in chat.payloads) and "Question" in chat.text:
        seen.append(chat.text)
        chat.press(level_payload(chat, score))
    chat.press("svy:skip:comment")
    chat.press("svy:skip:profile")
    chat.press("svy:yes:notify" if notify else "svy:no:notify")
    return seen


def run_announce(app: App, clock: Clock | None = None) -> int:
    return jaap_job.announce(job_context(app, clock=clock) if clock else job_context(app))


def user_id(app: App, name: str) -> int:
    with app.db.session() as session:
        return int(session.execute(select(User.id).where(User.channel_user_id == name))
                   .scalar_one())


def queued(app: App, prefix: str) -> list[dict[str, Any]]:
    """Outbox rows of batches starting with `prefix`: user id, text, buttons."""
    with app.db.session() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        return [{"user": r.user_id, "text": r.reply["text"], "status": r.status,
                 "buttons": [b["payload"] for b in r.reply["buttons"]]}
                for r in rows if (r.batch or "").startswith(prefix) and r.reply]
