"""The Facebook Messenger channel: a signed webhook on the project's web server, events
translated into `Incoming` (`inbound`), replies sent through `MessengerClient` (`client`,
rendered by `outbound`, which also holds the 24-hour rule).

The webhook stores before it answers: it checks the X-Hub-Signature-256 of the raw body,
stores every messaging event of every entry of the batch in the durable inbox in one
transaction (the message mid is the key, so Meta's retries are dropped), and answers 200 at
once. The inbox workers handle the stored events afterwards, each user's in order; a process
killed in between loses nothing (the events are in the database, leased, taken again).

On when MESSENGER_PAGE_ACCESS_TOKEN, MESSENGER_APP_SECRET and MESSENGER_VERIFY_TOKEN are set.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import Intake
from bot.channels.messenger.client import MessengerClient
from bot.channels.messenger.files import MessengerFiles
from bot.channels.messenger.inbound import events_of, signature_ok, to_incoming
from bot.channels.messenger.outbound import StandardWindow
from bot.channels.messenger.settings import CHANNEL, WEBHOOK_PATH, MessengerSettings
from bot.delivery import Recipient
from bot.ratelimit import Limits, RateLimiter
from bot.request_body import parse_json, read_body
from common.db.base import utcnow
from common.db.session import database_unavailable
from common.files import register
from common.messages import Incoming, Reply

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024  # a batch of 1000 events is about 1 MB


class MessengerSender:
    """Sends outbox rows through the Messenger client (errors already mapped to RetryLater,
    Unreachable, Held or Rejected)."""

    channel = CHANNEL

    def __init__(self, client: MessengerClient) -> None:
        self.client = client

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        tag = StandardWindow().human_tag(recipient, reply, utcnow())
        await self.client.send_reply(recipient.address, reply, tag)


class MessengerChannel:
    name = CHANNEL

    def __init__(self, settings: MessengerSettings) -> None:
        self.settings = settings
        self.client = MessengerClient.from_settings(settings)
        self.files = MessengerFiles(settings.timeout)  # the dialogues' file port

    # -- webhook

    def routes(self, intake: Intake) -> list[BaseRoute]:
        async def receive(request: Request) -> Response:
            return await self.receive(request, intake)

        return [Route(WEBHOOK_PATH, self.verify, methods=["GET"]),
                Route(WEBHOOK_PATH, receive, methods=["POST"])]

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

    async def receive(self, request: Request, intake: Intake) -> Response:
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
            try:
                stored = await asyncio.to_thread(intake.accept_many, CHANNEL, events)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                # not stored: Meta delivers the batch again later
                return PlainTextResponse("database unavailable, retry later", status_code=503)
            if stored:
                intake.wake()
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

    async def start(self, intake: Intake) -> None:
        log.info("Messenger channel on: webhook at %s, Graph API %s", WEBHOOK_PATH,
                 self.client.graph_url)

    async def stop(self) -> None:
        self.client.close()
        self.files.close()


def channel_from_settings(app: App) -> MessengerChannel | None:
    settings = MessengerSettings.from_env(app.settings.env)
    if settings is None:
        return None
    channel = MessengerChannel(settings)
    register(app.dialogues.ctx.extras, CHANNEL, channel.files)
    return channel
