"""The dashboard in a real headless browser (Debian's chromium driven by Playwright): log in,
read results with their charts, download the CSV, be refused another commune's round, switch
language, publish, and read the public page on a phone-sized screen. Screenshots go to
test-artifacts/ (Khmer shaping is checked by looking at them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App
from bot.dashboard.auth import disable_account
from tests.conftest import ARTIFACTS
from tests.dashboard_helpers import (
    COMMENT,
    HC,
    HC_COMMUNE,
    PASSWORD,
    Seeded,
    add_accounts,
    dashboard_app,
    log_usage,
    seed,
    seed_meetings,
    seed_round,
)
from tests.live_server import LiveServer


@pytest.fixture
def server(tmp_path: Path, database_url: str,
           quick_passwords: None) -> Iterator[tuple[str, App, Seeded]]:
    """The production web app served by uvicorn on a free loopback port."""
    app = dashboard_app(tmp_path, database_url)
    add_accounts(app)
    seeded = seed(app)
    try:
        with LiveServer(app, workers=1) as live:
            yield live.url, app, seeded
    finally:
        app.close()


def _shot(page: Any, name: str, database_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    kind = "pg" if database_url.startswith("postgresql") else "sqlite"
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{kind}.png"), full_page=True)


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/dashboard/")
    assert "/dashboard/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")


def _images_loaded(page: Any) -> int:
    return int(page.evaluate(
        "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"))


def test_caf_logs_in_reads_results_downloads_csv_and_is_refused_elsewhere(
        browser: Any, server: tuple[str, App, Seeded], database_url: str) -> None:
    base, _, seeded = server
    context = browser.new_context(accept_downloads=True, locale="km-KH")
    page = context.new_page()
    try:
        page.goto(f"{base}/dashboard/login")
        page.fill("#username", "caf")
        page.fill("#password", "wrong password")
        page.click("button[type=submit]")
        assert page.locator("[role=alert]").is_visible()
        _log_in(page, base, "caf")
        assert page.locator("h1").inner_text() == "ជុំវាយតម្លៃ"
        assert page.locator(f"a[href='/dashboard/rounds/{seeded.other_round}']").count() == 0
        _shot(page, "rounds-km", database_url)

        page.click(f"a[href='/dashboard/rounds/{seeded.hc_rounds[1]}']")
        page.wait_for_load_state("networkidle")
        assert _images_loaded(page) >= 1  # the charts
        assert COMMENT in page.content()
        font_ok = page.evaluate("document.fonts.check('16px \"Noto Sans Khmer\"', 'ខ្មែរ')")
        assert font_ok
        _shot(page, "round-km", database_url)

        with page.expect_download() as download_info:
            page.click(f"a[href='/dashboard/rounds/{seeded.hc_rounds[1]}/responses.csv']")
        download = download_info.value
        saved = Path(download.path())
        rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
        assert len(rows) == 7 and rows[0]["facility_id"] == "hc_120809"

        page.click("a[hreflang=en]")
        page.wait_for_load_state("networkidle")
        assert "Mean" in page.content() and "Trend across rounds" in page.content()
        _shot(page, "round-en", database_url)

        open_round = seed_round(server[1], HC, [{"enough_staff": 4} for _ in range(6)],
                                [{"gender": "female"} for _ in range(6)], ["still open"],
                                close=False)
        page.goto(f"{base}/dashboard/rounds/{open_round}?lang=km")
        assert "ជុំនេះនៅបើកនៅឡើយ" in page.content() and _images_loaded(page) == 0
        assert "still open" not in page.content()
        _shot(page, "round-open-km", database_url)
        page.goto(f"{base}/dashboard/?lang=km")
        _shot(page, "rounds-with-open-km", database_url)

        refused = page.goto(f"{base}/dashboard/rounds/{seeded.other_round}?lang=en")
        assert refused is not None and refused.status == 403
        assert "not allowed" in page.content()
        assert "secret other commune comment" not in page.content()
        _shot(page, "refused-en", database_url)
    finally:
        context.close()
    with server[1].db.session() as session:
        disable_account(session, "caf-other")
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{base}/dashboard/login?lang=km")
        page.fill("#username", "caf-other")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert "គណនីនេះត្រូវបានផ្អាក" in page.locator("[role=alert]").inner_text()
        _shot(page, "login-disabled-km", database_url)
    finally:
        context.close()


def test_admin_publishes_and_the_public_page_shows_it_on_a_phone(
        browser: Any, server: tuple[str, App, Seeded], database_url: str) -> None:
    base, _, seeded = server
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{base}/results/{HC_COMMUNE}")
        assert "មិនទាន់មានលទ្ធផល" in page.content()
        _log_in(page, base, "admin")
        page.goto(f"{base}/dashboard/rounds/{seeded.hc_rounds[1]}")
        page.click("form[action$='/publish'] button")
        page.wait_for_url(f"{base}/dashboard/rounds/{seeded.hc_rounds[1]}")
        assert page.locator("form[action$='/unpublish']").count() == 1
        log_usage(server[1])
        page.click("a[href='/dashboard/usage']")
        assert "what is the weather" in page.content()
        _shot(page, "usage-km", database_url)
        page.click("a[href='/dashboard/deliveries']")
        assert "broadcast:7" in page.content()
        _shot(page, "deliveries-km", database_url)
        seed_meetings(server[1])
        page.click("a[href='/dashboard/meetings']")
        assert "Kouk Khleang sangkat hall" in page.content()
        _shot(page, "meetings-km", database_url)
    finally:
        context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True)
    page = phone.new_page()
    try:
        page.goto(f"{base}/results/{HC_COMMUNE}")
        page.wait_for_load_state("networkidle")
        content = page.content()
        assert "កាតពិន្ទុសហគមន៍" in content and COMMENT not in content
        assert _images_loaded(page) >= 1
        # responsive: nothing wider than the screen but the scrollable tables
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        _shot(page, "public-phone-km", database_url)
    finally:
        phone.close()
