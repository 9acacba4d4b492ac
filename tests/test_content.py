"""Content validation: the real content is valid; broken content is reported precisely and
stops the bot from starting (it never fails mid-conversation)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.features import FEATURES
from content.loader import ContentError
from content.model import ASPECTS
from tests.conftest import make_settings

SERVICES = {
    "birth_certificate", "late_birth_registration", "birth_certificate_copy",
    "death_certificate", "marriage_certificate", "marriage_announcement", "family_book",
    "residence_book", "id_card", "certified_copy", "residence_certificate", "status_letter",
}


def test_bundled_content_is_valid_and_complete() -> None:
    content, problems = FEATURES.check_content()
    assert problems == []
    assert content is not None
    assert set(content.services) >= SERVICES
    for service in content.services.values():
        for aspect in ASPECTS:
            fact = service.fact(aspect)
            assert fact is not None, (service.id, aspect)
            assert fact.source in content.sources
            assert fact.checked.year >= 2026
            assert fact.review, (service.id, aspect)  # what was compared on that day


def _problems(root: Path) -> list[str]:
    content, problems = FEATURES.check_content(root)
    assert content is None
    return [str(p) for p in problems]


def test_yaml_syntax_error_names_file_and_line(broken: Path) -> None:
    (broken / "services" / "id_card.yml").write_text("id: id_card\nname: {en: [unclosed\n")
    problems = _problems(broken)
    assert any(p.startswith("content/services/id_card.yml: -: -: invalid YAML at line")
               for p in problems), problems


def test_missing_field_unknown_source_and_wrong_script(broken: Path) -> None:
    path = broken / "services" / "birth_certificate.yml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("source: sevakhum_2015", "source: nowhere", 1)
    assert "source: nowhere" in text
    path.write_text(text, encoding="utf-8")
    fee = broken / "services" / "family_book.yml"
    fee.write_text(fee.read_text(encoding="utf-8").replace("en: \"Family book\"",
                                                           "en: \"សៀវភៅគ្រួសារ\""),
                   encoding="utf-8")
    (broken / "services" / "residence_book.yml").write_text(
        "id: residence_book\nname: {km: សៀវភៅស្នាក់នៅ, en: Residence book}\n", encoding="utf-8")
    problems = _problems(broken)
    assert any("birth_certificate.yml: birth_certificate: facts." in p
               and "unknown source 'nowhere'" in p for p in problems), problems
    assert any("family_book.yml: family_book: name.en: contains Khmer script" in p
               for p in problems), problems
    assert "content/services/residence_book.yml: residence_book: facts: missing" in problems


def test_not_utf8_and_missing_message(broken: Path) -> None:
    (broken / "sources.yml").write_bytes(b"sources:\n  x: \xff\xfe\n")
    messages = (broken / "messages.yml").read_text(encoding="utf-8")
    (broken / "messages.yml").write_text(messages.replace("goodbye:", "farewell:"),
                                         encoding="utf-8")
    problems = _problems(broken)
    assert any(p.startswith("content/sources.yml: -: -: not UTF-8") for p in problems)
    assert "content/messages.yml: goodbye: text: missing (the dialogues use it)" in problems


def test_the_bot_refuses_to_start_on_broken_content(broken: Path, tmp_path: Path,
                                                     sqlite_url: str) -> None:
    (broken / "messages.yml").write_text("welcome: [", encoding="utf-8")
    settings = make_settings(tmp_path, sqlite_url, ISAFBOT_CONTENT_DIR=str(broken))
    with pytest.raises(ContentError) as error:
        bootstrap(settings, nlu=object())  # type: ignore[arg-type]
    assert "messages.yml" in str(error.value)


def test_content_check_command_reports_and_fails(broken: Path) -> None:
    (broken / "services" / "id_card.yml").write_text("id: wrong\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "check"], capture_output=True, text=True,
        env={"ISAFBOT_CONTENT_DIR": str(broken), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 1
    assert "content/services/id_card.yml: wrong: id: must equal the file name" in result.stdout
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "content", "check",
                         "--today", "2026-12-03"],
                        capture_output=True, text=True, timeout=120,
                        env={"PATH": "/usr/bin:/bin"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "content OK" in ok.stdout
