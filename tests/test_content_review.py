"""The honesty rules of the content, one test each, and the content check failing on each kind of
defect (a broken copy of the content per rule):

- no fact without a source;
- no fact whose last check is more than a year old (reported by `isafbot content check`);
- no stale fact without its warning, whatever the aspect (documents, fee, time, place, validity);
- no fee answer without the rights block;
- no number written by hand in another style than the bot's own (one style per language).

docs/content-review.md is generated from the content; a test keeps it current.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.features import FEATURES
from content.loader import load_content
from content.model import Content
from content.review import DEFAULT_STALE_AFTER_YEARS, is_stale, newest_source, recheck_problems
from dialogues.core.provenance import Freshness
from dialogues.services import handlers as services
from dialogues.services.review_record import record_date, review_record
from tests.conftest import ROOT, edit_file

TODAY = date(2026, 12, 3)  # the day this content was reviewed; the rules are judged as of then
CONTENT = load_content(sections=FEATURES.sections)
FRESH = Freshness(TODAY, DEFAULT_STALE_AFTER_YEARS)


def _review(content: Content, today: date = TODAY) -> list[str]:
    """What `isafbot content check` reports beyond structure."""
    return [str(p) for p in recheck_problems(content, today)
            + services.audit(content, today, DEFAULT_STALE_AFTER_YEARS)]


# ------------------------------------------------------------------ the bundled content

def test_bundled_content_passes_every_review_rule() -> None:
    assert _review(CONTENT) == []


def test_every_fact_has_a_source_a_checked_date_and_a_record_of_what_was_compared() -> None:
    for service in CONTENT.services.values():
        for aspect, fact in service.facts.items():
            assert fact.sources and all(s in CONTENT.sources for s in fact.sources)
            assert fact.checked <= TODAY
            assert fact.review and len(fact.review) > 20, (service.id, aspect)


@pytest.mark.parametrize("lang", ["km", "en"])
def test_every_stale_fact_carries_its_warning_in_every_aspect(lang: str) -> None:
    """Documents, fees, times, places and validity alike: the warning names the year of the
    newest source, and the source line names every source."""
    seen_aspects = set()
    for service in CONTENT.services.values():
        for aspect, fact in service.facts.items():
            text = services.answer_text(CONTENT, service, [aspect], lang, FRESH)
            newest = newest_source(CONTENT, fact.sources)
            if is_stale(CONTENT, fact.sources, TODAY, DEFAULT_STALE_AFTER_YEARS):
                seen_aspects.add(aspect)
                warning = services.stale_warning(CONTENT, service, fact, lang, FRESH)
                assert warning and warning in text, (service.id, aspect)
                year = str(newest.year) if lang == "en" else \
                    str(newest.year).translate(str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩"))
                assert year in warning
    assert seen_aspects == {"documents", "fee", "duration", "place", "validity"}


def test_a_fact_with_a_recent_source_carries_no_warning_and_the_age_is_a_setting() -> None:
    service = CONTENT.services["id_card"]
    fee = service.facts["fee"]  # newest source 2018
    assert services.stale_warning(CONTENT, service, fee, "en", FRESH)
    relaxed = Freshness(TODAY, 10.0)
    assert services.stale_warning(CONTENT, service, fee, "en", relaxed) is None
    assert services.stale_warning(CONTENT, service, fee, "en", Freshness(date(2019, 6, 1),
                                                                          2.0)) is None


@pytest.mark.parametrize("lang", ["km", "en"])
def test_no_fee_answer_without_the_rights_block(lang: str) -> None:
    assert CONTENT.rights is not None
    for service in CONTENT.services.values():
        text = services.answer_text(CONTENT, service, ["fee"], lang, FRESH)
        assert CONTENT.rights.block(lang) in text, service.id
        for aspect in ("documents", "duration", "place"):  # only fee answers carry it
            assert CONTENT.rights.block(lang) not in services.answer_text(
                CONTENT, service, [aspect], lang, FRESH)


def test_the_rights_block_says_what_the_issue_asks_and_invents_no_hotline() -> None:
    assert CONTENT.rights is not None
    block, complain = CONTENT.rights.block("en"), CONTENT.rights.complain("en")
    for words in ("official price board", "receipt", "Informal payments are prohibited",
                  "commune council", "district accountability working group"):
        assert words in block
    assert "commune council" in complain and "(CAF)" in complain
    # No source gives a hotline: no phone number, in either language.
    for lang in ("km", "en"):
        text = CONTENT.rights.block(lang) + CONTENT.rights.complain(lang)
        assert not re.search(r"[0-9០-៩][0-9០-៩ -]{5,}", text), text
    assert "hotline" not in (block + complain).lower()


def test_the_review_record_is_current() -> None:
    path = ROOT / "docs" / "content-review.md"
    text = path.read_text(encoding="utf-8")
    when = record_date(text)
    assert when is not None
    assert text == review_record(CONTENT, when, DEFAULT_STALE_AFTER_YEARS), \
        "docs/content-review.md is out of date: run `isafbot content review --today " \
        f"{when.isoformat()}`"
    for service in CONTENT.services.values():  # each service and each of its facts
        assert f"## {service.name('en')} ({service.name('km')})" in text


# ------------------------------------------------------------------ broken content, per rule

def test_check_fails_on_a_fact_without_a_source(broken: Path) -> None:
    edit_file(broken / "services" / "status_letter.yml", "    source: sevakhum_2015\n", "")
    content, problems = FEATURES.check_content(broken)
    assert content is None
    assert any("status_letter.yml: status_letter: facts.documents.source: missing: every fact "
               "needs a source" in str(p) for p in problems), problems


def test_check_fails_on_a_fact_checked_more_than_a_year_ago(broken: Path) -> None:
    path = broken / "services" / "residence_book.yml"
    edit_file(path, 'checked: "2026-12-03"', 'checked: "2025-11-30"')
    content = load_content(broken, sections=FEATURES.sections)
    assert _review(content) == [
        "content/services/residence_book.yml: residence_book: facts.documents.checked: last "
        "checked 2025-11-30, more than a year ago: compare it with its sources again and record "
        "what you checked"]
    assert _review(content, date(2026, 11, 29)) == []  # a year to the day is still fine


def test_check_fails_on_a_stale_fact_shown_without_its_warning(broken: Path) -> None:
    """The warning is the one thing that says a fact is old: rewording it so that it no longer
    says how old is a defect the check catches in every answer it would reach."""
    edit_file(broken / "messages.yml", 'km: "⚠️ អាចផ្លាស់ប្តូរតាំងពីឆ្នាំ {year}។"',
              'km: "អាចផ្លាស់ប្តូរ។"')
    edit_file(broken / "messages.yml", 'en: "⚠️ May have changed since {year}."',
              'en: "This may have changed."')
    content = FEATURES.load_content(broken)
    problems = _review(content)
    facts = sum(len(s.facts) for s in content.services.values())
    assert len(problems) == 2 * facts  # every fact is stale today, in both languages
    assert "content/services/birth_certificate.yml: birth_certificate: facts.documents: the km " \
           "answer would show this stale fact (newest source 2024-01-22) without its warning" \
           in problems[0]


def test_check_fails_on_a_fee_answer_without_the_rights_block(broken: Path) -> None:
    edit_file(broken / "rights.yml", "block:", "bloc:")
    content, problems = FEATURES.check_content(broken)
    assert content is None
    assert "content/rights.yml: rights: block: missing" in [str(p) for p in problems]


def test_check_fails_on_a_number_written_in_another_style(broken: Path) -> None:
    edit_file(broken / "services" / "family_book.yml", "ក្រសួងបានប្រកាសលុបថ្លៃ ១០.០០០ រៀល",
              "ក្រសួងបានប្រកាសលុបថ្លៃ ១០ ០០០ រៀល")
    edit_file(broken / "services" / "family_book.yml", "gave 10,000 riel a book",
              "gave 10000 riel a book")
    content, problems = FEATURES.check_content(broken)
    assert content is None
    texts = [str(p) for p in problems]
    assert any(t.startswith("content/services/family_book.yml: family_book: facts.fee.options")
               and t.endswith("km: number written ១០ ០០០ (write ១០.០០០), as the bot writes "
                              "every number") for t in texts), texts
    assert "content/services/family_book.yml: family_book: facts.fee.details.en: number " \
           "written 10000 (write 10,000), as the bot writes every number" in texts


def test_the_check_command_fails_on_review_problems_and_passes_on_the_bundled_content(
        broken: Path) -> None:
    edit_file(broken / "services" / "id_card.yml", 'checked: "2026-12-03"', 'checked: "2024-01-01"')
    env = {"ISAFBOT_CONTENT_DIR": str(broken), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "content", "check", "--today",
                             "2026-12-03"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "id_card.yml: id_card: facts.documents.checked: last checked 2024-01-01" \
        in result.stdout
    assert "the bot runs" in result.stderr  # review problems do not stop the bot
