"""Broadcasts, on SQLite and PostgreSQL, in Khmer and English: the CAF's form with preview and
number of recipients, one outbox row per subscriber in the batch, delivery through the real
dispatcher (403 -> unreachable and never retried, held, temporary failures), progress and the
final report to the CAF, sent once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.delivery import Dispatcher, Held, Recipient, RetryLater, Unreachable
from bot.settings import Settings
from common.messages import Reply
from dialogues.core.models import CafAudit, User
from dialogues.core.outbox import OutboxMessage
from dialogues.core.permissions import NotAllowed
from dialogues.meetings import broadcasts
from dialogues.meetings.models import Broadcast
from dialogues.meetings.texts import MeetingTexts
from tests.conftest import Chat
from tests.meetings_helpers import KK, OB, FakeClock, invite, make_user, outbox, pp


class Platform:
    """A sender that records, or fails like a platform for some addresses."""

    channel = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.calls: dict[str, int] = {}

    async def send(self, recipient: Recipient, reply: Reply) -> None:
        self.calls[recipient.address] = self.calls.get(recipient.address, 0) + 1
        queue = self.failures.get(recipient.address)
        if queue:
            raise queue.pop(0)
        self.sent.append((recipient.address, reply.text))


@pytest.fixture
def bapp(settings: Settings, nlu: Any) -> Iterator[App]:
    application = bootstrap(settings, nlu=nlu, clock=FakeClock(pp(2026, 12, 1, 9)))
    yield application
    application.close()


def notices(app: App) -> MeetingTexts:
    """What the store queues, worded the way the app's scheduler words it."""
    return MeetingTexts(app.content, app.settings.timezone)


def _subscribers(app: App, count: int, commune: str = KK) -> list[int]:
    return [make_user(app, f"fan-{commune}-{i}", channel="fake", commune=commune,
                      language="km" if i % 2 else "en", subscribed=True)
            for i in range(count)]


def _deliver(app: App, platform: Platform, rounds: int = 10) -> None:
    dispatcher = Dispatcher(app.db, {"fake": platform}, {})  # type: ignore[dict-item]

    async def run() -> None:
        for _ in range(rounds):
            await dispatcher.deliver_due()

    asyncio.run(run())


def _due_now(app: App) -> None:
    """Retries are due later; make them due now (the test does not wait)."""
    from sqlalchemy import update

    from common.db.base import utcnow

    with app.db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                        .values(due_at=utcnow()))


def test_a_caf_broadcasts_with_preview_recipients_progress_and_report(bapp: App) -> None:
    fans = _subscribers(bapp, 5)
    _subscribers(bapp, 2, commune=OB)  # another commune's subscribers get nothing
    make_user(bapp, "gone", channel="fake", subscribed=True, unreachable=True)
    caf = Chat(bapp, user="caf-bc")
    caf.send("hello")
    caf.send(f"/caf {invite(bapp, KK)}")
    caf.send("/broadcast")
    assert "Please write your message" in caf.text  # one commune: not asked
    caf.send("The interface meeting moves to the pagoda because of the rain.")
    assert "This is what subscribers will receive. Send it now?" in caf.text
    assert "News from the Community Accountability Facilitator (CAF) of Kouk Khleang:\n" \
           "The interface meeting moves to the pagoda" in caf.text
    assert "Recipients: 5" in caf.text
    assert "frm:yes" in caf.payloads
    assert outbox(bapp, "bc:") == []  # nothing before the confirmation
    caf.press("frm:yes")
    assert "Your message is on its way to 5 subscribers in Kouk Khleang" in caf.text
    [status_button] = [p for p in caf.payloads if p.startswith("bc:status:")]
    rows = outbox(bapp, "bc:")
    assert sorted(r.user_id for r in rows) == fans
    assert {r.batch for r in rows} == {"bc:1"} and all(r.automated for r in rows)
    by_lang = {r.reply["text"].split("\n")[0] for r in rows}
    assert by_lang == {"📣 News from the Community Accountability Facilitator (CAF) of "
                       "Kouk Khleang:",
                       "📣 ដំណឹងពីអ្នកសម្របសម្រួលគណនេយ្យភាពសហគមន៍ (CAF) នៃគោកឃ្លាង៖"}
    caf.press(status_button)
    assert "0 of 5 handled" in caf.text

    platform = Platform()
    addresses = {r.user_id: r.address for r in rows}
    platform.failures[addresses[fans[0]]] = [Unreachable("403 Forbidden: bot was blocked")]
    platform.failures[addresses[fans[1]]] = [Held("outside the 24-hour window")]
    platform.failures[addresses[fans[2]]] = [RetryLater(0.01, "429")]
    _deliver(bapp, platform, rounds=1)
    caf.send("/broadcast status")
    assert "of 5 handled" in caf.text and "sent: 2" in caf.text
    with bapp.db.session() as session:
        # one is still to retry
        assert broadcasts.report_finished(session, notices(bapp), now=bapp.clock.now()) == 0
    _due_now(bapp)
    _deliver(bapp, platform)
    statuses = {r.user_id: r.status for r in outbox(bapp, "bc:")}
    assert statuses == {fans[0]: "unreachable", fans[1]: "held", fans[2]: "sent",
                        fans[3]: "sent", fans[4]: "sent"}
    assert platform.calls[addresses[fans[0]]] == 1  # a 403 is never retried
    caf.press(status_button)
    assert "5 of 5 handled" in caf.text and "sent: 3" in caf.text and \
        "held (Messenger): 1" in caf.text and "unreachable: 1" in caf.text
    with bapp.db.session() as session:
        assert broadcasts.report_finished(session, notices(bapp), now=bapp.clock.now()) == 1
        assert broadcasts.report_finished(session, notices(bapp), now=bapp.clock.now()) == 0  # once
    [report] = [r for r in outbox(bapp) if r.dedup_key == "bcreport:1:0"]
    assert "Your news to Kouk Khleang is done (5 people)" in report.reply["text"]
    assert "sent: 3" in report.reply["text"] and "unreachable (blocked the bot): 1" in \
        report.reply["text"]
    with bapp.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "caf-bc")).scalar_one()
        assert report.user_id == user.id
        assert session.execute(select(User.unreachable).where(User.id == fans[0])).scalar()
        [audit] = session.execute(select(CafAudit).where(
            CafAudit.action == "broadcast.send")).scalars()
        assert audit.actor == f"user:{user.id}" and audit.detail["recipients"] == 5


def test_a_broadcast_in_khmer_to_two_communes_asks_which(bapp: App) -> None:
    _subscribers(bapp, 2, commune=OB)
    caf = Chat(bapp, user="caf-km")
    caf.send(f"/start caf-{invite(bapp, KK, OB)}")
    caf.send("/broadcast")
    assert "ផ្ញើដំណឹងទៅអ្នកជាវនៃឃុំ សង្កាត់ណា" in caf.text
    caf.press(f"frm:m:{OB}")
    caf.send("សូមអញ្ជើញចូលរួមកិច្ចប្រជុំនៅថ្ងៃអាទិត្យ")
    assert "អ្នកទទួល៖ ២ នាក់" in caf.text
    caf.press("frm:yes")
    assert "អ្នកជាវ ២ នាក់" in caf.text
    with bapp.db.session() as session:
        [broadcast] = session.execute(select(Broadcast)).scalars()
        assert broadcast.commune_code == OB and broadcast.recipients == 2


def test_nobody_else_can_broadcast(bapp: App) -> None:
    _subscribers(bapp, 2)
    citizen = Chat(bapp, user="citizen")
    citizen.send("hello")
    for send in (lambda: citizen.send("/broadcast"), lambda: citizen.press("bc:new"),
                 lambda: citizen.press("bc:status")):
        send()
        assert "This is only for the Community Accountability Facilitator" in citizen.text
    other = Chat(bapp, user="caf-ob")
    other.send("hello")
    other.send(f"/caf {invite(bapp, OB)}")
    with bapp.db.session() as session, pytest.raises(NotAllowed):
        user = session.execute(select(User).where(User.channel_user_id == "caf-ob")
                               ).scalar_one()
        broadcasts.create_broadcast(session, notices(bapp), user, KK, "hi", now=pp(2026, 12, 1))
    other.send("/broadcast")
    other.send("Hello Kouk Khleang")  # the form only knows their commune
    other.press("frm:yes")
    with bapp.db.session() as session:
        assert [b.commune_code for b in session.execute(select(Broadcast)).scalars()] == [OB]
    assert outbox(bapp, "bc:") == []  # OB has no subscribers; KK's got nothing
