"""Telegram updates in: what the inbox stores of an update (`stored`, `reduced`: only the fields
the handler reads, no names) and how a stored update becomes an `Incoming` (`to_incoming`):
private chats, groups (commands, replies to the bot, mentions), forum topics, button presses,
the bot added to a group, and a group's migration to a supergroup."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram.settings import CHANNEL
from common.files import PHOTO, VOICE, FileRef
from common.messages import Incoming, Kind, is_valid_payload

log = logging.getLogger(__name__)

MAX_DEEP_LINK = 64  # Telegram's limit for the /start parameter
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?$")


def stored(update: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(external_id, chat_key, what to store) for the inbox, or None when this is not an
    update. What is stored is the update reduced to what `to_incoming` reads (`reduced`)."""
    if not isinstance(update, dict):
        return None
    update_id = _int(update.get("update_id"))
    if update_id is None:
        return None
    chat = _chat_of(update)
    return str(update_id), f"{CHANNEL}:{chat if chat is not None else '-'}", reduced(update)


# Kept of a user or chat: what tells groups from private chats and the bot from people, and the
# language hint. Names, usernames, titles and photos are never stored.
_PERSON = ("id", "is_bot", "language_code")
_CHAT = ("id", "type", "is_forum")
# Kept of a message besides its content: what addresses replies in groups (forum topics, a group
# migrated to a supergroup) and what tells whether the bot was addressed.
_MESSAGE = ("message_id", "date", "text", "caption", "message_thread_id", "is_topic_message",
            "migrate_to_chat_id", "migrate_from_chat_id")


def reduced(update: dict[str, Any]) -> dict[str, Any]:
    """The update as stored in the inbox: only the fields the handler reads. A button press
    loses the message it was under (its text and its keyboard would show which label the
    person chose) and every name; contacts, locations and most media become their kind only; a
    photo, a voice note, an audio file or an image document keeps its file reference (file_id,
    size, duration, MIME type: never a name or caption) for a report to fetch later."""
    out: dict[str, Any] = {"update_id": update["update_id"]}
    if isinstance(update.get("message"), dict):
        out["message"] = _reduced_message(update["message"])
    if isinstance(update.get("edited_message"), dict):  # ignored (module docstring)
        edited = update["edited_message"]
        out["edited_message"] = {"message_id": edited.get("message_id"),
                                 "chat": _only(edited.get("chat"), _CHAT)}
    if isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        under = _dict(query.get("message"))
        out["callback_query"] = {
            **_only(query, ("id", "data")), "from": _only(query.get("from"), _PERSON),
            "message": {**_only(under, ("message_id", "message_thread_id",
                                        "is_topic_message")),
                        "chat": _only(under.get("chat"), _CHAT)}}
    if isinstance(update.get("my_chat_member"), dict):
        change = update["my_chat_member"]
        out["my_chat_member"] = {
            "chat": _only(change.get("chat"), _CHAT), "from": _only(change.get("from"), _PERSON),
            **{side: _only(change.get(side), ("status",))
               for side in ("old_chat_member", "new_chat_member")}}
    return out


def _reduced_message(message: dict[str, Any]) -> dict[str, Any]:
    out = _only(message, _MESSAGE)
    out["chat"] = _only(message.get("chat"), _CHAT)
    out["from"] = _only(message.get("from"), _PERSON)
    for key in ("entities", "caption_entities"):
        if isinstance(message.get(key), list):
            out[key] = [{**_only(entity, ("type", "offset", "length")),
                         **({"user": _only(entity["user"], ("id",))}
                            if isinstance(_dict(entity).get("user"), dict) else {})}
                        for entity in message[key] if isinstance(entity, dict)]
    replied = _dict(message.get("reply_to_message"))
    if replied:
        out["reply_to_message"] = {"message_id": replied.get("message_id"),
                                   "from": _only(replied.get("from"), ("id", "is_bot"))}
    for key, _ in _CONTENT_KINDS:  # what was sent, not the file, contact card or place
        if key in message:
            out[key] = {}
    out.update(_file_fields(message))  # a photo's or voice note's reference, to fetch later
    for key in _OTHER_CONTENT:
        if key in message:
            out[key] = {}
    return out


# Of a file: the reference getFile takes and what is checked before downloading.
_FILE = ("file_id", "file_unique_id", "file_size", "duration", "mime_type")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")  # a photo sent "as a file"


def _file_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The file reference of a photo (its largest size), a voice note, an audio file or an
    image sent as a document: never a name, a caption or a thumbnail."""
    photo = message.get("photo")
    if isinstance(photo, list):
        sizes = [p for p in photo if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            largest = max(sizes, key=lambda p: (_int(p.get("width")) or 0)
                          * (_int(p.get("height")) or 0))
            return {"photo": [_only(largest, _FILE)]}
    for key in ("voice", "audio"):
        if isinstance(message.get(key), dict) and isinstance(message[key].get("file_id"), str):
            return {key: _only(message[key], _FILE)}
    document = _dict(message.get("document"))
    if document.get("mime_type") in IMAGE_TYPES and isinstance(document.get("file_id"), str):
        return {"document": _only(document, _FILE)}
    return {}


def file_ref(message: dict[str, Any]) -> FileRef | None:
    """A stored message's photo or voice note as a `FileRef` (None: no file to keep)."""
    photo = message.get("photo")
    found, kind = None, PHOTO
    if isinstance(photo, list) and photo:
        found = _dict(photo[-1])
    elif _dict(message.get("voice")) or _dict(message.get("audio")):
        found, kind = _dict(message.get("voice")) or _dict(message.get("audio")), VOICE
    elif _dict(message.get("document")).get("mime_type") in IMAGE_TYPES:
        found = _dict(message.get("document"))
    if not found or not isinstance(found.get("file_id"), str):
        return None
    duration = _int(found.get("duration"))
    return FileRef(kind=kind, ref=found["file_id"], size=_int(found.get("file_size")),
                   seconds=float(duration) if duration is not None else None,
                   mime=_str(found.get("mime_type")) or None,
                   unique=_str(found.get("file_unique_id")) or None)


def _only(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    found = _dict(value)
    return {key: found[key] for key in keys if key in found}


def _chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its order key), when it has one."""
    for key in ("message", "edited_message", "my_chat_member"):
        chat = _dict(_dict(update.get(key)).get("chat"))
        if _int(chat.get("id")) is not None:
            return _int(chat.get("id"))
    query = _dict(update.get("callback_query"))
    chat_id = _int(_dict(_dict(query.get("message")).get("chat")).get("id"))
    return chat_id if chat_id is not None else _int(_dict(query.get("from")).get("id"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    """An id: Telegram's are 64-bit integers (a bigger one would not fit the inbox's keys)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) < value < 2**63:
        return value
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Message content → what the dialogues answer; checked in this order (an animation also
# carries a document, a venue a location).
_CONTENT_KINDS: tuple[tuple[str, Kind], ...] = (
    ("sticker", Kind.STICKER),
    ("voice", Kind.VOICE),
    ("audio", Kind.AUDIO),
    ("video_note", Kind.VIDEO),
    ("animation", Kind.VIDEO),
    ("video", Kind.VIDEO),
    ("photo", Kind.IMAGE),
    ("document", Kind.FILE),
    ("venue", Kind.LOCATION),
    ("location", Kind.LOCATION),
    ("contact", Kind.CONTACT),
)
# Content the bot cannot do anything with but a person sent on purpose: "I can't read that".
_OTHER_CONTENT = frozenset({"poll", "dice", "game", "story", "invoice", "paid_media",
                            "checklist", "giveaway", "passport_data"})


@dataclass(frozen=True)
class Me:
    """Who the bot is, for telling what in a group is addressed to it."""

    id: int
    username: str | None = None  # known after getMe

    def is_me(self, name: str) -> bool:
        return bool(self.username) and name.lower().lstrip("@") == str(self.username).lower()


def to_incoming(update: dict[str, Any], me: Me) -> Incoming | None:
    """A stored update as the core message type; None when there is nothing to answer. Never
    raises: an update of a shape not foreseen is logged and left unanswered."""
    try:
        return _incoming(update, me)
    except Exception:  # an odd update must not fail the worker five times
        log.exception("Telegram update %s of an unexpected shape left unanswered",
                      update.get("update_id") if isinstance(update, dict) else None)
        return None


def _incoming(update: dict[str, Any], me: Me) -> Incoming | None:
    if isinstance(update.get("callback_query"), dict):
        return _callback(update["callback_query"])
    if isinstance(update.get("message"), dict):
        return _message(update["message"], me)
    if isinstance(update.get("my_chat_member"), dict):
        return _membership(update["my_chat_member"], me)
    return None  # edited_message (see the module's docstring), channel posts, polls...


def _sender(message: dict[str, Any]) -> dict[str, Any] | None:
    sender = _dict(message.get("from"))
    if _int(sender.get("id")) is None or sender.get("is_bot"):
        return None
    return sender


def _message(message: dict[str, Any], me: Me) -> Incoming | None:
    chat = _dict(message.get("chat"))
    chat_id = _int(chat.get("id"))
    if chat_id is not None and chat.get("type") in ("group", "supergroup"):
        moved = _migration(message, chat_id)
        if moved is not None:
            return moved
    sender = _sender(message)
    if chat_id is None or sender is None:
        return None
    chat_type = chat.get("type")
    group = chat_type in ("group", "supergroup")
    if not group and chat_type != "private":
        return None  # channels
    user = str(sender["id"])
    hint = _str(sender.get("language_code")) or None
    where = str(chat_id) if group else None
    topic = _topic(message) if group else None
    mid = f"{chat_id}:{message.get('message_id')}"
    reply_to_bot = _int(_dict(_dict(message.get("reply_to_message")).get("from")).get("id")) \
        == me.id
    fields: dict[str, Any] = {"message_id": mid, "chat_id": where, "language_hint": hint,
                              "thread_id": topic}
    raw_text = message.get("text")
    if isinstance(raw_text, str):
        return _text(raw_text, message.get("entities"), me, user, group, reply_to_bot, fields)
    kind = next((k for key, k in _CONTENT_KINDS if key in message), None)
    if kind is None:
        if not any(key in message for key in _OTHER_CONTENT):
            return None  # a service message: someone joined, the title changed, a pin...
        kind = Kind.UNSUPPORTED
    if group:
        mentioned, _ = _mention(_str(message.get("caption")), message.get("caption_entities"),
                                me)
        if not (mentioned or reply_to_bot):
            return None
    return Incoming(CHANNEL, user, kind, file=file_ref(message), **fields)


def _text(raw_text: str, entities: Any, me: Me, user: str, group: bool, reply_to_bot: bool,
          fields: dict[str, Any]) -> Incoming | None:
    """A text message: a command, or text (in a group, only when addressed to the bot)."""
    command = _command(raw_text, me, group)
    if command is not None:
        if command is _NOT_OURS:
            return None
        name, argument = command
        return Incoming(CHANNEL, user, Kind.COMMAND, text=raw_text, command=name,
                        argument=argument, **fields)
    text = raw_text
    if group:
        mentioned, text = _mention(raw_text, entities, me)
        if not (mentioned or reply_to_bot):
            return None
    return Incoming(CHANNEL, user, Kind.TEXT, text=text.strip(), **fields)


def _topic(message: dict[str, Any]) -> str | None:
    """The forum topic a group message was written in (replies go there, not to General).
    Only `is_topic_message` says so: in a group without topics `message_thread_id` is the
    thread of a reply, where Telegram does not take it back."""
    thread = _int(message.get("message_thread_id"))
    return str(thread) if message.get("is_topic_message") is True and thread else None


def _migration(message: dict[str, Any], chat_id: int) -> Incoming | None:
    """The service messages of a group upgraded to a supergroup (a new chat id): the old
    group's says `migrate_to_chat_id`, the new supergroup's `migrate_from_chat_id`. Either
    re-addresses what is still queued for the old id (Kind.MOVED)."""
    to_id = _int(message.get("migrate_to_chat_id"))
    from_id = _int(message.get("migrate_from_chat_id"))
    if to_id is not None:
        old, new = chat_id, to_id
    elif from_id is not None:
        old, new = from_id, chat_id
    else:
        return None
    sender = _int(_dict(message.get("from")).get("id"))
    return Incoming(CHANNEL, str(sender or ""), Kind.MOVED, chat_id=str(new),
                    moved_from=str(old), message_id=f"{chat_id}:{message.get('message_id')}")


_NOT_OURS = ("", None)  # a command for another bot in the group


def _command(text: str, me: Me, group: bool) -> tuple[str, str | None] | None:
    """("start", "caf-AB12CD") for "/start caf-AB12CD" or "/start@isafbot caf-AB12CD"; None
    when the text is not a command; `_NOT_OURS` when it is addressed to another bot."""
    if not text.startswith("/"):
        return None
    head, *rest = text.split(maxsplit=1)
    match = _COMMAND.match(head)
    if not match:
        return None
    target = match.group(2)
    if target and group and not me.is_me(target):
        return _NOT_OURS
    argument = " ".join(rest[0].split()) if rest else None
    name = match.group(1).lower()
    if name == "start" and argument:
        argument = argument[:MAX_DEEP_LINK]
    return name, argument


def _mention(text: str, entities: Any, me: Me) -> tuple[bool, str]:
    """Whether the bot is mentioned (@username, or a text mention of its id), and the text
    without the @username."""
    mentioned = False
    if isinstance(entities, list):
        for entity in entities:
            entity = _dict(entity)
            if entity.get("type") == "text_mention" and \
                    _int(_dict(entity.get("user")).get("id")) == me.id:
                mentioned = True
    if me.username:
        pattern = re.compile(rf"@{re.escape(me.username)}\b", re.IGNORECASE)
        if pattern.search(text):
            mentioned = True
            text = pattern.sub(" ", text)
    return mentioned, " ".join(text.split())


def _callback(query: dict[str, Any]) -> Incoming | None:
    sender = _sender(query)
    if sender is None:
        return None
    user = str(sender["id"])
    message = _dict(query.get("message"))
    chat_id = _int(_dict(message.get("chat")).get("id"))
    where = str(chat_id) if chat_id is not None and str(chat_id) != user else None
    data = query.get("data")
    payload = data if isinstance(data, str) and is_valid_payload(data) else "menu"
    return Incoming(CHANNEL, user, Kind.BUTTON, payload=payload,
                    message_id=f"callback:{query.get('id')}", chat_id=where,
                    language_hint=_str(sender.get("language_code")) or None,
                    thread_id=_topic(message) if where else None)


def _membership(change: dict[str, Any], me: Me) -> Incoming | None:
    """The bot added to a group: it introduces itself there (as /start). Everything else
    (removed, made admin, a user blocking or unblocking the bot) needs no message."""
    chat = _dict(change.get("chat"))
    sender = _sender(change)
    if chat.get("type") not in ("group", "supergroup") or sender is None \
            or _int(chat.get("id")) is None:
        return None
    old = _str(_dict(change.get("old_chat_member")).get("status"))
    new = _str(_dict(change.get("new_chat_member")).get("status"))
    if old not in ("left", "kicked") or new not in ("member", "administrator"):
        return None
    return Incoming(CHANNEL, str(sender["id"]), Kind.COMMAND, text="/start", command="start",
                    chat_id=str(chat["id"]),
                    language_hint=_str(sender.get("language_code")) or None)


