"""The reports' figures over real HTTP, on SQLite and PostgreSQL: the small-group rule (4
hidden, 5 shown) on the dashboard, the CSV, the chart and the public page alike, the CSV's
content, the chart's Khmer shaped by raqm, and sending the figures to a meeting's
subscribers."""

from __future__ import annotations

import csv
import io
from datetime import date

from PIL import Image
from sqlalchemy import select

from bot.bootstrap import App
from bot.dashboard import report_figures
from bot.dashboard.report_views import figures_chart
from dialogues.core.models import CafAudit
from dialogues.core.outbox import OutboxMessage
from dialogues.meetings.models import Meeting
from dialogues.reports.aggregates import Cell
from dialogues.reports.models import KINDS
from tests.chart_helpers import assert_shaped_by_raqm
from tests.dashboard_helpers import HC, HC_COMMUNE, OTHER_COMMUNE, csrf_of, seed_meetings
from tests.reports_dashboard_helpers import add_many, client_for, logged_in

DECEMBER = date(2026, 12, 2)


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode())  # spreadsheets read the Khmer
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_four_reports_are_hidden_everywhere_and_five_shown(board: App) -> None:
    add_many(board, HC_COMMUNE, 4)
    caf = logged_in(board, "caf")
    public = client_for(board)
    hidden_page = caf.get("/dashboard/reports/figures?lang=en").text
    assert "Overcharged" not in hidden_page.split("<h2>")[0]
    assert "1 groups have fewer than 5 reports: not shown" in hidden_page
    assert _csv_rows(caf.get("/dashboard/reports/figures.csv").content) == []
    assert caf.get(f"/dashboard/reports/figures/{HC_COMMUNE}.png").status_code == 404
    assert ">4<" not in public.get(f"/results/{HC_COMMUNE}?lang=en").text
    assert _csv_rows(public.get(f"/results/{HC_COMMUNE}/reports.csv").content) == []
    assert public.get(f"/results/{HC_COMMUNE}/reports.png").status_code == 404

    add_many(board, HC_COMMUNE, 1)
    page = caf.get("/dashboard/reports/figures?lang=en").text
    row = page.split("November 2026", 1)[1].split("</tr>", 1)[0]
    assert "Overcharged" in row and ">5<" in row and "Kouk Khleang" in row
    assert len(_csv_rows(caf.get("/dashboard/reports/figures.csv").content)) == 1
    for response in (caf.get(f"/dashboard/reports/figures/{HC_COMMUNE}.png"),
                     public.get(f"/results/{HC_COMMUNE}/reports.png?lang=km")):
        assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert ">5<" in public.get(f"/results/{HC_COMMUNE}?lang=en").text
    assert f'href="/results/{HC_COMMUNE}"' in public.get("/results").text


def test_each_month_and_kind_is_its_own_group(board: App) -> None:
    add_many(board, HC_COMMUNE, 5)
    add_many(board, HC_COMMUNE, 4, day=DECEMBER)
    add_many(board, HC_COMMUNE, 6, kind="absent_closed", day=DECEMBER)
    add_many(board, HC_COMMUNE, 3, kind="rude_refused", facility=None)
    rows = _csv_rows(logged_in(board, "caf").get("/dashboard/reports/figures.csv").content)
    assert rows == [
        {"commune_code": HC_COMMUNE, "commune": "Kouk Khleang", "facility_id": HC,
         "facility": rows[0]["facility"], "kind": "absent_closed", "month": "2026-12",
         "reports": "6"},
        {"commune_code": HC_COMMUNE, "commune": "Kouk Khleang", "facility_id": HC,
         "facility": rows[0]["facility"], "kind": "overcharged", "month": "2026-11",
         "reports": "5"}]
    assert "Kouk Khleang" in rows[0]["facility"]
    public = client_for(board).get(f"/results/{HC_COMMUNE}/reports.csv").content
    assert _csv_rows(public) == rows


def test_a_caf_sees_their_communes_figures_only(board: App) -> None:
    add_many(board, HC_COMMUNE, 5)
    add_many(board, OTHER_COMMUNE, 7, facility=None)
    caf = logged_in(board, "caf")
    rows = _csv_rows(caf.get("/dashboard/reports/figures.csv").content)
    assert [r["commune_code"] for r in rows] == [HC_COMMUNE]
    assert caf.get(f"/dashboard/reports/figures/{OTHER_COMMUNE}.png").status_code == 403
    admin = _csv_rows(logged_in(board, "admin").get("/dashboard/reports/figures.csv").content)
    assert sorted(r["commune_code"] for r in admin) == sorted([HC_COMMUNE, OTHER_COMMUNE])


def test_the_chart_draws_khmer_shaped_by_raqm(board: App) -> None:
    """The Khmer title of the PNG the dashboard serves has the pixels of a raqm rendering, not
    of the basic layout (which breaks the subscript consonant of ពលរដ្ឋ)."""
    add_many(board, HC_COMMUNE, 5)
    response = logged_in(board, "caf").get(f"/dashboard/reports/figures/{HC_COMMUNE}.png"
                                           "?lang=km")
    assert response.status_code == 200
    cells = [Cell(HC_COMMUNE, HC, "overcharged", "2026-11", 5)]
    spec = figures_chart(cells, KINDS, HC_COMMUNE, "km", report_figures.today(), 5)
    assert "២០២៦" in spec.texts()[2] and "៥" in spec.texts()[3]  # Khmer digits
    title = spec.title
    assert "្ឋ" in title
    with Image.open(io.BytesIO(response.content)) as image:
        assert_shaped_by_raqm(image, spec, title)
    english = figures_chart(cells, KINDS, HC_COMMUNE, "en", date(2026, 12, 3), 5)
    assert english.title == "Citizen reports: Kouk Khleang"
    assert english.bars[0].label == "November 2026 · Overcharged"
    assert english.footer == ("Source: citizen reports to isaf-bot, as of 3 December 2026",)


def _meeting_of(app: App, commune: str) -> int:
    with app.db.session() as session:
        return int(session.execute(select(Meeting.id).where(
            Meeting.commune_code == commune)).scalar_one())


def test_the_figures_go_to_a_meetings_subscribers_once(board: App) -> None:
    seed_meetings(board)  # a meeting ahead in each commune; 2 subscribers in HC's
    add_many(board, HC_COMMUNE, 5)
    mine, theirs = _meeting_of(board, HC_COMMUNE), _meeting_of(board, OTHER_COMMUNE)
    caf = logged_in(board, "caf")
    page = caf.get("/dashboard/reports/figures?lang=en").text
    assert f"/dashboard/reports/figures/meetings/{mine}" in page
    assert f"/dashboard/reports/figures/meetings/{theirs}" not in page
    token = csrf_of(page)
    sent = caf.post(f"/dashboard/reports/figures/meetings/{mine}?lang=en",
                    data={"csrf": token})
    assert sent.status_code == 200 and "queued for 2 subscribers" in sent.text
    batch = f"reports-meeting:{mine}"
    with board.db.session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.batch == batch)
                               ).scalars().all()
        audit = session.execute(select(CafAudit).where(CafAudit.action == "reports.attach")
                                ).scalars().all()
    assert len(rows) == 2 and len(audit) == 1 and audit[0].actor == "dashboard:caf"
    for row in rows:
        assert row.automated and row.reply["text"].startswith("📊 របាយការណ៍ពលរដ្ឋនៅគោកឃ្លាង")
        with Image.open(row.reply["image"]) as image:
            assert image.format == "PNG"
    meetings = caf.get("/dashboard/meetings?lang=en").text
    assert "Citizen report figures: pending 2" in meetings
    again = caf.post(f"/dashboard/reports/figures/meetings/{mine}?lang=en",
                     data={"csrf": token})
    assert "already sent" in again.text
    forged = caf.post(f"/dashboard/reports/figures/meetings/{theirs}", data={"csrf": token})
    assert forged.status_code == 403
    assert caf.post("/dashboard/reports/figures/meetings/9999",
                    data={"csrf": token}).status_code == 404
    other = logged_in(board, "caf-other")  # no figures in that commune: nothing is sent
    refused = other.post(f"/dashboard/reports/figures/meetings/{theirs}?lang=en",
                         data={"csrf": csrf_of(other.get("/dashboard/reports").text)})
    assert refused.status_code == 409 and "No figures can be shown" in refused.text
    with board.db.session() as session:
        assert len(session.execute(select(OutboxMessage).where(
            OutboxMessage.batch.like("reports-meeting:%"))).scalars().all()) == 2
