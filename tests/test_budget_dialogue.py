"""Budget explainers as a user has them, through the real app (trained NLU model, real database,
charts drawn to the test's data directory): English and Khmer, namesakes, follow-ups, a missing
place, the quiz, the glossary, and honesty about sample figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from bot.features import FEATURES
from common.messages import MAX_PAYLOAD_BYTES, Incoming, Kind, Reply
from content.budgets.section import Budgets
from content.loader import load_content
from dialogues.core.engine import Dialogues
from dialogues.core.models import User
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    """The real model's recorded answers (tests/fake_nlu.py): these tests are about the
    dialogues; how the model understands is tests/test_nlu*.py's."""
    return recorded_nlu


CONTENT = load_content(sections=FEATURES.sections)
BUDGETS: Budgets = CONTENT.sections[Budgets]
KOUK_KHLEANG, TUEK_THLA_SEN_SOK, SRAH_CHIK = "120809", "120802", "010305"
KK_2023 = BUDGETS.communes[KOUK_KHLEANG].years[2023]
(KK_TOP, KK_TOP_SHARE), *_ = KK_2023.spending_by_share()


def _millions(riel: int) -> str:
    """How the bot writes big amounts in English."""
    value = riel / 1_000_000
    return f"{round(value):,} million riel" if value >= 100 else f"{value:.1f} million riel"


def _images(replies: list[Reply]) -> list[Path]:
    return [reply.image for reply in replies if reply.image is not None]


def _assert_payloads_are_short(chat: Chat) -> None:
    for payload in chat.payloads:
        assert len(payload.encode()) <= MAX_PAYLOAD_BYTES, payload


def test_english_question_about_kok_khleang(chat: Chat) -> None:
    replies = chat.send("how much does Kok Khleang sangkat have?")
    latest = BUDGETS.communes[KOUK_KHLEANG].years[2023]
    explainer = replies[0].text
    total = _millions(KK_2023.total_revenue)
    assert f"In 2023, Kouk Khleang (Saen Sokh, Phnom Penh) had {total}." in explainer
    assert "more than in 2022" in explainer  # change from last year
    assert "Commune/Sangkat Fund" in explainer
    assert KK_TOP.category == "roads"
    share = f"{round(KK_TOP_SHARE * 100)}%"
    assert f"Roads and infrastructure {share}" in explainer  # the largest category, as a share
    people = f"{latest.people.count:,}"
    assert f"for each of its {people} residents" in explainer  # per person
    # Sample figures are called so before the first figure, and how they were made is said.
    assert explainer.startswith("⚠️ Sample figures: this is not Kouk Khleang's real budget.\n")
    assert "How the sample was made" in explainer
    assert "Source: isaf-bot sample figures" in explainer and "last checked" in explainer
    assert len(explainer.split("\n\n")) <= 3  # at most three paragraphs
    [image] = _images(replies)
    assert image.exists() and image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert replies[1].text.startswith("📊 Sample figures:")
    payloads = chat.payloads
    for expected in (f"bud:d:{KOUK_KHLEANG}:2023", f"bud:c:{KOUK_KHLEANG}:2022",
                     f"bud:f:school:{KOUK_KHLEANG}:2023",
                     f"bud:f:health_centre:{KOUK_KHLEANG}:2023", f"bud:q:{KOUK_KHLEANG}:2023",
                     "bud:say", "meet:next", "bud:g", "menu"):
        assert expected in payloads
    _assert_payloads_are_short(chat)


def test_follow_up_buttons_details_last_year_school_and_health_centre(chat: Chat) -> None:
    chat.send("how much does Kok Khleang sangkat have?")
    chat.press(f"bud:d:{KOUK_KHLEANG}:2023")
    assert f"Money in ({_millions(KK_2023.total_revenue)}):" in chat.text
    assert f"• Roads and infrastructure: {_millions(KK_TOP.riel)} " \
           f"({round(KK_TOP_SHARE * 100)}%)" in chat.text
    assert "the government planned on average $110,000 per commune" in chat.text
    assert "Phnom Penh Post" in chat.text  # the national average's own source
    chat.press(f"bud:c:{KOUK_KHLEANG}:2022")
    assert "In 2022, Kouk Khleang" in chat.text
    assert f"bud:c:{KOUK_KHLEANG}:2023" in chat.payloads  # and back to the later year
    chat.press(f"bud:f:school:{KOUK_KHLEANG}:2022")
    assert "Kouk Khleang primary school received" in chat.text
    assert "per pupil" in chat.text and "free of charge" in chat.text
    assert "Sample figures" in chat.text
    assert _images(chat.last)
    chat.press(f"bud:f:health_centre:{KOUK_KHLEANG}:2022")
    assert "Kouk Khleang health centre received" in chat.text
    assert "Health Equity Fund" in chat.text
    _assert_payloads_are_short(chat)


def test_typed_follow_ups_refer_to_the_place_just_discussed(chat: Chat) -> None:
    chat.send("how much does Kok Khleang sangkat have?")
    chat.send("what about last year")
    assert "In 2022, Kouk Khleang" in chat.text  # the year before the one just shown
    chat.send("and the health centre?")
    assert "Kouk Khleang health centre received" in chat.text


def test_khmer_question_about_tuek_thla_asks_which_namesake(chat: Chat) -> None:
    replies = chat.send("ថវិកាសង្កាត់ទឹកថ្លាប៉ុន្មាន")
    assert "មានឃុំ សង្កាត់ច្រើនដែលមានឈ្មោះ ទឹកថ្លា" in chat.text
    labels = {b.payload: b.title for b in replies[0].buttons}
    assert labels[f"bud:pick:{TUEK_THLA_SEN_SOK}"] == "ទឹកថ្លា (សែនសុខ, រាជធានីភ្នំពេញ)"
    assert len(labels) >= 4  # every Tuek Thla, with district and province
    assert chat.payloads[0] == f"bud:pick:{TUEK_THLA_SEN_SOK}"  # the one with figures first
    replies = chat.press(f"bud:pick:{TUEK_THLA_SEN_SOK}")
    text = replies[0].text
    assert "នៅឆ្នាំ ២០២៣ ទឹកថ្លា (សែនសុខ, រាជធានីភ្នំពេញ) មានថវិកាសរុប" in text
    assert "លានរៀល" in text and "2023" not in text  # Khmer digits and words
    assert "តួលេខគំរូ" in text  # "sample figures"
    assert "ប្រភព៖" in text and "Source:" not in text
    assert _images(replies)[0].name.endswith(".png") and "-km-" in _images(replies)[0].name
    chat.send("ចុះឆ្នាំមុនវិញ")
    assert "នៅឆ្នាំ ២០២២ ទឹកថ្លា" in chat.text


def test_khmer_quiz_and_glossary(chat: Chat) -> None:
    chat.send("ថវិកាឃុំស្រះជីកឆ្នាំ២០២៣")
    assert "ស្រះជីក" in chat.text
    chat.press(f"bud:q:{SRAH_CHIK}:2023")
    assert "សំណួរខ្លី" in chat.text
    choices = [p for p in chat.payloads if p.startswith("bud:qa:")]
    assert len(choices) == 3
    best = BUDGETS.communes[SRAH_CHIK].years[2023].spending_by_share()[0][0].category
    assert f"bud:qa:{SRAH_CHIK}:2023:{best}" in choices
    chat.press(f"bud:qa:{SRAH_CHIK}:2023:{best}")
    assert "ត្រូវហើយ" in chat.text and chat.text.startswith("⚠️ តួលេខគំរូ៖")
    assert f"bud:qb:{SRAH_CHIK}:2023:up" in chat.payloads
    chat.press(f"bud:qb:{SRAH_CHIK}:2023:down")  # the sample budget went up
    assert "មិនទាន់ត្រូវទេ" in chat.text and "កើនឡើង" in chat.text
    chat.press("bud:g")
    assert "bud:g:jaap" in chat.payloads
    chat.press("bud:g:jaap")
    assert "ផែនការសកម្មភាពរួម ស្ដីពីការងារគណនេយ្យភាពសង្គម (ផ.ស.រ.គ)" in chat.text
    assert "ប្រភព៖" in chat.text
    chat.press("bud:g:cip")
    assert "កម្មវិធីវិនិយោគឃុំ សង្កាត់" in chat.text


def test_wrong_quiz_answer_is_friendly_and_says_the_right_one(chat: Chat) -> None:
    chat.send("how much does Kok Khleang sangkat have?")
    chat.press(f"bud:q:{KOUK_KHLEANG}:2023")
    chat.press(f"bud:qa:{KOUK_KHLEANG}:2023:accountability")
    assert f"Not quite! Roads and infrastructure got the most: {round(KK_TOP_SHARE * 100)}%." \
        in chat.text
    assert "Social accountability got 1%." in chat.text
    assert chat.text.startswith("⚠️ Sample figures:")  # before the shares it repeats
    assert "Source: isaf-bot sample figures" in chat.text
    chat.press(f"bud:qb:{KOUK_KHLEANG}:2023:up")
    assert "Right!" in chat.text and "went up" in chat.text


def test_missing_place_asks_for_the_commune_once_and_remembers_it(chat: Chat) -> None:
    chat.send("how much money does my commune have")
    assert "Which commune or sangkat do you live in?" in chat.text
    chat.send("Teuk Thla")  # a namesake: the places dialogue asks which one
    assert f"commune:{TUEK_THLA_SEN_SOK}" in chat.payloads
    chat.press(f"commune:{TUEK_THLA_SEN_SOK}")
    assert "I'll remember this commune" in chat.text
    assert "In 2023, Tuek Thla (Saen Sokh, Phnom Penh) had" in chat.text  # carried on
    with chat.app.db.session() as session:
        user = session.execute(select(User).where(User.channel_user_id == "u1")).scalar_one()
        assert user.commune_code == TUEK_THLA_SEN_SOK
    fresh = Chat(chat.app, user="u1")
    fresh.press("bud")  # the menu entry: no question asked again
    assert "Which commune" not in fresh.text
    assert "Tuek Thla" in fresh.text
    fresh.send("school budget")
    assert "Tuek Thla primary school received" in fresh.text


def test_a_commune_without_figures_gets_the_national_facts(chat: Chat) -> None:
    chat.send("budget of Phnom Penh Thmey sangkat")
    assert "I don't have budget figures for Phnum Penh Thmei" in chat.text
    assert "Commune/Sangkat Fund" in chat.text and "Source:" in chat.text
    assert "$110,000 per commune" in chat.text
    assert "commune:change" in chat.payloads
    assert not _images(chat.last)


def test_a_year_without_figures_shows_the_latest_and_says_so(chat: Chat) -> None:
    chat.send("budget of Khmuonh 2025")
    assert "I don't have figures for 2025 yet. The latest I have for Khmuonh are from 2023." \
        in chat.text
    assert "In 2023, Khmuonh" in chat.text


def test_ordinary_words_are_not_taken_for_a_place(chat: Chat) -> None:
    chat.press(f"bud:c:{KOUK_KHLEANG}:2023")
    chat.send("where does the commune money go")  # the NLU reads "money" as a place, Mien
    assert "Kouk Khleang" in chat.text
    assert "Mien" not in chat.text


def test_meeting_button_says_coming_soon_until_meetings_exist(sqlite_app: App) -> None:
    """Without the meetings feature's router the button says "coming soon"."""
    sqlite_app.dialogues = Dialogues(sqlite_app.dialogues.ctx, [
        r for r in FEATURES.routers if r.name != "meetings"])
    chat = Chat(sqlite_app)
    chat.send("hello")
    chat.press("bud:say")
    assert "How to have your say" in chat.text and "JAAP" in chat.text
    assert "bud:meet" in chat.payloads and "meet:next" not in chat.payloads
    chat.press("bud:meet")
    assert "coming to this bot soon" in chat.text


@pytest.mark.parametrize("payload", [
    "bud:c:999999:2023", "bud:d:120809:abcd", "bud:qa:120809:2023", "bud:f:school",
    "bud:qb:120809:2022:up", "bud:nonsense", "bud:g:nope", "bud:pick:",
])
def test_forged_or_old_buttons_get_a_clear_reply(chat: Chat, payload: str) -> None:
    chat.send("hello")
    replies = chat.press(payload)
    assert replies and all(reply.text for reply in replies)


def test_budget_conversation_on_both_databases(app: App) -> None:
    """The same conversation on SQLite and PostgreSQL (state and commune are stored)."""
    chat = Chat(app, user="db-user")
    chat.send("ថវិកាឃុំខ្ញុំ")
    assert "តើអ្នករស់នៅឃុំ ឬសង្កាត់ណា" in chat.text
    chat.send("គោកឃ្លាំង")  # a common variant; the bot writes the gazetteer's គោកឃ្លាង
    assert "គោកឃ្លាង (សែនសុខ, រាជធានីភ្នំពេញ) មានថវិកាសរុប" in chat.text
    reply = asyncio.run(app.handle(Incoming("console", "db-user", Kind.TEXT,
                                            text="ចុះសាលារៀនវិញ")))
    assert "សាលាបឋមសិក្សាគោកឃ្លាង" in reply[0].text


def test_menu_has_a_budget_entry(chat: Chat) -> None:
    chat.send("menu")
    assert "bud" in chat.payloads
    assert "Commune budget" in [b.title for r in chat.last for b in r.buttons]


def test_meeting_button_hands_over_to_the_meetings_feature_once_it_exists(
        sqlite_app: App) -> None:
    """The meetings feature handles `meet:next`: budget answers offer that payload, and old
    `bud:meet` buttons forward to it (the next meeting of the user's commune)."""
    chat = Chat(sqlite_app)
    chat.send("how much does Kok Khleang sangkat have?")
    assert "meet:next" in chat.payloads and "bud:meet" not in chat.payloads
    chat.press("bud:meet")  # the question named a place, not the user's own commune
    assert "Which commune or sangkat do you live in?" in chat.text
    chat.send("Kouk Khleang")
    assert "No meeting is planned in Kouk Khleang yet" in chat.text
    assert "meet:sub" in chat.payloads


def test_the_answer_survives_a_chart_that_cannot_be_drawn(chat: Chat,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dialogues.budgets import charting

    def broken_chart(*args: object) -> Path:
        raise OSError("no space left on device")

    monkeypatch.setattr(charting, "chart", broken_chart)
    replies = chat.send("how much does Kok Khleang sangkat have?")
    assert len(replies) == 1 and replies[0].image is None
    assert "Sample figures" in replies[0].text
    assert f"bud:d:{KOUK_KHLEANG}:2023" in chat.payloads


def _first_figure_at(text: str) -> int:
    """Where the first figure of an answer is (a digit in either script, years included)."""
    return next(i for i, ch in enumerate(text) if ch.isdigit())


@pytest.mark.parametrize("payloads", [
    [f"bud:c:{KOUK_KHLEANG}:2023"], [f"bud:d:{KOUK_KHLEANG}:2023"],
    [f"bud:f:health_centre:{KOUK_KHLEANG}:2023"], [f"bud:f:school:{KOUK_KHLEANG}:2023"],
    [f"bud:q:{KOUK_KHLEANG}:2023", f"bud:qa:{KOUK_KHLEANG}:2023:roads"],
    [f"bud:q:{KOUK_KHLEANG}:2023", f"bud:qb:{KOUK_KHLEANG}:2023:up"],
])
@pytest.mark.parametrize("lang", ["en", "km"])
def test_sample_figures_are_called_so_before_the_first_figure(chat: Chat, payloads: list[str],
                                                              lang: str) -> None:
    chat.press(f"lang:{lang}")
    for payload in payloads:
        replies = chat.press(payload)
    text = replies[0].text
    lead = "⚠️ Sample figures:" if lang == "en" else "⚠️ តួលេខគំរូ៖"
    assert text.startswith(lead), text[:80]
    assert text.index(lead) < _first_figure_at(text)


def test_health_centre_answer_tells_the_2023_health_equity_fund_extension(chat: Chat) -> None:
    chat.send("hello")
    chat.press(f"bud:f:health_centre:{KOUK_KHLEANG}:2023")
    assert "Since 24 October 2023 the Health Equity Fund also covers about 490,000 vulnerable " \
           "families" in chat.text
    assert "EAC News (2023), which may be out of date" in chat.text  # a stale national fact
    assert "How the sample was made: published Health Equity Fund payment rates, and " \
           "assumptions" in chat.text  # not "national averages": assumptions, said so


def test_the_year_of_the_129_million_dollars_is_said(chat: Chat) -> None:
    chat.send("budget of Phnom Penh Thmey sangkat")
    assert "for 2020 that was about $129 million for all communes together" in chat.text
    assert "Phnom Penh Post (2018), which may be out of date" in chat.text


def test_the_khmer_note_on_how_samples_were_made_gives_the_rates_the_english_gives() -> None:
    how_made = BUDGETS.files["content/budgets/data/sample.yml"].how_made
    assert how_made is not None
    for rate in (14000, 4000, 80000, 24000):
        assert f"{rate:,}" in how_made.en
        assert f"{rate:,}".replace(",", ".").translate(
            str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")) in how_made.km
