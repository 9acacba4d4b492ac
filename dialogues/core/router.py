"""How dialogue code plugs in: handlers are registered per intent, button payload prefix,
command, flow and message kind, on a Router that each dialogue module owns.

A `Turn` is everything one handler needs for one incoming message; handlers append replies to
it and change `turn.state`, which the engine saves in the same transaction as the message log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from common.messages import Button, Incoming, Kind, Reply, Understanding
from dialogues.core.permissions import Actor, chat_actor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from content.model import Content
    from dialogues.core.context import DialogueContext
    from dialogues.core.engine import Dialogues
    from dialogues.core.models import User

Handler = Callable[["Turn"], None]
FlowHandler = Callable[["Turn"], bool]  # returns False to let the message through
AnyHandler = TypeVar("AnyHandler", Handler, FlowHandler)
# Whether a flow reads this text itself (an answer to its step: a number, a word of its own, a
# comment, a date), given the flow's state and the context: then the NLU is not asked at all.
TakesText = Callable[[dict[str, Any], str, "DialogueContext"], bool]
# For a handler that works only in a private chat: the /start parameter that takes the user
# there from a group (a Telegram deep link), e.g. "svy_hc_120809".
PrivateLink = Callable[["Turn"], str]


@dataclass
class Turn:
    incoming: Incoming
    understanding: Understanding | None
    user: User
    state: dict[str, Any]
    session: Session
    ctx: DialogueContext
    now: datetime  # aware UTC
    dialogues: Dialogues  # to show the menu or act as if a button was pressed
    replies: list[Reply] = field(default_factory=list)
    handled_as: str | None = None
    # the message itself is personal (a report's first words): the log keeps its step only
    private_incoming: bool = False

    @property
    def lang(self) -> str:
        return str(self.user.language)

    @property
    def content(self) -> Content:
        return self.ctx.content

    @property
    def text(self) -> str:
        return self.incoming.text

    @property
    def intent(self) -> str | None:
        return self.understanding.intent if self.understanding else None

    def entity(self, name: str) -> str | None:
        return self.understanding.first(name) if self.understanding else None

    def t(self, key: str, **values: Any) -> str:
        """A message from content/messages.yml in the user's language."""
        return self.content.message(key, self.lang, **values)

    def button(self, key: str, payload: str, **values: Any) -> Button:
        return Button(self.t(key, **values), payload)

    def say(self, text: str, buttons: list[Button] | tuple[Button, ...] = (),
            image: Path | None = None) -> None:
        self.replies.append(Reply(text=text, buttons=tuple(buttons), image=image))

    def actor(self) -> Actor:
        """The user as a CAF or admin would act (dialogues.core.permissions): their granted
        communes, read now, never the commune they named as theirs."""
        return chat_actor(self.session, self.user)

    def continue_privately(self, link: str) -> None:
        """In a group: say that this goes on in a private chat, with a button that opens it
        (`/start <link>` there). Surveys and CAF tools never run where others read."""
        self.say(self.t("private_only"), [Button(self.t("private_only_button"), link,
                                                 link=True)])

    def menu(self) -> list[Button]:
        """The main menu's buttons, in the user's language."""
        return self.dialogues.menu_buttons(self)

    def press(self, payload: str) -> None:
        """Act as if the user pressed the button with this payload."""
        self.dialogues.press(self, payload)

    def flow(self) -> dict[str, Any] | None:
        flow = self.state.get("flow")
        return flow if isinstance(flow, dict) else None

    def start_flow(self, name: str, *, private: bool = False, **data: Any) -> dict[str, Any]:
        """Begin a multi-step exchange; `private` withholds the user's texts from the log."""
        self.state["flow"] = {"name": name, "private": private, **data}
        return self.state["flow"]

    def end_flow(self) -> None:
        self.state.pop("flow", None)


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main menu, contributed by a dialogue module."""

    message_key: str
    payload: str
    order: int = 50


class Router:
    """Handlers of one dialogue module."""

    def __init__(self, name: str, *, private: PrivateLink | None = None) -> None:
        """`private`: every handler of this router works in private chats only; in a group
        the user gets a button to the private chat, started with this link."""
        self.name = name
        self.private_link = private
        self.private: dict[Any, PrivateLink] = {}  # handler -> its link
        self.intents: dict[str, Handler] = {}
        self.payloads: dict[str, Handler] = {}
        self.commands: dict[str, Handler] = {}
        self.flows: dict[str, FlowHandler] = {}
        self.takes_text: dict[str, TakesText] = {}
        self.kinds: dict[Kind, Handler] = {}
        self.deep_links: dict[str, Handler] = {}  # /start <prefix>_<value>
        self.shapes: dict[str, Handler] = {}  # regex -> handler of a text wholly of that shape
        self.menu: list[MenuItem] = []
        self.messages: set[str] = set()  # message keys this module uses
        self.forms: dict[str, Any] = {}  # form id -> its hooks (dialogues/core/steps/form.py)

    def intent(self, *names: str) -> Callable[[Handler], Handler]:
        return self._register(self.intents, names)

    def payload(self, *prefixes: str) -> Callable[[Handler], Handler]:
        """Handle buttons whose payload is `prefix` or starts with `prefix:`."""
        return self._register(self.payloads, prefixes)

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        return self._register(self.commands, names)

    def deep_link(self, *prefixes: str) -> Callable[[Handler], Handler]:
        """Handle `/start <prefix>_<value>` (Telegram deep links, Messenger ref parameters)."""
        return self._register(self.deep_links, prefixes)

    def shape(self, *patterns: str) -> Callable[[Handler], Handler]:
        """Handle a text that wholly matches one of these regular expressions (an invite code
        typed without its command) when no flow reads it: it never goes to the NLU."""
        return self._register(self.shapes, patterns)

    def kind(self, *kinds: Kind) -> Callable[[Handler], Handler]:
        return self._register(self.kinds, kinds)

    def flow(self, name: str, *, takes_text: TakesText | None = None
             ) -> Callable[[FlowHandler], FlowHandler]:
        """Handle messages while the flow `name` is active. `takes_text` says, before anything
        is parsed, which texts the flow reads itself: those never go to the NLU (comments,
        typed answers; a flow's texts stay out of the NLU server and are answered when it is
        down)."""
        def register(handler: FlowHandler) -> FlowHandler:
            self.flows[name] = handler
            if takes_text is not None:
                self.takes_text[name] = takes_text
            if self.private_link is not None:
                self.private[handler] = self.private_link
            return handler
        return register

    def private_only(self, link: PrivateLink) -> Callable[[AnyHandler], AnyHandler]:
        """Mark one handler (or flow) as working in private chats only (see
        `Router(private=...)`)."""
        def mark(handler: AnyHandler) -> AnyHandler:
            self.private[handler] = link
            return handler
        return mark

    def form(self, form_id: str, hooks: Any) -> None:
        """The hooks of a form of content/forms/ that this module owns (storage, preview,
        what to do once confirmed): the one form walker looks them up by the form's id."""
        if form_id in self.forms:
            raise ValueError(f"form {form_id!r} is already registered")
        self.forms[form_id] = hooks

    def menu_item(self, message_key: str, payload: str, order: int = 50) -> None:
        self.menu.append(MenuItem(message_key, payload, order))
        self.uses(message_key)

    def uses(self, *message_keys: str) -> None:
        self.messages.update(message_keys)

    def _register(self, table: dict[Any, Handler], keys: tuple[Any, ...]
                  ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for key in keys:
                if key in table:
                    raise ValueError(f"{key!r} is already handled by {table[key].__name__}")
                table[key] = handler
            if self.private_link is not None:
                self.private[handler] = self.private_link
            return handler
        return register
