"""The scorecard cycle in the dashboard over HTTP, on SQLite and PostgreSQL: a CAF opens the
propose phase, moderates, merges and adds a bilingual custom question; records the discussion
and the plan (refused with the reason without a responsible party or a date), updates
statuses, sends the plan; overdue actions show; the public page shows the plan and statuses,
never notes or suggestions; a CAF of another commune is refused on every page and every forged
POST."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from bot.bootstrap import App
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.jaap.models import JaapAction, Proposal, ProposalCall, RoundPlan
from dialogues.scorecard.models import ScoringRound
from tests.dashboard_helpers import HC, csrf_of, seed_round
from tests.test_dashboard import client_for, logged_in

SECRET_NOTE = "the director promised it privately"


def _post(client, url: str, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/jaap")
    return client.post(f"{url}?lang=en", data={"csrf": csrf_of(page.text), **fields},
                       follow_redirects=False)


def _suggestions(board: App, call_id: int) -> dict[str, str]:
    with board.db.session() as session:
        for number, text in enumerate(["Open on time in the morning",
                                       "opens late every morning", "call 012 345 678"]):
            proposals.propose(session, call_id, f"person-{number}", text=text)
        proposals.propose(session, call_id, "person-9", indicator="clean_water")
        return {str(p.text): str(p.id) for p in session.execute(select(Proposal)).scalars()
                if p.text}


def test_propose_phase_in_the_dashboard(board: App) -> None:
    caf = logged_in(board, "caf")
    assert _post(caf, f"/dashboard/jaap/facilities/{HC}/call").status_code == 303
    with board.db.session() as session:
        call_id = int(session.execute(select(ProposalCall.id)).scalar_one())
    ids = _suggestions(board, call_id)
    page = caf.get(f"/dashboard/jaap/calls/{call_id}")
    assert page.status_code == 200 and "call 012 345 678" in page.text  # the CAF sees all
    url = f"/dashboard/jaap/calls/{call_id}"
    assert _post(caf, f"{url}/merge", into=ids["Open on time in the morning"],
                 **{f"dup_{ids['opens late every morning']}": "on"}).status_code == 303
    assert _post(caf, f"{url}/moderate", proposal=ids["Open on time in the morning"],
                 state="approved").status_code == 303
    assert _post(caf, f"{url}/moderate", proposal=ids["call 012 345 678"],
                 state="rejected").status_code == 303
    refused = _post(caf, f"{url}/indicator", label_km="បើកទាន់ម៉ោង", label_en=" ")
    assert refused.status_code == 400 and "needs both Khmer and English" in refused.text
    assert _post(caf, f"{url}/indicator", label_km="បើកទ្វារទាន់ម៉ោងពេលព្រឹក",
                 label_en="Opens on time in the morning",
                 proposal=ids["Open on time in the morning"]).status_code == 303
    with board.db.session() as session:
        approved = proposals.approved(session, call_id)
        assert [p.text for p in approved] == ["Open on time in the morning"]
        custom = proposals.call_indicators(session, call_id)
        assert [(c.label_en, c.supporters) for c in custom] == [
            ("Opens on time in the morning", 2)]
    page = caf.get(url)
    assert "2" in page.text and "បើកទ្វារទាន់ម៉ោងពេលព្រឹក" in page.text

    other = logged_in(board, "caf-other")
    assert other.get(url).status_code == 403
    for op, fields in (("moderate", {"proposal": ids["call 012 345 678"], "state": "approved"}),
                       ("merge", {"into": ids["call 012 345 678"]}),
                       ("indicator", {"label_km": "ក", "label_en": "x"}), ("close", {})):
        assert _post(other, f"{url}/{op}", **fields).status_code == 403
    assert _post(other, f"/dashboard/jaap/facilities/{HC}/call").status_code == 403
    with board.db.session() as session:
        assert proposals.approved(session, call_id)[0].text == "Open on time in the morning"
        assert session.get(ProposalCall, call_id).closed_at is None


def _closed_round(board: App) -> int:
    return seed_round(board, HC, [{"enough_staff": 2 + n % 3} for n in range(6)],
                      [{} for _ in range(6)], [], close=True)


def test_the_plan_in_the_dashboard_and_on_the_public_page(board: App) -> None:
    round_id = _closed_round(board)
    caf = logged_in(board, "caf")
    url = f"/dashboard/jaap/rounds/{round_id}"
    page = caf.get(f"{url}?lang=en")
    assert page.status_code == 200 and "Enough staff" in page.text
    due = (date.today() + timedelta(days=20)).isoformat()
    no_who = _post(caf, f"{url}/action", what="Two more nurses on duty", due=due)
    assert no_who.status_code == 400 and "needs who is responsible" in no_who.text
    no_date = _post(caf, f"{url}/action", what="Two more nurses on duty", responsible="provider")
    assert no_date.status_code == 400 and "needs a date" in no_date.text
    assert _post(caf, f"{url}/action", what="Two more nurses on duty", responsible="provider",
                 due=due, indicator="enough_staff").status_code == 303
    assert _post(caf, f"{url}/discussion", indicator="enough_staff", strengths="Kind staff",
                 weaknesses="Too few nurses at night",
                 suggested_actions="Ask the district for two nurses").status_code == 303
    with board.db.session() as session:
        action = session.execute(select(JaapAction)).scalar_one()
        action_id = int(action.id)
    assert _post(caf, f"{url}/status", action=str(action_id), status="in_progress",
                 note=SECRET_NOTE).status_code == 303
    assert _post(caf, f"{url}/share").status_code == 303
    with board.db.session() as session:
        assert session.get(RoundPlan, round_id).shared_at is not None
        session.execute(update(JaapAction).values(due_date=date.today() - timedelta(days=2)))
    overview = caf.get("/dashboard/jaap?lang=en")
    assert "Overdue actions" in overview.text and "Two more nurses on duty" in overview.text

    other = logged_in(board, "caf-other")
    assert other.get(url).status_code == 403
    assert "Two more nurses" not in other.get("/dashboard/jaap").text
    for op, fields in (("action", {"what": "x", "responsible": "provider", "due": due}),
                       ("status", {"action": str(action_id), "status": "dropped"}),
                       ("discussion", {"indicator": "enough_staff", "strengths": "x"}),
                       ("share", {})):
        assert _post(other, f"{url}/{op}", **fields).status_code == 403
    with board.db.session() as session:
        assert session.get(JaapAction, action_id).status == "in_progress"
        assert len(session.execute(select(JaapAction)).all()) == 1

    admin = logged_in(board, "admin")
    assert _post(admin, f"/dashboard/rounds/{round_id}/publish").status_code == 303
    public = client_for(board).get("/results/120809?lang=en")
    assert "Joint Accountability Action Plan" in public.text
    assert "Two more nurses on duty" in public.text and "in progress" in public.text
    for private in (SECRET_NOTE, "Too few nurses at night", "Kind staff"):
        assert private not in public.text


def test_a_status_change_from_another_rounds_page_is_refused(board: App) -> None:
    first, second = _closed_round(board), _closed_round(board)
    caf = logged_in(board, "caf")
    due = (date.today() + timedelta(days=5)).isoformat()
    _post(caf, f"/dashboard/jaap/rounds/{first}/action", what="Fix the roof",
          responsible="commune_council", due=due)
    with board.db.session() as session:
        action_id = int(session.execute(select(JaapAction.id)).scalar_one())
        assert session.get(ScoringRound, second).closed_at is not None
    response = _post(caf, f"/dashboard/jaap/rounds/{second}/status", action=str(action_id),
                     status="done")
    assert response.status_code == 400


def test_progress_photos_are_stored_without_exif_and_shown_to_the_commune_only(
        board: App) -> None:
    from io import BytesIO

    from PIL import Image

    round_id = _closed_round(board)
    caf = logged_in(board, "caf")
    due = (date.today() + timedelta(days=5)).isoformat()
    _post(caf, f"/dashboard/jaap/rounds/{round_id}/action", what="Paint the ward",
          responsible="provider", due=due)
    with board.db.session() as session:
        action_id = int(session.execute(select(JaapAction.id)).scalar_one())
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    raw = BytesIO()
    Image.new("RGB", (30, 20), "blue").save(raw, "JPEG", exif=exif)
    url = f"/dashboard/jaap/rounds/{round_id}/photo"

    def upload(client, **fields: str):  # type: ignore[no-untyped-def]
        token = csrf_of(client.get("/dashboard/jaap").text)
        return client.post(url, data={"csrf": token, **fields},
                           files={"photo": ("ward.jpg", raw.getvalue(), "image/jpeg")},
                           follow_redirects=False)

    other = logged_in(board, "caf-other")
    assert upload(other, action=str(action_id)).status_code == 403
    done = upload(caf, action=str(action_id))
    assert done.status_code == 303, done.text[-600:]
    photo = caf.get(f"/dashboard/jaap/actions/{action_id}/photo.jpg")
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    assert b"Phone maker" not in photo.content
    assert other.get(f"/dashboard/jaap/actions/{action_id}/photo.jpg").status_code == 404
    assert client_for(board).get(f"/dashboard/jaap/actions/{action_id}/photo.jpg"
                                 ).status_code == 404
    token = csrf_of(caf.get("/dashboard/jaap").text)
    forged = caf.post(url, data={"csrf": "wrong", "action": str(action_id)},
                      files={"photo": ("x.jpg", b"x", "image/jpeg")}, follow_redirects=False)
    assert forged.status_code == 403 and token
