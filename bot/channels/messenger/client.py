"""The one Messenger Send API client: pymessenger 0.0.7 (the owner's choice) with its Python 3
defects fixed, and the translation of a core `Reply` into Send API messages.

pymessenger dates from 2016. What this module fixes (see shared/reference/platforms.md):

- the Graph API version: pymessenger formats `v{api_version}` into a hard-coded
  graph.facebook.com URL (default v2.6, long gone); we pass a current version as a number and
  point `graph_url` at MESSENGER_GRAPH_URL (tests use a fake Graph API server);
- `send_raw` posts without a timeout and returns whatever JSON came back, errors included: our
  `send_raw` has a timeout, checks the status and the Graph error object, and raises;
- `send_image` and friends use a missing `base_url` and an undefined `image_path`: images go
  through the attachment upload API (`/me/message_attachments`) instead, then by id;
- no `messaging_type` and no quick replies: every message here sets RESPONSE or UPDATE, and
  quick replies, button templates and carousels are built here;
- every call blocks: the async entry point runs them in the client's own thread pool, so a slow
  Graph API never blocks the event loop nor starves the threads the database work uses;
- pymessenger puts the page token and its appsecret_proof in the query string, so they are in
  every URL, and a connection error's text (which quotes the URL) carried them into the outbox
  and the logs: here the token goes in the `Authorization: Bearer` header and the proof in the
  request body (a POST's JSON or form fields, the way Meta's "Securing Graph API Requests" page
  sends it); a read (GET) is sent as a Graph API batch request, a POST, for the same reason.

How a reply becomes Send API messages (and Meta's limits) is `outbound`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import json as jsonlib  # `call` has a parameter named json
import logging
import mimetypes
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from pymessenger.bot import Bot

from bot.channels.messenger.outbound import Outgoing, render
from bot.channels.messenger.settings import API_VERSION, GRAPH_URL, MessengerSettings
from bot.delivery import DeliveryError, Held, Rejected, RetryLater, Unreachable
from common.messages import Reply

log = logging.getLogger(__name__)

RESPONSE = "RESPONSE"  # an answer to the user's message
MESSAGE_TAG = "MESSAGE_TAG"  # outside the 24 hours, with a tag (HUMAN_AGENT: a person)
UPDATE = "UPDATE"  # sent on our own initiative (reminders, broadcasts), inside the window


# ------------------------------------------------------------------ errors

class GraphError(Exception):
    """An error answer of the Graph API (or no usable answer at all)."""

    def __init__(self, status: int, message: str, code: int | None = None,
                 subcode: int | None = None, trace: str | None = None) -> None:
        detail = f"HTTP {status}"
        if code is not None:
            detail += f", code {code}" + (f"/{subcode}" if subcode else "")
        super().__init__(f"Graph API error ({detail}): {message}")
        self.status = status
        self.code = code
        self.subcode = subcode
        self.graph_message = message
        self.trace = trace


_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80006})
_TEMPORARY_CODES = frozenset({1, 2, 1200})
_OUTSIDE_WINDOW_SUBCODES = frozenset({2018278, 2018065})
_NOT_AVAILABLE_SUBCODES = frozenset({2018001, 2018108, 1545041})
_BAD_TOKEN = 190


def delivery_error(error: GraphError, retry_seconds: float) -> DeliveryError:
    """What the dispatcher should do about a Graph API error."""
    text = str(error)
    if error.code in _RATE_LIMIT_CODES or error.status == 429:
        return RetryLater(retry_seconds, text, rate_limited=True)  # Meta gives no retry time
    if error.code in _TEMPORARY_CODES or error.status >= 500 or error.status == 0:
        return RetryLater(retry_seconds, text)
    if error.subcode in _OUTSIDE_WINDOW_SUBCODES:
        return Held(text)
    if error.code == 551 or error.subcode in _NOT_AVAILABLE_SUBCODES:
        return Unreachable(text)
    if error.code == _BAD_TOKEN:
        # Every message fails until someone fixes MESSENGER_PAGE_ACCESS_TOKEN: wait long
        # rather than fail them all at once.
        log.error("Messenger page access token refused: %s", error.graph_message)
        return RetryLater(max(retry_seconds, 300.0), text)
    return Rejected(text)


# ------------------------------------------------------------------ pymessenger, fixed

class FixedBot(Bot):  # type: ignore[misc]  # pymessenger has no type hints
    """pymessenger's Bot with a current Graph URL, timeouts and checked errors.

    pymessenger computes `auth_args` (access token and appsecret_proof) and builds
    `graph_url`; everything it sends goes through `send_raw`, which is fixed here.
    """

    def __init__(self, access_token: str, *, app_secret: str | None, api_version: float,
                 graph_url: str, timeout: float, session: requests.Session) -> None:
        super().__init__(access_token, app_secret=app_secret, api_version=api_version)
        # pymessenger builds https://graph.facebook.com/v{api_version}: keep its versioning,
        # on the configured host.
        self.graph_url = f"{graph_url.rstrip('/')}/v{self.api_version}"
        self.timeout = timeout
        self.session = session

    def send_raw(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "/me/messages", json=payload)

    def call(self, method: str, path: str, *, json: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
             files: dict[str, Any] | None = None) -> dict[str, Any]:
        """One Graph API request; the answer's JSON, or GraphError. The credentials never go
        in the URL (see the module's docstring)."""
        if method == "GET":
            return self._read(path, params or {})
        return _checked(self._post(path, params=params, json=json, data=data, files=files))

    def _post(self, path: str, *, params: dict[str, Any] | None = None,
              json: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
              files: dict[str, Any] | None = None) -> requests.Response:
        proof = {k: v for k, v in self.auth_args.items() if k == "appsecret_proof"}
        if json is not None:
            json = {**json, **proof}
        else:
            data = {**(data or {}), **proof}
        try:
            return self.session.request(
                "POST", f"{self.graph_url}{path}", params=params, json=json, data=data,
                files=files, headers={"Authorization": f"Bearer {self.access_token}"},
                timeout=self.timeout)
        except requests.RequestException as error:  # timeouts, refused connections
            raise GraphError(0, f"{type(error).__name__}: {error}") from error

    def _read(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A GET as a batch request (POST / with one request in `batch`); Meta answers a list
        with each request's status code and body (JSON as text)."""
        relative = path.lstrip("/") + (f"?{urlencode(params)}" if params else "")
        response = self._post("/", data={
            "batch": jsonlib.dumps([{"method": "GET", "relative_url": relative}]),
            "include_headers": "false"})
        try:
            answers = response.json()
        except ValueError:
            answers = None
        if not isinstance(answers, list):
            return _checked(response)  # an error object (a bad token), or no JSON at all
        first = answers[0] if answers and isinstance(answers[0], dict) else {}
        status = _int(first.get("code")) or 0
        try:
            body = jsonlib.loads(first.get("body") or "null")
        except (TypeError, ValueError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            raise GraphError(status, str(error.get("message", "")), _int(error.get("code")),
                             _int(error.get("error_subcode")), error.get("fbtrace_id"))
        if status >= 400 or not isinstance(body, dict):
            raise GraphError(status, "the batch request returned no answer")
        return body


def _checked(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        raise GraphError(response.status_code, str(error.get("message", "")),
                         _int(error.get("code")), _int(error.get("error_subcode")),
                         error.get("fbtrace_id"))
    if response.status_code >= 400 or not isinstance(body, dict):
        raise GraphError(response.status_code, (response.text or "")[:300] or "no JSON answer")
    return body


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ the client

class MessengerClient:
    """Sends replies and sets up the page, through `FixedBot`.

    A reply that takes several calls (long text, image, choices) and fails part-way is resumed
    where it stopped when the dispatcher retries it, so the user does not get the first part
    twice (kept in memory for an hour).
    """

    def __init__(self, access_token: str, app_secret: str | None = None, *,
                 graph_url: str = GRAPH_URL, api_version: float = API_VERSION,
                 timeout: float = 10.0, retry_seconds: float = 20.0,
                 max_workers: int = 16) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max_workers)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.bot = FixedBot(access_token, app_secret=app_secret, api_version=api_version,
                            graph_url=graph_url, timeout=timeout, session=self.session)
        self.retry_seconds = retry_seconds
        self._executor = ThreadPoolExecutor(max_workers=max_workers,
                                            thread_name_prefix="graph-api")
        self._lock = threading.Lock()
        self._attachments: OrderedDict[tuple[str, int, int], str] = OrderedDict()
        self._progress: dict[str, tuple[int, float]] = {}

    @classmethod
    def from_settings(cls, settings: MessengerSettings) -> MessengerClient:
        """The client the channel and `isafbot messenger setup` use."""
        return cls(settings.page_access_token, settings.app_secret,
                   graph_url=settings.graph_url, api_version=settings.api_version,
                   timeout=settings.timeout, retry_seconds=settings.retry_seconds)

    @property
    def graph_url(self) -> str:
        return str(self.bot.graph_url)

    # -- blocking calls (run in the client's threads)

    def send_message(self, psid: str, message: dict[str, Any], messaging_type: str,
                     tag: str | None = None) -> str:
        """One Send API call; the message id. `tag`: a message tag (MESSAGE_TAG)."""
        body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type,
                                "message": message}
        if tag:
            body["tag"] = tag
        answer = self.bot.send_raw(body)
        return str(answer.get("message_id", ""))

    def upload_image(self, path: Path) -> str:
        """Upload once through the attachment upload API; the reusable attachment id."""
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._attachments:
                self._attachments.move_to_end(key)
                return self._attachments[key]
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        message = {"attachment": {"type": "image", "payload": {"is_reusable": True}}}
        with path.open("rb") as handle:
            answer = self.bot.call("POST", "/me/message_attachments",
                                   data={"message": json.dumps(message)},
                                   files={"filedata": (path.name, handle, mime)})
        attachment_id = str(answer.get("attachment_id") or "")
        if not attachment_id:
            raise GraphError(200, "the attachment upload API returned no attachment_id")
        with self._lock:
            self._attachments[key] = attachment_id
            while len(self._attachments) > 512:
                self._attachments.popitem(last=False)
        return attachment_id

    def set_profile(self, profile: dict[str, Any]) -> dict[str, Any]:
        """Messenger Profile API: Get Started, greeting, persistent menu."""
        return self.bot.call("POST", "/me/messenger_profile", json=profile)

    def get_profile(self, fields: Sequence[str]) -> dict[str, Any]:
        return self.bot.call("GET", "/me/messenger_profile", params={"fields": ",".join(fields)})

    # -- async entry point

    async def send_reply(self, psid: str, reply: Reply, tag: str | None = None) -> None:
        """Send one reply; raises RetryLater, Unreachable, Held or Rejected. `tag`: the
        message tag it needs (HUMAN_AGENT: a person's reply after the 24 hours)."""
        outgoing = render(reply)  # on the loop thread: see `shorten`
        messaging_type = MESSAGE_TAG if tag else UPDATE if reply.automated else RESPONSE
        key = self._progress_key(psid, outgoing)
        done = self._resume(key)
        try:
            for index, item in enumerate(outgoing):
                if index < done:
                    continue
                message = item.message
                if item.image is not None:
                    image = item.image
                    if not image.is_file():
                        raise Rejected(f"image {image} does not exist")
                    attachment_id = await self._run(self.upload_image, image)
                    message = {**message, "attachment": {"type": "image", "payload": {
                        "attachment_id": attachment_id}}}
                await self._run(self.send_message, psid, message, messaging_type, tag)
                done = index + 1
        except GraphError as error:
            raised = delivery_error(error, self.retry_seconds)
            self._settle(key, done, raised)
            raise raised from error
        except DeliveryError as raised:
            self._settle(key, done, raised)
            raise
        self._forget(key)

    async def _run(self, function: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, function, *args)
        except RuntimeError:  # closed: the server is stopping; the row waits for the next start
            raise RetryLater(self.retry_seconds, "the Messenger client is closed") from None
        return await future

    def _settle(self, key: str, done: int, raised: DeliveryError) -> None:
        """Keep how far a reply got only when it will be tried again."""
        if isinstance(raised, RetryLater):
            self._remember(key, done)
        else:
            self._forget(key)

    def _progress_key(self, psid: str, outgoing: list[Outgoing]) -> str:
        data = json.dumps([[o.message, str(o.image)] for o in outgoing], sort_keys=True,
                          ensure_ascii=False)
        return hashlib.sha256(f"{psid}\n{data}".encode()).hexdigest()

    def _resume(self, key: str) -> int:
        with self._lock:
            now = time.monotonic()
            for stale in [k for k, (_, at) in self._progress.items() if now - at > 3600]:
                del self._progress[stale]
            return self._progress.get(key, (0, now))[0]

    def _remember(self, key: str, done: int) -> None:
        if done:
            with self._lock:
                self._progress[key] = (done, time.monotonic())

    def _forget(self, key: str) -> None:
        with self._lock:
            self._progress.pop(key, None)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.session.close()
