"""The printable things on the dashboard's round page: the poster while a round is open (its
QR codes decode to the survey's links), the workbook and the JAAP's PDF once it is closed;
the same permissions as the CSV downloads. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import zxingcpp
from PIL import Image

from bot.bootstrap import App
from tests.dashboard_helpers import HC, OTHER, add_accounts, dashboard_app, seed_round
from tests.test_dashboard import logged_in

LINKS = {"TELEGRAM_BOT_USERNAME": "@isaf_test_bot", "MESSENGER_PAGE_NAME": "isafbot.test"}


@pytest.fixture
def printing(tmp_path: Path, database_url: str, quick_passwords: None) -> Iterator[App]:
    application = dashboard_app(tmp_path, database_url, **LINKS)
    add_accounts(application)
    yield application
    application.close()


def _rounds(app: App) -> tuple[int, int, int]:
    """A closed and an open round of HC, and a closed round in the other commune."""
    ratings = [{"enough_staff": score} for score in (1, 2, 3, 4, 5, 5)]
    closed = seed_round(app, HC, ratings, [{} for _ in ratings], [], close=True, label="2025")
    opened = seed_round(app, HC, ratings[:2], [{}, {}], [], close=False, label="2026")
    other = seed_round(app, OTHER, [{"working_hours": 3}] * 5, [{}] * 5, [], close=True)
    return closed, opened, other


def test_the_poster_of_an_open_round(printing: App) -> None:
    closed, opened, other = _rounds(printing)
    client = logged_in(printing, "caf")
    listing = client.get("/dashboard/?lang=en").text
    assert f"/dashboard/rounds/{opened}/poster/both.pdf" in listing
    assert f"/dashboard/rounds/{closed}/poster/" not in listing
    page = client.get(f"/dashboard/rounds/{opened}?lang=en").text
    assert f"/dashboard/rounds/{opened}/poster/both.pdf" in page and "workbook.xlsx" not in page
    png = client.get(f"/dashboard/rounds/{opened}/poster/both.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert f"poster-{HC}-both.png" in png.headers["content-disposition"]
    with Image.open(io.BytesIO(png.content)) as image:
        assert {found.text for found in zxingcpp.read_barcodes(image)} == {
            f"https://t.me/isaf_test_bot?start=svy_{HC}",
            f"https://m.me/isafbot.test?ref=svy_{HC}"}
    pdf = client.get(f"/dashboard/rounds/{opened}/poster/km.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    closed_poster = client.get(f"/dashboard/rounds/{closed}/poster/both.pdf?lang=en")
    assert closed_poster.status_code == 409 and "only be made while" in closed_poster.text
    assert client.get(f"/dashboard/rounds/{opened}/poster/fr.pdf").status_code == 404
    assert client.get(f"/dashboard/rounds/{opened}/poster/both.svg").status_code == 404
    assert client.get(f"/dashboard/rounds/{other}/poster/both.pdf").status_code == 403
    assert client.get("/dashboard/rounds/9999/poster/both.pdf").status_code == 404


def test_the_workbook_and_the_plan_of_a_closed_round(printing: App) -> None:
    closed, opened, other = _rounds(printing)
    client = logged_in(printing, "caf")
    page = client.get(f"/dashboard/rounds/{closed}?lang=en").text
    assert f"/dashboard/rounds/{closed}/workbook.xlsx" in page
    assert f"/dashboard/rounds/{closed}/jaap.pdf" in page and "poster/both.pdf" not in page
    response = client.get(f"/dashboard/rounds/{closed}/workbook.xlsx?lang=en")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    faces = list(book["Five faces"].iter_rows(values_only=True))
    assert faces[1][:7] == ("enough_staff", "Enough staff", 1, 1, 1, 1, 2)
    assert client.get(f"/dashboard/rounds/{opened}/workbook.xlsx").status_code == 409
    assert client.get(f"/dashboard/rounds/{other}/workbook.xlsx").status_code == 403
    plan = client.get(f"/dashboard/rounds/{closed}/jaap.pdf")
    assert plan.status_code == 200 and plan.content.startswith(b"%PDF")
    assert client.get(f"/dashboard/rounds/{other}/jaap.pdf").status_code == 403
    assert client.get("/dashboard/rounds/9999/jaap.pdf").status_code == 404
    forged = "99999999999999999999"  # beyond any integer key: none, not an error
    for path in (f"{forged}/jaap.pdf", f"{forged}/workbook.xlsx", f"{forged}/poster/both.pdf"):
        assert client.get(f"/dashboard/rounds/{path}").status_code == 404, path


def test_no_poster_without_chat_links(tmp_path: Path, sqlite_url: str,
                                      quick_passwords: None) -> None:
    app = dashboard_app(tmp_path, sqlite_url)
    add_accounts(app)
    try:
        _, opened, _ = _rounds(app)
        response = logged_in(app, "admin").get(
            f"/dashboard/rounds/{opened}/poster/both.pdf?lang=en")
        assert response.status_code == 409 and "TELEGRAM_BOT_USERNAME" in response.text
    finally:
        app.close()
