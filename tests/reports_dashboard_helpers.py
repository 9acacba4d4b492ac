"""Helpers for the reports' dashboard tests: reports stored through the store as the chat flow
stores them (each under its own reporter pseudonym), a media file beside one, logged-in
clients."""

from __future__ import annotations

import io
import itertools
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.bootstrap import App
from bot.server import build_runtime, build_web_app
from content.reports.section import ReportRules
from dialogues.core.models import User
from dialogues.reports import media, store
from dialogues.reports.models import Report
from tests.dashboard_helpers import HC, login

SECRET = b"s" * 32
NOVEMBER = date(2026, 11, 20)
_people = itertools.count(1)


def add_report(app: App, commune: str, *, kind: str = "overcharged",
               facility: str | None = HC, facility_type: str | None = "health_centre",
               text: str | None = None, day: date = NOVEMBER,
               follow_up: bool = False, amount_minor: int | None = None) -> str:
    """One report by a new reporter; returns its reference."""
    person = str(next(_people))
    reporter = store.reporter_key(SECRET, "telegram", person)
    draft = store.Draft(commune_code=commune, kind=kind, facility_id=facility,
                        facility_type=facility_type, text=text,
                        amount_minor=amount_minor, currency="riel" if amount_minor else None,
                        service="birth_certificate" if amount_minor else None)
    with app.db.session() as session:
        user_id = None
        if follow_up:
            user = User(channel="telegram", channel_user_id=f"reporter-{person}", language="en")
            session.add(user)
            session.flush()
            user_id = user.id
        report, _ = store.submit(session, draft, secret=SECRET, reporter=reporter,
                                 submission=store.submission_key(SECRET, reporter, "n"),
                                 today=day, followup_user=user_id)
        return str(report.reference)


def add_many(app: App, commune: str, count: int, **options: Any) -> list[str]:
    return [add_report(app, commune, **options) for _ in range(count)]


def add_photo(app: App, reference: str, photo: bytes) -> str:
    """A photo stored as the report flow stores one (re-encoded without EXIF, random name,
    under the data directory) and recorded for the report; returns its media id."""
    saved = media.save_photo(photo, app.settings.data_dir, ReportRules())
    with app.db.session() as session:
        report = session.execute(select(Report).where(
            Report.reference == reference)).scalar_one()
        return str(store.add_media(session, report, kind="photo", file_name=saved.file_name,
                                   size=saved.size).id)


def a_photo(colour: str = "#e8590c", exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="JPEG", exif=exif or Image.Exif())
    return out.getvalue()


def client_for(app: App) -> TestClient:
    return TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")


def logged_in(app: App, username: str) -> TestClient:
    client = client_for(app)
    assert login(client, username).status_code == 303
    return client


def media_path(app: App, media_id: str) -> Path:
    return media.media_dir(app.settings.data_dir) / f"{media_id}.jpg"
