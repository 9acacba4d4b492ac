"""Fee answers as a citizen gets them, through the real app (trained NLU model, real database),
for every service in Khmer and English: the first line is what an honest commune clerk would say
today, the rights block and the "I was overcharged" button come with it (the rights in a second
message), and the first message fits a phone screen: at most 40 words (issue 19, finding 11;
history and disagreeing sources are behind "More")."""

from __future__ import annotations

import unicodedata

import pytest

from bot.bootstrap import App
from bot.features import FEATURES
from common.messages import MAX_PAYLOAD_BYTES
from content.loader import load_content
from content.places import gazetteer
from content.review import FIRST_MESSAGE_WORDS, reading_words
from tests.conftest import Chat

CONTENT = load_content(sections=FEATURES.sections)
PHONE_SCREEN = 850  # visible characters (Khmer vowel signs and subscripts not counted)

# Typed the way people ask, and the first line an honest clerk would say under the newest
# official word (see docs/content-review.md for the sources of each).
FEES = {
    "birth_certificate": (
        "how much is a birth certificate?",
        "💵 Birth certificate: free if you report the birth within 30 days",
        "💵 សំបុត្រកំណើត៖ ឥតគិតថ្លៃ បើរាយការណ៍ក្នុងរយៈពេល ៣០ ថ្ងៃ"),
    "late_birth_registration": (
        "how much is late birth registration?",
        "💵 Late birth registration: free (in 2017 the ministry said it would end the fine)",
        "💵 សំបុត្របញ្ជាក់កំណើត៖ ឥតគិតថ្លៃ (ឆ្នាំ២០១៧ ក្រសួងបាននិយាយថា នឹងលុបចោលប្រាក់ពិន័យ)"),
    "birth_certificate_copy": (
        "how much is a copy of a birth certificate?",
        "💵 Copy of a birth certificate: 3,000 riel a sheet (2015 list)",
        "💵 សេចក្តីចម្លងសំបុត្រកំណើត៖ ៣.០០០ រៀល ក្នុងមួយសន្លឹក (បញ្ជីឆ្នាំ២០១៥)"),
    "marriage_announcement": (
        "how much is a marriage announcement?",
        "💵 Marriage announcement: 3,000 riel a sheet (2015 list)",
        "💵 ប័ណ្ណប្រកាសអាពាហ៍ពិពាហ៍៖ ៣.០០០ រៀល ក្នុងមួយសន្លឹក (បញ្ជីឆ្នាំ២០១៥)"),
    "marriage_certificate": (
        "how much is a marriage certificate?",
        "💵 Marriage certificate: free for two Cambodians",
        "💵 សំបុត្រអាពាហ៍ពិពាហ៍៖ ឥតគិតថ្លៃ សម្រាប់ពលរដ្ឋខ្មែរពីរនាក់"),
    "death_certificate": (
        "how much is a death certificate?",
        "💵 Death certificate: free if you report the death within 15 days",
        "💵 សំបុត្រមរណភាព៖ ឥតគិតថ្លៃ បើរាយការណ៍មរណភាពក្នុងរយៈពេល ១៥ ថ្ងៃ"),
    "residence_certificate": (
        "how much is a residence certificate?",
        "💵 Residence certificate: 4,000 riel a copy (2015 list)",
        "💵 លិខិតបញ្ជាក់ទីលំនៅ៖ ៤.០០០ រៀល ក្នុងមួយច្បាប់ (បញ្ជីឆ្នាំ២០១៥)"),
    "status_letter": (
        "single status letter how much",
        "💵 Single/widowed status letter: 10,000 riel a sheet (2015 list)",
        "💵 លិខិតបញ្ជាក់ភាពនៅលីវ មេម៉ាយ ឬពោះម៉ាយ៖ ១០.០០០ រៀល ក្នុងមួយសន្លឹក (បញ្ជីឆ្នាំ២០១៥)"),
    "certified_copy": (
        "how much to certify a document?",
        "💵 Certifying documents: free for papers to register your land",
        "💵 ការបញ្ជាក់ឯកសារ៖ ឥតគិតថ្លៃ សម្រាប់ឯកសារចុះបញ្ជីដីធ្លី"),
    "family_book": (
        "how much is a family book?",
        "💵 Family book: free (in 2017 the ministry announced the end of the "
        "10,000-riel fee)",
        "💵 សៀវភៅគ្រួសារ៖ ឥតគិតថ្លៃ (ឆ្នាំ២០១៧ ក្រសួងបានប្រកាសលុបថ្លៃ ១០.០០០ រៀល)"),
    "residence_book": (
        "how much is a residence book?",
        "💵 Residence book: free (in 2017 the ministry announced the end of "
        "the 10,000-riel fee)",
        "💵 សៀវភៅស្នាក់នៅ៖ ឥតគិតថ្លៃ (ឆ្នាំ២០១៧ ក្រសួងបានប្រកាសលុបថ្លៃ ១០.០០០ រៀល)"),
    "id_card": (
        "how much is an id card?",
        "💵 Khmer nationality ID card: free",
        "💵 អត្តសញ្ញាណប័ណ្ណសញ្ជាតិខ្មែរ៖ ឥតគិតថ្លៃ"),
}


def visible_length(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) not in ("Mn", "Mc"))


def test_every_service_has_its_expected_fee_line() -> None:
    assert set(FEES) == set(CONTENT.services)


@pytest.mark.parametrize("service_id", sorted(FEES))
def test_fee_answer_as_a_citizen_gets_it(sqlite_app: App, service_id: str) -> None:
    question, english_line, khmer_line = FEES[service_id]
    rights = CONTENT.rights
    assert rights is not None
    for lang, chat, line in (
            ("en", Chat(sqlite_app, user=f"en-{service_id}"), english_line),
            ("km", Chat(sqlite_app, user=f"km-{service_id}"), khmer_line)):
        chat.send(question if lang == "en" else
                  f"{CONTENT.services[service_id].name('km')}តម្លៃប៉ុន្មាន")
        reply, rights_reply = chat.last
        assert reply.text.splitlines()[0] == line
        assert rights_reply.text == rights.block(lang)
        assert "⚠️" in reply.text  # every fee rests on a source older than two years
        assert reading_words(reply.text) <= FIRST_MESSAGE_WORDS, (lang, reply.text)
        assert visible_length(reply.text) <= PHONE_SCREEN, (lang, visible_length(reply.text))
        assert f"report:fee:{service_id}" in chat.payloads  # "I was overcharged"
        for payload in chat.payloads:
            assert payload.isascii() and len(payload.encode()) <= MAX_PAYLOAD_BYTES
        if lang == "km":
            assert "Source:" not in chat.text and not any(c.isdigit() and c.isascii()
                                                          for c in chat.text)


def test_no_answer_says_about_where_the_source_says_at_most(chat: Chat) -> None:
    chat.send("how long does a birth certificate take")
    assert "At most 3 working days." in chat.text and "About" not in chat.text
    chat.send("សំបុត្រកំណើតយូរប៉ុន្មានថ្ងៃ")
    assert "យ៉ាងយូរ ៣ ថ្ងៃធ្វើការ។" in chat.text and "ប្រហែល" not in chat.text
    chat.press("svc:family_book:duration")  # the source gives 15 working days, no maximum
    assert "15 working days." in chat.text or "១៥ ថ្ងៃធ្វើការ។" in chat.text


def test_stale_documents_place_and_validity_warn_too(chat: Chat) -> None:
    chat.send("what documents do i need for an id card")
    assert "Your family book or residence book" in chat.text
    assert "May have changed since 2015" in chat.text  # Sub-decree 60 (2007), SEVAKHUM
    chat.press("svc:id_card:place")
    assert "May have changed since 2022" in chat.text
    chat.press("svc:id_card:place:more")  # the long warning says where to confirm
    assert "Our newest source is from 2022" in chat.text
    assert "Please confirm at the administrative police post" in chat.text
    chat.press("svc:id_card:validity")
    assert "10 years" in chat.text and "May have changed since 2023" in chat.text


def test_corrected_facts(chat: Chat) -> None:
    chat.send("hello")  # English from now on
    chat.press("svc:residence_book:documents")
    assert "police post has it" not in chat.text
    assert "Marriage certificate (or confirmation)" in chat.text
    chat.press("svc:residence_book:documents:more")  # the 2015 wording in full
    assert "marriage certificate or marriage confirmation certificate" in chat.text
    chat.press("svc:family_book:documents")
    assert "Marriage certificate (or confirmation)" in chat.text
    for payload in ("svc:residence_certificate:documents", "svc:status_letter:documents:more"):
        chat.press(payload)
        assert "One 4×6 photo" not in chat.text and "4×6 photos" in chat.text
    chat.press("svc:late_birth_registration:documents")
    assert "Outdated" in chat.text and "⚠️" in chat.text
    chat.press("svc:late_birth_registration:documents:more")
    assert "civil registration law" in chat.text
    chat.press("svc:marriage_certificate:fee")
    assert "30,000 riel when a Cambodian marries a foreigner" in chat.text


def test_more_shows_the_history_and_every_source(chat: Chat) -> None:
    chat.send("how much is a family book?")
    assert "svc:family_book:fee:more" in chat.payloads
    chat.press("svc:family_book:fee:more")
    assert "10 January 2017" in chat.text
    assert "https://phnompenhpost.com/national/govt-eliminate-fees" in chat.text
    assert "SEVAKHUM" in chat.text and "Last checked 3 December 2026." in chat.text
    assert "report:fee:family_book" in chat.payloads
    chat.press("svc:certified_copy:fee:more")
    assert "2023 or later" in chat.text  # an undated page says so


def test_the_report_flow_takes_over_the_button_once_it_exists(sqlite_app: App) -> None:
    """The reports feature handles `report:fee:<service>`: fee answers offer it, and older
    `rights:` buttons (sent before it existed) forward to it."""
    chat = Chat(sqlite_app)
    chat.send("how much is a family book?")
    assert "report:fee:family_book" in chat.payloads and "rights:family_book" not in chat.payloads
    chat.press("rights:family_book")
    assert chat.text == CONTENT.message("ask_commune", "en")  # the report's first question
    chat.send("Kouk Khleang")
    assert CONTENT.message("rpt_ask_when", "en") in chat.text  # kind and subject are known


def test_the_bot_writes_kouk_khleang_as_the_gazetteer_does() -> None:
    spelling = gazetteer().get("120809").name_km  # type: ignore[union-attr]
    assert spelling == "គោកឃ្លាង"
    assert f"«{spelling}»" in CONTENT.messages["ask_commune"].km
