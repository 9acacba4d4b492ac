"""The retention purge deletes the reports' chart images (data_dir/report-charts: the
dashboard's and the public page's figures, a meeting's attachment) once the delivery period is
over, by the scheduler's job and by `isafbot db purge`; younger ones stay (a held message may
still carry one)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.db import Database
from bot.retention import purge
from bot.scheduling import job_context
from bot.settings import Retention
from common.db.base import utcnow
from content.reports.section import ReportRules
from tests.fake_nlu import RecordedNlu

NOW = datetime(2026, 12, 3, 12, 0)


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu  # no one talks to the bot here


def _charts(data_dir: Path, now: datetime, days_old: dict[str, float]) -> Path:
    directory = data_dir / "report-charts"
    directory.mkdir(parents=True, exist_ok=True)
    for name, age in days_old.items():
        path = directory / name
        path.write_bytes(b"\x89PNG\r\n\x1a\n")
        stamp = (now - timedelta(days=age)).replace(tzinfo=timezone.utc).timestamp()
        os.utime(path, (stamp, stamp))
    return directory


def test_old_report_charts_are_purged_and_recent_ones_kept(tmp_path: Path, database_url: str
                                                           ) -> None:
    db = Database(database_url)
    db.migrate()
    directory = _charts(tmp_path, NOW, {
        "reports-120809-km-0123456789abcdef.png": 40,  # the delivery period (30 days) is over
        "reports-meeting-7-en-0123456789abcdef.png": 31,
        ".reports-120809-en-x1y2z3.png": 45,  # a drawing interrupted long ago
        "reports-120809-en-fedcba9876543210.png": 2,  # recent: a held message may carry it
    })
    (directory / "notes.txt").write_text("not a chart")
    done = purge(db, Retention(), NOW, tmp_path)
    assert done.report_charts_deleted == 3
    assert sorted(p.name for p in directory.iterdir()) == [
        "notes.txt", "reports-120809-en-fedcba9876543210.png"]
    assert purge(db, Retention(), NOW, tmp_path).report_charts_deleted == 0
    shorter = purge(db, Retention(deliveries_days=1), NOW, tmp_path)
    assert shorter.report_charts_deleted == 1
    assert purge(db, Retention(), NOW).report_charts_deleted == 0  # no data_dir: no files
    db.dispose()


def test_the_scheduler_and_the_command_purge_report_charts(
        sqlite_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    data_dir = sqlite_app.settings.data_dir
    directory = _charts(data_dir, utcnow(), {"reports-120809-km-a.png": 60,
                                             "reports-120809-en-b.png": 0})
    assert job_context(sqlite_app).purge(utcnow()) >= 1
    assert [p.name for p in directory.iterdir()] == ["reports-120809-en-b.png"]
    _charts(data_dir, utcnow(), {"reports-meeting-3-km-c.png": 90})
    monkeypatch.setenv("ISAFBOT_DATABASE_URL", sqlite_app.settings.database_url)
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ISAFBOT_SECRET_KEY", "test-secret-key-0123456789")
    assert main(["db", "purge"]) == 0
    assert "report charts deleted: 1" in capsys.readouterr().out
    assert [p.name for p in directory.iterdir()] == ["reports-120809-en-b.png"]


def test_report_files_no_report_names_go_after_the_conversation_period(
        sqlite_app: App) -> None:
    """A photo of a report stays however old; what a cancelled or abandoned form left goes once
    no form can be resumed to claim it (the conversation period), not before."""
    from dialogues.reports import media
    from tests.reports_dashboard_helpers import a_photo, add_photo, add_report, media_path

    data_dir = sqlite_app.settings.data_dir
    reference = add_report(sqlite_app, "120809")
    kept = media_path(sqlite_app, add_photo(sqlite_app, reference, a_photo()))
    rules = ReportRules()
    left = media.media_dir(data_dir) / media.save_photo(a_photo("#222"), data_dir,
                                                        rules).file_name
    recent = media.media_dir(data_dir) / media.save_photo(a_photo("#555"), data_dir,
                                                          rules).file_name
    now = utcnow()
    for path, age in ((kept, 400), (left, 31), (recent, 29)):
        stamp = (now - timedelta(days=age)).replace(tzinfo=timezone.utc).timestamp()
        os.utime(path, (stamp, stamp))
    done = purge(sqlite_app.db, Retention(conversation_days=30), now, data_dir)
    assert done.report_media_orphans_deleted == 1
    assert kept.exists() and recent.exists() and not left.exists()
    assert purge(sqlite_app.db, Retention(conversation_days=30), now,
                 data_dir).report_media_orphans_deleted == 0
