"""Scripted conversations for context in understanding (issue 18) and issue 19's findings 1
(wrong place said with confidence), 3 (misspellings lose the topic) and 4 (the previous topic
hijacks unrelated questions), in Khmer and English, through the real app with the model's
recorded answers (tests/fake_nlu.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu

KOUK_KHLEANG = "120809"


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


# ------------------------------------------------------------------ follow-ups

@pytest.mark.parametrize(("first", "follow_up", "expected"), [
    ("what documents for a birth certificate", "and the price?", "💵 Birth certificate"),
    ("what documents for a birth certificate", "what does it cost", "💵 Birth certificate"),
    ("what documents for a family book", "how long?", "⏱️ Family book:"),
    ("ធ្វើសំបុត្រកំណើតត្រូវការឯកសារអ្វីខ្លះ", "ចុះថ្លៃវិញ?", "💵 សំបុត្រកំណើត"),
    ("ធ្វើសៀវភៅគ្រួសារត្រូវការឯកសារអ្វីខ្លះ", "អស់លុយប៉ុនមាន", "💵 សៀវភៅគ្រួសារ"),
])
def test_an_aspect_alone_after_a_service_answer_is_about_that_service(
        chat: Chat, first: str, follow_up: str, expected: str) -> None:
    chat.send(first)
    chat.send(follow_up)
    assert chat.text.startswith(expected), chat.text[:120]


def test_a_service_named_alone_is_answered(chat: Chat) -> None:
    chat.send("កាតខ្មែរ")
    assert "អត្តសញ្ញាណប័ណ្ណ" in chat.text and "svc:id_card:fee" in chat.payloads


def test_a_bare_place_after_a_budget_answer_is_that_budget_for_the_new_place(chat: Chat) -> None:
    chat.send("budget of Kouk Khleang")
    assert "Kouk Khleang" in chat.text
    chat.send("Khmuonh")
    assert "In 2023, Khmuonh" in chat.text


# ------------------------------------------------------------------ finding 3: misspellings

@pytest.mark.parametrize(("typed", "service_km"), [
    ("សំបុតកំណើត", "សំបុត្រកំណើត"),
    ("សំបុត្រកំនើត", "សំបុត្រកំណើត"),
    ("សៀវភៅគ្រូសារ", "សៀវភៅគ្រួសារ"),
])
def test_common_khmer_misspellings_are_understood(chat: Chat, typed: str, service_km: str
                                                  ) -> None:
    chat.send(typed)
    assert service_km in chat.text and "មិនយល់" not in chat.text


@pytest.mark.parametrize(("first", "noise", "payload"), [
    ("how much is a family book", "blorp zzkx qq", "svc:family_book:documents"),
    ("សៀវភៅគ្រួសារតម្លៃប៉ុន្មាន", "ឡឹកឡាក់ ផុងផាំង", "svc:family_book:documents"),
])
def test_not_understood_keeps_the_current_services_buttons(chat: Chat, first: str, noise: str,
                                                          payload: str) -> None:
    chat.send(first)
    chat.send(noise)
    assert payload in chat.payloads and "svcs" in chat.payloads


# ------------------------------------------------------------------ finding 4: topic hijack

@pytest.mark.parametrize(("first", "question"), [
    ("what documents for a marriage certificate", "where do my answers go?"),
    ("ធ្វើសំបុត្រអាពាហ៍ពិពាហ៍ត្រូវការឯកសារអ្វីខ្លះ", "ចម្លើយរបស់ខ្ញុំទៅដល់អ្នកណាខ្លះ?"),
])
def test_an_unrelated_question_is_not_answered_with_the_previous_service(
        chat: Chat, first: str, question: str) -> None:
    chat.send(first)
    chat.send(question)
    assert "where to apply" not in chat.text and "what to bring" not in chat.text
    assert "កន្លែងដាក់ពាក្យ" not in chat.text and "ឯកសារដែលត្រូវយកមក" not in chat.text
    assert chat.payloads  # an answer of its own (who sees the answers), never a dead end


RESULTS_QUESTIONS = {"en": "when will I know the results of the health centre rating?",
                     "km": "ពេលណាដឹងលទ្ធផលនៃការវាយតម្លៃមណ្ឌលសុខភាព?"}


@pytest.mark.parametrize(("lang", "how"), [
    ("en", "A rating has no closing date set in advance"),
    ("km", "ការវាយតម្លៃមិនមានថ្ងៃបិទកំណត់ជាមុនទេ"),
])
def test_asking_about_a_ratings_results_says_how_they_come(chat: Chat, lang: str, how: str
                                                           ) -> None:
    chat.send(RESULTS_QUESTIONS[lang])
    assert not any(p.startswith("svy:yes:consent") for p in chat.payloads)  # no new rating
    assert how in chat.text
    assert "meet:next" in chat.payloads and "svy" in chat.payloads  # the meeting, or rate


def test_asking_about_results_names_the_round_asked_about_and_its_state(chat: Chat) -> None:
    from dialogues.core.models import User
    from dialogues.scorecard import store
    from tests.scorecard_helpers import close, open_for

    round_id = open_for(chat.app)
    chat.send("hello")
    with chat.app.db.session() as session:
        user = session.query(User).filter_by(channel_user_id="u1").one()
        store.subscribe(session, round_id, user.id)
    chat.send(RESULTS_QUESTIONS["en"])
    assert "⏳ Kouk Khleang Health Centre: the rating has been open since " in chat.text
    assert "You asked for the summary: I will send it when the round closes." in chat.text
    close(chat.app, round_id)
    chat.send(RESULTS_QUESTIONS["km"])
    assert "ការវាយតម្លៃកំពុងបើក" not in chat.text  # closed: never said to be open


# ------------------------------------------------------------------ finding 1: places

@pytest.mark.parametrize("question", [
    "how much money does khan sen sok get",
    "sangkat knhom ban luy ponman? Sen Sok",
    "ថវិកាខណ្ឌសែនសុខប៉ុន្មាន",
])
def test_a_district_asks_which_sangkat_with_buttons(chat: Chat, question: str) -> None:
    chat.send(question)
    assert "Kralanh" not in chat.text and "ក្រឡាញ់" not in chat.text
    assert f"bud:pick:{KOUK_KHLEANG}" in chat.payloads
    chat.press(f"bud:pick:{KOUK_KHLEANG}")
    assert "Kouk Khleang" in chat.text or "គោកឃ្លាង" in chat.text


def test_commune_and_province_typed_when_asked_resolve(chat: Chat) -> None:
    chat.send("how much money does my commune have")
    assert "Which commune or sangkat do you live in?" in chat.text
    chat.send("អំពិល ស្វាយរៀង")
    assert "Ampil (Romeas Haek, Svay Rieng)" in chat.text


def test_a_district_typed_when_asked_offers_its_communes(chat: Chat) -> None:
    chat.send("how much money does my commune have")
    chat.send("khan Sen Sok")
    assert "Which commune or sangkat of Saen Sokh?" in chat.text
    assert f"commune:{KOUK_KHLEANG}" in chat.payloads


def test_a_place_that_does_not_exist_is_not_found_with_no_wrong_answer(chat: Chat) -> None:
    chat.send("budget of sangkat Blorpvillex")
    assert 'I couldn\'t find a commune or sangkat called "Blorpvillex"' in chat.text
    assert "Which commune or sangkat do you live in?" not in chat.text


# ------------------------------------------------------------------ waiting for a commune

@pytest.mark.parametrize(("ask", "aside", "term"), [
    ("how much money does my commune have", "what is CIP?", "📖 Commune Investment Program"),
    ("ថវិកាឃុំខ្ញុំប៉ុន្មាន", "CIP ជាអ្វី?", "📖 កម្មវិធីវិនិយោគឃុំ សង្កាត់"),
])
def test_a_question_asked_while_a_commune_is_awaited_is_answered_as_itself(
        chat: Chat, ask: str, aside: str, term: str) -> None:
    """Not searched as a commune name ("did you mean ...?"): answered as the glossary word."""
    chat.send(ask)
    chat.send(aside)
    assert chat.text.startswith(term), chat.text[:80]
    assert not any(p.startswith("commune:") for p in chat.payloads)
    assert "couldn't find a commune" not in chat.text and "រកមិនឃើញ" not in chat.text


@pytest.mark.parametrize(("ask", "aside", "question", "commune"), [
    ("how much money does my commune have", "ok", "Which commune or sangkat do you live in?",
     "Kouk Khleang"),
    ("ថវិកាឃុំខ្ញុំប៉ុន្មាន", "ចាស", "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា?", "គោកឃ្លាង"),
])
def test_ok_while_a_commune_is_awaited_asks_for_it_again(chat: Chat, ask: str, aside: str,
                                                         question: str, commune: str) -> None:
    chat.send(ask)
    chat.send(aside)
    assert chat.text.startswith(question)
    chat.send(commune)  # and the name typed next still answers the budget
    assert commune in chat.text and "bud" in " ".join(chat.payloads)


def test_a_date_typed_while_a_commune_is_awaited_is_not_searched_as_one(chat: Chat) -> None:
    chat.send("how much money does my commune have")
    chat.send("ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល")
    assert not any(p.startswith("commune:") for p in chat.payloads)
    assert "couldn't find" not in chat.text and "រកមិនឃើញ" not in chat.text


# ------------------------------------------------------------------ the second re-trial (stop 24)

@pytest.mark.parametrize(("first", "money", "expected"), [
    ("ធ្វើសំបុត្រកំណើតត្រូវការឯកសារអ្វីខ្លះ", "ត្រូវចំណាយលុយប៉ុន្មាន", "💵 សំបុត្រកំណើត"),
    ("what documents for a birth certificate", "how much money do I pay", "💵 Birth certificate"),
])
def test_a_money_question_after_a_service_answer_is_its_fee_not_a_budget(
        chat: Chat, first: str, money: str, expected: str) -> None:
    chat.send(first)
    chat.send(money)
    assert chat.text.startswith(expected), chat.text[:80]


@pytest.mark.parametrize(("budget", "spending", "title"), [
    ("how much money does Kouk Khleang get", "what do they spend it on",
     "📋 Kouk Khleang (Saen Sokh, Phnom Penh), 2023"),
    ("ឃុំគោកឃ្លាងទទួលថវិកាប៉ុន្មាន", "លុយនោះយកទៅធ្វើអី", "📋 គោកឃ្លាង"),
])
def test_what_the_money_is_spent_on_after_a_budget_answer_gives_its_details(
        chat: Chat, budget: str, spending: str, title: str) -> None:
    chat.send(budget)
    chat.send(spending)
    assert title in chat.text
    assert not any(p.startswith("svc:") for p in chat.payloads)


@pytest.mark.parametrize(("text", "goodbye"), [
    ("thanks, goodbye", "Goodbye!"), ("អរគុណ លាហើយ", "លាហើយ!"),
])
def test_thanks_and_goodbye_together_is_a_goodbye(chat: Chat, text: str, goodbye: str) -> None:
    chat.send(text)
    assert chat.text.startswith(goodbye)


def test_thank_you_alone_stays_a_thank_you(chat: Chat) -> None:
    chat.send("thank you")
    assert chat.text.startswith("You're welcome")


@pytest.mark.parametrize("when", ["ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល", "next Tuesday at 2pm"])
def test_a_date_typed_alone_is_about_meetings_never_a_report(chat: Chat, when: str) -> None:
    chat.send(when)
    assert not any(p.startswith("rpt") for p in chat.payloads)
    chat.send("Kouk Khleang")  # the commune of the meetings asked for
    assert "Kouk Khleang" in chat.text or "គោកឃ្លាង" in chat.text
    assert "meet:sub" in chat.payloads


@pytest.mark.parametrize(("start", "results", "how"), [
    ("I want to rate the health centre", "when do the results come out",
     "A rating has no closing date set in advance"),
    ("ខ្ញុំចង់វាយតម្លៃមណ្ឌលសុខភាព", "ពេលណាបានដឹងលទ្ធផល",
     "ការវាយតម្លៃមិនមានថ្ងៃបិទកំណត់ជាមុនទេ"),
])
def test_a_results_question_while_the_commune_is_asked_is_answered(
        chat: Chat, start: str, results: str, how: str) -> None:
    """Never "I couldn't find a commune called 'when do the results come out'"."""
    chat.send(start)
    chat.send(results)
    assert how in chat.text


def test_an_unsure_budget_question_naming_a_district_asks_which_sangkat(chat: Chat) -> None:
    chat.send("what is the budget of Sen Sok district")
    assert f"bud:pick:{KOUK_KHLEANG}" in chat.payloads


def test_not_understood_after_a_budget_answer_does_not_offer_an_older_services_buttons(
        chat: Chat) -> None:
    chat.send("what documents for a family book")
    chat.send("how much money does Kouk Khleang get")
    chat.send("blorp zzkx qq")
    assert not any(p.startswith("svc:family_book") for p in chat.payloads)
    assert "svcs" in chat.payloads and "bud" in chat.payloads  # the menu


# ------------------------------------------------------------------ the third re-trial (stop 24)

def test_a_date_and_time_typed_alone_is_never_a_currency_question(chat: Chat) -> None:
    chat.send("ថ្ងៃសុក្រ ទី១១ ខែ១២ ម៉ោង៨ព្រឹក")
    assert "💱" not in chat.text and not any(p.startswith("rpt") for p in chat.payloads)


@pytest.mark.parametrize(("text", "intent_reply"), [
    ("Are you a real person?", "🤖 I am a bot"),
    ("who reads my comments", "🔒 Who sees what you write"),
    ("will the chief find out it was me", "🔒 Who sees what you write"),
    ("is what i write here confidential", "🔒 Who sees what you write"),
    ("will the chief find out it was me if I complain?", "🔒 Who sees what you write"),
    ("can I report anonymously?", "🔒 Who sees what you write"),
])
def test_unsure_readings_of_plain_questions_about_the_bot_are_answered(
        chat: Chat, text: str, intent_reply: str) -> None:
    chat.send(text)
    assert chat.text.startswith(intent_reply), chat.text[:80]


def test_the_word_glossary_typed_alone_lists_the_glossary(chat: Chat) -> None:
    chat.send("glossary")
    assert "bud:g:cip" in chat.payloads or any(p.startswith("bud:g:") for p in chat.payloads)
    assert "Sorry, I didn't understand" not in chat.text


def test_where_the_money_went_after_a_budget_answer_gives_its_details(chat: Chat) -> None:
    chat.send("how much money does Kouk Khleang get")
    chat.send("where did the money go")
    assert "📋 Kouk Khleang (Saen Sokh, Phnom Penh), 2023" in chat.text


@pytest.mark.parametrize("leave", ["nah forget it", "never mind", "ឈប់សិន", "stop"])
def test_a_form_is_left_with_the_words_people_use(chat: Chat, leave: str) -> None:
    from tests.meetings_helpers import KK, make_user

    make_user(chat.app, "u1", commune=KK)
    chat.press("report")
    assert "frm:cancel" in chat.payloads  # the report's form is open
    chat.send(leave)
    assert chat.text.startswith(("Cancelled. Nothing was saved or sent.",
                                 "បានបោះបង់។"))


def test_a_follow_up_may_say_we_and_can(chat: Chat) -> None:
    """"how soon can we get it" after a service answer: its time, not "do you mean…?"."""
    chat.send("what papers for a family book")
    chat.send("how soon can we get it")
    assert "svc:family_book:duration:more" in chat.payloads, chat.text[:120]


def test_a_report_that_is_a_statement_stays_a_report(chat: Chat) -> None:
    chat.send("I want to report the clerk anonymously")
    assert "🔒 Who sees what you write" not in chat.text


@pytest.mark.parametrize("text", ["what does JAAP mean", "JAAP ជាអ្វី"])
def test_a_glossary_word_asked_about_gets_its_own_entry(chat: Chat, text: str) -> None:
    """Not the whole framework's explanation: the plan agreed after the scorecard meetings."""
    chat.send(text)
    assert "JAAP" in chat.text or "ផ.ស.រ.គ" in chat.text, chat.text[:200]
    assert any(word in chat.text for word in ("agree on together", "ព្រមព្រៀងគ្នា")), chat.text


def test_the_framework_asked_about_is_still_explained(chat: Chat) -> None:
    chat.send("what is social accountability")
    assert "agree on together" not in chat.text
