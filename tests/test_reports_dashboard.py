"""Citizen reports in the dashboard over real HTTP, on SQLite and PostgreSQL: a CAF sees and
acts on their communes' reports only (list, page, media, forged POSTs), phone numbers are
masked, a status change queues the reporter's follow-up, the text is moderated before it is
shown outside the CAF's view and never public. (The figures: tests/test_reports_figures.py.)"""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from bot.bootstrap import App
from dialogues.core.outbox import OutboxMessage
from dialogues.reports.models import Report, ReportFollowup
from tests.dashboard_helpers import HC_COMMUNE, OTHER, OTHER_COMMUNE, csrf_of
from tests.reports_dashboard_helpers import (
    a_photo,
    add_photo,
    add_report,
    client_for,
    logged_in,
    media_path,
)

SECRET_TEXT = "secret other commune report"


def _status(app: App, reference: str) -> tuple[str, str | None]:
    with app.db.session() as session:
        report = session.execute(select(Report).where(Report.reference == reference)
                                 ).scalar_one()
        return str(report.status), report.text_state


def test_a_caf_lists_only_their_communes_reports_and_admins_all(board: App) -> None:
    mine = add_report(board, HC_COMMUNE, text="they asked for 20 000 riel")
    absent = add_report(board, HC_COMMUNE, kind="absent_closed")
    theirs = add_report(board, OTHER_COMMUNE, facility=OTHER, text=SECRET_TEXT)
    caf = logged_in(board, "caf")
    listing = caf.get("/dashboard/reports?lang=en").text
    assert mine in listing and absent in listing and theirs not in listing
    assert SECRET_TEXT not in listing and "Srah Chik" not in listing
    admin = logged_in(board, "admin").get("/dashboard/reports?lang=en").text
    assert mine in admin and theirs in admin


def test_the_list_filters_by_kind_status_facility_and_commune(board: App) -> None:
    overcharged = add_report(board, HC_COMMUNE)
    absent = add_report(board, HC_COMMUNE, kind="absent_closed", facility=None)
    theirs = add_report(board, OTHER_COMMUNE, facility=OTHER)
    admin = logged_in(board, "admin")

    def listed(query: str) -> set[str]:
        page = admin.get(f"/dashboard/reports?{query}").text
        return {r for r in (overcharged, absent, theirs) if r in page}

    assert listed("kind=absent_closed") == {absent}
    assert listed("status=new") == {overcharged, absent, theirs}
    assert listed("status=closed") == set()
    assert listed(f"facility={OTHER}") == {theirs}
    assert listed(f"commune={HC_COMMUNE}") == {overcharged, absent}
    assert listed("kind=nonsense") == {overcharged, absent, theirs}  # ignored
    # a CAF naming another commune in the filter gets their own reports, never the other's
    caf = logged_in(board, "caf").get(f"/dashboard/reports?commune={OTHER_COMMUNE}").text
    assert theirs not in caf and overcharged in caf


def test_another_communes_report_is_unknown_by_page_media_and_forged_posts(board: App) -> None:
    theirs = add_report(board, OTHER_COMMUNE, facility=OTHER, text=SECRET_TEXT,
                        follow_up=True)
    photo = add_photo(board, theirs, a_photo())
    caf = logged_in(board, "caf")
    token = csrf_of(caf.get("/dashboard/reports").text)
    for path in (f"/dashboard/reports/{theirs}", f"/dashboard/reports/{theirs}/media/{photo}"):
        response = caf.get(path)
        assert response.status_code == 404, path
        assert SECRET_TEXT not in response.text and b"JFIF" not in response.content
    for action, form in (("status", {"status": "answered", "answer": "forged"}),
                         ("approve", {}), ("reject", {})):
        response = caf.post(f"/dashboard/reports/{theirs}/{action}",
                            data={"csrf": token, **form})
        assert response.status_code == 404, action
    assert _status(board, theirs) == ("new", "pending")
    with board.db.session() as session:
        assert not session.execute(select(OutboxMessage)).scalars().all()
    # the other commune's own CAF sees it
    page = logged_in(board, "caf-other").get(f"/dashboard/reports/{theirs}").text
    assert SECRET_TEXT in page


def test_posts_need_a_login_and_the_session_csrf_token(board: App) -> None:
    mine = add_report(board, HC_COMMUNE, text="words")
    anonymous = client_for(board)
    assert anonymous.post(f"/dashboard/reports/{mine}/approve").status_code == 403
    assert anonymous.get(f"/dashboard/reports/{mine}", follow_redirects=False
                         ).status_code == 303
    caf = logged_in(board, "caf")
    assert caf.post(f"/dashboard/reports/{mine}/approve", data={"csrf": "wrong"}
                    ).status_code == 403
    assert caf.post(f"/dashboard/reports/{mine}/status",
                    data={"status": "closed"}).status_code == 403
    assert _status(board, mine) == ("new", "pending")


def test_a_report_page_masks_phone_numbers_and_serves_media_only_through_its_route(
        board: App) -> None:
    mine = add_report(board, HC_COMMUNE, text="call the nurse on 012 345 678 or ០៩៧ ១២៣ ៤៥៦៧",
                      amount_minor=20_000)
    exif = Image.Exif()
    exif[0x8825] = {2: (11.0, 33.0, 0.0)}  # GPSInfo: a latitude
    exif[0x0110] = "reporter's phone model"
    photo = add_photo(board, mine, a_photo(exif=exif))
    caf = logged_in(board, "caf")
    page = caf.get(f"/dashboard/reports/{mine}?lang=en").text
    assert "call the nurse on ••• or •••" in page
    assert "345" not in page and "៤៥៦៧" not in page
    assert "20,000 riel" in page and "Overcharged" in page and "Birth certificate" in page
    assert f"/dashboard/reports/{mine}/media/{photo}" in page
    served = caf.get(f"/dashboard/reports/{mine}/media/{photo}")
    assert served.status_code == 200 and served.content == media_path(board, photo).read_bytes()
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "no-store"
    assert served.headers["x-content-type-options"] == "nosniff"
    # no other path reaches the file: not the static files, not a made-up id, not ../
    name = media_path(board, photo).name
    for path in (f"/dashboard/static/{name}", f"/dashboard/static/../report-media/{name}",
                 f"/dashboard/reports/{mine}/media/{photo[:-1]}x",
                 f"/dashboard/reports/{mine}/media/..%2F..%2Fisafbot.db"):
        assert caf.get(path).status_code == 404, path
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and not image.getexif()  # the GPS position is gone
    khmer = caf.get(f"/dashboard/reports/{mine}?lang=km").text
    assert "២០.០០០ រៀល" in khmer and "គេយកថ្លៃលើស" in khmer


def test_a_status_change_queues_the_follow_up_once_answered(board: App) -> None:
    mine = add_report(board, HC_COMMUNE, follow_up=True)
    caf = logged_in(board, "caf")
    token = csrf_of(caf.get(f"/dashboard/reports/{mine}").text)
    refused = caf.post(f"/dashboard/reports/{mine}/status?lang=en",
                       data={"csrf": token, "status": "forwarded", "forwarded_to": ""})
    assert refused.status_code == 400 and "The status was not changed" in refused.text
    assert caf.post(f"/dashboard/reports/{mine}/status",
                    data={"csrf": token, "status": "forwarded",
                          "forwarded_to": "District health office"},
                    follow_redirects=False).status_code == 303
    done = caf.post(f"/dashboard/reports/{mine}/status",
                    data={"csrf": token, "status": "answered",
                          "answer": "The fee of 20,000 riel was refunded."})
    assert done.status_code == 200 and _status(board, mine)[0] == "answered"
    with board.db.session() as session:
        texts = [row.reply["text"] for row in session.execute(
            select(OutboxMessage).order_by(OutboxMessage.id)).scalars()]
        assert not session.execute(select(ReportFollowup)).scalars().all()
    assert texts[0] == f"📣 News of your report {mine}: a CAF forwarded it to District " \
                       "health office."
    assert texts[1].startswith(f"📣 The answer to your report {mine}: The fee of 20,000 riel "
                               "was refunded.\n")
    assert len(texts) == 2
    page = caf.get(f"/dashboard/reports/{mine}?lang=en").text
    assert "District health office" in page and "refunded" in page and "answered" in page
    assert caf.post(f"/dashboard/reports/{mine}/status",
                    data={"csrf": token, "status": "new"}).status_code == 400


def test_moderation_decides_what_leaves_the_cafs_view_and_nothing_is_public(
        board: App) -> None:
    approved = add_report(board, HC_COMMUNE, text="APPROVED words 012 345 678")
    rejected = add_report(board, HC_COMMUNE, text="REJECTED words")
    pending = add_report(board, HC_COMMUNE, text="PENDING words")
    for _ in range(2):  # five reports of one group: the figures are public
        add_report(board, HC_COMMUNE)
    caf = logged_in(board, "caf")
    token = csrf_of(caf.get("/dashboard/reports").text)
    for reference, action in ((approved, "approve"), (rejected, "reject")):
        assert caf.post(f"/dashboard/reports/{reference}/{action}", data={"csrf": token},
                        follow_redirects=False).status_code == 303
    assert _status(board, approved)[1] == "approved"
    assert _status(board, rejected)[1] == "rejected"
    assert caf.post(f"/dashboard/reports/{pending}/publish",
                    data={"csrf": token}).status_code == 404
    # the meeting material shows the approved words only, phone masked
    material = caf.get("/dashboard/reports/figures?lang=en").text
    assert "APPROVED words •••" in material
    assert "REJECTED" not in material and "PENDING" not in material
    # the CAF's own view still shows every text
    assert "PENDING words" in caf.get(f"/dashboard/reports/{pending}").text
    history = caf.get(f"/dashboard/reports/{approved}?lang=en").text
    assert "text approved · <span class=\"muted\">dashboard:caf</span>" in history
    public = client_for(board)
    page = public.get(f"/results/{HC_COMMUNE}?lang=en").text
    table = public.get(f"/results/{HC_COMMUNE}/reports.csv").content.decode("utf-8-sig")
    assert "Overcharged" in page and ">5<" in page
    for text in ("APPROVED", "REJECTED", "PENDING", "words"):
        assert text not in page and text not in table


def test_no_page_shows_the_reporters_pseudonym_and_facility_types_are_named(
        board: App) -> None:
    mine = add_report(board, HC_COMMUNE, facility=None, text="the centre was closed",
                      kind="absent_closed")
    with board.db.session() as session:
        pseudonym = session.execute(select(Report.reporter).where(
            Report.reference == mine)).scalar_one()
    admin = logged_in(board, "admin")
    pages = [admin.get(path).text for path in (
        "/dashboard/reports?lang=en", f"/dashboard/reports/{mine}?lang=en",
        "/dashboard/reports/figures?lang=en")]
    assert all(pseudonym not in page and pseudonym[:16] not in page for page in pages)
    assert "Health centre" in pages[0] and "Health centre" in pages[1]
    assert ">Health centre</option>" in pages[0]  # the facility filter names the type
