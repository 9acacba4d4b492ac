"""A fake Telegram Bot API server on 127.0.0.1 (port 0), for tests and benchmarks.

It speaks the HTTP protocol python-telegram-bot uses (``POST /bot<token>/<method>`` with form,
multipart or JSON parameters; answers ``{"ok": true, "result": ...}`` or Telegram's error
objects) so the real library runs against it unchanged: point the bot at it with
``TELEGRAM_API_BASE_URL=<fake.base_url>`` (or ``Bot(token, base_url=fake.base_url)``).

Methods: getMe, getUpdates (queued updates, honouring ``offset``, ``limit`` and the long-poll
``timeout``; 409 while a webhook is set, like Telegram), setWebhook, deleteWebhook,
getWebhookInfo, sendMessage, sendPhoto (multipart upload), answerCallbackQuery,
editMessageReplyMarkup, getFile (files put with ``add_file``; over 20 MB answers 400 "file is
too big", like Telegram). Anything else answers 404 "Not Found" like Telegram. Files are
served at ``GET /file/bot<token>/<file_path>`` (the library's ``base_file_url``, which is
``<url>/file/bot``); ``downloads`` lists the file paths fetched.

What it checks, like Telegram: the token in the path (401 otherwise), a chat id, text of 1 to
4,096 characters, captions up to 1,024, photos present and up to 10 MB, ``reply_markup`` valid
JSON with ``inline_keyboard`` rows whose ``callback_data`` is 1 to 64 bytes, webhook
``secret_token`` characters and ``allowed_updates`` JSON. Refused calls answer 400.

Groups as Telegram has them: ``open_topic(chat_id)`` makes a supergroup a forum and returns a
new topic's ``message_thread_id``; messages written there carry it with ``is_topic_message``
(``text_update(..., topic=id)``, ``callback_update(..., topic=id)``), and a send with a
``message_thread_id`` is refused ("message thread not found") unless the chat is a forum with
that topic; without one it lands in General. ``migrate(chat_id)`` upgrades a group to a
supergroup: it returns the new id and the two service updates Telegram sends
(``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the new one), and from
then on a send to the old id answers 400 with ``parameters.migrate_to_chat_id``.
Inline buttons are either ``callback_data`` or an ``https://``/``tg://`` ``url``.

Control (all thread-safe):

- ``fail(chat_id, *errors)``: the next send calls to that chat answer these errors
  (``RETRY_AFTER(5)``, ``BLOCKED``, ``DEACTIVATED``, ``BAD_REQUEST``, ``SERVER_DOWN``; None lets
  one through); ``fail("getUpdates", ...)`` for polling;
- ``outage(error)``: every call answers ``error`` until ``outage(None)`` (Telegram down, a 429
  storm);
- ``delay(chat_id, *seconds)``: the next send calls to that chat hang that long first;
- ``enforce_limits(max_per_second=30, per_chat_per_second=1, chat_burst=3,
  per_group_per_minute=20, jitter=0.1)``: answer 429 (with ``parameters.retry_after``) above
  Telegram's limits, tolerating 0.1 s of network jitter; every refusal is kept in
  ``limit_violations`` (the chat id). Off by default.
- ``push(update)`` / ``text_update(...)`` and friends: queue an update for getUpdates
  (``redeliver(update)`` serves one again whatever the offset, like after a bot restart);
  ``post_webhook(update)`` delivers it to the registered webhook like Telegram does (with the
  secret token header) and returns the HTTP status.

What it saw: ``calls`` (every request, parsed), ``sent(chat_id)`` (accepted sendMessage and
sendPhoto calls, in order, each a dict of parameters with ``method`` and, for photos, ``photo``
bytes), ``answered_callbacks``. ``wait_for(predicate, timeout)`` waits for a condition on the
recorded calls. For benchmarks, ``record_calls=False`` keeps only counters and ``sent``
(``calls`` stays empty) so 10,000-recipient runs stay light; ``on_send`` is called with each
accepted message (e.g. to time deliveries).

Speed: handling one call takes about 27 µs; through HTTP and python-telegram-bot in the same
process it accepted about 150 sendMessage calls a second on a 2-core machine (5 times Telegram's
bulk limit), so a 10,000-recipient broadcast at Telegram's 30/s is not slowed by it.

Run it alone to try `isafbot run` by hand: ``python -m tests.fake_telegram --token T``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from tests.fake_graph import multipart_fields

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_PHOTO_BYTES = 10 * 1024 * 1024
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

Error = tuple[int, dict[str, Any]]


def api_error(code: int, description: str, **parameters: Any) -> Error:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


def RETRY_AFTER(seconds: int = 5) -> Error:
    """Telegram's flood control answer."""
    return api_error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


BLOCKED = api_error(403, "Forbidden: bot was blocked by the user")
DEACTIVATED = api_error(403, "Forbidden: user is deactivated")
BAD_REQUEST = api_error(400, "Bad Request: message text is empty")
CHAT_NOT_FOUND = api_error(400, "Bad Request: chat not found")
SERVER_DOWN = api_error(502, "Bad Gateway")
UNAUTHORIZED = api_error(401, "Unauthorized")


@dataclass
class Call:
    method: str  # the Bot API method, e.g. "sendMessage"
    params: dict[str, Any]  # parameters as sent (strings; JSON values decoded)
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    answer: Any = None
    at: float = 0.0  # time.monotonic() when it arrived


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Window:
    """Sliding-window counter: at most `limit` events in any `span` seconds."""

    def __init__(self, limit: float, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: collections.deque[float] = collections.deque()

    def allow(self, now: float) -> bool:
        while self.times and now - self.times[0] >= self.span:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True


class _Bucket:
    """Token bucket: `rate` a second with `burst` in hand (Telegram tolerates short bursts)."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, now

    def allow(self, now: float, slack: float = 0.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1 - slack - 1e-9:
            self.tokens -= 1
            return True
        return False


class _Server(ThreadingHTTPServer):
    """A thread per connection (clients keep connections alive), a listen backlog deep enough
    for a pool of connections opened at once, and clients hanging up are not errors."""

    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeTelegram:
    """The fake Bot API. Use as a context manager: ``with FakeTelegram(token) as tg: ...``."""

    def __init__(self, token: str, *, username: str = "isaf_test_bot", port: int = 0,
                 record_calls: bool = True,
                 on_send: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.username = username
        self.record_calls = record_calls
        self.on_send = on_send
        self.calls: list[Call] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.answered_callbacks: list[dict[str, Any]] = []
        self.limit_violations: list[str] = []
        self.webhook: dict[str, Any] = {}
        self._sent: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._updates: list[dict[str, Any]] = []
        self._again: list[dict[str, Any]] = []
        self._failures: dict[str, list[Error | None]] = {}
        self._outage: Error | None = None
        self._delays: dict[str, list[float]] = {}
        self._limits: dict[str, float] | None = None
        self._global: _Window | None = None
        self._chats: dict[str, _Bucket] = {}
        self._groups: dict[str, _Window] = {}
        self._topics: dict[str, set[int]] = {}  # forum chats and their topics
        self._migrated: dict[str, int] = {}  # a group upgraded to a supergroup: old -> new id
        self._supergroup_ids = itertools.count(-1_002_000_000_001, -1)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self.downloads: list[str] = []
        self._files: dict[str, tuple[str, bytes, int]] = {}  # file_id -> path, bytes, size
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-telegram")

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL (or Bot(base_url=...)) is set to: the token follows."""
        return f"{self.url}/bot"

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        with self._arrived:
            self._arrived.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ control

    def fail(self, target: str | int, *errors: Error | None) -> None:
        """The next calls for `target` (a chat id, or a method name such as "getUpdates" or
        "answerCallbackQuery") answer these errors in turn (None: that call goes through)."""
        with self._lock:
            self._failures.setdefault(str(target), []).extend(errors)

    def outage(self, error: Error | None) -> None:
        """Until called again with None, every call answers `error`: Telegram down
        (``SERVER_DOWN``) or a 429 storm (``RETRY_AFTER(1)``)."""
        with self._lock:
            self._outage = error

    def delay(self, chat_id: str | int, *seconds: float) -> None:
        """The next send calls to `chat_id` wait this long before they are handled."""
        with self._lock:
            self._delays.setdefault(str(chat_id), []).extend(seconds)

    def enforce_limits(self, *, max_per_second: float = 30, per_chat_per_second: float = 1,
                       chat_burst: float = 3, per_group_per_minute: float = 20,
                       jitter: float = 0.1) -> None:
        """Answer 429 above Telegram's limits: `max_per_second` sends in any one second (a
        sliding window), `per_chat_per_second` per chat (a token bucket with `chat_burst`),
        `per_group_per_minute` in any minute per group (negative chat ids). `jitter` seconds
        of network jitter are tolerated (sends a client spaced exactly can arrive a little
        closer together; Telegram's own limits are not exact either): the windows are that
        much shorter and a chat's bucket that much fuller."""
        with self._lock:
            self._limits = {"chat": per_chat_per_second, "burst": chat_burst,
                            "group": per_group_per_minute, "jitter": jitter}
            self._global = _Window(max_per_second, 1.0 - jitter)
            self._chats.clear()
            self._groups.clear()

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is given when it has none). Like
        Telegram, getUpdates forgets updates below the bot's offset: push updates in the
        order their ids were made (use `redeliver` to send one again)."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        with self._arrived:
            self._updates.append(update)
            self._arrived.notify_all()
        return update

    def post_webhook(self, update: dict[str, Any], *, secret: str | None = "registered",
                     timeout: float = 30.0) -> int:
        """Deliver an update to the registered webhook as Telegram does; the HTTP status."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        url = self.webhook.get("url")
        if not url:
            raise RuntimeError("no webhook is set")
        headers = {"Content-Type": "application/json"}
        token = self.webhook.get("secret_token") if secret == "registered" else secret
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        response = httpx.post(url, content=json.dumps(update).encode(), headers=headers,
                              timeout=timeout)
        return response.status_code

    # ------------------------------------------------------------------ groups

    def open_topic(self, chat_id: int, name: str = "Meetings") -> int:
        """Make the supergroup a forum (if it was not) and create a topic; its thread id."""
        thread = next(self._message_ids)
        with self._lock:
            self._topics.setdefault(str(chat_id), set()).add(thread)
        return thread

    def migrate(self, chat_id: int) -> tuple[int, list[dict[str, Any]]]:
        """Upgrade a group to a supergroup: the new id, and the service updates Telegram sends
        then (in the old group, then in the new supergroup)."""
        new_id = next(self._supergroup_ids)
        with self._lock:
            self._migrated[str(chat_id)] = new_id
        old_message = self.message(chat_id, user_id=7_000_001, chat_type="group",
                                   migrate_to_chat_id=new_id)
        new_message = self.message(new_id, user_id=7_000_001, chat_type="supergroup",
                                   migrate_from_chat_id=chat_id)
        return new_id, [{"update_id": next(self._update_ids), "message": old_message},
                        {"update_id": next(self._update_ids), "message": new_message}]

    # ------------------------------------------------------------------ updates

    def redeliver(self, update: dict[str, Any]) -> None:
        """Serve an update again at the next getUpdates whatever the bot's offset, as Telegram
        does for updates a bot fetched but did not confirm before it restarted."""
        with self._arrived:
            self._again.append(update)
            self._arrived.notify_all()

    def pending(self) -> int:
        """Updates queued for getUpdates that the bot has not confirmed yet (by asking with a
        higher offset): 0 once everything pushed was fetched and the bot polled again."""
        with self._lock:
            return len(self._updates) + len(self._again)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def _user(self, user_id: int, first_name: str, language: str | None, *,
              last_name: str | None = None, username: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language:
            user["language_code"] = language
        return user

    def message(self, chat_id: int, *, user_id: int | None = None, first_name: str = "Sokha",
                last_name: str | None = None, username: str | None = None,
                language: str | None = "km", chat_type: str | None = None,
                topic: int | None = None, **content: Any) -> dict[str, Any]:
        """A Message object from a user (private chat unless the chat id is negative), in a
        forum topic when `topic` is given; like Telegram's, a private chat carries the user's
        names too."""
        user_id = user_id if user_id is not None else chat_id
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = "Commune council"
        if str(chat_id) in self._topics:
            chat["is_forum"] = True
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": chat, "from": self._user(user_id, first_name, language,
                                                    last_name=last_name, username=username),
                   **content}
        if topic is not None:
            message |= {"message_thread_id": topic, "is_topic_message": True}
        return message

    def text_update(self, chat_id: int, text: str, **options: Any) -> dict[str, Any]:
        """An update with a text message; a leading /command gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        mention = f"@{self.username}"
        if mention in text and not text.startswith("/"):
            at = text.index(mention)
            content.setdefault("entities", []).append(
                {"type": "mention", "offset": _utf16(text[:at]), "length": len(mention)})
        content.update(options.pop("extra", {}))
        return {"update_id": next(self._update_ids),
                "message": self.message(chat_id, **content, **options)}

    def callback_update(self, chat_id: int, data: str, *, user_id: int | None = None,
                        language: str | None = "km", first_name: str = "Sokha",
                        last_name: str | None = None, username: str | None = None,
                        topic: int | None = None) -> dict[str, Any]:
        """A press on an inline keyboard button under one of the bot's messages (in a forum
        topic when `topic` is given). Like Telegram's, the query carries the presser's names
        and the whole message the button was under: its text and its keyboard (every
        button's label and data), when the bot sent that message through this fake."""
        user_id = user_id if user_id is not None else chat_id
        kind = "private" if chat_id > 0 else "supergroup" if topic is not None else "group"
        bot_message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": kind},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "isaf-bot",
                     "username": self.username},
            "text": "…"}
        if topic is not None:
            bot_message |= {"message_thread_id": topic, "is_topic_message": True}
        under = self._message_with_button(chat_id, data)
        if under is not None:
            bot_message["message_id"] = under["message_id"]
            bot_message["text"] = under.get("text") or under.get("caption") or ""
            bot_message["reply_markup"] = under["reply_markup"]
        return {"update_id": next(self._update_ids), "callback_query": {
            "id": str(next(self._message_ids) + 4_000_000_000),
            "from": self._user(user_id, first_name, language, last_name=last_name,
                               username=username),
            "chat_instance": "42", "message": bot_message, "data": data}}

    def _message_with_button(self, chat_id: int, data: str) -> dict[str, Any] | None:
        """The newest message sent to the chat with a button carrying `data`."""
        with self._lock:
            for record in reversed(self._sent.get(str(chat_id), [])):
                markup = record.get("reply_markup")
                if isinstance(markup, dict) and any(
                        button.get("callback_data") == data
                        for row in markup.get("inline_keyboard", []) for button in row):
                    return record
        return None

    def add_file(self, data: bytes, *, size: int | None = None, suffix: str = "jpg"
                 ) -> dict[str, Any]:
        """A file users can send: its fields for ``media_update(..., file=...)``. `size` is the
        file_size Telegram tells (a 20 MB photo without 20 MB of bytes)."""
        number = next(self._message_ids)
        file_id, told = f"FILE{number}", len(data) if size is None else size
        with self._lock:
            self._files[file_id] = (f"files/file_{number}.{suffix}", data, told)
        return {"file_id": file_id, "file_unique_id": f"UNIQUE{number}", "file_size": told}

    def media_update(self, chat_id: int, kind: str, *, file: dict[str, Any] | None = None,
                     **options: Any) -> dict[str, Any]:
        """A sticker, photo, voice note, video, video_note, audio, document, location, venue,
        contact, animation or poll, shaped like Telegram's (`file`: its file fields, from
        ``add_file``, plus e.g. a voice note's ``duration``)."""
        file = {"file_id": f"F{next(self._message_ids)}", "file_unique_id": "U1", **(file or {})}
        contents: dict[str, Any] = {
            "sticker": {"sticker": {**file, "type": "regular", "width": 512, "height": 512,
                                    "is_animated": False, "is_video": False, "emoji": "👍"}},
            "photo": {"photo": [{**file, "width": 90, "height": 90},
                                {**file, "width": 800, "height": 800}]},
            "voice": {"voice": {"duration": 3, "mime_type": "audio/ogg", **file}},
            "audio": {"audio": {**file, "duration": 200, "title": "song"}},
            "video": {"video": {**file, "width": 640, "height": 480, "duration": 5}},
            "video_note": {"video_note": {**file, "length": 240, "duration": 4}},
            "animation": {"animation": {**file, "width": 320, "height": 240, "duration": 2},
                          "document": {**file}},
            "document": {"document": {**file, "file_name": "plan.pdf",
                                      "mime_type": "application/pdf"}},
            "location": {"location": {"latitude": 11.5564, "longitude": 104.9282}},
            "venue": {"location": {"latitude": 11.5564, "longitude": 104.9282},
                      "venue": {"location": {"latitude": 11.5564, "longitude": 104.9282},
                                "title": "Wat Phnom", "address": "Phnom Penh"}},
            "contact": {"contact": {"phone_number": "+85512345678", "first_name": "Dara"}},
            "poll": {"poll": {"id": "1", "question": "?", "options": [], "total_voter_count": 0,
                              "is_closed": False, "is_anonymous": True, "type": "regular",
                              "allows_multiple_answers": False}},
        }
        return {"update_id": next(self._update_ids),
                "message": self.message(chat_id, **contents[kind], **options)}

    # ------------------------------------------------------------------ what it saw

    def sent(self, chat_id: str | int | None = None) -> list[dict[str, Any]]:
        """Accepted sendMessage/sendPhoto calls, in order (optionally to one chat)."""
        with self._lock:
            if chat_id is not None:
                return list(self._sent.get(str(chat_id), []))
            return [m for messages in self._sent.values() for m in messages]

    def texts(self, chat_id: str | int) -> list[str]:
        """What the user read: each message's text or caption."""
        return [m.get("text") or m.get("caption") or "" for m in self.sent(chat_id)]

    def chats(self) -> list[str]:
        with self._lock:
            return list(self._sent)

    def attempts(self, chat_id: str | int) -> list[Call]:
        """Every send call to a chat, refused ones included."""
        with self._lock:
            return [c for c in self.calls if c.method in SEND_METHODS
                    and str(c.params.get("chat_id")) == str(chat_id)]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the fake Telegram did not see what was expected in time")
            time.sleep(0.02)

    # ------------------------------------------------------------------ the server

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from Telegram

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                url = urlsplit(self.path)
                if url.path.startswith("/file/bot"):
                    self._file(url.path)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = fake.handle(url.path, url.query, raw,
                                             self.headers.get("Content-Type", ""))
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): the answer was lost

            def _file(self, path: str) -> None:
                status, data = fake.download(path)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def download(self, path: str) -> tuple[int, bytes]:
        """``GET /file/bot<token>/<file_path>``: the file's bytes (404 otherwise)."""
        prefix = f"/file/bot{self.token}/"
        path = unquote(path)  # httpx sends the token's colon as %3A
        with self._lock:
            if path.startswith(prefix):
                wanted = path[len(prefix):]
                for file_path, data, _ in self._files.values():
                    if file_path == wanted:
                        self.downloads.append(wanted)
                        return 200, data
        return 404, b"Not Found"

    def _get_file(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            found = self._files.get(str(call.params.get("file_id") or ""))
        if found is None:
            return api_error(400, "Bad Request: invalid file_id")
        file_path, _, size = found
        if size > 20 * 1024 * 1024:
            return api_error(400, "Bad Request: file is too big")
        file_id = str(call.params["file_id"])
        return self._ok({"file_id": file_id, "file_unique_id": f"U{file_id}",
                         "file_size": size, "file_path": file_path})

    def handle(self, path: str, query: str, raw: bytes, content_type: str) -> tuple[int, Any]:
        """One request: (HTTP status, JSON answer)."""
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match:
            return api_error(404, "Not Found")
        call = Call(match.group(2), {}, at=time.monotonic())
        try:
            call.params, call.files = _parameters(query, raw, content_type)
        except ValueError as error:
            status, answer = api_error(400, f"Bad Request: {error}")
        else:
            if match.group(1) != self.token:
                status, answer = UNAUTHORIZED
            else:
                status, answer = self._method(call)
        call.status, call.answer = status, answer
        with self._lock:
            self.counts[call.method] += 1
            if self.record_calls:
                self.calls.append(call)
        return status, answer

    def _method(self, call: Call) -> tuple[int, Any]:
        handler = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info, "sendMessage": self._send,
            "sendPhoto": self._send, "answerCallbackQuery": self._answer_callback,
            "editMessageReplyMarkup": self._edit_markup, "getFile": self._get_file,
        }.get(call.method)
        if handler is None:
            return api_error(404, "Not Found")
        outage = self._outage
        if outage is not None:
            return outage
        failure = self._next(self._failures, call.method)
        if failure:
            return failure
        return handler(call)

    def _next(self, table: dict[str, list[Any]], key: str) -> Any:
        with self._lock:
            queue = table.get(key)
            return queue.pop(0) if queue else None

    @staticmethod
    def _ok(result: Any) -> tuple[int, Any]:
        return 200, {"ok": True, "result": result}

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "isaf-bot",
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _get_me(self, _: Call) -> tuple[int, Any]:
        return self._ok(self._me())

    def _get_updates(self, call: Call) -> tuple[int, Any]:
        if self.webhook.get("url"):
            return api_error(409, "Conflict: can't use getUpdates method while webhook is "
                                  "active; use deleteWebhook to delete the webhook first")
        try:
            offset = int(call.params.get("offset") or 0)
            limit = min(max(int(call.params.get("limit") or 100), 1), 100)
            timeout = max(float(call.params.get("timeout") or 0), 0.0)
        except ValueError:
            return api_error(400, "Bad Request: wrong parameter")
        allowed = call.params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                if offset:  # confirms every update before `offset`: Telegram forgets them
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = [u for u in self._updates
                         if not allowed or any(k in u for k in allowed)][:limit]
                if self._again:
                    ready, self._again = self._again + ready, []
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return self._ok(ready)
                self._arrived.wait(min(left, 0.5))

    def _set_webhook(self, call: Call) -> tuple[int, Any]:
        url = call.params.get("url") or ""
        secret = call.params.get("secret_token")
        if url and not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            return api_error(400, "Bad Request: bad webhook: An HTTPS URL must be provided "
                                  "for webhook")
        if secret is not None and not _SECRET.match(str(secret)):
            return api_error(400, "Bad Request: secret token contains unallowed characters")
        allowed = call.params.get("allowed_updates")
        if allowed is not None and not (isinstance(allowed, list)
                                        and all(isinstance(a, str) for a in allowed)):
            return api_error(400, "Bad Request: can't parse allowed updates")
        with self._lock:
            self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
            if call.params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        return self._ok(True)

    def _delete_webhook(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            self.webhook = {}
            if call.params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        return self._ok(True)

    def _webhook_info(self, _: Call) -> tuple[int, Any]:
        with self._lock:
            info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return self._ok(info)

    def _answer_callback(self, call: Call) -> tuple[int, Any]:
        if not call.params.get("callback_query_id"):
            return api_error(400, "Bad Request: query is too old and response timeout "
                                  "expired or query ID is invalid")
        with self._lock:
            self.answered_callbacks.append(dict(call.params))
        return self._ok(True)

    def _edit_markup(self, call: Call) -> tuple[int, Any]:
        if not call.params.get("chat_id") or not call.params.get("message_id"):
            return api_error(400, "Bad Request: message to edit not found")
        problem = _markup_problem(call.params.get("reply_markup"))
        if problem:
            return api_error(400, f"Bad Request: {problem}")
        return self._ok(True)

    def _send(self, call: Call) -> tuple[int, Any]:
        chat = str(call.params.get("chat_id") or "")
        if not re.fullmatch(r"-?\d+", chat):
            return CHAT_NOT_FOUND if chat else api_error(400, "Bad Request: chat_id is empty")
        delay = self._next(self._delays, chat)
        if delay:
            time.sleep(delay)
        failure = self._next(self._failures, chat)
        if failure:
            return failure
        with self._lock:
            moved_to = self._migrated.get(chat)
            topics = self._topics.get(chat)
        if moved_to is not None:
            return api_error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                             migrate_to_chat_id=moved_to)
        thread = call.params.get("message_thread_id")
        if thread is not None and (topics is None or not str(thread).isdigit()
                                   or int(thread) not in topics):
            return api_error(400, "Bad Request: message thread not found")
        problem = self._content_problem(call)
        if problem:
            return api_error(400, f"Bad Request: {problem}")
        if self._limits is not None and not self._within_limits(chat):
            self.limit_violations.append(chat)
            return RETRY_AFTER(1)
        message = self.message(int(chat), user_id=self.bot_id, first_name="isaf-bot",
                               language=None, topic=int(thread) if thread else None)
        message["from"] = self._me()
        record: dict[str, Any] = {"method": call.method, **call.params}
        if call.method == "sendPhoto":
            record["photo"] = call.files.get("photo", b"")
            message["photo"] = [{"file_id": f"P{message['message_id']}",
                                 "file_unique_id": "P", "width": 800, "height": 600}]
            if call.params.get("caption"):
                message["caption"] = call.params["caption"]
        else:
            message["text"] = call.params["text"]
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        record["message_id"] = message["message_id"]
        with self._lock:
            self._sent[chat].append(record)
        if self.on_send:
            self.on_send(chat, record)
        return self._ok(message)

    def _content_problem(self, call: Call) -> str | None:
        params = call.params
        if call.method == "sendMessage":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return "message text is empty"
            if _utf16(text) > MAX_TEXT:
                return "message is too long"
        else:
            photo = call.files.get("photo")
            if photo is None:
                if not params.get("photo"):
                    return "there is no photo in the request"
            elif not photo or len(photo) > MAX_PHOTO_BYTES:
                return "photo is empty or larger than 10 MB"
            caption = params.get("caption")
            if caption is not None and _utf16(str(caption)) > MAX_CAPTION:
                return "message caption is too long"
        return _markup_problem(params.get("reply_markup"))

    def _within_limits(self, chat: str) -> bool:
        assert self._limits is not None and self._global is not None
        now = time.monotonic()
        with self._lock:
            if chat not in self._chats:
                self._chats[chat] = _Bucket(self._limits["chat"], self._limits["burst"], now)
            slack = self._limits["jitter"] * self._limits["chat"]
            allowed = self._chats[chat].allow(now, slack) and self._global.allow(now)
            if allowed and chat.startswith("-"):
                if chat not in self._groups:
                    self._groups[chat] = _Window(self._limits["group"],
                                                 60.0 - self._limits["jitter"])
                allowed = self._groups[chat].allow(now)
            return allowed


def _markup_problem(markup: Any) -> str | None:
    """What Telegram refuses in a reply_markup (already decoded from JSON)."""
    if markup is None:
        return None
    if isinstance(markup, str):
        return "can't parse reply keyboard markup JSON object"
    if not isinstance(markup, dict):
        return "reply markup must be an object"
    if "inline_keyboard" not in markup:
        return None  # other keyboards: not checked here
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return "field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of " \
               "Arrays"
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                return "text buttons are unallowed in the inline keyboard"
            data, url = button.get("callback_data"), button.get("url")
            if (data is None) == (url is None):
                return "text buttons are unallowed in the inline keyboard"
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                return "BUTTON_DATA_INVALID"
            if url is not None and not re.fullmatch(r"(https://|tg://)[^\s]+", str(url)):
                return "BUTTON_URL_INVALID"
    return None


_JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "entities", "caption_entities",
                          "link_preview_options", "reply_parameters"})


def _parameters(query: str, raw: bytes, content_type: str) -> tuple[dict[str, Any],
                                                                    dict[str, bytes]]:
    """Parameters from the query string and a form, multipart or JSON body. JSON-typed fields
    (reply_markup...) are decoded; one that is not valid JSON stays a string (refused later)."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    files: dict[str, bytes] = {}
    if raw and content_type.startswith("multipart/form-data"):
        fields, files = multipart_fields(raw, content_type)
        params.update(fields)
    elif raw and content_type.startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise ValueError("can't parse JSON body") from error
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif raw:
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as error:
            raise ValueError("body is not UTF-8") from error
        params.update({k: v[-1] for k, v in form.items()})
    for name in _JSON_FIELDS & params.keys():
        if isinstance(params[name], str):
            with contextlib.suppress(ValueError):  # invalid JSON is refused later
                params[name] = json.loads(params[name])
    return params, files


def describe(record: dict[str, Any]) -> str:
    """A sent message as the user would see it."""
    lines = [f"=> chat {record.get('chat_id')} ({record['method']})"]
    if record["method"] == "sendPhoto":
        lines.append(f"[photo, {len(record.get('photo') or b'')} bytes]")
    text = record.get("text") or record.get("caption")
    if text:
        lines.append(str(text))
    markup = record.get("reply_markup")
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []):
            lines.append("  " + "  ".join(f"[{b.get('text')}] -> {b.get('callback_data')}"
                                          for b in row))
    return "\n".join(lines)


def main() -> None:
    """Run the fake alone, to try `isafbot run` by hand without Telegram:

        python -m tests.fake_telegram --token 123456:TEST --port 8098

    then start the bot with TELEGRAM_BOT_TOKEN=123456:TEST and
    TELEGRAM_API_BASE_URL=http://127.0.0.1:8098/bot (polling mode), type lines here as a user
    ("/start", "hello", "press svcs"), and read what the bot sends.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--chat", type=int, default=1001)
    args = parser.parse_args()
    fake = FakeTelegram(args.token, port=args.port)
    print(f"fake Bot API on {fake.base_url}", flush=True)
    shown: dict[str, int] = {}

    def printer() -> None:
        while True:
            time.sleep(0.2)
            for chat in fake.chats():
                messages = fake.sent(chat)
                for record in messages[shown.get(chat, 0):]:
                    print(describe(record), flush=True)
                shown[chat] = len(messages)

    with fake:
        threading.Thread(target=printer, daemon=True).start()
        for line in sys.stdin:
            line = line.strip()
            if line.startswith("press "):
                fake.push(fake.callback_update(args.chat, line[6:].strip()))
            elif line:
                fake.push(fake.text_update(args.chat, line))


if __name__ == "__main__":
    main()
