"""What Messenger sends us: the webhook's signature, the messaging events of a batch as inbox
rows (only what `to_incoming` reads is kept), and a stored event as the core `Incoming`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from bot.channels.messenger.settings import CHANNEL, GET_STARTED
from common.files import PHOTO, VOICE, FileRef
from common.messages import Incoming, Kind, is_valid_payload

_MAX_EXTERNAL_ID = 128  # inbound_updates.external_id
_PSID = re.compile(r"[\x21-\x7e]{1,64}")  # fits users.channel_user_id


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: "sha256=" + HMAC-SHA256 of the raw body, compared in constant
    time."""
    if not header or not header.startswith("sha256="):
        return False
    given = header[len("sha256="):].strip().lower()
    if not given.isascii():  # compare_digest raises TypeError on other str (a 500 before)
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


def events_of(body: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Every messaging event worth answering in a webhook batch, as (external_id, chat_key,
    event), each user's in the order they happened. Echoes of our own messages, reads,
    deliveries, reactions and the like are left out."""
    if not isinstance(body, dict) or body.get("object") != "page":
        return []
    found: list[tuple[int, tuple[str, str, dict[str, Any]]]] = []
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for event in entry.get("messaging") or []:
            item = _stored(event)
            if item is not None:
                found.append((_timestamp(event), item))
    found.sort(key=lambda pair: pair[0])  # stable: same-time events keep their batch order
    return [item for _, item in found]


def _stored(event: Any) -> tuple[str, str, dict[str, Any]] | None:
    if not isinstance(event, dict):
        return None
    psid = _psid(event)
    if psid is None:
        return None
    message, postback, referral = (event.get(k) for k in ("message", "postback", "referral"))
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = message.get("mid")
    elif isinstance(postback, dict):
        mid = postback.get("mid")
    elif isinstance(referral, dict):  # no mid: a digest, which keeps no PSID in the id
        opened = f"{psid}:{_timestamp(event)}:{referral.get('ref', '')}"
        mid = "referral:" + hashlib.sha256(opened.encode("utf-8", "surrogatepass")).hexdigest()
    else:
        return None  # read, delivery, reaction, optin, standby...
    if not isinstance(mid, str) or not mid:
        digest = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
        mid = f"event:{digest}"
    if len(mid) > _MAX_EXTERNAL_ID or not (mid.isascii() and mid.isprintable()):
        # Meta's mids are short ASCII; anything else is kept as a digest, which every
        # database stores (PostgreSQL refuses NUL, lone surrogates and over-long keys)
        mid = "sha256:" + hashlib.sha256(mid.encode("utf-8", "surrogatepass")).hexdigest()
    return mid, f"{CHANNEL}:{psid}", reduced(event)


def reduced(event: dict[str, Any]) -> dict[str, Any]:
    """The event as stored in the inbox: only what `to_incoming` reads. A quick reply keeps its
    payload, not its title (Meta sends the label the person tapped as the message text: "🙂
    ពេញចិត្ត"), a postback loses its title, attachments keep their type (and a sticker's id),
    and an image's or audio clip's URL (fetched later, when a report wants it)."""
    out: dict[str, Any] = {"sender": {"id": event["sender"]["id"]}}
    if isinstance(event.get("timestamp"), int):
        out["timestamp"] = event["timestamp"]
    message, postback, referral = (event.get(k) for k in ("message", "postback", "referral"))
    if isinstance(message, dict):
        kept: dict[str, Any] = {k: message[k] for k in ("mid", "sticker_id") if k in message}
        quick_reply = message.get("quick_reply")
        payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        if isinstance(payload, str) and is_valid_payload(payload):
            kept["quick_reply"] = {"payload": payload}
        elif "text" in message:  # typed, or a quick reply the bot cannot use: read as text
            kept["text"] = message["text"]
        attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
        if attachments:
            kept["attachments"] = [_reduced_attachment(a) for a in attachments]
        out["message"] = kept
    elif isinstance(postback, dict):
        out["postback"] = {k: postback[k] for k in ("mid", "payload") if k in postback}
        if isinstance(postback.get("referral"), dict):
            out["postback"]["referral"] = {"ref": postback["referral"].get("ref")}
    elif isinstance(referral, dict):
        out["referral"] = {"ref": referral.get("ref")}
    return out


_FETCHED = {"image": PHOTO, "audio": VOICE}  # attachment types a report can keep
_MAX_URL = 2048


def _reduced_attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    payload = attachment.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    kept: dict[str, Any] = {"type": attachment.get("type")}
    if payload.get("sticker_id"):
        kept["payload"] = {"sticker_id": payload["sticker_id"]}
    elif attachment.get("type") in _FETCHED and _fetchable(payload.get("url")):
        kept["payload"] = {"url": payload["url"]}
    return kept


def _fetchable(url: Any) -> bool:
    """Only http(s) URLs of a sane length are ever fetched (never file:, ftp: or data:)."""
    return isinstance(url, str) and len(url) <= _MAX_URL and url.isascii() \
        and url.lower().startswith(("https://", "http://"))


def file_ref(message: dict[str, Any]) -> FileRef | None:
    """The first image or audio clip of a stored message as a `FileRef` (Messenger tells no
    size nor duration: the download is capped instead)."""
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        payload = attachment.get("payload")
        url = payload.get("url") if isinstance(payload, dict) else None
        kind = _FETCHED.get(str(attachment.get("type")))
        if kind and _fetchable(url):
            return FileRef(kind=kind, ref=str(url))
    return None


def _psid(event: dict[str, Any]) -> str | None:
    """The sender's page-scoped id (Meta's are digits): 1 to 64 visible ASCII characters
    (users.channel_user_id); an event from anything else is not a person writing to the page."""
    sender = event.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if isinstance(psid, int) and not isinstance(psid, bool) and psid >= 0:
        psid = str(psid)
    if not isinstance(psid, str) or not _PSID.fullmatch(psid):
        return None
    return psid


def _timestamp(event: Any) -> int:
    value = event.get("timestamp") if isinstance(event, dict) else None
    return value if isinstance(value, int) else 0


# Messenger attachment types; "audio" is what a voice clip recorded in Messenger arrives as.
_ATTACHMENT_KINDS = {
    "image": Kind.IMAGE,
    "audio": Kind.VOICE,
    "video": Kind.VIDEO,
    "file": Kind.FILE,
    "location": Kind.LOCATION,
}


def to_incoming(event: dict[str, Any]) -> Incoming | None:
    """A stored messaging event as the core message type."""
    psid = _psid(event)
    if psid is None:
        return None
    message, postback, referral = (event.get(k) for k in ("message", "postback", "referral"))
    if isinstance(postback, dict):
        return _postback(psid, postback)
    if isinstance(referral, dict):  # an m.me link with ?ref= opened in an existing thread
        return _start(psid, referral.get("ref"), None)
    if not isinstance(message, dict) or message.get("is_echo"):
        return None
    mid = message.get("mid")
    raw_text = message.get("text")
    text: str = raw_text if isinstance(raw_text, str) else ""
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        payload = quick_reply.get("payload")
        if isinstance(payload, str) and is_valid_payload(payload):
            return Incoming(CHANNEL, psid, Kind.BUTTON, text=text, payload=payload,
                            message_id=mid)
    if text.strip():
        if text.startswith("/") and len(text) > 1 and not text[1].isspace():
            command, _, argument = text[1:].partition(" ")
            return Incoming(CHANNEL, psid, Kind.COMMAND, text=text, command=command.lower(),
                            argument=argument.strip() or None, message_id=mid)
        return Incoming(CHANNEL, psid, Kind.TEXT, text=text, message_id=mid)
    kind = _attachment_kind(message)
    return Incoming(CHANNEL, psid, kind, text=text, message_id=mid,
                    file=file_ref(message) if kind in (Kind.IMAGE, Kind.VOICE) else None)


def _attachment_kind(message: dict[str, Any]) -> Kind:
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    if message.get("sticker_id") or any(
            isinstance(a.get("payload"), dict) and a["payload"].get("sticker_id")
            for a in attachments):
        return Kind.STICKER
    if not attachments:
        return Kind.TEXT  # an empty message: the dialogues answer it like empty text
    return _ATTACHMENT_KINDS.get(str(attachments[0].get("type")), Kind.UNSUPPORTED)


def _postback(psid: str, postback: dict[str, Any]) -> Incoming:
    payload = postback.get("payload")
    mid = postback.get("mid")
    raw_referral = postback.get("referral")
    referral: dict[str, Any] = raw_referral if isinstance(raw_referral, dict) else {}
    if isinstance(payload, str) and payload.lower() == GET_STARTED:
        return _start(psid, referral.get("ref"), mid)
    if not isinstance(payload, str) or not is_valid_payload(payload):
        payload = "menu"  # set up by hand, or forged: the menu is the safe answer
    return Incoming(CHANNEL, psid, Kind.BUTTON, text=str(postback.get("title") or ""),
                    payload=payload, message_id=mid)


def _start(psid: str, ref: Any, mid: Any) -> Incoming:
    """Get Started (or an m.me link): /start, with the link's ref as its deep-link argument."""
    argument = ref.strip()[:64] if isinstance(ref, str) and ref.strip() else None
    text = f"/start {argument}" if argument else "/start"
    return Incoming(CHANNEL, psid, Kind.COMMAND, text=text, command="start", argument=argument,
                    message_id=mid if isinstance(mid, str) else None)
