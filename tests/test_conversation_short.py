"""Issue 19, finding 11: short first, one number format, nothing stale, no contradictions.

A low-literacy reader got about 90 words of press history for the late-registration fee,
១០.០០០ and ១០ ០០០ in one answer, a 2024 law called "planned" in an answer checked in 2026, and
the police at district level in one line and commune level in the next. Now every fact's first
message fits a phone screen (40 words; Khmer counted in khmer-nltk words) and keeps its source
and checked year; the history is behind "More"; the content check catches stale tense and an
office named at two levels, each reported with its place.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.features import FEATURES
from common import formatting as fmt
from content.loader import load_content
from content.review import (
    DEFAULT_STALE_AFTER_YEARS,
    FIRST_MESSAGE_WORDS,
    contradiction_problems,
    reading_words,
    stale_tense,
    stale_tense_problems,
)
from dialogues.core.provenance import Freshness
from dialogues.services import handlers as services
from tests.conftest import Chat, edit_file
from tests.fake_nlu import RecordedNlu

TODAY = date(2026, 12, 3)
CONTENT = load_content(sections=FEATURES.sections)
FRESH = Freshness(TODAY, DEFAULT_STALE_AFTER_YEARS)
ASPECTS = sorted({a for s in CONTENT.services.values() for a in s.facts})
KHMER_GROUPED = re.compile(r"[០-៩]{1,3}(?:[ .,\u00a0][០-៩]{3})+")
ENGLISH_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:[ .,\u00a0]\d{3})+(?![\d])")


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _source_name(service_id: str, aspect: str, lang: str) -> str:
    source = CONTENT.sources[CONTENT.services[service_id].facts[aspect].source]
    return re.sub(r"\s*\([^)]*\)", "", source.name(lang)).strip()


def _has_source_and_date(text: str, service_id: str, aspect: str, lang: str) -> bool:
    year = fmt.digits(CONTENT.services[service_id].facts[aspect].checked.year, lang)
    return _source_name(service_id, aspect, lang) in text and year in text \
        and ("ប្រភព៖" in text if lang == "km" else "Source:" in text)


# ------------------------------------------------------------------ short first

@pytest.mark.parametrize("lang", ["km", "en"])
@pytest.mark.parametrize("service_id", sorted(CONTENT.services))
def test_every_first_message_fits_a_phone_screen_with_its_source_and_date(
        sqlite_app: object, service_id: str, lang: str) -> None:
    """Through the real app: the button of each aspect, as a citizen presses it."""
    chat = Chat(sqlite_app, user=f"{lang}-{service_id}")  # type: ignore[arg-type]
    chat.press(f"lang:{lang}")
    for aspect in CONTENT.services[service_id].facts:
        chat.press(f"svc:{service_id}:{aspect}")
        first = chat.last[0].text
        assert reading_words(first) <= FIRST_MESSAGE_WORDS, (aspect, reading_words(first), first)
        assert _has_source_and_date(first, service_id, aspect, lang), first
        assert f"svc:{service_id}:{aspect}:more" in chat.payloads


def test_the_overview_fits_too() -> None:
    for service in CONTENT.services.values():
        for lang in ("km", "en"):
            for message in services.answer_messages(CONTENT, service, [], lang, FRESH):
                assert reading_words(message) <= FIRST_MESSAGE_WORDS, (service.id, message)


def test_khmer_is_counted_in_khmer_nltk_words_and_signs_are_not_words() -> None:
    assert reading_words("💵 Fee: 10,000 riel (4×6).") == 5  # Fee, 10,000, riel, 4, 6
    assert reading_words("ឥតគិតថ្លៃ") > 1  # ឥត, គិត, ថ្លៃ: not one run of letters
    assert reading_words("ប្រភព៖ កាសែតភ្នំពេញប៉ុស្តិ៍ ២០១៧") >= 3


@pytest.mark.parametrize("lang", ["km", "en"])
def test_more_gives_the_long_text_every_source_and_the_day(sqlite_app: object,
                                                            lang: str) -> None:
    chat = Chat(sqlite_app, user=f"more-{lang}")  # type: ignore[arg-type]
    chat.press(f"lang:{lang}")
    for service in CONTENT.services.values():
        for aspect, fact in service.facts.items():
            chat.press(f"svc:{service.id}:{aspect}:more")
            [reply] = chat.last
            if fact.details:
                assert fact.details(lang) in reply.text
            for source_id in fact.sources:
                assert CONTENT.sources[source_id].title(lang) in reply.text
            assert fmt.day(fact.checked, lang) in reply.text
            for option in fact.fee_options:  # every price, also those the first message left
                assert services.fee_text(CONTENT, option, lang) in reply.text


# ------------------------------------------------------------------ one number format

def _every_rendered_text() -> list[tuple[str, str]]:
    texts = []
    for service in CONTENT.services.values():
        for lang in ("km", "en"):
            texts += [(lang, m) for m in services.answer_messages(CONTENT, service, [], lang,
                                                                   FRESH)]
            for fact in service.facts.values():
                texts += [(lang, m) for m in services.answer_messages(
                    CONTENT, service, [fact.aspect], lang, FRESH)]
                more = services.more_text(CONTENT, service, fact, lang, FRESH)
                texts.append((lang, re.sub(r"https?://\S+", "", more)))
    return texts


def test_one_number_format_per_language_in_every_rendered_answer() -> None:
    """Khmer ១០.០០០ (Khmer digits, dot), English 10,000: what `common.formatting.number` writes."""
    assert fmt.number(10000, "km") == "១០.០០០" and fmt.number(10000, "en") == "10,000"
    seen: dict[str, set[str]] = {"km": set(), "en": set()}
    for lang, text in _every_rendered_text():
        assert fmt.number_style_problems(text, lang) == [], text
        pattern = KHMER_GROUPED if lang == "km" else ENGLISH_GROUPED
        for written in pattern.findall(text):
            seen[lang].add(written)
            digits = re.sub(r"\D", "", written.translate(str.maketrans("០១២៣៤៥៦៧៨៩",
                                                                      "0123456789")))
            assert written == fmt.number(int(digits), lang), (written, text)
        if lang == "km":
            assert not re.search(r"[0-9]", text), text  # Khmer digits only
    assert "១០.០០០" in seen["km"] and "10,000" in seen["en"]


# ------------------------------------------------------------------ nothing stale

def test_stale_tense_is_found_and_reported_speech_is_not() -> None:
    read = date(2026, 12, 3)
    assert stale_tense("A new law was due to take effect in July 2024.", "en", read)
    assert stale_tense("ច្បាប់ថ្មី គ្រោងចូលជាធរមាននៅខែកក្កដា ឆ្នាំ២០២៤។", "km", read)
    assert stale_tense("The law is to be implemented from July 2024.", "en", read)
    assert not stale_tense("In 2017 the ministry said it would end the fine.", "en", read)
    assert not stale_tense("ឆ្នាំ២០១៧ ក្រសួងបាននិយាយថា នឹងលុបចោលប្រាក់ពិន័យ។", "km", read)
    assert not stale_tense("They promised: 'we will stop soon, in 2017'.", "en", read)
    assert not stale_tense("The new rules will apply from July 2027.", "en", read)


def test_the_real_content_has_no_stale_tense_and_no_contradiction() -> None:
    assert stale_tense_problems(CONTENT, TODAY) == []
    assert contradiction_problems(CONTENT) == []
    assert services.audit(CONTENT, TODAY, DEFAULT_STALE_AFTER_YEARS) == []


def test_a_planned_law_in_the_past_is_caught_with_its_place(broken: Path) -> None:
    edit_file(broken / "services" / "birth_certificate.yml", 'en: "List from 2015: ask the clerk."',
              'en: "A new civil registration law was due to take effect in July 2024."')
    edit_file(broken / "services" / "birth_certificate.yml", 'km: "បញ្ជីឆ្នាំ២០១៥៖ សួរស្មៀនឃុំ។"',
              'km: "ច្បាប់ថ្មីស្តីពីអត្រានុកូលដ្ឋាន គ្រោងចូលជាធរមាននៅខែកក្កដា ឆ្នាំ២០២៤។"')
    problems = [str(p) for p in stale_tense_problems(FEATURES.load_content(broken), TODAY)]
    for lang in ("km", "en"):
        assert any(p.startswith("content/services/birth_certificate.yml: birth_certificate: "
                                f"facts.documents.note.{lang}: calls a past event planned")
                   for p in problems), problems
    assert len(problems) == 2


def test_two_levels_of_one_office_are_caught_with_their_place(broken: Path) -> None:
    edit_file(broken / "services" / "family_book.yml",
              'en: "Apply at the administrative police post of your commune/sangkat: it tells you '
              'where your application goes."',
              'en: "Start at the administrative police post of your commune/sangkat. Since July '
              '2020 the district/khan police issue family books."')
    problems = [str(p) for p in contradiction_problems(FEATURES.load_content(broken))]
    assert problems == ["content/services/family_book.yml: family_book: (en): names the police "
                        "at 2 levels (commune in office, district in facts.place.text.en): say "
                        "one, and keep the history for the details"]


def test_the_check_command_reports_both_and_passes_on_the_real_content(broken: Path) -> None:
    edit_file(broken / "services" / "family_book.yml", "Apply at the administrative police post "
              "of your commune/sangkat", "Apply at the district police")
    edit_file(broken / "services" / "death_certificate.yml", 'en: "Outdated: ask the clerk."',
              'en: "The law planned for July 2024 may change this."')
    command = [sys.executable, "-m", "bot.cli", "content", "check", "--today", "2026-12-03"]
    env = {"ISAFBOT_CONTENT_DIR": str(broken), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "death_certificate.yml: death_certificate: facts.documents.note.en: calls a past " \
           "event planned" in result.stdout
    assert "family_book.yml: family_book: (en): names the police at 2 levels" in result.stdout
    real = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert real.returncode == 0, real.stdout + real.stderr


# ------------------------------------------------------------------ the cases of the finding

def test_late_registration_fee_and_family_book_in_english(sqlite_app: object) -> None:
    chat = Chat(sqlite_app, user="short-en")  # type: ignore[arg-type]
    chat.send("what do i need for late birth registration")
    first = chat.last[0].text
    assert "Birth notice" in first and reading_words(first) <= FIRST_MESSAGE_WORDS
    assert "planned" not in chat.text and "due to take effect" not in chat.text
    chat.press("svc:late_birth_registration:fee")
    fee, rights = chat.last[0].text, chat.last[-1].text
    assert fee.splitlines()[0].startswith("💵 Late birth registration: free")
    assert "10,000 riel" in fee and "Source: Phnom Penh Post 2017, checked 2026." in fee
    assert reading_words(fee) <= FIRST_MESSAGE_WORDS < 90
    assert "Your rights" in rights and "report:fee:late_birth_registration" in chat.payloads
    chat.press("svc:late_birth_registration:fee:more")
    assert "'soon, this month'" in chat.text and "International Bar Association" in chat.text
    chat.send("how much is a family book")
    assert "10,000-riel fee" in chat.last[0].text
    chat.press("svc:family_book:place")
    place = chat.last[0].text
    assert "commune" in place and "district" not in place
    chat.press("svc:family_book:place:more")
    assert "district/khan police issue family books" in chat.text  # the history, one tap away


def test_late_registration_fee_and_family_book_in_khmer(sqlite_app: object) -> None:
    chat = Chat(sqlite_app, user="short-km")  # type: ignore[arg-type]
    chat.send("សំបុត្របញ្ជាក់កំណើតត្រូវការឯកសារអ្វីខ្លះ")
    assert "គ្រោង" not in chat.text and reading_words(chat.last[0].text) <= FIRST_MESSAGE_WORDS
    chat.press("svc:late_birth_registration:fee")
    fee = chat.last[0].text
    assert fee.splitlines()[0].startswith("💵 សំបុត្របញ្ជាក់កំណើត៖ ឥតគិតថ្លៃ")
    assert "១០.០០០ រៀល" in fee and "១០ ០០០" not in chat.text
    assert "ប្រភព៖ កាសែតភ្នំពេញប៉ុស្តិ៍ ២០១៧ (ពិនិត្យ ២០២៦)" in fee
    assert reading_words(fee) <= FIRST_MESSAGE_WORDS
    chat.press("svc:late_birth_registration:fee:more")
    assert "សមាគមមេធាវីអន្តរជាតិ" in chat.text and "១០.០០០ រៀល" in chat.text
    chat.send("សៀវភៅគ្រួសារតម្លៃប៉ុន្មាន")
    assert "១០.០០០ រៀល" in chat.last[0].text
    chat.press("svc:family_book:place")
    place = chat.last[0].text
    assert "ឃុំ" in place and "ស្រុក" not in place and "ខណ្ឌ" not in place
