"""The reports' pages in a real headless browser (Debian's chromium driven by Playwright,
through uvicorn): a CAF filters the list, opens a report with its photo, answers it with the
status form and approves its text, reads the figures with their chart; the public commune page
on a phone shows the figures and no text. Screenshots go to test-artifacts/ (Khmer shaping is
checked by looking at them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App
from tests.dashboard_helpers import HC_COMMUNE, OTHER, OTHER_COMMUNE, add_accounts, dashboard_app
from tests.live_server import LiveServer
from tests.reports_dashboard_helpers import a_photo, add_many, add_photo, add_report
from tests.test_dashboard_browser import _images_loaded, _log_in, _shot


@pytest.fixture
def served(tmp_path: Path, database_url: str, quick_passwords: None
           ) -> Iterator[tuple[str, App, str, str]]:
    """uvicorn serving the app, with a report to answer (a photo, a phone number in its text,
    follow-up asked) among six of one group, and one report in another commune."""
    app = dashboard_app(tmp_path, database_url)
    add_accounts(app)
    mine = add_report(app, HC_COMMUNE, follow_up=True, amount_minor=20_000,
                      text="គេយកលុយ ២ម៉ឺនរៀល ទូរសព្ទ 012 345 678")
    add_photo(app, mine, a_photo())
    add_many(app, HC_COMMUNE, 5)
    theirs = add_report(app, OTHER_COMMUNE, facility=OTHER, text="secret other commune")
    try:
        with LiveServer(app, workers=1) as live:
            yield live.url, app, mine, theirs
    finally:
        app.close()


def test_a_caf_answers_a_report_and_reads_the_figures(
        browser: Any, served: tuple[str, App, str, str], database_url: str) -> None:
    base, _, mine, theirs = served
    context = browser.new_context(locale="km-KH")
    page = context.new_page()
    try:
        _log_in(page, base, "caf")
        page.goto(f"{base}/dashboard/reports?lang=km")
        assert mine in page.content() and theirs not in page.content()
        page.select_option("select[name=kind]", "overcharged")
        page.click("form.filters button")
        page.wait_for_load_state("networkidle")
        assert "kind=overcharged" in page.url and mine in page.content()
        _shot(page, "reports-km", database_url)

        page.click(f"a[href='/dashboard/reports/{mine}']")
        page.wait_for_load_state("networkidle")
        assert _images_loaded(page) == 1  # the photo, through its authenticated route
        assert "012 345 678" not in page.content() and "•••" in page.content()
        _shot(page, "report-km", database_url)

        page.click("form[action$='/approve'] button")
        page.wait_for_load_state("networkidle")
        page.select_option("select[name=status]", "answered")
        page.fill("textarea[name=answer]", "The fee was refunded.")
        page.click("form.status button")
        page.wait_for_load_state("networkidle")
        assert "The fee was refunded." in page.content()
        assert "បានឆ្លើយ" in page.content() and "បានអនុម័ត" in page.content()

        page.goto(f"{base}/dashboard/reports/figures?lang=en")
        page.wait_for_load_state("networkidle")
        assert _images_loaded(page) == 1 and "November 2026" in page.content()
        assert "ទូរសព្ទ •••" in page.content()  # the approved words, for the meeting
        _shot(page, "report-figures-en", database_url)
        refused = page.goto(f"{base}/dashboard/reports/{theirs}?lang=en")
        assert refused is not None and refused.status == 404
        assert "secret other commune" not in page.content()
    finally:
        context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="km-KH")
    page = phone.new_page()
    try:
        page.goto(f"{base}/results/{HC_COMMUNE}?lang=km")
        page.wait_for_load_state("networkidle")
        assert _images_loaded(page) == 1 and "គេយកថ្លៃលើស" in page.content()
        assert "គេយកលុយ" not in page.content() and "refunded" not in page.content()
        _shot(page, "public-reports-km", database_url)
    finally:
        phone.close()
