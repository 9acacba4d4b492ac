"""The conversation engine: one incoming message in, replies out, state and log saved.

It knows no chat platform. The caller gives it a database session (one per update), the
message and what the NLU made of it; everything it changes is committed with that session, so a
crash either loses the whole turn (and the platform redelivers it) or nothing.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.khmer import MAX_PARSE_CHARS
from common.messages import Button, Incoming, Kind, Reply, Understanding
from dialogues.core import language
from dialogues.core.context import DialogueContext
from dialogues.core.models import Conversation, MessageLog, User
from dialogues.core.router import FlowHandler, Handler, MenuItem, Router, TakesText, Turn
from dialogues.core.understanding import ASK_BACK, read_in_context

log = logging.getLogger(__name__)

# Entities that confirm an intent the classifier is not quite sure of.
_EVIDENCE = {
    "ask_service": ("service",),
    "ask_budget": ("budget_scope", "place", "year"),
    "rate_service": ("facility_type",),
}
# Kinds that carry something for the NLU; the others (voice, stickers...) have their handlers.
TEXT_KINDS = (Kind.TEXT,)
MAX_LOGGED_CHARS = 4000


@dataclass(frozen=True)
class Outcome:
    """What a turn produced: the replies, and whom they are for."""

    user_id: int
    replies: list[Reply]
    language: str


class Dialogues:
    """All routers merged into one dispatch table."""

    def __init__(self, ctx: DialogueContext, routers: list[Router]) -> None:
        self.ctx = ctx
        self.intents: dict[str, Handler] = {}
        self.payloads: dict[str, Handler] = {}
        self.commands: dict[str, Handler] = {}
        self.flows: dict[str, FlowHandler] = {}
        self.takes_text: dict[str, TakesText] = {}
        self.kinds: dict[Kind, Handler] = {}
        self.deep_links: dict[str, Handler] = {}
        self.shapes: dict[str, Handler] = {}  # router.shape: texts read before the NLU
        self.forms: dict[str, Any] = {}  # form id -> hooks (dialogues/core/steps/form.py)
        self.private: dict[Any, Any] = {}  # handler -> PrivateLink: never run in a group
        self.menu: list[MenuItem] = []
        for router in routers:
            self.private.update(router.private)
            tables: list[tuple[dict[Any, Any], dict[Any, Any]]] = [
                (self.intents, router.intents), (self.payloads, router.payloads),
                (self.commands, router.commands), (self.flows, router.flows),
                (self.takes_text, router.takes_text),
                (self.kinds, router.kinds), (self.deep_links, router.deep_links),
                (self.forms, router.forms), (self.shapes, router.shapes)]
            for mine, theirs in tables:
                clash = set(mine) & set(theirs)
                if clash:
                    raise ValueError(f"router {router.name} handles {clash} again")
                mine.update(theirs)
            self.menu.extend(router.menu)
        self.menu.sort(key=lambda item: item.order)

    # ---------------------------------------------------------------- entry point

    def open_flow(self, session: Session, incoming: Incoming) -> str | None:
        """The name of the flow the sender has open, if any. Read-only."""
        state = session.execute(select(Conversation.state).join(
            User, User.id == Conversation.user_id).where(
            User.channel == incoming.channel,
            User.channel_user_id == incoming.user_id)).scalar_one_or_none()
        flow = state.get("flow") if isinstance(state, dict) else None
        return str(flow.get("name")) if isinstance(flow, dict) else None

    def wants_understanding(self, session: Session, incoming: Incoming) -> bool:
        """Whether this message needs the NLU, decided before parsing: only texts, and not
        the texts the user's active flow reads itself (survey answers and comments, form
        steps). Read-only."""
        if incoming.kind not in TEXT_KINDS or len(incoming.text) > MAX_PARSE_CHARS:
            return False
        shaped = self._shape(incoming) is not None
        user = session.execute(select(User.id).where(
            User.channel == incoming.channel,
            User.channel_user_id == incoming.user_id)).scalar_one_or_none()
        if user is None:
            return not shaped
        state = session.execute(select(Conversation.state).where(
            Conversation.user_id == user)).scalar_one_or_none()
        flow = (state or {}).get("flow") if isinstance(state, dict) else None
        if not isinstance(flow, dict):
            return not shaped
        name = str(flow.get("name"))
        if incoming.in_group and self.flows.get(name) in self.private:
            return not shaped  # a private flow waits in the private chat (see `dispatch`)
        takes_text = self.takes_text.get(name)
        if takes_text is not None and takes_text(flow, incoming.text.strip(), self.ctx):
            return False
        return not shaped

    def _shape(self, incoming: Incoming) -> Handler | None:
        """The handler of a text wholly of a registered shape (Router.shape)."""
        if incoming.kind not in TEXT_KINDS:
            return None
        text = incoming.text.strip()
        return next((handler for pattern, handler in self.shapes.items()
                     if re.fullmatch(pattern, text)), None)

    def handle(self, session: Session, incoming: Incoming, understanding: Understanding | None,
               now: datetime | None = None, *, nlu_unavailable: bool = False) -> Outcome:
        """One turn. `nlu_unavailable`: the message needed the NLU and it could not be asked
        for longer than the bot waits: the user is told so politely (and offered the menu,
        whose buttons need no NLU), and nothing else happens."""
        now = now or datetime.now(timezone.utc)
        user = find_or_create_user(session, incoming.channel, incoming.user_id,
                                   language=language.first_language(incoming))
        conversation = session.get(Conversation, user.id)
        if conversation is None:
            conversation = Conversation(user_id=user.id, state={}, version=0)
            session.add(conversation)
        state: dict[str, Any] = copy.deepcopy(conversation.state or {})
        was_private = bool((state.get("flow") or {}).get("private"))
        step_before = _flow_step(state)

        if not isinstance(state.get("flow"), dict):
            # Inside a flow the user answers a question: a commune typed in Latin letters or
            # a short comment says nothing about the language they want to read.
            language.follow(session, user, state, incoming)
        user.last_inbound_at = now.replace(tzinfo=None)
        user.unreachable = False  # they wrote to us: they can be reached again

        turn = Turn(incoming=incoming, understanding=understanding, user=user, state=state,
                    session=session, ctx=self.ctx, now=now, dialogues=self)
        if nlu_unavailable:
            turn.handled_as = "nlu_unavailable"
            turn.say(turn.t("nlu_unavailable"), turn.menu())
        else:
            self.dispatch(turn)

        self._log(session, turn, incoming, was_private, step_before)
        conversation.state = state
        conversation.version = (conversation.version or 0) + 1
        return Outcome(user.id, turn.replies, turn.lang)

    # ---------------------------------------------------------------- dispatch

    def dispatch(self, turn: Turn) -> None:
        """Kind, command, button, active flow, intent, fallback: the first that applies."""
        incoming = turn.incoming
        if incoming.kind == Kind.COMMAND and incoming.command in self.commands:
            turn.handled_as = f"command:{incoming.command}"
            self.run(turn, self.commands[incoming.command])
            return
        if incoming.kind == Kind.BUTTON and incoming.payload:
            self.press(turn, incoming.payload)
            return
        flow_name = str((turn.flow() or {}).get("name"))
        flow_handler = self.flows.get(flow_name)
        if flow_handler is not None and not (incoming.in_group and flow_handler in self.private):
            # (a private flow, a survey begun in the private chat, waits there: in a group
            # the message is answered as if no flow were going on)
            turn.handled_as = f"flow:{flow_name}"
            if flow_handler(turn):
                return
        shaped = self._shape(incoming)
        if shaped is not None:
            turn.handled_as = "shape"
            self.run(turn, shaped)
            return
        if incoming.kind not in TEXT_KINDS:
            turn.handled_as = f"kind:{incoming.kind.value}"
            self.kinds.get(incoming.kind, self.kinds[Kind.UNSUPPORTED])(turn)
            return
        if len(incoming.text) > MAX_PARSE_CHARS:  # not a question: ask for a short one
            turn.handled_as = "fallback"
            self.intents["nlu_fallback"](turn)
            return
        reading = read_in_context(turn)
        turn.understanding = reading.understanding
        if reading.topic is not None:
            turn.handled_as = f"context:{reading.rule}"
            turn.state[ASK_BACK] = reading.topic
            self.run(turn, self.intents[ASK_BACK])
            return
        intent = turn.intent
        if intent and intent in self.intents and self._sure_enough(turn):
            turn.handled_as = intent
            self.run(turn, self.intents[intent])
            return
        turn.handled_as = "fallback"
        self.intents["nlu_fallback"](turn)

    def _sure_enough(self, turn: Turn) -> bool:
        """Confident enough to act: above the threshold, or a little below it when the entity
        the intent is about was recognised ("how much is a family book": the service name is
        unmistakable even if the wording looks like small talk)."""
        understanding = turn.understanding
        if understanding is None or understanding.intent is None:
            return False
        if understanding.confidence >= self.ctx.fallback_threshold:
            return True
        evidence = _EVIDENCE.get(understanding.intent, ())
        return understanding.confidence >= self.ctx.fallback_threshold - 0.15 and any(
            understanding.first(entity) for entity in evidence)

    def press(self, turn: Turn, payload: str) -> None:
        """Run the handler of a button payload, as if the user pressed it: the handler reads
        this payload from `turn.incoming` (the message itself is logged as it came)."""
        if turn.incoming.payload != payload:
            turn.incoming = replace(turn.incoming, payload=payload)
        prefix = payload.split(":", 1)[0]
        handler = self.payloads.get(payload) or self.payloads.get(prefix)
        turn.handled_as = f"button:{prefix}"
        if handler is None:  # a button from an old version of the bot, or forged
            turn.handled_as = "button:unknown"
            handler = self.payloads["menu"]
        self.run(turn, handler)

    def run(self, turn: Turn, handler: Handler) -> None:
        """Run a handler, unless it works in private chats only and this is a group: then
        the user is offered the private chat (Router(private=...))."""
        link = self.private.get(handler)
        if link is not None and turn.incoming.in_group:
            turn.handled_as = f"private:{turn.handled_as or ''}"[:40]
            turn.continue_privately(link(turn))
            return
        handler(turn)

    def handles(self, payload: str) -> bool:
        """Whether some router handles this button (a feature may not be installed yet)."""
        return payload in self.payloads or payload.split(":", 1)[0] in self.payloads

    def menu_buttons(self, turn: Turn) -> list[Button]:
        return [turn.button(item.message_key, item.payload) for item in self.menu]

    # ---------------------------------------------------------------- helpers

    def _log(self, session: Session, turn: Turn, incoming: Incoming, was_private: bool,
             step_before: str | None) -> None:
        """`incoming` is what the user sent (a handler may have pressed other payloads)."""
        understanding = turn.understanding
        withheld = was_private or turn.private_incoming
        text = incoming.text if incoming.kind == Kind.TEXT else (incoming.payload or
                                                                   incoming.command or None)
        if incoming.kind == Kind.COMMAND and incoming.argument:
            text = f"/{incoming.command}"  # a deep-link argument may be an invite code
        session.add(MessageLog(
            user_id=turn.user.id, channel=incoming.channel, direction="in",
            kind=incoming.kind.value,
            text=None if withheld else (text[:MAX_LOGGED_CHARS] if text else None),
            step=(step_before or _flow_step(turn.state)) if withheld else None,
            intent=None if withheld or understanding is None else understanding.intent,
            confidence=None if withheld or understanding is None else understanding.confidence,
            entities=None if withheld or understanding is None else
            [{"entity": e.entity, "value": e.value} for e in understanding.entities],
            language=turn.lang, handled_as=turn.handled_as,
        ))
        private_now = was_private or bool((turn.state.get("flow") or {}).get("private"))
        for reply in turn.replies:
            session.add(MessageLog(
                user_id=turn.user.id, channel=incoming.channel, direction="out", kind="text",
                text=None if private_now else reply.text[:MAX_LOGGED_CHARS],
                step=_flow_step(turn.state) if private_now else None,
                language=turn.lang, handled_as=turn.handled_as,
            ))


def _flow_step(state: dict[str, Any]) -> str | None:
    flow = state.get("flow")
    if not isinstance(flow, dict):
        return None
    step = flow.get("step")
    return f"{flow.get('name')}:{step}" if step is not None else str(flow.get("name"))


def find_or_create_user(session: Session, channel: str, channel_user_id: str,
                        *, language: str = "km") -> User:
    user = session.execute(
        select(User).where(User.channel == channel, User.channel_user_id == channel_user_id)
    ).scalar_one_or_none()
    if user is None:
        user = User(channel=channel, channel_user_id=channel_user_id, language=language,
                    language_chosen=False, role="citizen", unreachable=False)
        session.add(user)
        session.flush()
    return user
