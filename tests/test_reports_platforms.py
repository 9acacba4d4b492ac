"""A report over Telegram and Messenger, through the fake platform servers, the real libraries
and the real server path (webhook, inbox, workers, dispatcher), on SQLite and PostgreSQL: the
overcharged birth certificate is compared with the official fee, a redelivered confirm stores
one report, the commune's CAF answers, the answer reaches the reporter (on Messenger held until
they write again, the 24-hour rule), and then the privacy scan finds no platform identity
beside what was reported and no link left between the person and the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from bot.bootstrap import App
from common.db.base import utcnow
from dialogues.core.models import User
from dialogues.reports.models import Report, ReportFollowup
from tests import test_messenger, test_telegram
from tests.conftest import Chat
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.meetings_helpers import KK, invite, make_user
from tests.test_privacy import (
    FIRST_NAME,
    LAST_NAME,
    PSID,
    TG_USER,
    USERNAME,
    MessengerUser,
    TelegramUser,
    _unlimited,
    scan,
    walk,
)

WORDS_EN = "The clerk kept the money in his pocket"
WORDS_KM = "ស្មៀនដាក់លុយក្នុងហោប៉ៅខ្លួនឯង"
ANSWER = "The commune chief returned the money"

REPORT_EN = [
    ("say", "they charged me 20,000 riel for a birth certificate"), ("say", "Kouk Khleang"),
    ("press", "Today"), ("say", WORDS_EN), ("press", "✅ Yes, tell me"), ("press", "✅ Confirm"),
    ("shown", "20,000 riel of that was not due"), ("shown", "Source:")]
REPORT_KM = [
    ("say", "គេយកលុយខ្ញុំ២ម៉ឺនរៀល ធ្វើសំបុត្រកំណើត"), ("say", "គោកឃ្លាង"), ("press", "ថ្ងៃនេះ"),
    ("say", WORDS_KM), ("press", "✅ បាទ/ចាស ប្រាប់ខ្ញុំ"), ("press", "✅ បញ្ជាក់"),
    ("shown", "២០.០០០ រៀល នោះមិនមែនជាថ្លៃដែលត្រូវបង់ទេ"), ("shown", "ប្រភព៖")]


def answer_as_caf(app: App) -> str:
    """The commune's CAF (on the console) answers the one report; its reference."""
    make_user(app, "caf-kk", commune=None)
    caf = Chat(app, user="caf-kk")
    caf.send(f"/caf {invite(app, KK)}")
    with app.db.session() as session:
        reference = str(session.execute(select(Report.reference)).scalar_one())
    caf.press(f"rptc:n:{reference}:answered")
    caf.send(ANSWER)
    assert f"{reference} is now: answered" in caf.text
    return reference


def no_link_left(app: App) -> None:
    with app.db.session() as session:
        assert session.execute(select(ReportFollowup)).first() is None
        assert len(session.execute(select(Report)).scalars().all()) == 1


def test_a_telegram_report_reaches_the_caf_and_the_answer_comes_back(
        make_app: Callable[..., App]) -> None:
    with FakeTelegram(test_telegram.TOKEN) as tg:
        app = make_app(test_telegram.telegram_env(tg, webhook=True))
        with _unlimited(test_telegram.LiveServer(app, tg)) as server:
            tg.wait_for(lambda: "getMe" in tg.methods())
            user = TelegramUser(server)
            walk(user, REPORT_EN)
            confirm = tg.callback_update(TG_USER, "frm:yes")
            server.deliver(confirm, confirm)  # a double tap, or a redelivered update
            reference = answer_as_caf(app)
            server.wait_idle()
            assert f"The answer to your report {reference}: {ANSWER}" in user.shown()
    no_link_left(app)
    problems = scan(app.settings.database_url, [str(TG_USER), FIRST_NAME, LAST_NAME, USERNAME],
                    [WORDS_EN, "20,000 riel for a birth", "20,000 riel of that"])
    assert problems == [], "\n".join(problems)


def test_a_messenger_report_answer_waits_for_the_window(make_app: Callable[..., App]) -> None:
    with FakeGraph(test_messenger.TOKEN, test_messenger.APP_SECRET) as graph:
        app = make_app(test_messenger.messenger_env(graph))
        with _unlimited(test_messenger.LiveServer(app)) as server:
            user = MessengerUser(server, graph)
            walk(user, REPORT_KM)
            with app.db.session() as session:  # a day and more passes
                session.execute(update(User).where(User.channel_user_id == PSID).values(
                    last_inbound_at=utcnow() - timedelta(hours=25)))
            reference = answer_as_caf(app)
            server.wait_idle()
            assert ANSWER not in user.shown()  # held: outside the 24-hour window
            user.say("សួស្តី")
            server.wait_idle()
            assert f"ចម្លើយចំពោះរបាយការណ៍ {reference}៖ {ANSWER}" in user.shown()
    no_link_left(app)
    problems = scan(app.settings.database_url, [PSID],
                    [WORDS_KM, "២ម៉ឺនរៀល ធ្វើសំបុត្រកំណើត", "២០.០០០ រៀល នោះមិនមែន"])
    assert problems == [], "\n".join(problems)
