"""A fake Graph API for the Messenger tests, on 127.0.0.1 (port 0).

It answers the calls isaf-bot makes (Send API, attachment upload API, Messenger Profile API,
reads through the batch API) the way Meta does, checks what Meta checks (the access token, from
the Authorization header or an access_token parameter, and the appsecret_proof parameter,
either from the query string or the body; the API version in the path, messaging_type, Meta's
size limits, Khmer clusters left whole), records every call (with the URL as sent), and can be
told to answer with Graph API errors (for the next calls, or all of them during an `outage`),
to be slow, or to enforce the 24-hour window.

Attachments people send (a receipt photo, a voice clip) are served like Meta's CDN:
``add_attachment(data)`` returns the URL a webhook's ``payload.url`` carries, under
``/cdn/<id>``, with an honest Content-Length, a false one (``announce=``: smaller than what is
sent) or none (``announce=None``, the body ending when the connection closes); ``served``
counts the bytes each one really wrote before the client stopped reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests_toolbelt.multipart.decoder import MultipartDecoder

COENG = "\u17d2"


def graph_error(status: int, code: int, message: str, subcode: int | None = None
                ) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return status, {"error": error}


# What Meta answers in these situations (Messenger Platform error codes).
RATE_LIMITED = graph_error(400, 613, "(#613) Calls to this API have exceeded the rate limit.")
TEMPORARY = graph_error(500, 1200, "Temporary send message failure. Please try again later.")
SERVER_DOWN = (503, "<html><body>Service Unavailable</body></html>")  # not even JSON
USER_UNAVAILABLE = graph_error(400, 551, "This person isn't available right now.", 1545041)
OUTSIDE_WINDOW = graph_error(400, 10, "(#10) This message is sent outside of allowed window.",
                             2018278)
INVALID_PARAMETER = graph_error(400, 100, "(#100) Invalid parameter")
BAD_TOKEN = graph_error(400, 190, "Invalid OAuth access token.")


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]  # the query string's
    url: str = ""  # the request target as sent (path and query)
    body: Any = None  # parsed JSON
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    answer: Any = None


class FakeGraph:
    def __init__(self, access_token: str, app_secret: str, api_version: str = "26.0", *,
                 port: int = 0) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.api_version = api_version
        self.calls: list[Call] = []
        self.profile: dict[str, Any] = {}
        self.uploads: dict[str, bytes] = {}
        self.window_violations: list[str] = []
        self._failures: dict[str, list[tuple[int, Any] | None]] = {}
        self._outage: tuple[int, Any] | None = None
        self._delays: dict[str, list[float]] = {}
        self._last_wrote: dict[str, datetime] = {}
        self.enforce_window = False
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.served: dict[str, int] = {}  # attachment id -> bytes written to the client
        self._cdn: dict[str, tuple[bytes, int | str | None]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- control

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> FakeGraph:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, target: str, *errors: tuple[int, Any] | None) -> None:
        """The next calls for `target` (a PSID, or "profile"/"upload") answer these errors
        (None: that call goes through)."""
        with self._lock:
            self._failures.setdefault(target, []).extend(errors)

    def outage(self, error: tuple[int, Any] | None) -> None:
        """Until called again with None, every call answers `error` (``TEMPORARY``,
        ``SERVER_DOWN``, ``RATE_LIMITED``): Meta down, or rate limiting the page."""
        with self._lock:
            self._outage = error

    def delay(self, psid: str, *seconds: float) -> None:
        """The next Send API calls to `psid` hang for these delays, then fail (temporary
        error): a slow Meta that did not deliver the message."""
        with self._lock:
            self._delays.setdefault(psid, []).extend(seconds)

    def user_wrote(self, psid: str, at: datetime | None = None) -> None:
        """What Meta knows: the user's last message opens the 24-hour window."""
        with self._lock:
            self._last_wrote[psid] = at or datetime.now(timezone.utc)

    def sent(self, psid: str | None = None) -> list[dict[str, Any]]:
        """Send API bodies Meta accepted, in order (optionally for one user)."""
        with self._lock:
            return [c.body for c in self.calls if c.path.endswith("/me/messages")
                    and c.status == 200 and (psid is None or c.body["recipient"]["id"] == psid)]

    def attempts(self, psid: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith("/me/messages")
                    and isinstance(c.body, dict)
                    and (c.body.get("recipient") or {}).get("id") == psid]

    def add_attachment(self, data: bytes, *, announce: int | str | None = "honest") -> str:
        """Serve `data` at a CDN URL (see the module docstring for `announce`)."""
        attachment = f"a{next(self._ids)}"
        with self._lock:
            self._cdn[attachment] = (data, announce)
            self.served[attachment] = 0
        return f"{self.url}/cdn/{attachment}?oh=signed"

    def _serve_attachment(self, handler: BaseHTTPRequestHandler, attachment: str) -> None:
        with self._lock:
            found = self._cdn.get(attachment)
        if found is None:
            handler.send_error(404)
            return
        data, announce = found
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        if announce is not None:
            handler.send_header("Content-Length",
                                str(len(data) if announce == "honest" else announce))
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for start in range(0, len(data), 65536):
                handler.wfile.write(data[start:start + 65536])
                with self._lock:
                    self.served[attachment] += len(data[start:start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading
        handler.close_connection = True

    # -- the server

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/cdn/"):
                    graph._serve_attachment(self, path[len("/cdn/"):])
                    return
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                call = Call(method, url.path, params, self.path)
                status, answer = graph.handle(call, raw, self.headers.get("Content-Type", ""),
                                              self.headers.get("Authorization", ""))
                call.status, call.answer = status, answer
                with graph._lock:
                    graph.calls.append(call)
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html" if isinstance(answer, str)
                                     else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): the answer was lost

        return Handler

    def handle(self, call: Call, raw: bytes, content_type: str,
               authorization: str = "") -> tuple[int, Any]:
        if self._outage is not None:
            if call.path.endswith("/me/messages"):
                with contextlib.suppress(ValueError):
                    call.body = json.loads(raw)
            return self._outage
        prefix = f"/v{self.api_version}"
        if call.path != prefix and not call.path.startswith(prefix + "/"):
            return graph_error(400, 2500, f"Unknown path components: {call.path}")
        problem = _parse_body(call, raw, content_type)
        if problem:
            return graph_error(400, 100, f"(#100) {problem}")
        # Meta reads the token from the Authorization header (Bearer or OAuth) or from an
        # access_token parameter, and every parameter from the query string or the body
        # (JSON fields, form fields): credentials in the body are parameters, not content.
        body_params = call.body if isinstance(call.body, dict) else call.form
        given = {name: body_params.pop(name, None) or call.params.get(name)
                 for name in ("access_token", "appsecret_proof")}
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and credential:
            given["access_token"] = credential.strip()
        proof = hmac.new(self.app_secret.encode(), self.access_token.encode(),
                         hashlib.sha256).hexdigest()
        if given["access_token"] != self.access_token or given["appsecret_proof"] != proof:
            return BAD_TOKEN  # the app requires the proof on every call, as it should
        endpoint = call.path[len(prefix):] or "/"
        if endpoint == "/" and call.method == "POST" and "batch" in call.form:
            return self._batch(call.form["batch"])
        if endpoint == "/me/messages" and call.method == "POST":
            return self._send(call.body)
        if endpoint == "/me/message_attachments" and call.method == "POST":
            return self._upload(call)
        if endpoint == "/me/messenger_profile":
            if call.method == "GET":
                return self._get_profile(call.params)
            return self._set_profile(call.body)
        return graph_error(400, 100, f"Unsupported {call.method} request: {endpoint}")

    def _get_profile(self, params: dict[str, str]) -> tuple[int, Any]:
        fields = params.get("fields", "").split(",")
        return 200, {"data": [{k: v for k, v in self.profile.items() if k in fields}]}

    def _batch(self, raw: str) -> tuple[int, Any]:
        """Graph API batch requests: the credentials of the batch cover each request; the
        answer is a list of {code, headers, body (JSON as text)}. Reads only (what the bot
        sends this way)."""
        try:
            requests = json.loads(raw)
        except ValueError:
            return graph_error(400, 100, "(#100) batch must be a JSON array")
        if not isinstance(requests, list) or not 1 <= len(requests) <= 50:
            return graph_error(400, 100, "(#100) batch: 1 to 50 requests")
        answers = []
        for request in requests:
            url = urlsplit("/" + str(request.get("relative_url", "")).lstrip("/"))
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if request.get("method", "GET").upper() == "GET" and \
                    url.path == "/me/messenger_profile":
                status, answer = self._get_profile(params)
            else:
                status, answer = graph_error(400, 100, f"Unsupported batch request {url.path}")
            answers.append({"code": status, "headers": [], "body": json.dumps(answer)})
        return 200, answers
    def _next(self, table: dict[str, list[Any]], key: str) -> Any:
        with self._lock:
            queue = table.get(key)
            return queue.pop(0) if queue else None

    def _send(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict):
            return graph_error(400, 100, "(#100) param recipient must be non-empty.")
        psid = str(body["recipient"].get("id"))
        delay = self._next(self._delays, psid)
        if delay:
            time.sleep(delay)
            return TEMPORARY
        failure = self._next(self._failures, psid)
        if failure:
            return failure
        if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return graph_error(400, 100, "(#100) messaging_type is required")
        problem = message_problem(body.get("message"), self.uploads)
        if problem:
            return graph_error(400, 100, f"(#100) {problem}")
        if self.enforce_window:
            with self._lock:
                last = self._last_wrote.get(psid)
            # a person's reply (the HUMAN_AGENT tag) may go 7 days after the user's message
            window = timedelta(days=7) if (body.get("messaging_type") == "MESSAGE_TAG"
                                           and body.get("tag") == "HUMAN_AGENT") \
                else timedelta(hours=24)
            if last is None or datetime.now(timezone.utc) - last >= window:
                self.window_violations.append(psid)
                return OUTSIDE_WINDOW
        return 200, {"recipient_id": psid, "message_id": f"m_{next(self._ids)}"}

    def _upload(self, call: Call) -> tuple[int, Any]:
        failure = self._next(self._failures, "upload")
        if failure:
            return failure
        try:
            message = json.loads(call.form.get("message", ""))
            attachment = message["attachment"]
        except (ValueError, KeyError, TypeError):
            return graph_error(400, 100, "(#100) param message must be a JSON attachment")
        if attachment.get("type") != "image" or "filedata" not in call.files:
            return graph_error(400, 100, "(#100) an image and its filedata are required")
        attachment_id = f"att_{next(self._ids)}"
        self.uploads[attachment_id] = call.files["filedata"]
        return 200, {"attachment_id": attachment_id}

    def _set_profile(self, body: Any) -> tuple[int, Any]:
        failure = self._next(self._failures, "profile")
        if failure:
            return failure
        if not isinstance(body, dict) or not body:
            return graph_error(400, 100, "(#100) profile properties are required")
        for greeting in body.get("greeting", []):
            if len(greeting.get("text", "")) > 160:
                return graph_error(400, 100, "(#100) greeting text is over 160 characters")
        menus = body.get("persistent_menu", [])
        if menus and not any(m.get("locale") == "default" for m in menus):
            return graph_error(400, 100, "(#100) persistent_menu needs a default locale")
        for menu in menus:
            actions = menu.get("call_to_actions", [])
            if len(actions) > 20 or any(len(a.get("title", "")) > 30 for a in actions):
                return graph_error(400, 100, "(#100) persistent_menu: too many or too long")
        if "persistent_menu" in body and "get_started" not in {**self.profile, **body}:
            return graph_error(400, 100, "(#100) persistent_menu needs get_started")
        self.profile.update(body)
        return 200, {"result": "success"}


def multipart_fields(raw: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """A multipart/form-data body's fields and files (by name); ValueError when malformed.
    Shared with the fake Telegram."""
    try:
        parts = MultipartDecoder(raw, content_type).parts
    except Exception as error:
        raise ValueError("can't parse multipart body") from error
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in parts:
        disposition = part.headers.get(b"Content-Disposition", b"").decode()
        name = re.search(r'name="([^"]+)"', disposition)
        if not name:
            continue
        if "filename=" in disposition:
            files[name.group(1)] = part.content
        else:
            fields[name.group(1)] = part.content.decode("utf-8")
    return fields, files


def _parse_body(call: Call, raw: bytes, content_type: str) -> str | None:
    """A request body as Meta reads it: a JSON object (call.body), form or multipart fields
    (call.form, call.files). What is wrong with it, or None."""
    if not raw:
        return None
    if content_type.startswith("application/json"):
        try:
            call.body = json.loads(raw)
        except ValueError:
            return "the body is not JSON"
        return None
    if content_type.startswith("multipart/form-data"):
        try:
            fields, files = multipart_fields(raw, content_type)
        except ValueError:
            return "Upload attachment failure."
        call.form.update(fields)
        call.files.update(files)
        return None
    try:
        call.form.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()})
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    return None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cluster_problem(text: str) -> str | None:
    """A Khmer cluster cut apart: a dangling COENG, or a text starting with a combining mark."""
    core = text[:-1] if text.endswith("…") else text
    if core.endswith(COENG):
        return f"{text!r} ends inside a Khmer cluster"
    if text and unicodedata.category(text[0]) in ("Mn", "Mc"):
        return f"{text!r} starts inside a cluster"
    return None


def message_problem(message: Any, uploads: dict[str, bytes]) -> str | None:
    """What Meta would refuse in a Send API message object."""
    if not isinstance(message, dict):
        return "param message must be an object"
    replies = message.get("quick_replies")
    if replies is not None:
        if not isinstance(replies, list) or not 1 <= len(replies) <= 13:
            return "quick_replies: between 1 and 13"
        for reply in replies:
            title = reply.get("title", "")
            if reply.get("content_type") != "text" or not title or _utf16(title) > 20:
                return f"quick reply title {title!r}: 1 to 20 characters"
            if cluster_problem(title) or len(reply.get("payload", "")) > 1000:
                return cluster_problem(title) or "payload too long"
    if "text" in message:
        text = message["text"]
        if not isinstance(text, str) or not text.strip() or _utf16(text) > 2000:
            return "message text: 1 to 2000 characters"
        return cluster_problem(text)
    attachment = message.get("attachment")
    if not isinstance(attachment, dict):
        return "message needs text or an attachment"
    payload = attachment.get("payload") or {}
    if attachment.get("type") == "image":
        if payload.get("attachment_id") not in uploads:
            return "unknown attachment_id"
        return None
    if attachment.get("type") != "template":
        return f"attachment type {attachment.get('type')!r} not supported here"
    if payload.get("template_type") == "button":
        buttons = payload.get("buttons") or []
        text = payload.get("text", "")
        if not text or _utf16(text) > 640 or not 1 <= len(buttons) <= 3:
            return "button template: text 1 to 640 characters, 1 to 3 buttons"
        return _buttons_problem(buttons) or cluster_problem(text)
    if payload.get("template_type") == "generic":
        elements = payload.get("elements") or []
        if not 1 <= len(elements) <= 10:
            return "generic template: 1 to 10 elements"
        for element in elements:
            if not element.get("title") or _utf16(element["title"]) > 80:
                return "element title: 1 to 80 characters"
            problem = _buttons_problem(element.get("buttons") or [])
            if problem:
                return problem
        return None
    return "unknown template_type"


def _buttons_problem(buttons: list[dict[str, Any]]) -> str | None:
    if len(buttons) > 3:
        return "at most 3 buttons"
    for button in buttons:
        title = button.get("title", "")
        if button.get("type") != "postback" or not title or _utf16(title) > 20:
            return f"button title {title!r}: 1 to 20 characters"
        if cluster_problem(title) or not button.get("payload"):
            return cluster_problem(title) or "postback payload missing"
    return None


def main() -> None:
    """Run the fake on its own, to try `isafbot run` by hand without a Facebook account:

        python -m tests.fake_graph --token T --secret S --port 8099

    then start the bot with MESSENGER_GRAPH_URL=http://127.0.0.1:8099 and post signed
    webhooks to it; every message the bot sends is printed as a user would see it.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    graph = FakeGraph(args.token, args.secret, port=args.port)
    print(f"fake Graph API on {graph.url}", flush=True)
    shown = 0
    with graph:
        while True:
            time.sleep(0.2)
            with graph._lock:
                new, shown = graph.calls[shown:], len(graph.calls)
            for call in new:
                print(describe(call), flush=True)


def describe(call: Call) -> str:
    """A call as a user (or the page admin) would see its effect."""
    if call.status != 200:
        return f"-- {call.method} {call.path}: {call.status} {call.answer}"
    if not call.path.endswith("/me/messages"):
        return f"-- {call.method} {call.path}: {json.dumps(call.body or call.form)[:300]}"
    body = call.body
    message = body["message"]
    lines = [f"=> {body['recipient']['id']} ({body['messaging_type']})"]
    payload = (message.get("attachment") or {}).get("payload") or {}
    if "text" in message or "text" in payload:
        lines.append(message.get("text") or payload["text"])
    if message.get("attachment", {}).get("type") == "image":
        lines.append(f"[image {payload.get('attachment_id')}]")
    for button in payload.get("buttons", []):
        lines.append(f"  [{button['title']}] -> {button['payload']}")
    for element in payload.get("elements", []):
        lines.append(f"  card {element['title']}: [{element['buttons'][0]['title']}] -> "
                     f"{element['buttons'][0]['payload']}")
    for reply in message.get("quick_replies", []):
        lines.append(f"  ({reply['title']}) -> {reply['payload']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
