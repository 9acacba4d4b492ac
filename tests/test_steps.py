"""The one step engine (dialogues/core/steps): each step kind reads valid and invalid answers in
Khmer and English (Khmer digits too), button payloads stay short and signed ones verify only
with their nonce; the form walker resumes where the user left off and goes back and cancels.
No NLU: every step here reads its texts itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.bootstrap import bootstrap
from dialogues.core.steps import kinds
from dialogues.core.steps.buttons import MAX_PAYLOAD_BYTES, payload, sign, verify
from tests.conftest import Chat, make_settings
from tests.meetings_helpers import KK, invite

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=PHNOM_PENH)
SCALE = {"very bad": 1, "bad": 2, "ok": 3, "good": 4, "very good": 5, "ល្អ": 4, "អាក្រក់": 2}
GENDER = {"female": "female", "ស្រី": "female", "male": "male", "ប្រុស": "male"}
YES_NO = {"yes": "yes", "បាទ": "yes", "ចាស": "yes", "no": "no", "ទេ": "no", "អត់": "no"}


# ------------------------------------------------------------------ rating (the five faces)

@pytest.mark.parametrize("text, value", [
    ("4", 4), ("៤", 4), ("5/5", 5), ("៣ ពិន្ទុ", 3), ("2 stars", 2), ("good", 4), ("Good!", 4),
    ("ល្អ", 4), ("ល្អ បង", 4), ("1", 1)])
def test_a_rating_reads_numbers_and_words_in_both_languages(text: str, value: int) -> None:
    read = kinds.read_rating(text, SCALE)
    assert read.ok and read.value == value


@pytest.mark.parametrize("text", ["0", "6", "៩", "10"])
def test_a_rating_out_of_the_five_faces_is_refused_not_ignored(text: str) -> None:
    read = kinds.read_rating(text, SCALE)
    assert not read.ok and read.understood and read.problem == "out_of_range"


@pytest.mark.parametrize("text", ["when is the meeting?", "ពេលណា", "abc"])
def test_a_text_that_is_no_rating_is_left_to_the_feature(text: str) -> None:
    read = kinds.read_rating(text, SCALE)
    assert not read.understood and read.value is None and read.problem is None


# ------------------------------------------------------------------ choice

@pytest.mark.parametrize("text, value", [
    ("female", "female"), ("Female.", "female"), ("ស្រី", "female"), ("ប្រុស", "male")])
def test_a_choice_reads_the_words_of_its_options(text: str, value: str) -> None:
    assert kinds.read_choice(text, GENDER).value == value


def test_a_choice_reads_a_number_only_when_the_feature_says_what_it_means() -> None:
    def bracket(age: int) -> str | None:
        return "18_24" if 18 <= age <= 24 else None

    assert kinds.read_choice("២០", GENDER, by_number=bracket).value == "18_24"
    assert kinds.read_choice("20", GENDER, by_number=bracket).value == "18_24"
    assert not kinds.read_choice("99", GENDER, by_number=bracket).understood
    assert not kinds.read_choice("20", GENDER).understood
    assert not kinds.read_choice("maybe", GENDER).understood


# ------------------------------------------------------------------ free text

def test_free_text_is_stripped_and_refused_when_empty_or_too_long() -> None:
    assert kinds.read_text("  Commune hall  ", 200).value == "Commune hall"
    assert kinds.read_text("សាលាឃុំ", 200).value == "សាលាឃុំ"
    assert kinds.read_text("   ", 200).problem == "empty"
    long = kinds.read_text("x" * 201, 200)
    assert long.problem == "too_long" and long.values == {"max": 200}
    assert kinds.read_text("x" * 5000, 0).ok  # no limit: the feature cuts it


def test_free_text_that_needs_words_refuses_digits_and_emoji_only() -> None:
    assert kinds.read_text("១២៣ 😀", 0, needs_letters=True).problem == "no_words"
    assert kinds.read_text("123", 0, needs_letters=True).problem == "no_words"
    assert kinds.read_text("គ្រូល្អ", 0, needs_letters=True).ok
    assert kinds.read_text("nurses were kind", 0, needs_letters=True).ok


# ------------------------------------------------------------------ place

def test_a_place_is_one_of_the_communes_offered() -> None:
    assert kinds.read_place("120809", ["120809", "120810"]).value == "120809"
    refused = kinds.read_place("999999", ["120809"])
    assert not refused.ok and refused.problem == "not_offered"


# ------------------------------------------------------------------ date and time

@pytest.mark.parametrize("text, expected", [
    ("15/12/2026 14:00", datetime(2026, 12, 15, 14, 0, tzinfo=PHNOM_PENH)),
    ("១៥/១២/២០២៦ ម៉ោង ២", datetime(2026, 12, 15, 14, 0, tzinfo=PHNOM_PENH)),
    ("tomorrow 8 am", datetime(2026, 12, 4, 8, 0, tzinfo=PHNOM_PENH)),
    ("ថ្ងៃស្អែក ម៉ោង ៨ ព្រឹក", datetime(2026, 12, 4, 8, 0, tzinfo=PHNOM_PENH))])
def test_a_date_and_time_reads_khmer_and_english(text: str, expected: datetime) -> None:
    read = kinds.read_datetime(text, NOW)
    assert read.ok and read.value == expected


@pytest.mark.parametrize("text, problem", [
    ("soon", "unreadable"), ("14:00", "no_date"), ("15/12/2026", "no_time"),
    ("31/02/2027 9:00", "bad_date"), ("01/12/2026 9:00", "past")])
def test_a_date_and_time_says_what_is_wrong(text: str, problem: str) -> None:
    read = kinds.read_datetime(text, NOW)
    assert not read.ok and read.problem == problem


def test_a_time_in_the_past_carries_the_time_it_read() -> None:
    read = kinds.read_datetime("01/12/2026 9:00", NOW)
    assert read.values["at"] == datetime(2026, 12, 1, 9, 0, tzinfo=PHNOM_PENH)


# ------------------------------------------------------------------ confirm

@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("Yes!", "yes"), ("បាទ", "yes"), ("ចាស", "yes"), ("no", "no"),
    ("អត់", "no"), ("ទេ", "no")])
def test_a_confirmation_reads_yes_and_no_in_both_languages(text: str, value: str) -> None:
    assert kinds.read_confirm(text, YES_NO).value == value


def test_a_confirmation_ignores_other_texts_and_other_meanings() -> None:
    assert not kinds.read_confirm("maybe later", YES_NO).understood
    assert not kinds.read_confirm("female", {**YES_NO, "female": "female"}).understood


# ------------------------------------------------------------------ payloads and signing

def test_payloads_are_joined_and_kept_under_telegrams_limit() -> None:
    assert payload("frm", "m", "120809") == "frm:m:120809"
    assert len(payload("svy", "a", "q12", "0123456789").encode()) <= MAX_PAYLOAD_BYTES
    with pytest.raises(ValueError):
        payload("bud", "qa", "120809", 2023, "ក" * 20)  # 60 bytes of Khmer: over 64


def test_a_signed_value_verifies_only_with_its_nonce_step_and_secret() -> None:
    secret, values = b"s" * 32, [1, 2, 3, 4, 5]
    tag = sign(secret, "nonce1", "q1", 4)
    assert len(tag) == 10 and set(tag) <= set("0123456789abcdef")  # opaque, short
    assert verify(secret, "nonce1", "q1", tag, values) == 4
    assert verify(secret, "nonce2", "q1", tag, values) is None  # another session
    assert verify(secret, "nonce1", "q2", tag, values) is None  # another step
    assert verify(b"t" * 32, "nonce1", "q1", tag, values) is None  # another secret
    assert verify(secret, "nonce1", "q1", "0123456789", values) is None  # forged


# ------------------------------------------------------------------ the form walker

class _RecordingNlu:
    """The real model, recording every text it is asked about."""

    def __init__(self, nlu: Any) -> None:
        self.nlu = nlu
        self.asked: list[str] = []

    async def parse(self, text: str) -> Any:
        self.asked.append(text)
        return await self.nlu.parse(text)


def test_a_form_resumes_where_the_user_left_off_without_the_nlu(
        tmp_path: Path, sqlite_url: str, nlu: Any) -> None:
    """A CAF who stops half-way (and comes back in a new session) is asked the step they were
    at; every typed answer (Khmer digits, an invalid date, a place) is read by the step."""
    recording = _RecordingNlu(nlu)
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=recording)
    try:
        Chat(app, user="caf").send(f"/caf {invite(app, KK)}")
        first = Chat(app, user="caf")
        first.press("meet:new")
        first.press("frm:c:0")  # one commune only: the place step is answered by itself
        first.send("សាលាឃុំ")
        first.send("៣២/១២/២០២៦ ម៉ោង ២")  # no 32nd of December
        assert "frm:back" in first.payloads and "frm:cancel" in first.payloads
        again = Chat(app, user="caf")  # later, another session: the form is where it was
        again.press("frm:c:1")  # a choice button of an earlier step: stale, not acted on
        assert "frm:c:0" not in again.payloads and "frm:back" in again.payloads
        again.send("១៥/១២/២០៣០ ម៉ោង ២")
        assert "ម៉ោង ២ រសៀល" in again.text  # the user writes Khmer: answered in Khmer
        again.press("frm:back")  # back to the date, then forward again
        again.send("15/12/2030 2pm")
        again.press("frm:skip")
        assert "frm:yes" in again.payloads
        again.send("បោះបង់")
        assert again.payloads == ["menu"]
        again.press("frm:yes")  # the form is over: the old confirmation does nothing
        assert again.payloads == ["menu"] and "frm:back" not in again.payloads
        assert recording.asked == []  # no form text ever went to the NLU
    finally:
        app.close()
