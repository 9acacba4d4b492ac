"""`isafbot reports list|show|export` on SQLite and PostgreSQL: what NGO staff see, and that
the export holds no identity (not even the pseudonym) and hides unapproved texts on request."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.db import Database
from dialogues.core.permissions import operator
from dialogues.reports import store
from tests.conftest import make_settings

SECRET = b"s" * 32


def test_list_show_and_export_without_identities(
        tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, database_url)
    for key, value in settings.env.items():
        monkeypatch.setenv(key, value)
    database = Database(database_url)
    database.migrate()
    reporter = store.reporter_key(SECRET, "telegram", "5550173942")
    with database.session() as session:
        report, _ = store.submit(session, store.Draft(
            commune_code="120809", kind="overcharged", service="birth_certificate",
            amount_minor=20000, currency="riel", official_fee_riel=0, text="no receipt"),
            secret=SECRET, reporter=reporter, submission="sub-1", today=date(2026, 12, 3))
        reference = report.reference
        store.change_status(session, operator("cli:test"), reference, "forwarded",
                            note="district office", notice=lambda r, lang: None)  # type: ignore
    database.dispose()
    db = ["--db", database_url]
    assert main(["reports", "list", *db]) == 0
    assert f"{reference}\t2026-12\t120809\tovercharged\tbirth_certificate\tforwarded" \
        in capsys.readouterr().out
    assert main(["reports", "show", reference.lower(), *db]) == 0
    shown = capsys.readouterr().out
    assert "amount: 20000" in shown and "forwarded by cli:test: district office" in shown
    assert main(["reports", "show", "R-ZZZZ", *db]) == 1
    capsys.readouterr()
    for extra, text in (([], "no receipt"), (["--approved-text-only"], "")):
        assert main(["reports", "export", *extra, *db]) == 0
        out = capsys.readouterr().out
        [row] = list(csv.DictReader(io.StringIO(out)))
        assert row["reference"] == reference and row["text"] == text
        assert reporter not in out and "5550173942" not in out and "sub-1" not in out
