"""CAF forms that read dates and times as people write them (issue 19, finding 10): each case
in Khmer and in English, through the console channel as a CAF, on SQLite and PostgreSQL.

- "ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល" / "next Tuesday 2pm" and "ថ្ងៃអង្គារ ទី៨ ខែ១២ ម៉ោង២រសៀល" /
  "Tuesday 8 Dec 2pm" are read as dates;
- "សុំប្តូរម៉ោងទៅម៉ោង៣វិញ" / "please move it to 3" moves a meeting and keeps its day (and a
  day alone keeps its hour): a time-only edit no longer asks for the date again;
- an invite code typed alone (without /caf) is recognised, and never logged;
- dates are shown "ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល", not "អង្គារ ៨ ធ្នូ ២០២៦";
- a round's English label is not left alone inside Khmer text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from dialogues.core.models import MessageLog, User
from dialogues.meetings.models import Meeting
from dialogues.scorecard.rounds import round_name
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, FakeClock, invite, make_user, new_meeting, pp

NOW = pp(2026, 12, 3, 10, 0)  # Thursday morning in Phnom Penh
TUESDAY_KM = "ថ្ងៃអង្គារ ទី៨ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល"
TUESDAY_EN = "Tuesday 8 December 2026, 14:00"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def capp(settings: Settings, recorded_nlu: RecordedNlu, clock: FakeClock) -> Iterator[App]:
    application = bootstrap(settings, nlu=recorded_nlu, clock=clock)
    yield application
    application.close()


def _caf(app: App, name: str, lang: str) -> Chat:
    make_user(app, name, language=lang, commune=None)
    chat = Chat(app, user=name)
    chat.send(invite(app, KK))  # typed alone, as it was handed over on paper
    return chat


def _starts(app: App) -> list[str]:
    with app.db.session() as session:
        return [m.starts_at.isoformat() for m in session.execute(
            select(Meeting).order_by(Meeting.id)).scalars()]


def _new_meeting_until_when(chat: Chat) -> None:
    chat.press("meet:new")
    chat.press("frm:c:0")  # an interface meeting; one commune only: not asked
    chat.send("Wat Kouk Khleang")


# ------------------------------------------------------------------ the invite code alone

@pytest.mark.parametrize(("lang", "welcome"), [
    ("km", "ឥឡូវនេះ អ្នកជាអ្នកសម្របសម្រួលគណនេយ្យភាពសហគមន៍ (CAF) សម្រាប់៖ គោកឃ្លាង"),
    ("en", "You are now the Community Accountability Facilitator (CAF) for: Kouk Khleang"),
])
def test_an_invite_code_typed_alone_is_recognised(capp: App, lang: str, welcome: str) -> None:
    chat = _caf(capp, f"caf-code-{lang}", lang)
    assert welcome in chat.text and "meet:new" in chat.payloads
    later = Chat(capp, user=f"late-{lang}")
    make_user(capp, f"late-{lang}", language=lang, commune=None)
    code = invite(capp, KK)
    later.send("/caf")  # the command alone, then the code (in small letters, with a space)
    later.send(f"{code[:4].lower()} {code[4:].lower()}")
    assert welcome in later.text
    with capp.db.session() as session:
        roles = {u.channel_user_id: u.role for u in session.execute(select(User)).scalars()}
        logged = [r.text for r in session.execute(select(MessageLog)).scalars()]
    assert roles[f"caf-code-{lang}"] == roles[f"late-{lang}"] == "caf"
    assert not any(code in (text or "").upper().replace(" ", "") for text in logged)


def test_a_used_code_typed_alone_is_refused_clearly(capp: App) -> None:
    code = invite(capp, KK)
    Chat(capp, user="first").send(code)
    second = Chat(capp, user="second")
    make_user(capp, "second-km", language="km", commune=None)
    second.send(code)
    assert "That code is not valid, was already used, or was revoked" in second.text
    Chat(capp, user="second-km").send(code)


# ------------------------------------------------------------------ new meetings

@pytest.mark.parametrize(("lang", "typed", "shown", "stored"), [
    ("km", "ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល", TUESDAY_KM, "2026-12-08T07:00:00"),
    ("km", "ថ្ងៃអង្គារ ទី៨ ខែ១២ ម៉ោង២រសៀល", TUESDAY_KM, "2026-12-08T07:00:00"),
    ("en", "next Tuesday 2pm", TUESDAY_EN, "2026-12-08T07:00:00"),
    ("en", "Tuesday 8 Dec 2pm", TUESDAY_EN, "2026-12-08T07:00:00"),
])
def test_a_meeting_day_as_people_write_it(capp: App, lang: str, typed: str, shown: str,
                                         stored: str) -> None:
    chat = _caf(capp, f"caf-new-{lang}", lang)
    _new_meeting_until_when(chat)
    chat.send(typed)
    assert shown in chat.text  # "got it: ...", written the way people write it
    chat.press("frm:skip")
    assert shown in chat.text and "frm:yes" in chat.payloads
    chat.press("frm:yes")
    assert _starts(capp) == [stored]
    chat.press("meet:list")
    short = "អង្គារ ៨ ធ្នូ ម៉ោង ២ រសៀល" if lang == "km" else "Tue 8 Dec, 14:00"
    assert any(short in b.title for reply in chat.last for b in reply.buttons)


@pytest.mark.parametrize(("lang", "typed", "reason"), [
    ("km", "ថ្ងៃច័ន្ទ ទី៨ ខែធ្នូ ម៉ោង ២", "កាលបរិច្ឆេទ ឬម៉ោងនោះមិនមានទេ"),
    ("en", "Monday 8 Dec 2pm", "That date or time does not exist"),
    ("km", "ទី១ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល", "បានកន្លងផុតហើយ"),
    ("en", "1 Dec 2026 2pm", "has already passed"),
])
def test_a_wrong_or_past_day_is_refused_with_a_reason(capp: App, lang: str, typed: str,
                                                      reason: str) -> None:
    chat = _caf(capp, f"caf-bad-{lang}-{len(typed)}", lang)
    _new_meeting_until_when(chat)
    chat.send(typed)
    assert reason in chat.text and "frm:back" in chat.payloads
    assert _starts(capp) == []


def test_a_day_without_a_year_is_the_next_one_and_shown_with_it(capp: App) -> None:
    chat = _caf(capp, "caf-next-km", "km")
    _new_meeting_until_when(chat)
    chat.send("ទី១ ខែ១២ ម៉ោង ២ រសៀល")  # no year: the next 1 December would be in 2027
    assert "ថ្ងៃពុធ ទី១ ខែធ្នូ ឆ្នាំ២០២៧ ម៉ោង ២ រសៀល" in chat.text


# ------------------------------------------------------------------ moving a meeting

@pytest.mark.parametrize(("lang", "typed", "shown", "stored"), [
    ("km", "សុំប្តូរម៉ោងទៅម៉ោង៣វិញ", "ថ្ងៃអង្គារ ទី១៥ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ៣ រសៀល",
     "2026-12-15T08:00:00"),
    ("en", "please move it to 3", "Tuesday 15 December 2026, 15:00", "2026-12-15T08:00:00"),
    ("km", "ថ្ងៃសុក្រក្រោយ", "ថ្ងៃសុក្រ ទី១១ ខែធ្នូ ឆ្នាំ២០២៦ ម៉ោង ២ រសៀល",
     "2026-12-11T07:00:00"),
    ("en", "next Friday", "Friday 11 December 2026, 14:00", "2026-12-11T07:00:00"),
])
def test_moving_a_meeting_keeps_what_is_not_named(capp: App, clock: FakeClock, lang: str,
                                                  typed: str, shown: str, stored: str) -> None:
    meeting_id = new_meeting(capp, clock, pp(2026, 12, 15, 14))
    chat = _caf(capp, f"caf-move-{lang}-{len(typed)}", lang)
    chat.press(f"meet:time:{meeting_id}")
    asked = "អ្នកអាចសរសេរតែម៉ោង" if lang == "km" else "You can write only the time"
    assert asked in chat.text
    chat.send(typed)
    assert shown in chat.text and "frm:yes" in chat.payloads  # not "which day?"
    chat.press("frm:yes")
    assert shown in chat.text
    assert _starts(capp) == [stored]


# ------------------------------------------------------------------ round labels

@pytest.mark.parametrize(("label", "km", "en"), [
    (None, "ជុំទី ១២", "round 12"),
    ("2026 first half", "ជុំទី ១២ (2026 first half)", "2026 first half"),
    ("ឆមាសទី១ ២០២៦ / 2026 first half", "ឆមាសទី១ ២០២៦", "2026 first half"),
    ("ឆមាសទី១ ២០២៦", "ឆមាសទី១ ២០២៦", "round 12 (ឆមាសទី១ ២០២៦)"),
    ("2026", "២០២៦", "2026"),
])
def test_a_round_label_is_in_the_readers_language(capp: App, label: Any, km: str,
                                                  en: str) -> None:
    assert round_name(capp.content, 12, label, "km") == km
    assert round_name(capp.content, 12, label, "en") == en
