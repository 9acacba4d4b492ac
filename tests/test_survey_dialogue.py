"""The scorecard in chat, through the real app (real NLU model, real databases), as a citizen
would use it: complete, interrupt and resume, re-rate, stop early, invalid answers, Khmer and
English; and what is stored (nothing that names the respondent, nothing in the message log)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select

from bot.bootstrap import App, bootstrap
from common.messages import Kind
from dialogues.core.models import CafCommune, Conversation, MessageLog, User
from dialogues.core.outbox import OutboxMessage
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.store import comment_author, respondent_key
from tests.conftest import Chat, make_settings
from tests.fake_nlu import RecordedNlu
from tests.scorecard_helpers import (
    HC,
    HC_INDICATORS,
    button_payload,
    close,
    level_payload,
    open_for,
    stored,
)


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    """The real model's recorded answers (tests/fake_nlu.py): these tests are about the
    dialogues; how the model understands is tests/test_nlu*.py's."""
    return recorded_nlu


def _start_english(chat: Chat) -> None:
    chat.send("i want to rate the health centre in Kouk Khleang")
    assert "Rating Kouk Khleang Health Centre: 11 short questions" in chat.text
    assert "anonymous" in chat.text
    chat.press("svy:yes:consent")
    assert "Question 1/11 · Kouk Khleang Health Centre" in chat.text


def test_complete_survey_in_english_with_buttons(app: App) -> None:
    """On SQLite and PostgreSQL: every answer, the comment and the profile are stored, keyed
    by the pseudonym; the user asked for the summary."""
    open_for(app)
    chat = Chat(app, user="en-1")
    _start_english(chat)
    assert "Enough staff" in chat.text and "Tap a face" in chat.text
    assert [b.title for b in chat.last[0].buttons][:5] == [
        "😡 Very bad", "🙁 Bad", "😐 Acceptable", "🙂 Good", "😄 Very good"]
    scores = [5, 4, 3, 2, 1, 5, 4, 3, 2, 1]
    for number, score in enumerate(scores, start=1):
        assert f"Question {number}/11" in chat.text
        chat.press(level_payload(chat, score))
    assert "Question 11/11" in chat.text and "Any comment" in chat.text
    chat.send("The waiting room needs more benches")
    assert "your comment is saved" in chat.text and "optional questions" in chat.text
    chat.press(button_payload(chat, "Answer"))
    assert "About you 1/5" in chat.text and "gender" in chat.text
    chat.press(button_payload(chat, "Woman"))
    assert "How old are you?" in chat.text
    chat.send("27")
    assert "disability" in chat.text
    chat.send("no")
    assert "ethnic minority" in chat.text
    chat.send("prefer not to say")
    assert "ID-Poor" in chat.text
    chat.press(button_payload(chat, "Yes"))
    assert "summary of the results" in chat.text
    chat.press("svy:yes:notify")
    assert "Thank you for rating Kouk Khleang Health Centre" in chat.text
    assert "I'll send you a summary" in chat.text

    data = stored(app)
    assert len(data.responses) == 1
    response = data.responses[0]
    assert response.status == "complete"
    assert data.ratings[response.id] == dict(zip(HC_INDICATORS, scores, strict=True))
    assert data.profile[response.id] == {"gender": "female", "age_band": "age_18_30",
                                         "disability": "no", "ethnic_minority": "prefer_not",
                                         "id_poor": "yes"}
    assert data.comments == ["The waiting room needs more benches"]
    secret = app.settings.secret_key
    assert response.respondent == respondent_key(secret, "console", "en-1")
    with app.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "en-1")).scalar_one()
    assert data.subscriptions == [(response.round_id, user.id)]
    # Nothing in the response tables names the user or their account.
    for value in (response.id, response.respondent):
        assert "en-1" not in value and value != str(user.id)
    assert re.fullmatch(r"[0-9a-f]{32}", response.id)


def test_khmer_typed_answers_and_khmer_replies(chat: Chat) -> None:
    open_for(chat.app)
    chat.send("ចង់វាយតម្លៃមណ្ឌលសុខភាព")
    assert "ឃុំ ឬសង្កាត់ណា" in chat.text  # the commune is asked once
    chat.send("គោកឃ្លាំង")  # a common variant; the bot writes the gazetteer's គោកឃ្លាង
    assert "វាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង៖ សំណួរខ្លីៗចំនួន ១១" in chat.text
    chat.send("បាទ")
    assert "សំណួរទី ១/១១" in chat.text and "ចំនួនបុគ្គលិកគ្រប់គ្រាន់" in chat.text
    assert [b.title for b in chat.last[-1].buttons][:5] == [
        "😡 មិនពេញចិត្តខ្លាំង", "🙁 មិនពេញចិត្ត", "😐 ទទួលយកបាន", "🙂 ពេញចិត្ត",
        "😄 ពេញចិត្តខ្លាំង"]
    typed = ["៥", "ល្អ", "មិនពេញចិត្ត", "មិនពេញចិត្ត ខ្លាំង", "ទទួលយកបាន", "5", "ល្អណាស់បង",
             "អន់", "រំលង", "៣"]
    for number, text in enumerate(typed, start=1):
        assert f"សំណួរទី {'០១២៣៤៥៦៧៨៩'[number] if number < 10 else '១០'}/១១" in chat.text
        chat.send(text)
    assert "មតិយោបល់" in chat.text
    chat.send("បុគ្គលិករួសរាយណាស់ ប៉ុន្តែត្រូវរង់ចាំយូរ")
    assert "មតិយោបល់របស់អ្នកត្រូវបានរក្សាទុក" in chat.text
    chat.press(button_payload(chat, "រំលងសំណួរទាំងនេះ"))
    assert "សេចក្តីសង្ខេបលទ្ធផល" in chat.text
    chat.send("ទេ")
    assert "អរគុណសម្រាប់ការវាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង" in chat.text
    data = stored(chat.app)
    response = data.responses[0]
    assert data.ratings[response.id] == dict(zip(
        HC_INDICATORS, [5, 4, 2, 1, 3, 5, 5, 2, None, 3], strict=True))
    assert data.profile[response.id] == {}
    assert data.comments == ["បុគ្គលិករួសរាយណាស់ ប៉ុន្តែត្រូវរង់ចាំយូរ"]
    assert data.subscriptions == []
    assert response.status == "complete"


def test_invalid_answers_are_asked_again_clearly_and_save_nothing(chat: Chat) -> None:
    open_for(chat.app)
    _start_english(chat)
    chat.send("6")
    assert "number from 1 to 5" in chat.text and "Question 1/11" in chat.text
    chat.send("0")
    assert "number from 1 to 5" in chat.text
    chat.send("the nurse had a red umbrella")
    assert "couldn't read that as a rating" in chat.text and "Question 1/11" in chat.text
    chat.send("", kind=Kind.STICKER)
    assert "can't read stickers" in chat.text and "Question 1/11" in chat.text
    chat.send("", kind=Kind.VOICE)
    assert "voice messages" in chat.text and len(chat.payloads) == 8
    chat.send("   ")
    assert "Question 1/11" in chat.text
    chat.send("4.5")
    assert "couldn't read that" in chat.text
    chat.send("back")
    assert "This is the first question" in chat.text
    assert stored(chat.app).ratings == {stored(chat.app).responses[0].id: {}}
    chat.send("5 stars")
    assert "Question 2/11" in chat.text


def test_leaving_mid_way_pauses_and_coming_back_resumes(chat: Chat) -> None:
    open_for(chat.app)
    _start_english(chat)
    for text in ("5", "4", "3"):
        chat.send(text)
    chat.send("how much is a birth certificate?")
    assert "paused" in chat.text and "Birth certificate: free" in chat.text
    chat.send("what documents do I need")  # the survey no longer takes the messages
    assert "📄 Birth certificate: bring" in chat.text
    chat.press("svy")  # the menu entry
    assert "unfinished rating of Kouk Khleang Health Centre (3 of 10" in chat.text
    chat.press("svy:yes:resume")
    assert "Question 4/11" in chat.text and "Building in good condition" in chat.text


def test_resume_survives_a_restart_and_lost_conversation_state(tmp_path, sqlite_app: App,
                                                               nlu) -> None:
    """Answers are committed one by one: a new process on the same database, even without the
    conversation state, continues where the person was."""
    open_for(sqlite_app)
    chat = Chat(sqlite_app, user="crash")
    _start_english(chat)
    chat.send("2")
    chat.send("3")
    with sqlite_app.db.session() as session:
        session.execute(delete(Conversation))
    restarted = bootstrap(make_settings(tmp_path, sqlite_app.settings.database_url), nlu=nlu)
    try:
        again = Chat(restarted, user="crash")
        again.send("rate the health centre")
        assert "2 of 10 questions answered" in again.text
        again.press("svy:yes:resume")
        assert "Question 3/11" in again.text
    finally:
        restarted.close()


def test_a_second_attempt_edits_the_first(chat: Chat) -> None:
    open_for(chat.app)
    _start_english(chat)
    for _ in HC_INDICATORS:
        chat.send("3")
    chat.send("no")  # "any comment?" - "no" is no comment
    assert "optional questions" in chat.text
    chat.send("skip")  # profile questions
    chat.press("svy:no:notify")
    assert "Thank you for rating" in chat.text
    chat.send("rate the health centre in Kouk Khleang")
    assert "already rated Kouk Khleang Health Centre in this round" in chat.text
    chat.press("svy:yes:consent")
    assert "Your earlier answer: 😐 Acceptable" in chat.text
    assert "Keep ⏭" in [b.title for b in chat.last[-1].buttons]
    chat.press("svy:skip:q1")  # keep
    chat.press(level_payload(chat, 5))
    chat.send("stop")
    assert "Stopped" in chat.text
    data = stored(chat.app)
    assert len(data.responses) == 1
    ratings = data.ratings[data.responses[0].id]
    assert ratings["enough_staff"] == 3 and ratings["equipment_medicines"] == 5
    assert [ratings[i] for i in HC_INDICATORS[2:]] == [3] * 8
    assert data.comments == []


def test_stop_early_keeps_the_answers_as_an_incomplete_response(chat: Chat) -> None:
    open_for(chat.app)
    _start_english(chat)
    chat.send("very good")
    chat.send("bad")
    chat.press("svy:stop:q3")
    assert "The 2 answers you gave are kept as an incomplete response" in chat.text
    data = stored(chat.app)
    assert data.responses[0].status == "stopped"
    assert data.ratings[data.responses[0].id] == {"enough_staff": 5, "equipment_medicines": 2}
    chat.send("5")  # no survey any more: an ordinary message
    assert "Question" not in chat.text
    chat.send("rate the health centre in Kouk Khleang")
    assert "unfinished rating" in chat.text and "2 of 10" in chat.text
    chat.press("svy:redo:resume")
    assert "Question 1/11" in chat.text and "Your earlier answer: 😄 Very good" in chat.text


def test_double_taps_and_stale_or_forged_buttons_answer_nothing(chat: Chat) -> None:
    open_for(chat.app)
    _start_english(chat)
    good = level_payload(chat, 4)
    chat.press(good)
    assert "Question 2/11" in chat.text
    chat.press(good)  # the same button again
    assert "earlier question" in chat.text and "Question 2/11" in chat.text
    chat.press("svy:a:q2:0123456789")  # forged tag for the current question
    assert "earlier question" in chat.text
    chat.press("svy:skip:q1")  # an old skip button
    assert "Question 2/11" in chat.text
    data = stored(chat.app)
    assert data.ratings[data.responses[0].id] == {"enough_staff": 4}


def test_a_closed_round_accepts_nothing(app: App) -> None:
    round_id = open_for(app)
    chat = Chat(app, user="late")
    _start_english(chat)
    chat.send("4")
    question_two = level_payload(chat, 5)
    close(app, round_id)
    chat.press(question_two)
    assert "has closed, so it takes no more answers" in chat.text
    chat.send("5")
    assert "Question" not in chat.text
    data = stored(app)
    assert data.ratings[data.responses[0].id] == {"enough_staff": 4}
    chat.send("rate the health centre in Kouk Khleang")
    assert "No scoring round is open for Kouk Khleang Health Centre" in chat.text


def test_the_message_log_keeps_steps_never_answers(app: App) -> None:
    open_for(app)
    chat = Chat(app, user="private")
    _start_english(chat)
    pressed = level_payload(chat, 1)
    chat.press(pressed)
    for text in ("very bad", "៥", "មិនពេញចិត្ត"):
        chat.send(text)
    chat.send("", kind=Kind.STICKER)
    marker = "Dr Sokha asked me for 20000 riel"
    for _ in HC_INDICATORS[4:]:
        chat.send("skip")
    chat.send(marker)
    chat.press("svy:pii:comment:keep")  # a name: offered removal first (issue 19, finding 8)
    chat.press(button_payload(chat, "Answer"))
    chat.press(button_payload(chat, "Man"))
    chat.send("stop")
    chat.press(pressed)  # a stale face button after the survey ended: logged, but opaque
    with app.db.session() as session:
        logs = session.execute(select(MessageLog).order_by(MessageLog.id)).scalars().all()
    texts = [log.text or "" for log in logs]
    assert logs[0].text == "i want to rate the health centre in Kouk Khleang"
    for secret in (marker, "very bad", "៥", "មិនពេញចិត្ត", "male", "😡", "Very bad",
                   "Question 2/11"):
        assert not any(secret in text for text in texts), secret
    in_flow = [log for log in logs if log.step]
    assert len(in_flow) > 20
    assert all(log.text is None and log.intent is None and log.entities is None
               for log in in_flow)
    assert {log.step for log in in_flow} >= {"survey:q1", "survey:q4", "survey:comment",
                                              "survey:p1"}
    stale = [log.text for log in logs if (log.text or "").startswith("svy:a:")]
    assert stale == [pressed] and re.fullmatch(r"svy:a:q1:[0-9a-f]{10}", pressed)


def test_comments_are_stored_apart_and_replaced_on_a_second_attempt(chat: Chat) -> None:
    round_id = open_for(chat.app)
    _start_english(chat)
    chat.press("svy:stop:q1")
    chat.send("rate the health centre in Kouk Khleang")
    chat.press("svy:yes:consent")
    for _ in HC_INDICATORS:
        chat.send("skip")
    chat.send("First comment")
    assert "optional questions" in chat.text
    chat.send("back")
    assert "Any comment" in chat.text and "a new one replaces it" in chat.text
    chat.send("x" * 1500)
    assert "kept its first 1,000 characters" in chat.text
    assert stored(chat.app).comments == ["x" * 1000]
    author = comment_author(chat.app.settings.secret_key,
                            respondent_key(chat.app.settings.secret_key, "console", "u1"),
                            round_id)
    assert author != stored(chat.app).responses[0].respondent


def test_choosing_among_facilities_and_the_sample_list_note(chat: Chat) -> None:
    open_for(chat.app, HC)
    open_for(chat.app, "ps_120809")
    chat.send("hello")
    chat.press("commune:change")
    chat.send("Kouk Khleang")
    chat.press("svy")
    assert "Which service in Kouk Khleang would you like to rate?" in chat.text
    assert "sample list" in chat.text
    assert {"svy:f:hc_120809", "svy:f:ps_120809"} <= set(chat.payloads)
    assert "svy:f:co_120809" not in chat.payloads  # no open round
    chat.press("svy:f:ps_120809")
    assert "Rating Kouk Khleang Primary School: 10 short questions" in chat.text
    chat.press("svy:yes:consent")
    assert "Enough classrooms" in chat.text


def test_no_open_round_and_unknown_places_are_explained(chat: Chat) -> None:
    chat.send("rate the health centre in Kouk Khleang")
    assert "No scoring round is open for Kouk Khleang Health Centre" in chat.text
    open_for(chat.app, "ps_120802")
    chat.send("rate the school in Teuk Thla")  # five communes are called Tuek Thla
    assert "Rating Tuek Thla Primary School" in chat.text  # only one has facilities


def test_a_deep_link_opens_one_facility(chat: Chat) -> None:
    open_for(chat.app, "co_200401")
    chat.send("/start svy_co_200401")  # a new user: Khmer until they write otherwise
    assert "វាយតម្លៃរដ្ឋបាលឃុំអំពិល" in chat.text and "svy:yes:consent" in chat.payloads
    chat.send("/start svy_nothing")
    assert "សេវានោះលែងមាននៅក្នុងបញ្ជីរបស់ខ្ញុំហើយ" in chat.text


def _make_caf(app: App, user: str, commune: str = "120809") -> Chat:
    chat = Chat(app, user=user)
    chat.send("hello")
    with app.db.session() as session:
        row = session.execute(select(User).where(User.channel_user_id == user)).scalar_one()
        row.role = "caf"  # roles are given by invites (the meetings feature); here, directly
        row.commune_code = commune
        session.add(CafCommune(user_id=row.id, commune_code=commune))
    return chat


def test_a_caf_opens_and_closes_rounds_in_the_chat(app: App) -> None:
    citizen = Chat(app, user="citizen")
    citizen.send("hello")
    citizen.send("/rounds")
    assert "for Community Accountability Facilitators" in citizen.text
    citizen.press("rnd:open:hc_120809")  # a forged button
    assert "for Community Accountability Facilitators" in citizen.text
    citizen.send("rate the health centre in Kouk Khleang")
    assert "No scoring round is open" in citizen.text

    caf = _make_caf(app, "caf-sophea")
    caf.press("rnd:open:hc_200401")  # another commune's facility: not this CAF's
    assert "could not be done" in caf.text and "Kouk Khleang" in caf.text
    caf.send("/rounds")
    assert "Scoring rounds in Kouk Khleang" in caf.text
    assert {"rnd:open:hc_120809", "rnd:open:ps_120809", "rnd:open:co_120809"} <= \
        set(caf.payloads)
    caf.press("rnd:open:hc_120809")
    assert "is open" in caf.text and "svy_hc_120809" in caf.text

    _start_english(citizen)
    for _ in HC_INDICATORS:
        citizen.send("4")
    citizen.send("skip")
    citizen.send("skip")
    citizen.press("svy:yes:notify")

    caf.send("/rounds")
    close = next(p for p in caf.payloads if p.startswith("rnd:close:"))
    caf.press(close.replace("close", "results"))  # no figures while the round is open
    assert "Fewer than 5" not in caf.text and "could not be done" in caf.text
    caf.press(close)
    assert "Close the scoring round for Kouk Khleang Health Centre? 1 people" in caf.text
    caf.press(f"{close}:yes")
    assert "is closed; 1 summaries" in caf.text
    caf.press(f"{close}:yes")  # twice: already closed
    assert "could not be done" in caf.text
    caf.press(close.replace("close", "results"))
    assert "Fewer than 5 people rated it" in caf.text
    with app.db.session() as session:
        summaries = session.execute(select(OutboxMessage).where(
            OutboxMessage.batch.like("scorecard-summary:%"))).scalars().all()
        assert session.execute(select(func.count()).select_from(ScoringRound)).scalar() == 1
    assert [m.address for m in summaries] == ["citizen"]
