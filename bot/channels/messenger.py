"""The Facebook Messenger channel: a signed webhook on the project's web server, events
translated into `Incoming`, replies sent through `MessengerClient`, and Messenger's 24-hour
rule (`StandardWindow`, the one place it lives).

The webhook stores before it answers: it checks the X-Hub-Signature-256 of the raw body,
stores every messaging event of every entry of the batch in the durable inbox in one
transaction (the message mid is the key, so Meta's retries are dropped), and answers 200 at
once. The inbox workers handle the stored events afterwards, each user's in order; a process
killed in between loses nothing (the events are in the database, leased, taken again).

On when MESSENGER_PAGE_ACCESS_TOKEN, MESSENGER_APP_SECRET and MESSENGER_VERIFY_TOKEN are set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.messenger_client import API_VERSION, GRAPH_URL, MessengerClient
from bot.channels.messenger_client import api_version_number as _api_version
from bot.delivery import Recipient
from bot.ratelimit import Limits, RateLimiter
from bot.request_body import parse_json, read_body
from bot.settings import SettingsError, seconds_setting
from common.db.session import database_unavailable
from common.messages import Incoming, Kind, Reply, is_valid_payload

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.server import Runtime

log = logging.getLogger(__name__)

CHANNEL = "messenger"
WEBHOOK_PATH = "/webhooks/messenger"
GET_STARTED = "get_started"  # the Get Started button's postback payload (`isafbot messenger setup`)
MAX_BODY_BYTES = 8 * 1024 * 1024  # a batch of 1000 events is about 1 MB
_MAX_EXTERNAL_ID = 128  # inbound_updates.external_id
_PSID = re.compile(r"[\x21-\x7e]{1,64}")  # fits users.channel_user_id


# ------------------------------------------------------------------ settings

@dataclass(frozen=True)
class MessengerSettings:
    page_access_token: str
    app_secret: str
    verify_token: str
    graph_url: str = GRAPH_URL
    api_version: float = API_VERSION
    timeout: float = 10.0  # seconds, every Graph API request
    retry_seconds: float = 20.0  # wait after a rate limit or a Graph API outage

    REQUIRED = ("MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MessengerSettings | None:
        """None when none of the three required variables is set (the channel is off); an
        error naming the missing ones when only some are."""
        given = [name for name in cls.REQUIRED if env.get(name)]
        if not given:
            return None
        missing = [name for name in cls.REQUIRED if not env.get(name)]
        if missing:
            raise SettingsError(f"Messenger is half configured: set {', '.join(missing)} too "
                                f"(or unset {', '.join(given)} to switch Messenger off)")
        try:
            version = _api_version(env.get("MESSENGER_API_VERSION") or API_VERSION)
        except ValueError:
            raise SettingsError(f"MESSENGER_API_VERSION={env['MESSENGER_API_VERSION']!r} is "
                                "not a Graph API version such as 26.0") from None
        graph_url = env.get("MESSENGER_GRAPH_URL") or GRAPH_URL
        if not graph_url.startswith(("https://", "http://")):
            raise SettingsError(f"MESSENGER_GRAPH_URL={graph_url!r} must be an http(s) URL")
        return cls(
            page_access_token=env["MESSENGER_PAGE_ACCESS_TOKEN"],
            app_secret=env["MESSENGER_APP_SECRET"],
            verify_token=env["MESSENGER_VERIFY_TOKEN"],
            graph_url=graph_url,
            api_version=version,
            timeout=seconds_setting(env, "MESSENGER_TIMEOUT", 10.0),
            retry_seconds=seconds_setting(env, "MESSENGER_RETRY_SECONDS", 20.0),
        )

    def client(self) -> MessengerClient:
        return MessengerClient(self.page_access_token, self.app_secret,
                               graph_url=self.graph_url, api_version=self.api_version,
                               timeout=self.timeout, retry_seconds=self.retry_seconds)


# ------------------------------------------------------------------ the 24-hour rule

class StandardWindow:
    """Messenger's standard messaging window: a page may message a user for 24 hours after
    the user's last message. The one place the rule lives; change it here when Meta does.

    Meta discontinued recurring notifications (Feb 2026) and is retiring the message tags, so
    outside the window nothing is sent: automated messages (reminders, broadcasts) are held
    and the core releases them with the reply to the user's next message. Replies go out
    within seconds of the user's message, so they are inside the window; one delayed past it
    (a backlog after an outage) is held too, since Meta would refuse it.
    """

    window = timedelta(hours=24)

    def may_send(self, recipient: Recipient, automated: bool, now: datetime) -> bool:
        last = recipient.last_inbound_at
        return last is not None and now - last < self.window


# ------------------------------------------------------------------ webhook events

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
    not their URL."""
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
            kept["attachments"] = [
                {"type": a.get("type"), **({"payload": {"sticker_id": a["payload"]["sticker_id"]}}
                                           if isinstance(a.get("payload"), dict)
                                           and a["payload"].get("sticker_id") else {})}
                for a in attachments]
        out["message"] = kept
    elif isinstance(postback, dict):
        out["postback"] = {k: postback[k] for k in ("mid", "payload") if k in postback}
        if isinstance(postback.get("referral"), dict):
            out["postback"]["referral"] = {"ref": postback["referral"].get("ref")}
    elif isinstance(referral, dict):
        out["referral"] = {"ref": referral.get("ref")}
    return out


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
    return Incoming(CHANNEL, psid, _attachment_kind(message), text=text, message_id=mid)


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


# ------------------------------------------------------------------ the channel

class MessengerSender:
    """Sends outbox rows through the Messenger client (errors already mapped to RetryLater,
    Unreachable, Held or Rejected)."""

    channel = CHANNEL

    def __init__(self, client: MessengerClient) -> None:
        self.client = client

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        await self.client.send_reply(recipient.address, reply)


class MessengerChannel:
    name = CHANNEL

    def __init__(self, settings: MessengerSettings) -> None:
        self.settings = settings
        self.client = settings.client()

    # -- webhook

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK_PATH, self.verify, methods=["GET"]),
                Route(WEBHOOK_PATH, self.receive, methods=["POST"])]

    async def verify(self, request: Request) -> Response:
        """Meta's subscription check: echo hub.challenge when the verify token matches."""
        params = request.query_params
        token = params.get("hub.verify_token") or ""
        if params.get("hub.mode") != "subscribe" or not hmac.compare_digest(
                token.encode(), self.settings.verify_token.encode()):
            return PlainTextResponse("verification failed", status_code=403)
        challenge = params.get("hub.challenge")
        if not challenge:
            return PlainTextResponse("hub.challenge is missing", status_code=400)
        return PlainTextResponse(challenge)

    async def receive(self, request: Request) -> Response:
        """Check the signature, store every event, answer 200; workers handle them after."""
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        if not signature_ok(self.settings.app_secret, body,
                            request.headers.get("x-hub-signature-256")):
            log.warning("Messenger webhook: missing or wrong signature, %d bytes dropped",
                        len(body))
            return PlainTextResponse("invalid signature", status_code=403)
        try:
            data = parse_json(body)
        except ValueError:  # UnicodeDecodeError is one
            return PlainTextResponse("body is not JSON", status_code=400)
        if not isinstance(data, dict):
            return PlainTextResponse("body is not a JSON object", status_code=400)
        events = events_of(data)
        if events:
            runtime: Runtime = request.app.state.runtime
            try:
                stored = await asyncio.to_thread(runtime.inbox.accept_many, CHANNEL, events)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                # not stored: Meta delivers the batch again later
                return PlainTextResponse("database unavailable, retry later", status_code=503)
            if stored:
                runtime.inbox.wake()
            log.debug("Messenger webhook: %d events, %d new", len(events), stored)
        return PlainTextResponse("EVENT_RECEIVED")

    # -- core protocol

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        return to_incoming(payload)

    def sender(self) -> MessengerSender:
        return MessengerSender(self.client)

    def limiter(self) -> RateLimiter:
        # Meta allows about 300 Send API calls a second per page; a chat gets a short burst so
        # a reply and the messages released with it go out together.
        return RateLimiter(Limits(per_second=250.0, burst=1.0, per_chat_per_second=1.0,
                                  chat_burst=6.0))

    def policy(self) -> StandardWindow:
        return StandardWindow()

    async def start(self, runtime: Runtime) -> None:
        log.info("Messenger channel on: webhook at %s, Graph API %s", WEBHOOK_PATH,
                 self.client.graph_url)

    async def stop(self) -> None:
        self.client.close()


def channel_from_settings(app: App) -> MessengerChannel | None:
    settings = MessengerSettings.from_env(app.settings.env)
    return MessengerChannel(settings) if settings else None
