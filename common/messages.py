"""The core message types: what every channel turns its platform's updates into, and back.

Channel adapters only translate between these and their platform (like Rasa's
UserMessage/OutputChannel); dialogues see nothing else of a platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from common.files import FileRef

# Telegram allows 64 bytes of callback data; Messenger payloads are longer, so Telegram decides.
MAX_PAYLOAD_BYTES = 64
_PAYLOAD = re.compile(r"[a-z0-9_]+(:[A-Za-z0-9_.\-]+)*")
_DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Telegram's rule for a /start parameter
# What no database column takes (PostgreSQL refuses NUL; no encoder takes a lone surrogate,
# which JSON's \ud800 escapes can deliver): replaced before anything stores or parses a text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
THREAD_SEPARATOR = "/"  # an address "<chat>/<thread>": a forum topic of a group


class Kind(str, Enum):
    """What the user sent. Only TEXT and BUTTON carry something the dialogues can answer."""

    TEXT = "text"
    BUTTON = "button"  # a button press or quick reply: `payload` is set
    COMMAND = "command"  # /start, /help, /language, /caf: `command` and `argument` are set
    VOICE = "voice"
    AUDIO = "audio"
    STICKER = "sticker"
    IMAGE = "image"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    CONTACT = "contact"
    UNSUPPORTED = "unsupported"
    MOVED = "moved"  # the chat now has another address (`moved_from` -> `chat_id`): no reply


@dataclass(frozen=True)
class Incoming:
    """One thing a user did, from any channel."""

    channel: str  # "console", "telegram", "messenger"
    user_id: str  # the platform's user id, as text
    kind: Kind = Kind.TEXT
    text: str = ""
    payload: str | None = None
    command: str | None = None
    argument: str | None = None
    message_id: str | None = None  # the platform's id, for deduplication and logs
    chat_id: str | None = None  # where replies go when it is not the user's private chat
    language_hint: str | None = None  # the client's interface language, if the platform says
    thread_id: str | None = None  # the forum topic of the group chat the message came from
    moved_from: str | None = None  # Kind.MOVED: the chat's old address
    file: FileRef | None = None  # a photo or voice note, not yet downloaded (common/files.py)

    @property
    def in_group(self) -> bool:
        """Written in a group chat (others read the replies), not the user's private chat."""
        return self.chat_id is not None

    @property
    def address(self) -> str:
        """Where the replies go: the group chat (and its forum topic), else the user."""
        if self.chat_id is None:
            return self.user_id
        return f"{self.chat_id}{THREAD_SEPARATOR}{self.thread_id}" if self.thread_id \
            else self.chat_id

    def sanitized(self) -> Incoming:
        """The same message with what cannot be stored replaced (U+FFFD for NUL and lone
        surrogates) and a payload that is not a button's (forged, or from an old version)
        turned into the menu's. The core does this once, before the NLU or a database sees
        anything; channels need not."""
        payload = self.payload
        if payload is not None and not is_valid_payload(payload):
            payload = "menu"
        return replace(self, text=_storable(self.text), payload=payload,
                       command=None if self.command is None else _storable(self.command),
                       argument=None if self.argument is None else _storable(self.argument))


@dataclass(frozen=True)
class Button:
    """A choice: the label is for people, the payload is short, ASCII and language-neutral.

    A `link` button opens the user's private chat with the bot instead, started with
    `/start <payload>` (a Telegram deep link: in a group, what must stay private continues
    there); its payload is a deep-link parameter."""

    title: str
    payload: str
    link: bool = False

    def __post_init__(self) -> None:
        if self.link:
            if not _DEEP_LINK.fullmatch(self.payload):
                raise ValueError(f"deep link {self.payload!r} is not 1-64 of A-Z a-z 0-9 _ -")
        elif not is_valid_payload(self.payload):
            raise ValueError(f"button payload {self.payload!r} is not a short ASCII id")


@dataclass(frozen=True)
class Reply:
    """One message to send: text, optional buttons under it, optional image (a PNG file)."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: Path | None = None
    automated: bool = False  # a reminder or broadcast, not an answer (Messenger's 24-hour rule)
    human: bool = False  # a person's reply (a handover): Messenger's HUMAN_AGENT tag applies


    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload, **({"link": True} if b.link
                                                                     else {})}
                        for b in self.buttons],
            "image": str(self.image) if self.image else None,
            **({"human": True} if self.human else {}),
        }


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Understanding:
    """What the NLU made of a text: the shape of Rasa's parse output, typed."""

    text: str
    intent: str | None
    confidence: float
    entities: tuple[Entity, ...] = field(default_factory=tuple)

    def first(self, entity: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == entity), None)

    def all(self, entity: str) -> list[str]:
        return [e.value for e in self.entities if e.entity == entity]

    @classmethod
    def from_rasa(cls, parsed: dict[str, Any]) -> Understanding:
        intent = parsed.get("intent") or {}
        return cls(
            text=parsed.get("text", ""),
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            entities=tuple(
                Entity(e["entity"], str(e["value"]), int(e.get("start", 0)), int(e.get("end", 0)))
                for e in parsed.get("entities", [])
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": round(self.confidence, 4)},
            "entities": [
                {"entity": e.entity, "value": e.value, "start": e.start, "end": e.end}
                for e in self.entities
            ],
        }


def is_valid_payload(payload: str) -> bool:
    return bool(_PAYLOAD.fullmatch(payload)) and len(payload.encode()) <= MAX_PAYLOAD_BYTES


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)
