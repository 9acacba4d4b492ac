"""Issue 19, finding 7 (a person): "Can I speak to a real person?" / "ចង់និយាយជាមួយមនុស្ស"
queues the conversation for the commune's CAF (or the NGO's staff, i.e. admins, when the person
named no commune); the bot stays silent (one short notice) while a person holds it; the CAF
takes it with `/handover`, replies through the outbox, and either side ends it. On SQLite and
PostgreSQL (the `handovers` table), on the console, and through the fake Messenger server for
the HUMAN_AGENT tag."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.bootstrap import App, bootstrap
from common.db.base import utcnow
from dialogues.core.models import MessageLog, User
from dialogues.core.outbox import OutboxMessage, batch_report
from dialogues.talk import store
from dialogues.talk.models import Handover
from tests.conftest import Chat, make_settings
from tests.fake_graph import FakeGraph
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, invite, make_user
from tests.test_messenger import (
    APP_SECRET,
    TOKEN,
    LiveServer,
    messenger_env,
    shown_text,
    text_event,
)


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _handovers(app: App) -> list[tuple[int, str, str | None]]:
    with app.db.session() as session:
        return [(int(h.id), str(h.status), h.commune_code) for h in session.execute(
            select(Handover).order_by(Handover.id)).scalars()]


def _queued_for(app: App, user: str) -> list[dict[str, Any]]:
    """Replies waiting in the outbox for a chat user (what the dispatcher would send)."""
    with app.db.session() as session:
        rows = session.execute(select(OutboxMessage).join(User, User.id == OutboxMessage.user_id)
                               .where(User.channel_user_id == user)
                               .order_by(OutboxMessage.id)).scalars()
        return [dict(row.reply or {}) for row in rows]


def test_a_person_is_handed_to_the_communes_caf_in_english(app: App) -> None:
    make_user(app, "citizen", language="en", commune=KK)
    citizen = Chat(app, "citizen")
    citizen.send("Can I speak to a real person?")
    assert "Community Accountability Facilitator" in citizen.text
    assert citizen.payloads == ["hand:end"]
    [(handover_id, status, commune)] = _handovers(app)
    assert (status, commune) == ("open", KK)
    citizen.send("is anyone there?")
    assert "A person will answer here" in citizen.text  # one short notice
    citizen.send("my grandchild has no birth certificate")
    assert citizen.last == []  # then silence

    caf = Chat(app, "caf")
    caf.send(f"/caf {invite(app, KK)}")
    caf.send("/handover")
    assert f"hand:take:{handover_id}" in caf.payloads
    caf.press(f"hand:take:{handover_id}")
    assert "my grandchild has no birth certificate" in caf.text  # the recent messages
    assert _queued_for(app, "citizen")[-1]["human"] is True  # "a person has joined"
    caf.send("Hello, I am the CAF. How old is the child?")
    reply = _queued_for(app, "citizen")[-1]
    assert reply["text"] == "👤 Hello, I am the CAF. How old is the child?" and reply["human"]
    citizen.send("two months")
    assert citizen.last == []
    assert "two months" in _queued_for(app, "caf")[-1]["text"]  # relayed to the CAF

    citizen.press("hand:end")
    assert "has ended" in citizen.text
    assert _handovers(app)[0][1] == "closed"
    assert f"#{handover_id}" in _queued_for(app, "caf")[-1]["text"]  # told it closed
    citizen.send("how much is a birth certificate")
    assert "Birth certificate" in citizen.text  # the bot answers again


def test_without_a_commune_the_ngo_staff_take_it_in_khmer(app: App) -> None:
    make_user(app, "yay", language="km", commune=None)
    citizen = Chat(app, "yay")
    citizen.send("ចង់និយាយជាមួយមនុស្ស")
    assert "បុគ្គលិក" in citizen.text
    [(handover_id, _, commune)] = _handovers(app)
    assert commune is None
    caf = Chat(app, "caf")
    caf.send(f"/caf {invite(app, KK)}")
    caf.send("/handover")
    assert "Nobody is waiting" in caf.text or "គ្មាននរណារង់ចាំ" in caf.text  # not theirs
    caf.press(f"hand:take:{handover_id}")  # a forged button changes nothing
    assert _handovers(app)[0][1] == "open"
    make_user(app, "admin", language="en", role="admin", commune=None)
    admin = Chat(app, "admin")
    admin.press(f"hand:take:{handover_id}")
    assert "You hold conversation" in admin.text
    admin.send("/handover end")
    assert _handovers(app)[0][1] == "closed"
    assert "ការសន្ទនាជាមួយមនុស្សបានបញ្ចប់" in _queued_for(app, "yay")[-1]["text"]


def test_citizens_cannot_see_the_queue(app: App) -> None:
    Chat(app, "someone").send("ចង់និយាយជាមួយមនុស្ស")
    other = Chat(app, "nosy")
    other.send("/handover")
    assert "hand:take" not in " ".join(other.payloads)
    assert "Only CAFs" in other.text or "មានតែ CAF" in other.text


# ------------------------------------------------------------------ Messenger: HUMAN_AGENT

@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(TOKEN, APP_SECRET) as fake:
        yield fake


@pytest.fixture
def live(tmp_path: Path, sqlite_url: str, nlu: Any, graph: FakeGraph) -> Iterator[LiveServer]:
    application = bootstrap(make_settings(tmp_path, sqlite_url, **messenger_env(graph)),
                            nlu=nlu)
    with LiveServer(application) as server:
        yield server
    application.close()


def test_a_staff_reply_after_24_hours_carries_the_human_agent_tag(
        live: LiveServer, graph: FakeGraph) -> None:
    graph.enforce_window = True  # the fake refuses what Meta would refuse
    psid = "7000000000000071"
    graph.user_wrote(psid)
    live.deliver(text_event(psid, "Can I speak to a real person?"))
    assert "Community Accountability Facilitator" in shown_text(graph.sent(psid)) or \
        "organisation that runs this bot" in shown_text(graph.sent(psid))
    three_days_ago = utcnow() - timedelta(days=3)
    graph.user_wrote(psid, (three_days_ago - timedelta(minutes=1)).replace(
        tzinfo=timezone.utc))
    with live.app.db.session() as session:
        session.execute(update(User).where(User.channel_user_id == psid).values(
            last_inbound_at=three_days_ago))
        row = session.execute(select(Handover)).scalar_one()
        store.staff_reply(session, live.app.content, row, "Sorry for the wait, I can help.")
    live.wait_idle()
    last = graph.sent(psid)[-1]
    assert (last["messaging_type"], last.get("tag")) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert "Sorry for the wait" in shown_text([last])
    assert graph.window_violations == []
    with live.app.db.session() as session:  # after 7 days even a person's reply waits
        session.execute(update(User).where(User.channel_user_id == psid).values(
            last_inbound_at=utcnow() - timedelta(days=8)))
        row = session.execute(select(Handover)).scalar_one()
        store.staff_reply(session, live.app.content, row, "Are you still there?")
    live.wait_idle()
    with live.app.db.session() as session:
        assert batch_report(session, f"handover:{row.id}") == {"sent": 1, "held": 1}


# ------------------------------------------------------------------ the dashboard's queue

def test_the_dashboard_queue_shows_masks_replies_and_closes(
        tmp_path: Path, database_url: str, quick_passwords: None) -> None:
    from tests.dashboard_helpers import add_accounts, csrf_of, dashboard_app
    from tests.test_dashboard import logged_in

    board = dashboard_app(tmp_path, database_url)
    try:
        add_accounts(board)
        user_id = make_user(board, "citizen", language="en", commune=KK)
        with board.db.session() as session:
            row, _ = store.open_for(session, session.get(User, user_id))
            session.add(MessageLog(
                user_id=user_id, channel="console", direction="in", kind="text",
                text="please call me on 012 345 678", handled_as="handover"))
            handover_id = int(row.id)
        other = logged_in(board, "caf-other")  # another commune's CAF sees nothing
        assert "012" not in other.get("/dashboard/handovers").text
        assert f"#{handover_id}" not in other.get("/dashboard/handovers").text
        caf = logged_in(board, "caf")
        page = caf.get("/dashboard/handovers")
        assert f"#{handover_id}" in page.text and "please call me on" in page.text
        assert "345" not in page.text  # the phone number is masked
        token = csrf_of(page.text)
        forged = other.post(f"/dashboard/handovers/{handover_id}/reply",
                            data={"csrf": csrf_of(other.get("/dashboard/handovers").text),
                                  "text": "hi"}, follow_redirects=False)
        assert forged.status_code == 403
        answer = caf.post(f"/dashboard/handovers/{handover_id}/reply",
                          data={"csrf": token, "text": "Hello, this is your CAF."},
                          follow_redirects=False)
        assert answer.status_code == 303
        sent = _queued_for(board, "citizen")[-1]
        assert sent["text"] == "👤 Hello, this is your CAF." and sent["human"] is True
        assert _handovers(board)[0][1] == "taken"
        caf.post(f"/dashboard/handovers/{handover_id}/close", data={"csrf": token},
                 follow_redirects=False)
        assert _handovers(board)[0][1] == "closed"
        assert "has ended" in _queued_for(board, "citizen")[-1]["text"]
    finally:
        board.close()
