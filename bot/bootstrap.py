"""The one place that builds the application from its settings and the feature records
(bot.features), with no module-level singletons.

Every entry point (console, web server, scheduler, CLI tools, tests) calls `bootstrap()` and
passes the resulting `App` on; the web runtime (bot.server.build_runtime) and the CLI
(bot.cli.main.build_parser) read the same records from `App.features`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from bot.db import Database
from bot.features import FEATURES, Features
from bot.settings import Settings
from common.clock import Clock, SystemClock
from common.files import fetcher_for, prefetch
from common.messages import Incoming, Kind, Reply, Understanding
from common.redact import Redactor
from content.model import Content
from dialogues.core.context import DialogueContext
from dialogues.core.engine import Dialogues
from dialogues.core.outbox import enqueue, readdress, release_held
from dialogues.talk.about import AboutSettings
from nlu.engine import LocalNlu, Nlu, load_local

log = logging.getLogger(__name__)


class BackgroundNlu:
    """Loads the NLU model in a thread so start-up (and the console prompt) does not wait for
    Rasa's import; the first parse waits for the load to finish."""

    def __init__(self, loader: Any) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-load")
        self._future: Future[Nlu] = self._executor.submit(loader)
        self._executor.shutdown(wait=False)

    def ready(self) -> Nlu:
        return self._future.result()

    async def parse(self, text: str) -> Understanding:
        if not self._future.done():
            await asyncio.wrap_future(self._future)
        return await self._future.result().parse(text)


@dataclass
class App:
    settings: Settings
    db: Database
    content: Content
    dialogues: Dialogues
    nlu: Nlu
    clock: Clock = field(default_factory=SystemClock)
    features: Features = FEATURES  # what the runtime (channels, pages, jobs) is built from
    redactor: Redactor = field(default_factory=Redactor)  # for errors stored, logged, printed

    async def understand(self, incoming: Incoming) -> Understanding | None:
        """What the NLU makes of a text, or None when the message needs no NLU: not a text,
        or a text the user's flow reads itself (survey answers and comments, form steps are
        never sent to the NLU, and are answered while it is down). Raises NluUnavailable
        when the NLU server cannot be reached."""
        if incoming.kind != Kind.TEXT:
            return None
        if not await asyncio.to_thread(self.wants_understanding, incoming):
            return None
        return await self.nlu.parse(incoming.text)

    def with_file_fetched(self, message: Incoming) -> Incoming:
        """A photo or voice note sent while a flow is open (a report, a JAAP status) is
        downloaded here, before the turn's transaction: a slow platform then never holds the
        database (on SQLite, its write lock). Outside a flow nothing is downloaded."""
        fetcher = fetcher_for(self.dialogues.ctx.extras, message.channel)
        if fetcher is None or message.file is None:
            return message
        with self.db.read_session() as session:
            if self.dialogues.open_flow(session, message) is None:
                return message
        return replace(message, file=prefetch(fetcher, message.file))

    def wants_understanding(self, incoming: Incoming) -> bool:
        with self.db.read_session() as session:
            return self.dialogues.wants_understanding(session, incoming)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message directly (the console's path): understand, then run the
        dialogue and save everything in one transaction."""
        incoming = incoming.sanitized()
        if incoming.kind == Kind.MOVED:
            await asyncio.to_thread(self._in_session, _readdressing(incoming))
            return []
        understanding = await self.understand(incoming)
        return await asyncio.to_thread(self.handle_understood, incoming, understanding)

    def _in_session(self, work: Callable[[Session], None]) -> None:
        with self.db.session() as session:
            work(session)

    def handle_understood(self, incoming: Incoming,
                          understanding: Understanding | None) -> list[Reply]:
        with self.db.session() as session:
            return self.dialogues.handle(session, incoming, understanding,
                                         self.clock.now()).replies

    async def prepare(self, incoming: Incoming | None, *, nlu_unavailable: bool = False,
                      understood: Callable[[], Awaitable[None]] | None = None
                      ) -> Callable[[Session], None] | None:
        """The queued path (webhooks, polling): understand now, and return the effects to run
        in the transaction that marks the stored update done: dialogue, state, log, and the
        replies written to the outbox (with anything held for this user released).

        Raises NluUnavailable when the message needs the NLU server and it cannot be reached
        (the inbox waits); `nlu_unavailable`: it could not be reached for too long, so the
        person is told politely that the bot cannot understand right now. `understood` is
        awaited when the NLU did answer (what waited for it may go now)."""
        if incoming is None:  # nothing to answer (group chatter, delivery receipts)
            return None
        message = incoming.sanitized()
        if message.kind == Kind.MOVED:
            return _readdressing(message)
        understanding = None if nlu_unavailable else await self.understand(message)
        if understanding is not None and understood is not None:
            await understood()
        if message.file is not None:
            message = await asyncio.to_thread(self.with_file_fetched, message)

        def effects(session: Session) -> None:
            outcome = self.dialogues.handle(session, message, understanding, self.clock.now(),
                                            nlu_unavailable=nlu_unavailable)
            release_held(session, outcome.user_id)
            enqueue(session, user_id=outcome.user_id, channel=message.channel,
                    address=message.address, replies=outcome.replies)

        return effects

    def close(self) -> None:
        self.db.dispose()


def _readdressing(moved: Incoming) -> Callable[[Session], None]:
    """A chat moved (a Telegram group upgraded to a supergroup): what is still queued for its
    old address goes to the new one. No dialogue runs and no reply is sent."""
    def effects(session: Session) -> None:
        if moved.moved_from and moved.chat_id:
            count = readdress(session, moved.channel, moved.moved_from, moved.chat_id)
            log.info("%s chat %s moved to %s: %d queued messages follow", moved.channel,
                     moved.moved_from, moved.chat_id, count)

    return effects


def make_nlu(settings: Settings, *, background: bool = True) -> Nlu:
    """In-process model, or a Rasa server when ISAFBOT_NLU_URL is set."""
    if settings.nlu_url:
        from nlu.remote import RemoteNlu

        return RemoteNlu(settings.nlu_url)

    def load() -> Nlu:
        if settings.nlu_model:
            return LocalNlu.load(settings.nlu_model)
        return load_local(settings.model_dir)

    return BackgroundNlu(load) if background else load()


def about_from(settings: Settings) -> AboutSettings:
    """What the deployment says about itself: who runs it (ISAFBOT_OPERATOR_KM/EN, else the
    content's phrase) and the retention periods the privacy answer tells."""
    env, retention = settings.env, settings.retention
    return AboutSettings(operator_km=env.get("ISAFBOT_OPERATOR_KM") or None,
                         operator_en=env.get("ISAFBOT_OPERATOR_EN") or None,
                         message_log_days=retention.message_log_days,
                         conversation_days=retention.conversation_days,
                         inactive_users_days=retention.inactive_users_days)


def bootstrap(settings: Settings, *, nlu: Nlu | None = None, clock: Clock | None = None,
              migrate: bool = True, features: Features = FEATURES) -> App:
    """Validate content (refuse to start on broken content), open and migrate the database,
    and wire the dialogues, all from the feature records. The NLU starts loading in the
    background unless one is given."""
    content = features.load_content(settings.content_dir)
    db = Database.from_settings(settings)
    if migrate:
        db.migrate()
    ctx = DialogueContext(content=content, fallback_threshold=settings.fallback_threshold,
                          data_dir=settings.data_dir, secret_key=settings.secret_key,
                          timezone=settings.timezone,
                          stale_after_years=settings.stale_after_years,
                          extras={"poster": {  # the links printed on posters (CAFs' /rounds)
                              "telegram": settings.telegram_username,
                              "messenger": settings.messenger_page,
                              "forget_after_days": settings.retention.inactive_users_days},
                              "about": about_from(settings)})
    dialogues = Dialogues(ctx, features.routers)
    return App(settings=settings, db=db, content=content, dialogues=dialogues,
               nlu=nlu if nlu is not None else make_nlu(settings), clock=clock or SystemClock(),
               redactor=Redactor.from_env(settings.env), features=features)


__all__ = ["App", "BackgroundNlu", "LocalNlu", "bootstrap", "make_nlu"]
