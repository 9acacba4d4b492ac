"""The JAAP pages in a real headless browser (Debian's chromium driven by Playwright), in
Khmer: a CAF records an action by the form, the plan page and the public page show it.
Screenshots go to test-artifacts/ (Khmer shaping is checked by looking at them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.bootstrap import App
from dialogues.core.permissions import operator
from dialogues.scorecard.jaap import plan
from dialogues.scorecard.jaap.models import JaapAction
from tests.dashboard_helpers import HC, add_accounts, dashboard_app, seed_round
from tests.live_server import LiveServer
from tests.test_dashboard_browser import _log_in, _shot


@pytest.fixture
def server(tmp_path: Path, database_url: str, quick_passwords: None
           ) -> Iterator[tuple[str, App, int]]:
    app = dashboard_app(tmp_path, database_url)
    add_accounts(app)
    round_id = seed_round(app, HC, [{"enough_staff": 2 + n % 3, "clean_water": 3}
                                    for n in range(6)], [{} for _ in range(6)], [], close=True)
    with app.db.session() as session:
        for what, who, days, status in (
                ("មណ្ឌលសុខភាពបើកម៉ោង ៧:៣០ រៀងរាល់ថ្ងៃ", "provider", 30, "in_progress"),
                ("ជួសជុលអាងទឹក", "commune_council", 10, "planned"),
                ("ប្រជាពលរដ្ឋជួយសម្អាតបរិវេណ", "citizens", 5, "done")):
            row = plan.add_action(session, app.content, round_id, what=what, responsible=who,
                                  due=date.today() + timedelta(days=days), by=operator("t"),
                                  today=date.today())
            if status != "planned":
                plan.set_status(session, app.content, int(row.id), status,
                                note="កំណត់ចំណាំរបស់ CAF", by=operator("t"))
        session.execute(update(JaapAction).where(JaapAction.what == "ជួសជុលអាងទឹក")
                        .values(due_date=date.today() - timedelta(days=3)))
        plan.save_discussion(session, app.content, round_id, "enough_staff",
                             strengths="បុគ្គលិករួសរាយ", weaknesses="គ្រូពេទ្យតិចពេលយប់",
                             suggested_actions="ស្នើសុំគិលានុបដ្ឋាយិកាពីរនាក់បន្ថែម",
                             by=operator("t"))
    try:
        with LiveServer(app, workers=1) as live:
            yield live.url, app, round_id
    finally:
        app.close()


def test_the_jaap_page_in_khmer(browser: Any, server: tuple[str, App, int],
                                database_url: str) -> None:
    base, _app, round_id = server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    _log_in(page, base, "caf")
    page.goto(f"{base}/dashboard/jaap/rounds/{round_id}")
    assert "ផែនការសកម្មភាពរួម (JAAP)" in page.content()
    page.fill("input[name=what]", "បិទផ្សាយម៉ោងធ្វើការនៅមុខមណ្ឌល")
    page.select_option("select[name=responsible]", "provider")
    page.fill("input[name=due]", (date.today() + timedelta(days=14)).isoformat())
    page.click("form.card button[type=submit] >> nth=0")
    page.wait_for_url(f"{base}/dashboard/jaap/rounds/{round_id}")
    html = page.content()
    assert "បិទផ្សាយម៉ោងធ្វើការនៅមុខមណ្ឌល" in html and "ហួសថ្ងៃកំណត់" in html
    _shot(page, "jaap-round-km", database_url)
    page.goto(f"{base}/dashboard/jaap")
    assert "ជួសជុលអាងទឹក" in page.content()  # overdue
    _shot(page, "jaap-overview-km", database_url)

    admin = browser.new_page(viewport={"width": 1200, "height": 900})
    _log_in(admin, base, "admin")
    admin.goto(f"{base}/dashboard/rounds/{round_id}")
    admin.click("form[action$='/publish'] button")
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{base}/results/120809")
    text = phone.content()
    assert "មណ្ឌលសុខភាពបើកម៉ោង ៧:៣០ រៀងរាល់ថ្ងៃ" in text and "កំពុងអនុវត្ត" in text
    assert "កំណត់ចំណាំរបស់ CAF" not in text and "គ្រូពេទ្យតិចពេលយប់" not in text
    _shot(phone, "jaap-public-km", database_url)
