"""What strangers can send, fuzzed with Hypothesis: the Messenger and Telegram webhooks (any
header bytes, bodies, encodings and sizes, signed and unsigned) and the dialogue entry
(`App.handle` with any text, payload, command or argument, in Khmer, English, control
characters, lone surrogates and huge strings), on SQLite and PostgreSQL.

What must hold: no 500 and no exception, ever; what the webhooks accepted is handled by the
real inbox workers without a failure, and every message that asks for an answer gets one.

The web app is called directly as ASGI (`Asgi`): no HTTP client or server stands in between to
tidy the headers, so every byte reaches the app as a careless proxy could pass it. The budget
is the profile loaded in tests/conftest.py (ISAFBOT_FUZZ=deep for a long local run).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.inbox.models import InboundUpdate
from bot.server import build_runtime, build_web_app
from common.messages import Incoming, Kind
from dialogues.core.outbox import OutboxMessage
from tests import live_server
from tests.conftest import make_settings
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram

TG_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstu"
TG_SECRET = "fuzz-webhook-secret-0123456789"
FB_TOKEN = "fuzz-page-access-token"
FB_SECRET = "fuzz-app-secret-5f1c"
FB_VERIFY = "fuzz-verify-token"
MESSENGER = "/webhooks/messenger"
TELEGRAM = "/webhooks/telegram"
_UNIQUE = itertools.count(1_000_000)


# ------------------------------------------------------------------ strategies

ANY_CHAR = st.characters(exclude_categories=())  # controls, lone surrogates, everything
KHMER = st.characters(min_codepoint=0x1780, max_codepoint=0x17FF) | st.sampled_from(" ?៖។")
ODD = st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\u200b", "\u200d", "\ufeff",
                       "\u202e", "\ud800", "\udfff", "\U0001f600", "\r", "\n", "\t"])
SAMPLES = st.sampled_from([
    "how much is an ID card", "documents for a birth certificate", "hello", "help",
    "លិខិតឆ្លងដែន តម្លៃប៉ុន្មាន", "សួស្តី", "ថវិកាឃុំគោកឃ្លាង", "rate the health centre",
    "when is the next meeting", "English please", "/start svy_hc_120809", "/start c_120809",
    "/caf ABCDEFGH", "/rounds", "/broadcast status", "/language", "/meetings", "5", "skip",
    "@isaf_fuzz_bot how much is a family book"])
HUGE = st.builds(lambda unit, count: unit * count,
                 st.sampled_from(["ក", "a", "\x00", "😀", "\ud800", "ស្វា "]),
                 st.integers(4_000, 60_000))


def texts(max_size: int = 200) -> st.SearchStrategy[str]:
    """Real questions with odd characters spliced in, Khmer, ASCII, anything, huge."""
    spliced = st.builds(lambda head, odd, tail: head + odd + tail, SAMPLES,
                        st.text(ODD, min_size=1, max_size=3), SAMPLES | st.just(""))
    return st.one_of(SAMPLES, spliced, st.text(ANY_CHAR, max_size=max_size),
                     st.text(KHMER, max_size=max_size),
                     st.text(st.characters(max_codepoint=0x7E), max_size=max_size),
                     st.text(ODD | KHMER, max_size=40), HUGE)


# JSON values of any shape, for the odd corners of platform payloads.
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(ANY_CHAR, max_size=30),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
PAYLOADS = st.one_of(
    st.sampled_from(["menu", "lang:en", "lang:km", "svcs", "svy", "svy:go:health_centre",
                     "rnd:close:1:yes", "rnd:open:hc_120809", "meet:cancel:1:yes", "meet:sub",
                     "bc:new", "frm:yes", "frm:m:120809", "commune:120808", "commune:change",
                     "budget", "x" * 65]),
    st.builds(lambda prefix, rest: f"{prefix}:{rest}",
              st.sampled_from(["rnd", "meet", "svy", "frm", "bc", "commune", "lang", "svc"]),
              st.text(ANY_CHAR, max_size=30)),
    st.text(ANY_CHAR, max_size=70))
HEADER_BYTES = st.one_of(
    st.binary(max_size=120),
    st.text(ANY_CHAR, max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.builds(lambda tail: b"sha256=" + tail, st.binary(max_size=80)),
    st.builds(lambda tail: ("sha256=" + tail).encode("utf-8", "surrogatepass"),
              st.text(ANY_CHAR, max_size=64)))
HEADER_NAMES = st.sampled_from([b"x-hub-signature-256", b"x-telegram-bot-api-secret-token",
                                b"content-type", b"content-length", b"transfer-encoding",
                                b"x-forwarded-for", b"cookie", b"host"])
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_BYTES), max_size=5)
BODIES = st.one_of(st.binary(max_size=3000),
                   JSON.map(lambda v: json.dumps(v).encode()),
                   st.text(ANY_CHAR, max_size=500).map(
                       lambda s: s.encode("utf-8", "surrogatepass")),
                   st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000, b"", b"null",
                                    b'{"object": "page", "entry": [[]]}',
                                    b'{"update_id": 1e999}', b'{"update_id": -0}']))


def _id_text() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(0, 10**16).map(str), st.integers(-(10**15), 10**16),
                     st.text(ANY_CHAR, max_size=20), st.sampled_from(["", "x" * 200]),
                     st.none(), JSON)


@st.composite
def messenger_events(draw: st.DrawFn) -> dict[str, Any]:
    valid = st.integers(10**14, 10**16).map(str)
    psid = draw(valid if draw(st.integers(0, 4)) else _id_text())
    event: dict[str, Any] = {"sender": {"id": psid}, "recipient": {"id": "1000000000001"},
                             "timestamp": draw(st.one_of(st.integers(0, 2**42), JSON))}
    mid = draw(st.one_of(st.builds(lambda n: f"m_{n}", st.integers(0, 10**9)), _id_text()))
    kind = draw(st.sampled_from(["text", "text", "quick_reply", "postback", "referral",
                                 "attachment", "echo", "odd"]))
    if kind == "text":
        event["message"] = {"mid": mid, "text": draw(texts())}
    elif kind == "quick_reply":
        event["message"] = {"mid": mid, "text": draw(texts(40)),
                            "quick_reply": {"payload": draw(PAYLOADS)}}
    elif kind == "postback":
        event["postback"] = {"mid": mid, "title": draw(texts(40)), "payload": draw(
            st.one_of(PAYLOADS, st.just("get_started"), JSON)),
            "referral": draw(st.one_of(st.none(), st.fixed_dictionaries(
                {"ref": st.one_of(texts(80), JSON)})))}
    elif kind == "referral":
        event["referral"] = {"ref": draw(st.one_of(texts(80), JSON))}
    elif kind == "attachment":
        event["message"] = {"mid": mid, "attachments": draw(st.lists(st.one_of(
            st.fixed_dictionaries({"type": st.sampled_from(
                ["image", "audio", "video", "file", "location", "fallback", "sticker"]),
                "payload": JSON}), JSON), max_size=3))}
    elif kind == "echo":
        event["message"] = {"mid": mid, "text": "echo", "is_echo": True}
    else:
        event["message"] = draw(JSON)
    return event


@st.composite
def telegram_updates(draw: st.DrawFn) -> dict[str, Any]:
    # mostly what Telegram sends (so that most updates reach the dialogues), some nonsense
    chat_type = draw(st.sampled_from(["private"] * 4 + ["group", "supergroup", "channel",
                                                        "odd"]))
    user_id = draw(st.integers(1, 10**12) if draw(st.integers(0, 4)) else _id_text())
    chat_id = user_id if chat_type == "private" else draw(
        st.one_of(st.integers(-(10**13), -1), _id_text()))
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if draw(st.booleans()):
        chat["is_forum"] = True
    sender = {"id": user_id, "is_bot": draw(st.booleans() | JSON), "first_name": "Fuzz",
              "language_code": draw(st.sampled_from(["km", "en", "fr", ""]) | JSON)}
    message: dict[str, Any] = {"message_id": draw(st.integers(1, 10**9) | JSON),
                               "date": 0, "chat": chat, "from": sender}
    content = draw(st.sampled_from(["text", "text", "command", "mention", "media", "service",
                                    "odd"]))
    if content == "text":
        message["text"] = draw(texts())
    elif content == "command":
        message["text"] = "/" + draw(st.sampled_from(
            ["start", "help", "rounds", "caf", "broadcast", "meetings", "language", "x"])) \
            + draw(st.sampled_from(["", "@isaf_fuzz_bot", "@other_bot"])) + " " + draw(texts(80))
    elif content == "mention":
        message["text"] = "@isaf_fuzz_bot " + draw(texts())
        message["entities"] = draw(st.lists(JSON, max_size=3))
    elif content == "media":
        message[draw(st.sampled_from(["sticker", "voice", "photo", "document", "poll",
                                      "location", "contact"]))] = draw(JSON)
        message["caption"] = draw(texts(80) | JSON)
    elif content == "service":
        message[draw(st.sampled_from(["migrate_to_chat_id", "migrate_from_chat_id",
                                      "new_chat_members", "pinned_message"]))] = draw(
            st.integers(-(10**13), -1) | JSON)
    else:
        message.update(draw(st.dictionaries(st.text(max_size=20), JSON, max_size=4)))
    if draw(st.booleans()):
        message["message_thread_id"] = draw(st.integers(1, 10**6) | JSON)
        message["is_topic_message"] = draw(st.booleans() | JSON)
    update_id = draw(st.integers(1, 2**31))
    which = draw(st.sampled_from(["message", "message", "callback_query", "my_chat_member",
                                  "edited_message", "odd"]))
    if which == "callback_query":
        return {"update_id": update_id, "callback_query": {
            "id": draw(_id_text()), "from": sender, "message": message,
            "data": draw(st.one_of(PAYLOADS, JSON))}}
    if which == "my_chat_member":
        return {"update_id": update_id, "my_chat_member": {
            "chat": chat, "from": sender, "date": 0,
            "old_chat_member": {"status": draw(st.sampled_from(["left", "kicked", "member"]))},
            "new_chat_member": {"status": draw(st.sampled_from(["member", "administrator"]))}}}
    if which == "odd":
        return {"update_id": update_id, **draw(st.dictionaries(st.text(max_size=20), JSON,
                                                               max_size=3))}
    return {"update_id": update_id, which: message}


# ------------------------------------------------------------------ harness

class Asgi:
    """The project's web app (webhooks, dashboard, /healthz) called as ASGI on one event
    loop, without its workers: requests are only stored, as a webhook does."""

    def __init__(self, app: App) -> None:
        self.runtime = build_runtime(app, workers=1)
        self.web = build_web_app(self.runtime)
        self.loop = asyncio.new_event_loop()

    def request(self, method: str, path: str, headers: list[tuple[bytes, bytes]],
                body: bytes = b"", query: bytes = b"") -> int:
        return self.loop.run_until_complete(self._call(method, path, headers, body, query))

    async def _call(self, method: str, path: str, headers: list[tuple[bytes, bytes]],
                    body: bytes, query: bytes) -> int:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": query, "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8080)}
        try:
            await self.web(scope, receive, send)
        except Exception as error:  # ServerErrorMiddleware answered 500 and raised it
            raise AssertionError(f"{method} {path} raised {error!r}") from error
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        # /healthz's 503 is its answer, not a failure: the runtime is not started here
        # (no workers), so it says "starting"
        healthz = path == "/healthz" and status == 503
        assert status < 500 or healthz, f"{method} {path} answered {status}"
        return int(status)

    def close(self) -> None:
        for channel in self.runtime.channels.values():
            self.loop.run_until_complete(channel.stop())
        self.loop.close()


def signed(body: bytes) -> list[tuple[bytes, bytes]]:
    signature = "sha256=" + hmac.new(FB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return [(b"content-type", b"application/json"),
            (b"x-hub-signature-256", signature.encode())]


TG_HEADERS = [(b"content-type", b"application/json"),
              (b"x-telegram-bot-api-secret-token", TG_SECRET.encode())]


@pytest.fixture
def fuzz_app(tmp_path: Path, database_url: str, nlu: Any) -> Iterator[App]:
    with FakeTelegram(TG_TOKEN, username="isaf_fuzz_bot") as tg, \
            FakeGraph(FB_TOKEN, FB_SECRET) as graph:
        env = {"TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
               "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
               "TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "TELEGRAM_TIMEOUT": "2",
               "TELEGRAM_RETRY_SECONDS": "0.3",
               "MESSENGER_PAGE_ACCESS_TOKEN": FB_TOKEN, "MESSENGER_APP_SECRET": FB_SECRET,
               "MESSENGER_VERIFY_TOKEN": FB_VERIFY, "MESSENGER_GRAPH_URL": graph.url,
               "MESSENGER_RETRY_SECONDS": "0.3", "MESSENGER_TIMEOUT": "2"}
        application = bootstrap(make_settings(tmp_path, database_url, **env), nlu=nlu)
        yield application
        application.close()


@pytest.fixture
def asgi(fuzz_app: App) -> Iterator[Asgi]:
    client = Asgi(fuzz_app)
    yield client
    client.close()


def assert_all_handled_and_answered(app: App, asgi: Asgi) -> None:
    """Run the real workers and dispatcher over everything stored: no update fails, and every
    one that becomes a message to answer has at least one reply queued for its chat. (What
    each should become is read first: a handled update keeps no payload.)"""
    with app.db.session() as session:
        stored = [(u.channel, u.payload) for u in session.execute(select(InboundUpdate))
                  .scalars()]
    expected = {}
    for channel, payload in stored:
        incoming = asgi.runtime.channels[channel].to_incoming(payload)
        if incoming is not None and incoming.kind != Kind.MOVED:
            expected[incoming.address] = payload
    assert len(expected) >= 5, "the fuzzing stored too few messages to answer"
    with live_server.LiveServer(app, workers=2) as server:
        server.wait_idle()
        with app.db.session() as session:
            updates = list(session.execute(select(InboundUpdate)).scalars())
            addresses = set(session.execute(select(OutboxMessage.address)).scalars())
        failed = [(u.channel, u.external_id, u.error) for u in updates if u.status != "done"]
        assert not failed, failed[:3]
        unanswered = {address: payload for address, payload in expected.items()
                      if address not in addresses}
        assert not unanswered, list(unanswered.items())[:3]


# ------------------------------------------------------------------ the reproduction

def test_a_non_ascii_signature_is_refused_not_a_500(asgi: Asgi) -> None:
    """Issue 12, point 12: `X-Hub-Signature-256: sha256=é…` answered 500 with a traceback."""
    body = json.dumps({"object": "page", "entry": []}).encode()
    for value in (b"sha256=\xe9" + b"0" * 63, "sha256=ក".encode(), b"\xff\xfe"):
        headers = [(b"content-type", b"application/json"), (b"x-hub-signature-256", value)]
        assert asgi.request("POST", MESSENGER, headers, body) == 403
    for value in (b"\xe9" * 30, "សម្ងាត់".encode() * 4, TG_SECRET.encode() + b"\xff"):
        headers = [(b"x-telegram-bot-api-secret-token", value)]
        assert asgi.request("POST", TELEGRAM, headers, b"{}") == 403


def test_odd_content_lengths_are_refused_not_a_500(asgi: Asgi) -> None:
    """A Content-Length of "²" (0xB2 in Latin-1) passed str.isdigit() and failed int()."""
    body = json.dumps({"object": "page", "entry": []}).encode()
    for length in (b"\xb2", b"\xd9\xa3", b"-1", b"1e3", b" 12", b"99999999999999999999"):
        headers = [*signed(body), (b"content-length", length)]
        assert asgi.request("POST", MESSENGER, headers, body) in (200, 400, 413)
        assert asgi.request("POST", TELEGRAM, [*TG_HEADERS, (b"content-length", length)],
                            b'{"update_id": 5}') in (200, 400, 413)


# ------------------------------------------------------------------ webhooks

@given(path=st.sampled_from([MESSENGER, TELEGRAM, "/healthz", "/dashboard/login",
                             "/dashboard/", "/dashboard/lang", "/dashboard/rounds/1",
                             "/results", "/results/120809"]),
       method=st.sampled_from(["POST", "GET"]), headers=HEADERS, body=BODIES,
       query=st.binary(max_size=200))
def test_no_request_fails_on_any_headers_and_bodies(asgi: Asgi, path: str, method: str,
                                                       headers: list[tuple[bytes, bytes]],
                                                       body: bytes, query: bytes) -> None:
    status = asgi.request(method, path, headers, body, query)
    if method == "POST" and path in (MESSENGER, TELEGRAM):
        assert status in (403, 413)  # nothing unsigned gets in


@given(query=st.dictionaries(st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge",
                                              "x"]), st.text(ANY_CHAR, max_size=40),
                             max_size=4))
def test_messenger_verification_never_fails(asgi: Asgi, query: dict[str, str]) -> None:
    from urllib.parse import quote

    raw = "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}"
                   for k, v in query.items()).encode()
    asgi.request("GET", MESSENGER, [], b"", raw)


@given(events=st.lists(messenger_events(), min_size=1, max_size=3),
       extra=st.dictionaries(st.text(max_size=10), JSON, max_size=2))
def test_signed_messenger_events_are_stored_or_refused(asgi: Asgi, events: list[Any],
                                                       extra: dict[str, Any]) -> None:
    for event in events:  # Hypothesis repeats simple ids: unique ones, or all are redeliveries
        for key in ("message", "postback"):
            if isinstance(event.get(key), dict) and isinstance(event[key].get("mid"), str):
                event[key]["mid"] += f"-{next(_UNIQUE)}"
    body = json.dumps({"object": "page", **extra,
                       "entry": [{"id": "1000000000001", "time": 0, "messaging": events}]}
                      ).encode()
    # 413: a body over the limit (60,000 escaped Khmer characters are 1.8 MB; a real update
    # carries at most 4,096 characters)
    assert asgi.request("POST", MESSENGER, signed(body), body) in (200, 400, 413)


@given(update=telegram_updates())
def test_telegram_updates_are_stored_or_refused(asgi: Asgi, update: dict[str, Any]) -> None:
    update["update_id"] = next(_UNIQUE)  # Hypothesis repeats simple ids (redeliveries)
    assert asgi.request("POST", TELEGRAM, TG_HEADERS, json.dumps(update).encode()) in (200, 400,
                                                                                       413)


def test_what_the_webhooks_stored_is_handled_and_answered(fuzz_app: App, asgi: Asgi) -> None:
    """The two tests above, then the real workers over all that they stored."""
    test_signed_messenger_events_are_stored_or_refused(asgi)
    test_telegram_updates_are_stored_or_refused(asgi)
    assert_all_handled_and_answered(fuzz_app, asgi)


# ------------------------------------------------------------------ the dialogue entry

@given(kind=st.sampled_from(list(Kind)), text=texts(), payload=st.none() | PAYLOADS,
       command=st.none() | st.sampled_from(["start", "help", "rounds", "caf", "broadcast",
                                            "meetings", "language", "stop", "x"]) | texts(30),
       argument=st.none() | texts(80), channel=st.sampled_from(["console", "telegram",
                                                                "messenger"]),
       user=st.sampled_from(["1001", "1002", "777000"]),
       group=st.none() | st.sampled_from(["-1001234567890", "-42"]))
def test_the_dialogues_answer_anything(fuzz_app: App, kind: Kind, text: str,
                                       payload: str | None, command: str | None,
                                       argument: str | None, channel: str, user: str,
                                       group: str | None) -> None:
    incoming = Incoming(channel, user, kind, text=text, payload=payload, command=command,
                        argument=argument, chat_id=group if channel == "telegram" else None)
    if kind == Kind.MOVED:
        return  # not a message: re-addresses the outbox (tests/test_telegram_groups.py)
    replies = asyncio.run(fuzz_app.handle(incoming))
    assert replies, f"no answer to {incoming!r}"
    assert all(reply.text.strip() for reply in replies), replies
