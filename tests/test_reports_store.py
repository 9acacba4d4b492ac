"""The reports store: pseudonymous submission, idempotent confirm, daily limit, permissions,
status changes with their follow-up, and the small-group rule of the aggregates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.db import Database
from common.messages import Reply
from dialogues.core.models import User
from dialogues.core.outbox import OutboxMessage
from dialogues.core.permissions import Actor, operator
from dialogues.reports import store
from dialogues.reports.models import Report, ReportFollowup

SECRET = b"k" * 32
TODAY = date(2026, 12, 3)


def notice(report: Report, lang: str) -> Reply:
    return Reply(text=f"{lang}:{report.reference}:{report.status}:{report.answer}")


def submit(session, commune: str = "120101", user: int | None = None, nonce: str = "n1",
           who: str = "42", kind: str = "overcharged") -> tuple[Report, bool]:
    reporter = store.reporter_key(SECRET, "telegram", who)
    draft = store.Draft(commune_code=commune, kind=kind, service="birth_certificate",
                        amount_minor=20000, currency="riel", official_fee_riel=0)
    return store.submit(session, draft, secret=SECRET, reporter=reporter,
                        submission=store.submission_key(SECRET, reporter, nonce), today=TODAY,
                        followup_user=user)


@pytest.fixture()
def database(database_url: str) -> Database:
    db = Database(database_url)
    db.migrate()
    return db


def test_a_report_is_stored_under_a_pseudonym_and_a_second_confirm_stores_nothing(
        database: Database) -> None:
    with database.session() as session:
        first, created = submit(session)
        again, created_again = submit(session)
        assert created and not created_again and again.id == first.id
        assert first.reporter != "42" and "42" not in first.reporter
        assert first.reference.startswith("R-") and len(first.reference) == 6
        assert first.created_month == "2026-12"
        assert session.execute(select(Report)).scalars().all() == [first]


def test_the_sixth_report_of_a_day_is_refused(database: Database) -> None:
    with database.session() as session:
        for n in range(store.DAILY_LIMIT):
            submit(session, nonce=f"n{n}")
        with pytest.raises(store.LimitReached):
            submit(session, nonce="one-more")
        submit(session, nonce="someone-else", who="43")  # another person is not limited


def test_a_caf_sees_their_communes_reports_only(database: Database) -> None:
    here = Actor("user:1", "caf", frozenset({"120101"}))
    there = Actor("user:2", "caf", frozenset({"120102"}))
    with database.session() as session:
        report, _ = submit(session)
        assert [r.id for r in store.list_reports(session, here)] == [report.id]
        assert store.list_reports(session, there) == []
        assert store.list_reports(session, Actor("user:3", "citizen")) == []
        with pytest.raises(store.UnknownReport):
            store.get_report(session, there, report.reference)
        with pytest.raises(store.UnknownReport):
            store.change_status(session, there, report.reference, "raised", notice=notice)
        assert store.get_report(session, here, report.reference.lower().replace("-", ""))


def test_the_answer_reaches_the_reporter_and_the_link_is_deleted(database: Database) -> None:
    with database.session() as session:
        user = User(channel="telegram", channel_user_id="42", language="km")
        session.add(user)
        session.flush()
        report, _ = submit(session, user=user.id)
        actor = Actor("user:9", "caf", frozenset({"120101"}))
        assert store.change_status(session, actor, report.reference, "raised",
                                   notice=notice) == 1
        assert store.wants_followup(session, report)
        assert store.change_status(session, actor, report.reference, "answered",
                                   notice=notice, note="The clerk returned the money") == 1
        assert session.execute(select(ReportFollowup)).first() is None
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        assert [row.reply["text"] for row in rows] == [
            f"km:{report.reference}:raised:None",
            f"km:{report.reference}:answered:The clerk returned the money"]
        assert {row.batch for row in rows} == {store.FOLLOWUP_BATCH}
        assert store.change_status(session, actor, report.reference, "closed",
                                   notice=notice) == 0
        with pytest.raises(ValueError):
            store.change_status(session, actor, report.reference, "forwarded", notice=notice)


def test_small_groups_are_hidden_and_cannot_be_worked_out(database: Database) -> None:
    with database.session() as session:
        for n in range(7):
            submit(session, nonce=f"a{n}", who=f"u{n}")
        for n in range(3):
            submit(session, nonce=f"b{n}", who=f"v{n}", kind="absent_closed")
        rows = store.aggregate(session, None, by=("commune_code", "kind"))
    assert [(r.keys["kind"], r.count) for r in rows] == [("absent_closed", 3),
                                                         ("overcharged", 7)]
    alone = store.shown_counts(rows)
    assert [r.count for r in alone] == [None, 7]
    within = store.shown_counts(rows, within=("commune_code",))
    assert [r.count for r in within] == [None, None]  # 7 shown would give 3 = total - 7


def test_moderation_and_scope_of_an_operator(database: Database) -> None:
    with database.session() as session:
        report, _ = submit(session)
        assert store.moderate(session, operator("cli:t"), report.reference,
                              "approved").text_state == "approved"
        with pytest.raises(ValueError):
            store.moderate(session, operator("cli:t"), report.reference, "maybe")
