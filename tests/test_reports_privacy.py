"""The privacy scan of reports: no column of the report tables can hold a platform identity or
an exact time, `report_followups` is the only link to a person, and it is gone once the final
answer is queued; after a report on the console (SQLite and PostgreSQL) no table linked to a
person holds what was reported, and the message log kept the steps, not the words."""

from __future__ import annotations

import pytest
from sqlalchemy import DateTime, select

from bot.bootstrap import App
from bot.db.all_models import Base
from dialogues.core.models import MessageLog
from dialogues.reports.models import ReportFollowup
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, invite, make_user
from tests.test_privacy import scan

REPORT_TABLES = ("reports", "report_media", "report_history", "report_limits")
IDENTITY_WORDS = ("user", "channel", "chat", "username", "payload", "address", "psid", "phone")
WORDS = "The clerk asked my neighbour too"


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def test_report_tables_have_no_column_for_an_identity_or_a_time() -> None:
    for name in REPORT_TABLES:
        table = Base.metadata.tables[name]
        for column in table.columns:
            assert not any(word in column.name for word in IDENTITY_WORDS), (name, column.name)
            assert (column.name != "name" and not column.name.endswith("_name")) \
                or column.name == "file_name", (name, column.name)
            assert not column.foreign_keys or all(
                fk.column.table.name in REPORT_TABLES for fk in column.foreign_keys)
            if name == "reports":
                assert not isinstance(column.type, DateTime), column.name
    followups = Base.metadata.tables["report_followups"]
    assert {c.name for c in followups.columns} == {"report_id", "user_id"}


def test_a_report_leaves_nothing_beside_the_person(app: App) -> None:
    make_user(app, "priv-user", commune=KK)
    citizen = Chat(app, user="priv-user")
    citizen.send("they charged me 20,000 riel for a birth certificate")
    citizen.press("frm:c:0")
    citizen.send(WORDS)
    citizen.press("frm:c:0")
    citizen.press("frm:yes")
    with app.db.session() as session:
        assert session.execute(select(ReportFollowup)).first() is not None
        logged = session.execute(select(MessageLog.text, MessageLog.step)).all()
    assert all(WORDS not in (text or "") and "20,000" not in (text or "")
               for text, _ in logged)
    assert any(step and step.startswith("form:") for _, step in logged)

    make_user(app, "priv-caf", commune=None)
    caf = Chat(app, user="priv-caf")
    caf.send(f"/caf {invite(app, KK)}")
    caf.send("/reports")
    [opening] = [p for p in caf.payloads if p.startswith("rptc:o:")]
    reference = opening.split(":")[2]
    caf.press(f"rptc:s:{reference}:closed")
    with app.db.session() as session:
        assert session.execute(select(ReportFollowup)).first() is None
    problems = scan(app.settings.database_url, ["priv-user"],
                    [WORDS, "20,000 riel for a birth certificate"])
    assert problems == [], "\n".join(problems)
