"""The Messenger channel end to end: the real Starlette app served by uvicorn on 127.0.0.1,
signed webhook payloads over real HTTP, the real inbox workers and dispatcher, the real
pymessenger-based client against the fake Graph API (tests/fake_graph.py), the real NLU model,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.bootstrap import App, bootstrap
from bot.channels.messenger.client import MessengerClient, delivery_error
from bot.channels.messenger.inbound import events_of, to_incoming
from bot.channels.messenger.outbound import MAX_TEXT, StandardWindow, render, shorten
from bot.channels.messenger.settings import GET_STARTED, MessengerSettings
from bot.channels.messenger.setup import build_profile, menu_items
from bot.delivery import Held, Recipient, Rejected, RetryLater, Unreachable
from bot.features import FEATURES
from bot.inbox.models import InboundUpdate
from bot.settings import SettingsError
from common.db.base import utcnow
from common.messages import Button, Incoming, Kind, Reply
from common.splitting import clusters, split_text, units
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage, batch_report, enqueue
from tests import fake_graph, live_server
from tests.conftest import make_settings
from tests.fake_graph import FakeGraph, cluster_problem

TOKEN = "test-page-access-token"
APP_SECRET = "test-app-secret-5f1c"
VERIFY_TOKEN = "test-verify-token"
PAGE_ID = "1000000000001"
STICKER_LIKE = 369239263222822


# ------------------------------------------------------------------ harness

def messenger_env(graph: FakeGraph) -> dict[str, str]:
    return {
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_GRAPH_URL": graph.url,
        "MESSENGER_API_VERSION": "26.0",
        "MESSENGER_RETRY_SECONDS": "0.3",
        "MESSENGER_TIMEOUT": "1.5",
    }


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_mids = itertools.count(1)


def _event(psid: str, **content: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID},
            "timestamp": int(time.time() * 1000) + next(_mids), **content}


def text_event(psid: str, text: str, mid: str | None = None) -> dict[str, Any]:
    return _event(psid, message={"mid": mid or f"m_in_{next(_mids)}", "text": text})


def quick_reply_event(psid: str, title: str, payload: str) -> dict[str, Any]:
    return _event(psid, message={"mid": f"m_in_{next(_mids)}", "text": title,
                                 "quick_reply": {"payload": payload}})


def postback_event(psid: str, title: str, payload: str,
                   ref: str | None = None) -> dict[str, Any]:
    postback: dict[str, Any] = {"mid": f"m_pb_{next(_mids)}", "title": title, "payload": payload}
    if ref:
        postback["referral"] = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
    return _event(psid, postback=postback)


def attachment_event(psid: str, kind: str) -> dict[str, Any]:
    url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/example"
    attachments = {
        "sticker": [{"type": "image", "payload": {"url": url, "sticker_id": STICKER_LIKE}}],
        "voice": [{"type": "audio", "payload": {"url": url}}],
        "image": [{"type": "image", "payload": {"url": url}}],
        "video": [{"type": "video", "payload": {"url": url}}],
        "file": [{"type": "file", "payload": {"url": url}}],
        "location": [{"type": "location", "payload": {
            "coordinates": {"lat": 11.5564, "long": 104.9282}}}],
    }[kind]
    message: dict[str, Any] = {"mid": f"m_in_{next(_mids)}", "attachments": attachments}
    if kind == "sticker":
        message["sticker_id"] = STICKER_LIKE
    return _event(psid, message=message)


def batch(*events: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A webhook body; the events spread over `entries` entries as Meta batches them."""
    size = max(1, -(-len(events) // entries))
    return {"object": "page", "entry": [
        {"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events[i:i + size])}
        for i in range(0, len(events), size)]}


class LiveServer(live_server.LiveServer):
    """The web server, posting signed Messenger webhook batches."""

    def post(self, body: dict[str, Any] | bytes, *, signature: str | None = "valid",
             ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign(raw)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        assert self.http is not None
        return self.http.post("/webhooks/messenger", content=raw, headers=headers)

    def deliver(self, *events: dict[str, Any]) -> None:
        response = self.post(batch(*events))
        assert response.status_code == 200, response.text
        assert response.text == "EVENT_RECEIVED"
        self.wait_idle()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(TOKEN, APP_SECRET) as fake:
        yield fake


@pytest.fixture
def messenger_app(tmp_path: Path, database_url: str, nlu: Any, graph: FakeGraph
                  ) -> Iterator[App]:
    application = bootstrap(make_settings(tmp_path, database_url, **messenger_env(graph)),
                            nlu=nlu)
    yield application
    application.close()


@pytest.fixture
def live(messenger_app: App) -> Iterator[LiveServer]:
    with LiveServer(messenger_app) as server:
        yield server


def _user(app: App, psid: str) -> User:
    with app.db.session() as session:
        return session.execute(select(User).where(
            User.channel == "messenger", User.channel_user_id == psid)).scalar_one()


def _image_of(app: App, psid: str) -> Path:
    """The last chart the bot drew (the outbox drops a message once it is sent)."""
    charts = sorted((app.settings.data_dir / "charts").glob("*.png"),
                    key=lambda path: path.stat().st_mtime_ns)
    assert charts, "no chart was drawn"
    return charts[-1]


def _count(app: App, model: Any) -> int:
    with app.db.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


# ------------------------------------------------------------------ what a user saw

def choices(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(title, payload) of every choice offered, whatever its form."""
    found: list[tuple[str, str]] = []
    for body in messages:
        message = body["message"]
        found += [(q["title"], q["payload"]) for q in message.get("quick_replies", [])]
        payload = (message.get("attachment") or {}).get("payload") or {}
        found += [(b["title"], b["payload"]) for b in payload.get("buttons", [])]
        for element in payload.get("elements", []):
            found += [(element["title"], b["payload"]) for b in element["buttons"]]
    return found


def shown_text(messages: list[dict[str, Any]]) -> str:
    parts = []
    for body in messages:
        message = body["message"]
        if "text" in message:
            parts.append(message["text"])
        payload = (message.get("attachment") or {}).get("payload") or {}
        if payload.get("template_type") == "button":
            parts.append(payload["text"])
    return "\n".join(parts)


def _norm(text: str) -> str:
    return " ".join(text.split())


def assert_equivalent(console: list[Reply], sent: list[dict[str, Any]]) -> None:
    """Messenger showed the console's replies: every text, in order, and every button with
    the same payload and its label (whole, shortened at a cluster boundary, or numbered)."""
    assert sent, "nothing was sent on Messenger"
    assert all(body["messaging_type"] == "RESPONSE" for body in sent)
    text = _norm(shown_text(sent))
    position = 0
    for reply in console:
        found = text.find(_norm(reply.text), position)
        assert found >= 0, f"{reply.text!r} not shown on Messenger:\n{text}"
        position = found + len(_norm(reply.text))
    images = [body for body in sent
              if (body["message"].get("attachment") or {}).get("type") == "image"]
    assert len(images) == sum(1 for reply in console if reply.image)
    expected = [(b.title, b.payload) for reply in console for b in reply.buttons]
    shown = choices(sent)
    assert [p for _, p in shown] == [p for _, p in expected]
    for (title, _), (label, _) in zip(shown, expected, strict=True):
        if title == label:
            continue
        if title.endswith("…"):
            assert label.startswith(title[:-1]) and cluster_problem(title) is None, title
            continue
        assert f"{title}. {label}" in shown_text(sent), (title, label)  # numbered menu


class Conversation:
    """One user doing the same things on Messenger (webhook) and on the console
    (App.handle), turn by turn."""

    def __init__(self, live: LiveServer, graph: FakeGraph, console: App, psid: str) -> None:
        self.live, self.graph, self.console, self.psid = live, graph, console, psid
        self.offered: list[tuple[str, str]] = []
        self.offered_as: dict[str, str] = {}
        self.transcript: list[tuple[Any, list[Reply], list[dict[str, Any]]]] = []

    def step(self, action: str, value: Any = None) -> tuple[list[Reply], list[dict[str, Any]]]:
        if action == "press_index":
            value = self.offered[value][1]
            action = "press"
        console_replies = asyncio.run(self.console.handle(self._incoming(action, value)))
        before = len(self.graph.sent(self.psid))
        self.graph.user_wrote(self.psid)
        self.live.deliver(self._event(action, value))
        sent = self.graph.sent(self.psid)[before:]
        assert_equivalent(console_replies, sent)
        self.offered = choices(sent)
        self.offered_as = {}
        for body in sent:
            kind = "quick_reply" if body["message"].get("quick_replies") else "postback"
            for _, payload in choices([body]):
                self.offered_as[payload] = kind
        self.transcript.append(((action, value), console_replies, sent))
        return console_replies, sent

    def _incoming(self, action: str, value: Any) -> Incoming:
        if action == "text":
            return Incoming("console", self.psid, Kind.TEXT, text=value)
        if action == "press":
            return Incoming("console", self.psid, Kind.BUTTON, payload=value)
        if action == "start":
            return Incoming("console", self.psid, Kind.COMMAND, text="/start", command="start",
                            argument=value)
        return Incoming("console", self.psid, {"sticker": Kind.STICKER, "voice": Kind.VOICE,
                                               "image": Kind.IMAGE, "video": Kind.VIDEO,
                                               "file": Kind.FILE,
                                               "location": Kind.LOCATION}[action])

    def _event(self, action: str, value: Any) -> dict[str, Any]:
        if action == "text":
            return text_event(self.psid, value)
        if action == "start":
            return postback_event(self.psid, "Get Started", "get_started", ref=value)
        if action == "press":
            title = dict((p, t) for t, p in self.offered).get(value, value)
            if self.offered_as.get(value) == "quick_reply":
                return quick_reply_event(self.psid, title, value)
            return postback_event(self.psid, title, value)  # a button, or the page's menu
        return attachment_event(self.psid, action)


# ------------------------------------------------------------------ conversations

def test_english_conversation_matches_the_console(live: LiveServer, graph: FakeGraph,
                                                  console_app: App) -> None:
    chat = Conversation(live, graph, console_app, "7000000000000001")
    _, sent = chat.step("text", "hello")
    assert "Hello! I'm isaf-bot" in shown_text(sent)
    menu = choices(sent)  # a button template for 3 entries or fewer, else quick replies
    assert ("Commune services", "svcs") in menu and len(menu) == len(console_app.dialogues.menu)
    _, sent = chat.step("press", "svcs")
    assert len(sent[-1]["message"]["quick_replies"]) == 12  # every service, in one message
    assert ("Khmer nationality…", "svc:id_card") in choices(sent)
    chat.step("press", "svc:birth_certificate")  # a quick reply
    _, sent = chat.step("text", "how much does it cost")  # the service just shown
    assert "Birth certificate: free" in shown_text(sent) and "Source:" in shown_text(sent)
    chat.step("press", "svc:birth_certificate:place")
    _, sent = chat.step("text", "how much does Kok Khleang sangkat have?")  # a chart
    assert "Sample figures" in shown_text(sent)
    chart = next(m for m in sent if m["message"].get("attachment", {}).get("type") == "image")
    uploaded = graph.uploads[chart["message"]["attachment"]["payload"]["attachment_id"]]
    assert uploaded == _image_of(live.app, chat.psid).read_bytes()
    assert len(chart["message"]["quick_replies"]) >= 9  # the follow-ups, under the chart
    chat.step("press_index", 0)
    chat.step("sticker")
    chat.step("voice")
    chat.step("video")
    chat.step("press", "commune:change")  # as from the page's persistent menu
    _, sent = chat.step("text", "Kokir")  # namesakes with identical labels: numbered menu
    assert "1. Kokir (" in shown_text(sent) and choices(sent)[0][0] == "1"
    _, sent = chat.step("press_index", 1)
    assert "Got it: Kokir" in shown_text(sent)
    chat.step("text", "thank you")
    chat.step("text", "bye")
    user = _user(live.app, chat.psid)
    assert user.language == "en" and user.last_inbound_at is not None


def test_khmer_conversation_matches_the_console(live: LiveServer, graph: FakeGraph,
                                                console_app: App) -> None:
    chat = Conversation(live, graph, console_app, "7000000000000002")
    _, sent = chat.step("start", "nonsense_123")  # Get Started from an m.me link with a ref
    assert "តំណនេះមិនត្រឹមត្រូវ" in shown_text(sent)
    _, sent = chat.step("text", "ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន")
    assert "ឥតគិតថ្លៃ" in shown_text(sent) and "ប្រភព" in shown_text(sent)
    chat.step("press", "svc:birth_certificate:documents")
    _, sent = chat.step("press", "svcs")
    titles = dict((p, t) for t, p in choices(sent))
    # Khmer service names longer than 20 characters, shortened at a word or cluster boundary
    assert titles["svc:id_card"] == "អត្តសញ្ញាណប័ណ្ណ…"
    assert titles["svc:birth_certificate_copy"] == "សេចក្តីចម្លងសំបុត្រ…"
    assert all(units(t) <= 20 and cluster_problem(t) is None for t in titles.values())
    chat.step("press", "svc:id_card")
    _, sent = chat.step("text", "ថវិកាសង្កាត់ទឹកថ្លាប៉ុន្មាន")  # namesakes, then a Khmer chart
    assert all(units(t) <= 20 and cluster_problem(t) is None for t, _ in choices(sent))
    _, sent = chat.step("press_index", 0)
    assert "តួលេខគំរូ" in shown_text(sent) and "-km-" in _image_of(live.app, chat.psid).name
    chat.step("text", "ID card ធ្វើនៅណា")
    chat.step("location")
    chat.step("image")
    chat.step("file")
    chat.step("press", "commune:change")
    _, sent = chat.step("text", "ស្វាយជ្រុំ")  # communes of that name in several districts
    assert len(choices(sent)) >= 2
    assert all(t.startswith("ស្វាយជ្រុំ (") and units(t) <= 20 for t, _ in choices(sent))
    _, sent = chat.step("press_index", 1)
    assert "យល់ហើយ" in shown_text(sent)
    chat.step("text", "អរគុណ")
    assert _user(live.app, chat.psid).language == "km"


# ------------------------------------------------------------------ the webhook's defences

def test_verification_echoes_the_challenge_only_for_the_right_token(live: LiveServer) -> None:
    assert live.http is not None
    good = live.http.get("/webhooks/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert good.status_code == 200 and good.text == "1158201444"
    wrong = live.http.get("/webhooks/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403
    no_challenge = live.http.get("/webhooks/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN})
    assert no_challenge.status_code == 400
    assert live.http.get("/healthz").json()["channels"] == ["messenger"]


def test_bad_or_missing_signatures_are_refused_and_nothing_is_stored(
        live: LiveServer, graph: FakeGraph) -> None:
    body = json.dumps(batch(text_event("7000000000000003", "hello"))).encode()
    forged = {
        "missing": None,
        "empty": "",
        "wrong secret": sign(body, "not-the-app-secret"),
        "another body": sign(body + b" "),
        "sha1": "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest(),
        "no prefix": sign(body)[len("sha256="):],
        "garbage": "sha256=zz",
    }
    for name, signature in forged.items():
        response = live.post(body, signature=signature)
        assert response.status_code == 403, name
    assert live.post(b"{not json", signature=sign(b"{not json")).status_code == 400
    assert live.post(b"[1, 2]", signature=sign(b"[1, 2]")).status_code == 400
    assert live.post(b"\xff\xfe", signature=sign(b"\xff\xfe")).status_code == 400
    live.wait_idle()
    assert _count(live.app, InboundUpdate) == 0
    assert graph.calls == []
    # the same body, correctly signed, is taken
    assert live.post(body, signature=sign(body)).status_code == 200
    live.wait_idle()
    assert _count(live.app, InboundUpdate) == 1
    assert len(graph.sent("7000000000000003")) == 1


def test_replayed_events_are_answered_once(live: LiveServer, graph: FakeGraph) -> None:
    psid = "7000000000000004"
    first = text_event(psid, "how much is a birth certificate", mid="m_replayed_1")
    body = batch(first, dict(first))  # Meta can repeat an event inside a batch...
    for _ in range(3):  # ...and retries the whole batch when it did not see our 200
        assert live.post(body).status_code == 200
    press = postback_event(psid, "Where", "svc:birth_certificate:place")
    live.deliver(press)
    live.deliver(press)
    assert _count(live.app, InboundUpdate) == 2
    texts = [shown_text([m]) for m in graph.sent(psid)]
    assert sum("Birth certificate: free" in t for t in texts) == 1
    assert sum("📍 Birth certificate:" in t for t in texts) == 1


def test_reads_deliveries_echoes_and_other_objects_are_ignored(live: LiveServer,
                                                               graph: FakeGraph) -> None:
    psid = "7000000000000005"
    ignored = [
        _event(psid, read={"watermark": 1458668856253}),
        _event(psid, delivery={"mids": ["m_1"], "watermark": 1458668856253}),
        _event(PAGE_ID, message={"mid": "m_echo", "text": "our own reply", "is_echo": True}),
        _event(psid, reaction={"mid": "m_1", "action": "react", "emoji": "❤"}),
        {"recipient": {"id": PAGE_ID}, "message": {"mid": "m_no_sender", "text": "hi"}},
        "not an event",
    ]
    assert live.post(batch(*ignored)).status_code == 200  # type: ignore[arg-type]
    assert live.post({"object": "instagram", "entry": [
        {"id": "1", "messaging": [text_event(psid, "hi")]}]}).status_code == 200
    assert live.post({"object": "page", "entry": "nonsense"}).status_code == 200
    live.wait_idle()
    assert _count(live.app, InboundUpdate) == 0 and graph.calls == []


def test_a_batch_of_50_events_from_10_users_is_stored_at_once_and_answered_in_order(
        live: LiveServer, graph: FakeGraph, console_app: App) -> None:
    lines = ["hello", "what services do you know", "documents for a death certificate",
             "thank you", "goodbye"]
    expected = []
    for line in lines:
        replies = asyncio.run(console_app.handle(Incoming("console", "ref", Kind.TEXT,
                                                          text=line)))
        expected.append(replies[0].text)
    users = [f"71000000000000{n:02d}" for n in range(10)]
    events = [text_event(psid, line) for line in lines for psid in users]
    response = live.post(batch(*events, entries=7))
    assert response.status_code == 200
    with live.app.db.session() as session:  # all 50 stored before the answer
        stored = session.execute(select(InboundUpdate.chat_key)).scalars().all()
    assert len(stored) == 50
    live.wait_idle()
    for psid in users:
        texts = [shown_text([m]) for m in graph.sent(psid)]
        assert texts == expected, psid


def test_a_stored_event_survives_the_process_that_stored_it(
        messenger_app: App, graph: FakeGraph) -> None:
    psid = "7000000000000006"
    with LiveServer(messenger_app, workers=0) as dying:  # stores, then "dies" before handling
        assert dying.post(batch(text_event(psid, "hello"))).status_code == 200
    assert graph.calls == []
    with LiveServer(messenger_app) as restarted:
        restarted.wait_idle()
    assert "Hello! I'm isaf-bot" in shown_text(graph.sent(psid))


# ------------------------------------------------------------------ the 24-hour rule

def test_automated_messages_wait_for_the_window_and_go_with_the_next_reply(
        live: LiveServer, graph: FakeGraph) -> None:
    graph.enforce_window = True  # the fake refuses what Meta would refuse
    psid, fresh = "7000000000000007", "7000000000000008"
    for user in (psid, fresh):
        graph.user_wrote(user)
        live.deliver(text_event(user, "hello"))
    # a day and more passes for the first user (Meta's clock and ours)
    graph.user_wrote(psid, datetime.now(timezone.utc) - timedelta(hours=25))
    with live.app.db.session() as session:
        session.execute(update(User).where(User.channel_user_id == psid).values(
            last_inbound_at=utcnow() - timedelta(hours=25)))
        for user in (psid, fresh):
            row = session.execute(select(User).where(User.channel_user_id == user)).scalar_one()
            enqueue(session, user_id=row.id, channel="messenger", address=user,
                    replies=[Reply("Reminder: the commune meeting is tomorrow at 8:00.")],
                    automated=True, batch="meeting-1")
    live.wait_idle()
    with live.app.db.session() as session:
        assert batch_report(session, "meeting-1") == {"held": 1, "sent": 1}
    assert [m["messaging_type"] for m in graph.sent(fresh)][-1] == "UPDATE"
    before = len(graph.sent(psid))
    graph.user_wrote(psid)
    live.deliver(text_event(psid, "thank you"))
    after = graph.sent(psid)[before:]
    assert [(m["messaging_type"], shown_text([m])[:9]) for m in after] == [
        ("UPDATE", "Reminder:"), ("RESPONSE", "You're we")]
    with live.app.db.session() as session:
        assert batch_report(session, "meeting-1") == {"sent": 2}
    assert graph.window_violations == []  # nothing sent broke the rule


def test_meta_refusing_outside_the_window_holds_the_message(
        live: LiveServer, graph: FakeGraph) -> None:
    psid = "7000000000000009"
    live.deliver(text_event(psid, "hello"))
    graph.fail(psid, fake_graph.OUTSIDE_WINDOW)  # Meta's clock says the window closed
    with live.app.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == psid)).scalar_one()
        enqueue(session, user_id=user.id, channel="messenger", address=psid,
                replies=[Reply("The survey closes on Friday.")], automated=True, batch="s1")
    live.wait_idle()
    with live.app.db.session() as session:
        assert batch_report(session, "s1") == {"held": 1}
    live.deliver(text_event(psid, "hi"))
    assert "The survey closes on Friday." in shown_text(graph.sent(psid))


def test_the_window_policy() -> None:
    policy = StandardWindow()
    now = datetime(2026, 11, 29, 12, 0)

    def recipient(hours_ago: float | None) -> Recipient:
        last = None if hours_ago is None else now - timedelta(hours=hours_ago)
        return Recipient(1, "psid", "psid", last)

    assert policy.may_send(recipient(1), automated=False, now=now)
    assert policy.may_send(recipient(23.9), automated=True, now=now)
    assert not policy.may_send(recipient(24), automated=True, now=now)
    assert not policy.may_send(recipient(30), automated=False, now=now)  # Meta would refuse
    assert not policy.may_send(recipient(None), automated=True, now=now)


# ------------------------------------------------------------------ Graph API errors

def _row(app: App, psid: str) -> OutboxMessage:
    """The first message to a user; once final, it no longer holds the text."""
    with app.db.session() as session:
        row = session.execute(select(OutboxMessage).where(OutboxMessage.address == psid)
                              .order_by(OutboxMessage.id)).scalars().first()
    assert row is not None and row.reply is None
    return row


def test_rate_limits_outages_and_timeouts_are_retried(live: LiveServer,
                                                      graph: FakeGraph) -> None:
    cases = {
        "7000000000000010": lambda psid: graph.fail(psid, fake_graph.RATE_LIMITED),
        "7000000000000011": lambda psid: graph.fail(psid, fake_graph.SERVER_DOWN,
                                                    fake_graph.TEMPORARY),
        "7000000000000012": lambda psid: graph.delay(psid, 2.5),  # over MESSENGER_TIMEOUT
    }
    for psid, trouble in cases.items():
        trouble(psid)
        live.deliver(text_event(psid, "how much is an ID card"))
    deadline = time.monotonic() + 30
    while len(graph.attempts("7000000000000012")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the fake records the timed-out call when it gives up on it
    with live.app.db.session() as session:
        rows = session.execute(select(OutboxMessage)).scalars().all()
    assert {r.status for r in rows} == {"sent"}
    for psid in cases:
        assert sum("ID card: free" in shown_text([m]) for m in graph.sent(psid)) == 1
        assert len(graph.attempts(psid)) >= 2
    assert next(r for r in rows if r.address == "7000000000000011").attempts == 3


def test_a_user_who_cannot_be_reached_is_marked_and_found_again(
        live: LiveServer, graph: FakeGraph) -> None:
    psid = "7000000000000013"
    graph.fail(psid, fake_graph.USER_UNAVAILABLE)
    live.deliver(text_event(psid, "hello"))
    assert _row(live.app, psid).status == "unreachable"
    assert _user(live.app, psid).unreachable is True
    live.deliver(text_event(psid, "hello again"))  # they wrote: reachable again
    assert _user(live.app, psid).unreachable is False
    assert "Hello! I'm isaf-bot" in shown_text(graph.sent(psid))


def test_a_message_meta_refuses_for_good_is_failed_with_the_reason(
        live: LiveServer, graph: FakeGraph) -> None:
    psid = "7000000000000014"
    graph.fail(psid, fake_graph.INVALID_PARAMETER)
    live.deliver(text_event(psid, "hello"))
    row = _row(live.app, psid)
    assert row.status == "failed" and "(#100) Invalid parameter" in row.error
    live.deliver(text_event(psid, "thanks"))  # the next one goes
    assert "You're welcome" in shown_text(graph.sent(psid))


def test_graph_errors_map_to_what_the_dispatcher_does() -> None:
    from bot.channels.messenger.client import GraphError

    def mapped(status: int, code: int | None = None, subcode: int | None = None) -> type:
        return type(delivery_error(GraphError(status, "x", code, subcode), 5.0))

    assert mapped(400, 613) is RetryLater and mapped(400, 4) is RetryLater
    assert mapped(500, 1200) is RetryLater and mapped(503) is RetryLater
    assert mapped(0) is RetryLater  # timeout or no connection
    assert mapped(400, 551, 1545041) is Unreachable and mapped(400, 100, 2018001) is Unreachable
    assert mapped(400, 10, 2018278) is Held
    assert mapped(400, 100) is Rejected and mapped(400, 200, 2018028) is Rejected
    token = delivery_error(GraphError(400, "bad token", 190), 5.0)
    assert isinstance(token, RetryLater) and token.seconds >= 300


# ------------------------------------------------------------------ the client itself

@pytest.fixture
def client(graph: FakeGraph) -> Iterator[MessengerClient]:
    messenger_client = MessengerClient(TOKEN, APP_SECRET, graph_url=graph.url,
                                       api_version=26.0, timeout=2.0, retry_seconds=0.1)
    yield messenger_client
    messenger_client.close()


def test_a_long_reply_is_split_and_resumed_where_it_failed(client: MessengerClient,
                                                           graph: FakeGraph) -> None:
    sentence = "ឯកសារដែលត្រូវយកមក មានសំបុត្រកំណើត និងសៀវភៅគ្រួសារ។ "
    reply = Reply(sentence * 90, (Button("ម៉ឺនុយ", "menu"),))
    graph.fail("42", None, fake_graph.RATE_LIMITED)  # the first part goes, the second not
    with pytest.raises(RetryLater):
        asyncio.run(client.send_reply("42", reply))
    asyncio.run(client.send_reply("42", reply))  # the dispatcher's retry
    parts = [m["message"] for m in graph.sent("42")]
    assert len(parts) == 3  # nothing sent twice
    texts = [p.get("text") or p["attachment"]["payload"]["text"] for p in parts]
    assert all(units(t) <= 2000 and t.endswith("។") for t in texts)
    assert "".join(texts).replace(" ", "") == reply.text.replace(" ", "")
    assert parts[-1]["attachment"]["payload"]["buttons"][0]["payload"] == "menu"


def test_images_go_through_the_attachment_upload_api_once(client: MessengerClient,
                                                          graph: FakeGraph,
                                                          tmp_path: Path) -> None:
    from PIL import Image

    chart = tmp_path / "chart.png"
    Image.new("RGB", (40, 20), "white").save(chart)
    reply = Reply("Budget 2026 (sample figures)", (Button("Menu", "menu"),), image=chart)
    for psid in ("1", "2"):
        asyncio.run(client.send_reply(psid, reply))
    uploads = [c for c in graph.calls if c.path.endswith("/me/message_attachments")]
    assert len(uploads) == 1 and uploads[0].files["filedata"] == chart.read_bytes()
    assert json.loads(uploads[0].form["message"])["attachment"]["payload"]["is_reusable"]
    for psid in ("1", "2"):
        text, image = (m["message"] for m in graph.sent(psid))
        assert text == {"text": "Budget 2026 (sample figures)"}
        assert image["attachment"]["payload"]["attachment_id"] in graph.uploads
        assert image["quick_replies"][0]["payload"] == "menu"
    missing = Reply("chart", image=tmp_path / "gone.png")
    with pytest.raises(Rejected):
        asyncio.run(client.send_reply("3", missing))


def test_pymessenger_is_used_with_a_current_version_and_appsecret_proof(
        client: MessengerClient, graph: FakeGraph) -> None:
    from pymessenger.bot import Bot

    assert isinstance(client.bot, Bot)
    assert client.graph_url == f"{graph.url}/v26.0"
    asyncio.run(client.send_reply("5", Reply("hi", automated=True)))
    call = graph.calls[-1]
    assert call.path == "/v26.0/me/messages" and call.status == 200
    assert call.body["messaging_type"] == "UPDATE"
    wrong = MessengerClient("wrong-token", APP_SECRET, graph_url=graph.url, api_version=26.0)
    with pytest.raises(RetryLater):  # 190: wait for someone to fix the token
        asyncio.run(wrong.send_reply("5", Reply("hi")))
    wrong.close()
    with pytest.raises(RetryLater):  # the server is stopping: the row stays for the next start
        asyncio.run(wrong.send_reply("5", Reply("hi")))


# ------------------------------------------------------------------ Khmer choices

SERVICES_KM = ["សំបុត្រកំណើត", "សេចក្តីចម្លងសំបុត្រកំណើត", "ការបញ្ជាក់ឯកសារ", "សំបុត្រមរណភាព",
               "សៀវភៅគ្រួសារ", "អត្តសញ្ញាណប័ណ្ណសញ្ជាតិខ្មែរ", "សំបុត្របញ្ជាក់កំណើត",
               "ប័ណ្ណប្រកាសអាពាហ៍ពិពាហ៍", "សំបុត្រអាពាហ៍ពិពាហ៍", "សៀវភៅស្នាក់នៅ",
               "លិខិតបញ្ជាក់ទីលំនៅ", "លិខិតបញ្ជាក់ភាពនៅលីវ មេម៉ាយ ឬពោះម៉ាយ"]


def test_khmer_labels_are_shortened_without_breaking_a_cluster() -> None:
    for label in SERVICES_KM:
        title = shorten(label)
        assert units(title) <= 20
        if title == label:
            continue
        head = title[:-1]
        assert title.endswith("…") and label.startswith(head)
        # the cut is between two clusters of the label
        assert "".join(clusters(label)[:len(clusters(head))]) == head
    assert shorten("អត្តសញ្ញាណប័ណ្ណសញ្ជាតិខ្មែរ") == "អត្តសញ្ញាណប័ណ្ណ…"  # at a word end
    assert shorten("ប័ណ្ណប្រកាសអាពាហ៍ពិពាហ៍") == "ប័ណ្ណប្រកាសអាពាហ៍ពិ…"  # keeps "marriage"
    assert clusters("ស្ត្រី") == ["ស្ត្រី"]  # consonant + two subscripts + vowel: one cluster


def test_khmer_choices_become_quick_replies_or_a_numbered_menu() -> None:
    buttons = tuple(Button(label, f"svc:s{n}") for n, label in enumerate(SERVICES_KM))
    (message,) = render(Reply("សូមជ្រើសរើសមួយ៖", buttons))
    titles = [q["title"] for q in message.message["quick_replies"]]
    assert len(set(titles)) == 12 and all(units(t) <= 20 for t in titles)
    # two labels that only differ after 20 characters would look the same: numbered menu
    namesakes = (Button("ស្វាយជ្រុំ (ស្វាយជ្រុំ, ស្វាយរៀង)", "commune:200101"),
                 Button("ស្វាយជ្រុំ (ស្វាយជ្រុំ, ស្វាយអន្ទរ)", "commune:200102"),
                 Button("ស្វាយជ្រុំ (មេសាង, ព្រៃវែង)", "commune:140101"),
                 Button("ស្វាយជ្រុំ (អរិយក្សត្រ, កណ្តាល)", "commune:080101"))
    (message,) = render(Reply("មានឃុំ សង្កាត់ច្រើនដែលមានឈ្មោះនេះ។ សូមជ្រើសរើសមួយ៖", namesakes))
    assert [q["title"] for q in message.message["quick_replies"]] == ["១", "២", "៣", "៤"]
    assert "\n១. ស្វាយជ្រុំ (ស្វាយជ្រុំ, ស្វាយរៀង)\n២. " in message.message["text"]
    # more than 13 choices: a carousel with the whole labels
    many = tuple(Button(f"{label} {n}", f"svc:x{n}") for n, label in
                 enumerate(SERVICES_KM + SERVICES_KM[:4]))
    text, *cards = render(Reply("សេវាទាំងអស់៖", many))
    assert text.message == {"text": "សេវាទាំងអស់៖"}
    elements = [e for card in cards for e in card.message["attachment"]["payload"]["elements"]]
    assert [e["buttons"][0]["payload"] for e in elements] == [b.payload for b in many]
    assert all(units(e["buttons"][0]["title"]) <= 20 for e in elements)


def test_text_is_split_on_sentences_and_never_inside_a_cluster() -> None:
    khmer = "សេវានេះឥតគិតថ្លៃ បើរាយការណ៍ក្នុងរយៈពេល ៣០ ថ្ងៃ។" * 80
    parts = split_text(khmer, MAX_TEXT)
    assert len(parts) > 1 and all(units(p) <= 2000 and p.endswith("។") for p in parts)
    unbroken = "ស្ត្រី" * 900  # no space, no sentence end: cut between clusters
    parts = split_text(unbroken, MAX_TEXT)
    assert all(cluster_problem(p) is None and p.startswith("ស្ត្រី") for p in parts)
    assert "".join(parts) == unbroken
    english = "First paragraph. " * 60 + "\n\n" + "Second one. " * 100
    first, *_ = split_text(english, MAX_TEXT)
    assert first == ("First paragraph. " * 60).strip()
    assert split_text("", MAX_TEXT) == [] and split_text("short", MAX_TEXT) == ["short"]
    assert units("👍") == 2 and all(units(p) <= 2000 for p in split_text("👍" * 1500, MAX_TEXT))


# ------------------------------------------------------------------ events

def test_every_kind_of_event_becomes_the_right_incoming() -> None:
    psid = "8000000000000001"

    def incoming(event: dict[str, Any]) -> Incoming | None:
        (item,) = events_of(batch(event))
        assert item[1] == f"messenger:{psid}"
        return to_incoming(item[2])

    text = incoming(text_event(psid, "how much"))
    assert text and text.kind == Kind.TEXT and text.text == "how much" and text.message_id
    quick = incoming(quick_reply_event(psid, "Fee", "svc:id_card:fee"))
    assert quick and (quick.kind, quick.payload) == (Kind.BUTTON, "svc:id_card:fee")
    forged = incoming(quick_reply_event(psid, "Fee", "<script>"))
    assert forged and forged.kind == Kind.TEXT and forged.text == "Fee"
    menu = incoming(postback_event(psid, "Menu", "svcs"))
    assert menu and (menu.kind, menu.payload) == (Kind.BUTTON, "svcs")
    odd = incoming(postback_event(psid, "Old", "OLD PAYLOAD FROM ANOTHER BOT"))
    assert odd and (odd.kind, odd.payload) == (Kind.BUTTON, "menu")
    start = incoming(postback_event(psid, "Get Started", "get_started", ref="c_120809"))
    assert start and (start.kind, start.command, start.argument) == (Kind.COMMAND, "start",
                                                                      "c_120809")
    plain_start = incoming(postback_event(psid, "Get Started", "GET_STARTED"))
    assert plain_start and plain_start.command == "start" and plain_start.argument is None
    link = incoming(_event(psid, referral={"ref": "c_010203", "source": "SHORTLINK",
                                           "type": "OPEN_THREAD"}))
    assert link and (link.command, link.argument) == ("start", "c_010203")
    command = incoming(text_event(psid, "/language"))
    assert command and (command.kind, command.command) == (Kind.COMMAND, "language")
    kinds = {"sticker": Kind.STICKER, "voice": Kind.VOICE, "image": Kind.IMAGE,
             "video": Kind.VIDEO, "file": Kind.FILE, "location": Kind.LOCATION}
    for name, kind in kinds.items():
        got = incoming(attachment_event(psid, name))
        assert got and got.kind == kind, name
    shared = incoming(_event(psid, message={"mid": "m_x", "attachments": [
        {"type": "template", "payload": {"generic": {}}}]}))
    assert shared and shared.kind == Kind.UNSUPPORTED
    empty = incoming(_event(psid, message={"mid": "m_y"}))
    assert empty and empty.kind == Kind.TEXT and empty.text == ""
    long_mid = "m_" + "x" * 300
    ((external_id, _, _),) = events_of(batch(text_event(psid, "hi", mid=long_mid)))
    assert len(external_id) <= 128


def test_settings_switch_the_channel_on_and_name_what_is_missing() -> None:
    assert MessengerSettings.from_env({}) is None
    with pytest.raises(SettingsError, match="MESSENGER_APP_SECRET"):
        MessengerSettings.from_env({"MESSENGER_PAGE_ACCESS_TOKEN": "t",
                                    "MESSENGER_VERIFY_TOKEN": "v"})
    full = {"MESSENGER_PAGE_ACCESS_TOKEN": "t", "MESSENGER_APP_SECRET": "s",
            "MESSENGER_VERIFY_TOKEN": "v"}
    settings = MessengerSettings.from_env(full)
    assert settings and settings.api_version >= 26 and settings.graph_url.startswith("https://")
    older = MessengerSettings.from_env({**full, "MESSENGER_API_VERSION": "v25.0"})
    assert older and older.api_version == 25.0
    with pytest.raises(SettingsError, match="MESSENGER_API_VERSION"):
        MessengerSettings.from_env({**full, "MESSENGER_API_VERSION": "latest"})
    with pytest.raises(SettingsError, match="MESSENGER_TIMEOUT"):
        MessengerSettings.from_env({**full, "MESSENGER_TIMEOUT": "0"})


# ------------------------------------------------------------------ page set-up

def test_setup_sets_get_started_greeting_and_menu_in_both_languages(
        graph: FakeGraph, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, **messenger_env(graph), "ISAFBOT_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "messenger", "setup"],
                            capture_output=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr.decode()
    entries = ["menu", *(item.payload for item in menu_items(FEATURES))]
    assert f"persistent menu: default ({len(entries)} items)" in result.stdout.decode()
    profile = graph.profile
    assert profile["get_started"] == {"payload": GET_STARTED}
    greetings = {g["locale"]: g["text"] for g in profile["greeting"]}
    assert greetings["default"] == greetings["km_KH"] and "សួស្តី" in greetings["default"]
    assert greetings["en_US"].startswith("Hello!")
    menus = {m["locale"]: m["call_to_actions"] for m in profile["persistent_menu"]}
    assert [a["payload"] for a in menus["default"]] == entries
    assert [a["title"] for a in menus["en_US"]][:2] == ["Menu", "Commune services"]
    assert [a["title"] for a in menus["km_KH"]][:2] == ["ម៉ឺនុយ", "សេវាឃុំ សង្កាត់"]
    graph.fail("profile", fake_graph.BAD_TOKEN)
    failed = subprocess.run([sys.executable, "-m", "bot.cli", "messenger", "setup"],
                            capture_output=True, timeout=120, env=env)
    assert failed.returncode == 1 and "Invalid OAuth access token" in failed.stderr.decode()


def test_profile_menu_payloads_are_the_dialogues_menu(sqlite_app: App) -> None:
    profile = build_profile(sqlite_app.content, menu_items(FEATURES))
    payloads = [a["payload"] for a in profile["persistent_menu"][0]["call_to_actions"]]
    assert payloads[0] == "menu" and set(payloads[1:]) == {i.payload for i in menu_items(FEATURES)}

