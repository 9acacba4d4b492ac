"""Meetings in chat and on the command line, on SQLite and PostgreSQL, in Khmer and English:
CAF invites, the step-by-step form, edit and cancel, citizens' questions and subscriptions,
and everything a citizen or another commune's CAF must not be able to do (forged buttons too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.cli.main import main
from bot.settings import Settings
from dialogues.core.models import CafAudit, CafCommune, User
from dialogues.core.permissions import chat_actor, operator
from dialogues.meetings import store
from dialogues.meetings.models import Meeting, MeetingSubscription
from tests.conftest import Chat, make_settings
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, OB, FakeClock, invite, make_user, new_meeting, pp


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    """The real model's recorded answers (tests/fake_nlu.py): these tests are about the
    dialogues; how the model understands is tests/test_nlu*.py's."""
    return recorded_nlu


NOW = pp(2026, 11, 29, 9, 0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.astimezone(pp(2026, 1, 1).tzinfo))


@pytest.fixture
def mapp(settings: Settings, nlu: Any, clock: FakeClock) -> Iterator[App]:
    application = bootstrap(settings, nlu=nlu, clock=clock)
    yield application
    application.close()


def _meetings(app: App) -> list[Meeting]:
    with app.db.session() as session:
        return list(session.execute(select(Meeting).order_by(Meeting.id)).scalars())


def _audit(app: App) -> list[tuple[str, str, str | None]]:
    with app.db.session() as session:
        return [(a.actor, a.action, a.commune_code) for a in session.execute(
            select(CafAudit).order_by(CafAudit.id)).scalars()]


def _caf(app: App, name: str, *communes: str) -> Chat:
    chat = Chat(app, user=name)
    chat.send(f"/caf {invite(app, *communes)}")
    return chat


# ------------------------------------------------------------------ CAF: invite and form

def test_a_caf_creates_a_meeting_step_by_step_in_english(mapp: App) -> None:
    chat = Chat(mapp, user="caf-en")
    chat.send("hello")  # an English speaker
    code = invite(mapp, KK, OB)
    chat.send(f"/caf {code}")
    assert "You are now the Community Accountability Facilitator (CAF) for: Kouk Khleang" \
        in chat.text
    chat.press("meet:new")
    assert "what kind of meeting" in chat.text
    assert chat.payloads[:4] == ["frm:c:0", "frm:c:1", "frm:c:2", "frm:c:3"]
    chat.send("interface")  # a choice wants a button
    assert "Please choose one of the buttons" in chat.text
    chat.press("frm:c:0")
    assert "For which commune?" in chat.text
    assert {"frm:m:120809", "frm:m:120808"} <= set(chat.payloads)
    chat.press("frm:m:120809")
    assert "Where will it take place?" in chat.text
    chat.send("Kouk Khleang commune hall")
    chat.send("1/1/2020 14:00")
    assert "has already passed" in chat.text and "A meeting must be in the future" in chat.text
    chat.send("15/12/2026")
    assert "At what time?" in chat.text
    chat.send("15/12/2026 14:00")
    assert "Got it: Tuesday 15 December 2026, 14:00 (Cambodia time)" in chat.text
    chat.send("Budget 2027 and the school toilets")
    assert "Please check the meeting" in chat.text
    assert "Interface meeting" in chat.text and "Kouk Khleang: Kouk Khleang commune hall" \
        in chat.text and "Tuesday 15 December 2026, 14:00" in chat.text
    assert {"frm:yes", "frm:back", "frm:cancel"} <= set(chat.payloads)
    chat.press("frm:yes")
    assert "The meeting is saved. 0 subscribers will get reminders." in chat.text
    [meeting] = _meetings(mapp)
    assert (meeting.kind, meeting.commune_code, meeting.place) == (
        "interface", KK, "Kouk Khleang commune hall")
    assert meeting.starts_at.isoformat() == "2026-12-15T07:00:00"  # 14:00 in Phnom Penh, UTC
    assert meeting.agenda == "Budget 2027 and the school toilets"
    actions = [a[1] for a in _audit(mapp)]
    assert actions == ["invite.create", "invite.redeem", "meeting.create"]
    chat.press("frm:yes")  # the form is over: an old button does nothing
    assert "That button is out of date" in chat.text and len(_meetings(mapp)) == 1


def test_a_caf_creates_a_meeting_in_khmer_from_a_deep_link(mapp: App) -> None:
    chat = Chat(mapp, user="caf-km")
    chat.send(f"/start caf-{invite(mapp, KK)}")
    assert "ឥឡូវនេះ អ្នកជាអ្នកសម្របសម្រួលគណនេយ្យភាពសហគមន៍ (CAF) សម្រាប់៖ គោកឃ្លាង" in chat.text
    chat.press("meet:new")
    chat.press("frm:c:1")  # scorecard meeting; one commune only: not asked
    assert "តើប្រជុំនៅទីកន្លែងណា" in chat.text
    chat.send("សាលាឃុំគោកឃ្លាង")
    chat.send("១៥/១២/២០២៦ ម៉ោង ២")
    assert "យល់ហើយ៖" in chat.text and "ម៉ោង ២ រសៀល" in chat.text
    chat.press("frm:skip")
    assert "កិច្ចប្រជុំដាក់ពិន្ទុ" in chat.text and "សាលាឃុំគោកឃ្លាង" in chat.text
    chat.press("frm:yes")
    assert "កិច្ចប្រជុំត្រូវបានរក្សាទុក" in chat.text
    [meeting] = _meetings(mapp)
    assert meeting.kind == "scorecard" and meeting.agenda is None
    assert meeting.starts_at.isoformat() == "2026-12-15T07:00:00"


def test_back_and_cancel_in_the_form(mapp: App) -> None:
    chat = _caf(mapp, "caf-back", KK)
    chat.send("hello")
    chat.press("meet:new")
    chat.press("frm:c:2")
    chat.send("The pagoda")
    chat.press("frm:back")
    assert "Where will it take place?" in chat.text
    chat.send("cancel")
    assert "Cancelled. Nothing was saved or sent." in chat.text
    assert _meetings(mapp) == []


def test_an_invite_works_once_and_a_revoked_one_not_at_all(mapp: App) -> None:
    code = invite(mapp, KK)
    first, second = Chat(mapp, user="first"), Chat(mapp, user="second")
    first.send("hello")
    second.send("hello")
    first.send(f"/caf {code.lower()}")
    assert "You are now the Community Accountability Facilitator" in first.text
    second.send(f"/caf {code}")
    assert "That code is not valid, was already used, or was revoked" in second.text
    other = invite(mapp, OB)
    with mapp.db.session() as session:
        store.revoke(session, by="test", now=mapp.clock.now(), code=other)
    second.send(f"/caf {other}")
    assert "was already used, or was revoked" in second.text
    second.send("/caf")
    assert "Please send /caf followed by the invite code" in second.text
    with mapp.db.session() as session:
        roles = {u.channel_user_id: u.role for u in session.execute(select(User)).scalars()}
    assert roles == {"first": "caf", "second": "citizen"}


# ------------------------------------------------------------------ who may do what

def test_citizens_cannot_create_meetings_or_broadcast(mapp: App, clock: FakeClock) -> None:
    meeting_id = new_meeting(mapp, clock, pp(2026, 12, 15, 14))
    chat = Chat(mapp, user="citizen")
    chat.send("hello")
    for payload in ("meet:new", "meet:list", f"meet:cancel:{meeting_id}:yes",
                    f"meet:time:{meeting_id}", f"meet:show:{meeting_id}", "bc:new",
                    "bc:status"):
        chat.press(payload)
        assert "This is only for the Community Accountability Facilitator" in chat.text, \
            payload
    chat.send("/broadcast")
    assert "This is only for the Community Accountability Facilitator" in chat.text
    chat.press("frm:yes")  # no form in progress
    assert "That button is out of date" in chat.text
    assert [m.status for m in _meetings(mapp)] == ["scheduled"]
    assert _audit(mapp) == [("test", "meeting.create", KK)]


def test_a_caf_of_another_commune_cannot_touch_its_meetings(mapp: App,
                                                             clock: FakeClock) -> None:
    theirs = new_meeting(mapp, clock, pp(2026, 12, 15, 14), commune=OB)
    chat = _caf(mapp, "caf-kk", KK)
    chat.send("hello")
    for payload in (f"meet:cancel:{theirs}:yes", f"meet:time:{theirs}",
                    f"meet:place:{theirs}", f"meet:show:{theirs}"):
        chat.press(payload)
        assert "This is only for the Community Accountability Facilitator" in chat.text
    chat.press("meet:list")
    assert f"meet:show:{theirs}" not in chat.payloads
    # a forged commune button inside the form is refused, the form stays where it was
    chat.press("meet:new")
    chat.press("frm:c:0")
    chat.press(f"frm:m:{OB}")
    assert "That button is out of date" in chat.text
    # (one commune: the commune step was filled in with theirs)
    chat.send("Hall")
    chat.send("16/12/2026 8:00")
    chat.press("frm:skip")
    chat.press("frm:yes")
    assert [m.commune_code for m in _meetings(mapp)] == [OB, KK]
    # a broadcast to the other commune, with forged buttons, is refused
    chat.press("bc:new")
    chat.send("Hello everyone")
    chat.press(f"frm:m:{OB}")
    assert "That button is out of date" in chat.text or "Please choose" in chat.text
    assert [m.status for m in _meetings(mapp)] == ["scheduled", "scheduled"]


def test_a_caf_revoked_during_the_form_cannot_finish_it(mapp: App) -> None:
    chat = _caf(mapp, "caf-rev", KK)
    chat.send("hello")
    chat.press("meet:new")
    chat.press("frm:c:0")
    chat.send("Hall")
    chat.send("16/12/2026 8:00")
    chat.press("frm:skip")
    with mapp.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "caf-rev")).scalar_one()
        store.revoke(session, by="test", now=mapp.clock.now(), user_id=user.id)
    chat.press("frm:yes")
    assert "This is only for the Community Accountability Facilitator" in chat.text
    assert _meetings(mapp) == []


# ------------------------------------------------------------------ edit and cancel

def test_a_caf_moves_relocates_and_cancels_a_meeting(mapp: App, clock: FakeClock) -> None:
    meeting_id = new_meeting(mapp, clock, pp(2026, 12, 15, 14))
    chat = _caf(mapp, "caf-edit", KK)
    chat.send("hello")
    chat.press("meet:list")
    assert f"meet:show:{meeting_id}" in chat.payloads
    chat.press(f"meet:show:{meeting_id}")
    assert {f"meet:time:{meeting_id}", f"meet:place:{meeting_id}",
            f"meet:cancel:{meeting_id}"} <= set(chat.payloads)
    chat.press(f"meet:time:{meeting_id}")
    chat.send("tomorrow 8am")
    assert "Save this change?" in chat.text and "Monday 30 November 2026, 08:00" in chat.text
    chat.press("frm:yes")
    assert "Saved: Interface meeting in Kouk Khleang" in chat.text
    chat.press(f"meet:place:{meeting_id}")
    chat.send("Wat Kouk Khleang")
    chat.press("frm:yes")
    [meeting] = _meetings(mapp)
    assert meeting.starts_at.isoformat() == "2026-11-30T01:00:00" and \
        meeting.place == "Wat Kouk Khleang"
    chat.press(f"meet:cancel:{meeting_id}")
    assert "Cancel the Interface meeting in Kouk Khleang" in chat.text
    chat.press(f"meet:cancel:{meeting_id}:yes")
    assert "The meeting is cancelled" in chat.text
    assert _meetings(mapp)[0].status == "cancelled"
    chat.press(f"meet:cancel:{meeting_id}:yes")  # twice: a clear answer, nothing happens
    assert "I cannot find that meeting" in chat.text
    assert [a[1] for a in _audit(mapp)][-3:] == ["meeting.edit", "meeting.edit",
                                                 "meeting.cancel"]


def test_a_started_meeting_cannot_be_moved(mapp: App, clock: FakeClock) -> None:
    meeting_id = new_meeting(mapp, clock, pp(2026, 11, 29, 10))
    chat = _caf(mapp, "caf-late", KK)
    chat.send("hello")
    clock.advance(hours=2)
    chat.press(f"meet:time:{meeting_id}")
    assert "the meeting has started or was cancelled" in chat.text


# ------------------------------------------------------------------ citizens

def test_a_citizen_asks_for_the_next_meeting_and_subscribes_in_english(
        mapp: App, clock: FakeClock) -> None:
    new_meeting(mapp, clock, pp(2026, 12, 20, 8), place="Old market")
    new_meeting(mapp, clock, pp(2026, 12, 15, 14))
    new_meeting(mapp, clock, pp(2026, 12, 1, 9), commune=OB)
    chat = Chat(mapp, user="citizen-en")
    chat.send("when is the next meeting?")
    assert "Which commune or sangkat do you live in?" in chat.text
    chat.send("Kouk Khleang")
    text = chat.text
    assert "Next meeting in Kouk Khleang: Interface meeting" in text
    assert text.index("Tuesday 15 December 2026, 14:00") < text.index("Old market")
    assert "meet:sub" in chat.payloads
    chat.send("remind me about meetings")
    assert "You are subscribed. I will remind you before meetings in Kouk Khleang" in chat.text
    chat.press("meet:sub")
    assert "already subscribed" in chat.text
    chat.send("stop")
    assert "You will get no more reminders or news from me" in chat.text
    chat.send("stop")
    assert "You are not subscribed to reminders" in chat.text
    with mapp.db.session() as session:
        assert session.execute(select(MeetingSubscription)).first() is None


def test_a_citizen_subscribes_and_leaves_in_khmer(mapp: App) -> None:
    chat = Chat(mapp, user="citizen-km")
    chat.send("ជូនដំណឹងខ្ញុំពេលមានប្រជុំ")
    assert "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា" in chat.text
    chat.send("គោកឃ្លាង")
    assert "អ្នកបានជាវហើយ" in chat.text and "គោកឃ្លាង" in chat.text
    chat.send("ពេលណាប្រជុំបន្ទាប់?")
    assert "មិនទាន់មានកិច្ចប្រជុំណាមួយត្រូវបានកំណត់នៅគោកឃ្លាងទេ" in chat.text
    assert "meet:unsub" in chat.payloads
    chat.send("ឈប់")
    assert "អ្នកនឹងមិនទទួលការរំលឹក ឬដំណឹងពីខ្ញុំទៀតទេ" in chat.text


def test_the_budget_meeting_button_answers_for_the_users_commune(mapp: App,
                                                                 clock: FakeClock) -> None:
    new_meeting(mapp, clock, pp(2026, 12, 15, 14))
    chat = Chat(mapp, user="budget-reader")
    chat.send("how much does Kok Khleang sangkat have?")
    assert "meet:next" in chat.payloads
    chat.press("meet:next")  # a budget question names a place, not the user's commune
    assert "Which commune or sangkat do you live in?" in chat.text
    chat.send("Kouk Khleang")
    assert "Next meeting in Kouk Khleang: Interface meeting" in chat.text


# ------------------------------------------------------------------ the command line

def test_cli_invites_lists_revokes_and_manages_meetings(
        tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, database_url)
    for key, value in settings.env.items():
        monkeypatch.setenv(key, value)
    db = ["--db", database_url]
    assert main(["caf", "invite", "--commune", KK, "--commune", OB, *db]) == 0
    out = capsys.readouterr().out
    code = out.split("invite code: ")[1].split()[0]
    assert f"/start caf-{code}" in out
    assert main(["caf", "invite", "--commune", "999999", *db]) == 1
    assert "unknown commune code" in capsys.readouterr().err
    assert main(["caf", "list", *db]) == 0
    assert f"invite {code}\tunused\t{KK}, {OB}" in capsys.readouterr().out
    assert main(["meetings", "create", "--kind", "jaap", "--commune", KK, "--place",
                 "Commune hall", "--when", "15/12/2030 14:00", "--by", "admin-1", *db]) == 0
    assert "meeting 1: jaap in 120809 at 2030-12-15 14:00" in capsys.readouterr().out
    assert main(["meetings", "create", "--kind", "jaap", "--commune", KK, "--place",
                 "Hall", "--when", "1/1/2020 9:00", *db]) == 1
    assert "past" in capsys.readouterr().err
    assert main(["meetings", "list", *db]) == 0
    assert "1\t2030-12-15 14:00\t120809\tjaap\tscheduled\tCommune hall" in \
        capsys.readouterr().out
    assert main(["meetings", "edit", "1", "--when", "16/12/2030 9:00", "--place", "Pagoda",
                 *db]) == 0
    assert main(["meetings", "edit", "1", "--when", "yesterday", *db]) == 1
    capsys.readouterr()
    assert main(["meetings", "list", *db]) == 0
    assert "1\t2030-12-16 09:00\t120809\tjaap\tscheduled\tPagoda" in capsys.readouterr().out
    assert main(["meetings", "cancel", "1", *db]) == 0
    assert main(["meetings", "cancel", "1", *db]) == 1
    assert main(["caf", "revoke", "--code", code, *db]) == 0
    assert main(["caf", "revoke", "--code", code, *db]) == 1
    capsys.readouterr()
    assert main(["caf", "list", *db]) == 0
    assert "no CAFs and no unused invites" in capsys.readouterr().out


def test_cli_revokes_a_caf(app: App) -> None:
    user_id = make_user(app, "caf-x")
    code = invite(app, KK)
    with app.db.session() as session:
        store.redeem_invite(session, session.get(User, user_id), code, now=app.clock.now())
    with app.db.session() as session:
        assert chat_actor(session, session.get(User, user_id)).may_act_on(KK)
        assert not chat_actor(session, session.get(User, user_id)).may_act_on(OB)
        store.revoke(session, by="test", now=app.clock.now(), user_id=user_id)
    with app.db.session() as session:
        user = session.get(User, user_id)
        assert user.role == "citizen" and not chat_actor(session, user).may_act_on(KK)
        assert session.execute(select(CafCommune)).first() is None


def test_cli_makes_an_admin_who_acts_for_every_commune_and_takes_it_back(
        app: App, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in make_settings(tmp_path, database_url).env.items():
        monkeypatch.setenv(key, value)
    db = ["--db", database_url]
    officer = make_user(app, "ngo-officer")
    assert main(["caf", "admin", "--user", str(officer), *db]) == 0
    with app.db.session() as session:
        user = session.get(User, officer)
        assert user.role == "admin"
        assert chat_actor(session, user).may_act_on(KK) and chat_actor(session, user).may_act_on(OB)
    assert main(["caf", "admin", "--user", str(officer), *db]) == 1  # already one
    assert main(["caf", "admin", "--user", "999999", *db]) == 1  # nobody
    assert main(["caf", "admin", "--user", str(officer), "--revoke", *db]) == 0
    with app.db.session() as session:
        user = session.get(User, officer)
        assert user.role == "citizen" and not chat_actor(session, user).may_act_on(KK)
    assert [action for _, action, _ in _audit(app)] == ["admin.grant", "admin.revoke"]


def test_an_admin_who_was_a_caf_goes_back_to_caf(app: App) -> None:
    officer = make_user(app, "caf-then-admin")
    code = invite(app, KK)
    with app.db.session() as session:
        store.redeem_invite(session, session.get(User, officer), code, now=app.clock.now())
    with app.db.session() as session:
        store.set_admin(session, by="test", user_id=officer)
    with app.db.session() as session:
        store.set_admin(session, by="test", user_id=officer, admin=False)
    with app.db.session() as session:
        user = session.get(User, officer)
        assert user.role == "caf"
        actor = chat_actor(session, user)
        assert actor.may_act_on(KK) and not actor.may_act_on(OB)


def test_meetings_in_the_past_are_refused_by_the_store(app: App) -> None:
    clock = FakeClock(NOW)
    with pytest.raises(store.MeetingError, match="past"), app.db.session() as session:
        store.create_meeting(session, kind="other", commune=KK, place="x",
                             starts_at=NOW - timedelta(minutes=1), agenda=None, by=operator("t"),
                             now=clock.now())
