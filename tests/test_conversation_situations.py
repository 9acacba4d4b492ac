"""Issue 19, finding 2: the citizen's situation was ignored. A grandchild born two months ago
got the on-time birth certificate and "free within 30 days"; "is it late?" was not understood;
"can grandma apply instead of the parents?" got the last topic again; a foreigner marrying a
Cambodian got "out of scope" and a fee answer led by "Free". Each case in Khmer and English,
through the console channel with the real NLU model, and the one duration parser
(dialogues/services/situations.py) on its own."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.features import FEATURES
from content.loader import check_content, load_content
from content.services.situations import Situations
from dialogues.services.situations import find_elapsed
from tests.conftest import Chat, edit_file

SOURCE = ("Source:", "ប្រភព")


def _sourced(text: str) -> bool:
    return any(word in text for word in SOURCE) and ("2026" in text or "២០២៦" in text)


# ------------------------------------------------------------------ born N ago: which service

@pytest.mark.parametrize(("question", "why", "service"), [
    ("ចៅខ្ញុំកើតបាន2ខែហើយចង់ធ្វើសំបុតកំនើត", "លើសពី ៣០ ថ្ងៃក្រោយកំណើតហើយ", "សំបុត្របញ្ជាក់កំណើត"),
    ("my grandchild was born 2 months ago, I want a birth certificate",
     "more than 30 days after the birth", "Late birth registration"),
])
def test_a_birth_two_months_ago_is_a_late_registration_and_says_why(
        chat: Chat, question: str, why: str, service: str) -> None:
    chat.send(question)
    first = chat.last[0].text
    assert why in first and _sourced(first), first
    assert service in chat.text
    assert "svc:late_birth_registration:fee" in chat.payloads
    assert "free within 30 days" not in chat.text.lower()


@pytest.mark.parametrize(("question", "why"), [
    ("baby is 3 weeks old, birth certificate", "Born 3 weeks ago: still within the 30 days"),
    ("កូនខ្ញុំកើតបាន១០ថ្ងៃ ចង់ធ្វើសំបុត្រកំណើត", "កើតបាន ១០ ថ្ងៃ៖ នៅក្នុងរយៈពេល ៣០ ថ្ងៃ"),
])
def test_a_birth_within_30_days_is_the_ordinary_certificate(chat: Chat, question: str,
                                                            why: str) -> None:
    chat.send(question)
    assert chat.last[0].text.startswith(why), chat.last[0].text
    assert "svc:birth_certificate:fee" in chat.payloads


@pytest.mark.parametrize(("question", "expected"), [
    ("my father died last year, what paper do we need", "It depends on the exact date"),
    ("ឪពុកខ្ញុំស្លាប់បាន២០ថ្ងៃ ត្រូវធ្វើអ្វី", "លើសពី ១៥ ថ្ងៃហើយ"),
])
def test_a_death_tells_the_petition_or_the_court(chat: Chat, question: str, expected: str
                                                 ) -> None:
    chat.send(question)
    first = chat.last[0].text
    assert expected in first and _sourced(first), first
    assert "petition" in chat.text or "ពាក្យបណ្តឹង" in chat.text


# ------------------------------------------------------------------ "is it late?"

@pytest.mark.parametrize(("question", "verdict", "rule"), [
    ("ចៅខ្ញុំ២ខែហើយ យឺតហើយមែនទេ", "មែនហើយ យឺតហើយ។", "លើសពី ៣០ ថ្ងៃ"),
    ("my grandchild is 2 months old, is it late?", "Yes, it is late.", "more than 30 days"),
])
def test_is_it_late_is_answered_yes_with_the_rule(chat: Chat, question: str, verdict: str,
                                                  rule: str) -> None:
    chat.send(question)
    assert chat.text.startswith(verdict), chat.text
    assert rule in chat.text and _sourced(chat.text)
    assert "svc:late_birth_registration:documents" in chat.payloads


@pytest.mark.parametrize(("first", "then", "verdict"), [
    ("baby is 3 weeks old, birth certificate", "is it late?", "No, it is not late yet."),
    ("ចៅខ្ញុំកើតបាន2ខែហើយចង់ធ្វើសំបុតកំនើត", "យឺតហើយមែនទេ", "មែនហើយ យឺតហើយ។"),
])
def test_is_it_late_after_the_time_was_told(chat: Chat, first: str, then: str, verdict: str
                                            ) -> None:
    chat.send(first)
    chat.send(then)
    assert chat.text.startswith(verdict), chat.text


@pytest.mark.parametrize("question", ["my father died last year, is it too late?",
                                      "ម្តាយខ្ញុំស្លាប់ឆ្នាំមុន យឺតហើយឬនៅ"])
def test_a_death_last_year_is_late_whatever_the_day(chat: Chat, question: str) -> None:
    chat.send(question)
    assert chat.text.startswith(("Yes, it is late.", "មែនហើយ យឺតហើយ។")), chat.text
    assert "court" in chat.text or "តុលាការ" in chat.text


def test_near_the_limit_it_depends(chat: Chat) -> None:
    chat.send("my baby is 1 month old, is it late?")
    assert chat.text.startswith("It depends on the exact date"), chat.text
    assert {"svc:birth_certificate", "svc:late_birth_registration"} <= set(chat.payloads)


# ------------------------------------------------------------------ on someone's behalf

def test_grandma_applying_after_a_late_birth_in_english(chat: Chat) -> None:
    chat.send("my grandchild was born 2 months ago, I want a birth certificate")
    chat.send("Can grandma apply instead of the parents working in Thailand?")
    assert "our sources do not say" in chat.text and "commune office decides" in chat.text
    assert "Late birth registration" in chat.text and "petition" in chat.text
    assert _sourced(chat.text)
    assert "Residence certificate" not in chat.text


def test_grandma_applying_in_khmer(chat: Chat) -> None:
    chat.send("ចៅខ្ញុំកើតបាន2ខែហើយចង់ធ្វើសំបុតកំនើត")
    chat.send("ជីដូនអាចដាក់ពាក្យជំនួសឪពុកម្តាយដែលធ្វើការនៅថៃបានទេ")
    assert "ប្រភពរបស់យើងមិនបាននិយាយទេ" in chat.text and "សាលាឃុំ សង្កាត់ជាអ្នកសម្រេច" in chat.text
    assert "សំបុត្របញ្ជាក់កំណើត" in chat.text and "ពាក្យបណ្តឹង" in chat.text


def test_on_behalf_without_a_topic_asks_which_paper(chat: Chat) -> None:
    chat.send("ជីដូនអាចដាក់ពាក្យជំនួសឪពុកម្តាយដែលធ្វើការនៅថៃបានទេ")
    assert "ប្រភពរបស់យើងមិនបាននិយាយទេ" in chat.text and "សម្រាប់ឯកសារណា?" in chat.text
    assert "svc:birth_certificate" in chat.payloads


def test_on_behalf_after_another_topic_asks_instead_of_assuming_it(chat: Chat) -> None:
    chat.send("how much is a residence certificate")
    chat.send("Can grandma apply instead of the parents working in Thailand?")
    assert "our sources do not say" in chat.text and "Which paper is it for?" in chat.text
    assert "4x6" not in chat.text and "4×6" not in chat.text  # no residence papers listed
    assert chat.payloads[0] == "svc:residence_certificate"


@pytest.mark.parametrize(("first", "expected"), [
    ("how much is the status letter", "must come in person"),
    ("លិខិតបញ្ជាក់សភាពនៅលីវ ថ្លៃប៉ុន្មាន", "ត្រូវមកដោយផ្ទាល់"),
])
def test_on_behalf_where_the_source_says_in_person(chat: Chat, first: str, expected: str
                                                   ) -> None:
    """The one paper whose source says who applies: it is said, not "we do not know"."""
    chat.send(first)
    chat.send("can my mother apply for me instead")
    assert expected in chat.text, chat.text


# ------------------------------------------------------------------ a foreign spouse

@pytest.mark.parametrize(("question", "fee", "documents"), [
    ("I need papers to marry my Cambodian fiancée", "30,000 riel", "witnesses"),
    ("ខ្ញុំចង់រៀបការជាមួយជនបរទេស ត្រូវការឯកសារអ្វីខ្លះ", "៣០.០០០ រៀល", "សាក្សី"),
])
def test_marrying_a_foreigner_is_its_own_case(chat: Chat, question: str, fee: str,
                                              documents: str) -> None:
    chat.send(question)
    first = chat.last[0].text
    assert first.startswith("💍") and fee in first and _sourced(first), first
    assert documents in chat.text


@pytest.mark.parametrize(("question", "fee"), [
    ("how much is the marriage certificate for a foreigner", "30,000 riel"),
    ("រៀបការជាមួយជនបរទេស អស់ប៉ុន្មាន", "៣០.០០០ រៀល"),
])
def test_the_foreign_spouse_fee_never_leads_with_free(chat: Chat, question: str, fee: str
                                                      ) -> None:
    chat.send(question)
    first = chat.last[0].text
    assert first.startswith("💍") and fee in first, first
    assert "Free" not in first and "💵" not in first


@pytest.mark.parametrize(("first", "then", "fee"), [
    ("I need papers to marry my Cambodian fiancée", "and the price?", "30,000 riel"),
    ("ខ្ញុំចង់រៀបការជាមួយជនបរទេស ត្រូវការឯកសារអ្វីខ្លះ", "ចុះថ្លៃវិញ?", "៣០.០០០ រៀល"),
])
def test_the_fee_follow_up_keeps_the_foreign_case(chat: Chat, first: str, then: str,
                                                  fee: str) -> None:
    chat.send(first)
    chat.send(then)
    assert chat.last[0].text.startswith("💍") and fee in chat.last[0].text, chat.text


# ------------------------------------------------------------------ the duration parser

@pytest.fixture(scope="module")
def situations() -> Situations:
    content = load_content(sections=FEATURES.sections)
    return content.sections[Situations]


TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(("text", "days"), [
    ("born 2 months ago", (56, 62)),
    ("កើតបាន២ខែ", (56, 62)),
    ("ចៅខ្ញុំកើតបាន2ខែហើយ", (56, 62)),
    ("3 weeks old", (21, 21)),
    ("ស្លាប់បាន២០ថ្ងៃ", (20, 20)),
    ("ស្លាប់បានម្ភៃថ្ងៃ", None),  # ម្ភៃ (20) is not in the number words: no guess
    ("a year ago", (365, 366)),
    ("two years old", (730, 732)),
    ("ចៅខ្ញុំ២ខែហើយ", (56, 62)),
    ("បីសប្តាហ៍មុន", (21, 21)),
    ("kon knhom kert ban 2 khe hz", (56, 62)),
    ("died last year", (337, 701)),
    ("ស្លាប់ឆ្នាំមុន", (337, 701)),
    ("born yesterday", (1, 1)),
    ("last month", (3, 32)),
    ("how long does it take, 3 days?", None),  # no anchor: not a time passed
])
def test_the_duration_parser(situations: Situations, text: str,
                             days: tuple[int, int] | None) -> None:
    found = find_elapsed(text, situations, TODAY, situations.events["birth"].anchors)
    assert (found.min_days, found.max_days) == days if found else days is None, found


def test_the_parser_says_the_time_back_in_each_language(situations: Situations) -> None:
    birth = situations.events["birth"].anchors
    found = find_elapsed("កើតបាន2ខែហើយ", situations, TODAY, birth)
    assert found is not None
    assert found.said("km") == "បាន ២ ខែ" and found.said("en") == "2 months ago"
    one = find_elapsed("1 week old", situations, TODAY, birth)
    assert one is not None and one.said("en") == "1 week ago"


def test_the_situation_words_never_guess_without_a_service(chat: Chat) -> None:
    """A child's age in a question naming no service is not taken for a late birth."""
    chat.send("my son is 20 years old, what papers do I need?")
    assert "late birth registration" not in chat.text.lower()


def test_a_broken_threshold_is_a_content_problem(broken: Path) -> None:
    """The limits are content an NGO officer edits: a stage out of order is refused, with
    where it is, before the bot starts."""
    edit_file(broken / "services" / "situations" / "situations.yml", "until_days: 365",
              "until_days: 10")
    content, problems = check_content(broken, sections=FEATURES.sections)
    assert content is None
    assert any("events.death" in str(p) and "until_days rising" in str(p) for p in problems)
