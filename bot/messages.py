"""The core message types: what every channel turns its platform's updates into, and back.

Channel adapters only translate between these and their platform (like Rasa's
UserMessage/OutputChannel); dialogues see nothing else of a platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

# Telegram allows 64 bytes of callback data; Messenger payloads are longer, so Telegram decides.
MAX_PAYLOAD_BYTES = 64
_PAYLOAD = re.compile(r"^[a-z0-9_]+(:[A-Za-z0-9_.\-]+)*$")


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


@dataclass(frozen=True)
class Button:
    """A choice: the label is for people, the payload is short, ASCII and language-neutral."""

    title: str
    payload: str

    def __post_init__(self) -> None:
        if not is_valid_payload(self.payload):
            raise ValueError(f"button payload {self.payload!r} is not a short ASCII id")


@dataclass(frozen=True)
class Reply:
    """One message to send: text, optional buttons under it, optional image (a PNG file)."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: Path | None = None
    automated: bool = False  # a reminder or broadcast, not an answer (Messenger's 24-hour rule)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "image": str(self.image) if self.image else None,
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
    return bool(_PAYLOAD.match(payload)) and len(payload.encode()) <= MAX_PAYLOAD_BYTES
