"""The scorecard cycle's chat, refused and bad input: a CAF of another commune (or a citizen)
pressing forged buttons changes nothing anywhere; a proposal flood is stopped; proposals are
moderated before anyone else sees them; an action without a responsible party or date is
refused with the reason; photos are stored without EXIF outside the web root."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.bootstrap import App
from dialogues.core.permissions import Actor, NotAllowed, operator
from dialogues.scorecard.jaap import plan, proposals
from dialogues.scorecard.jaap.models import JaapAction, Proposal, ProposalCall
from dialogues.scorecard.jaap.plan import PlanError
from tests.dashboard_helpers import seed_round
from tests.fake_nlu import RecordedNlu
from tests.jaap_helpers import OTHER, citizen, make_caf

HC = "hc_120809"


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _round_with_action(app: App) -> tuple[int, int]:
    round_id = seed_round(app, HC, [{"enough_staff": 3} for _ in range(5)],
                          [{} for _ in range(5)], [], close=True)
    with app.db.session() as session:
        row = plan.add_action(session, app.content, round_id, what="Fix the roof",
                              responsible="commune_council",
                              due=date.today() + timedelta(days=9), by=operator("t"),
                              today=date.today())
        return round_id, int(row.id)


def test_another_communes_caf_is_refused_everywhere(app: App) -> None:
    round_id, action_id = _round_with_action(app)
    with app.db.session() as session:
        call_id = int(proposals.open_call(session, app.content, "ps_120809",
                                          by=operator("t")).id)
    intruder = make_caf(app, "caf-elsewhere", commune=OTHER)
    intruder.send("/jaap")
    assert f"jaap:co:{HC}" not in intruder.payloads
    forged = [f"jaap:co:{HC}", f"jaap:cv:{call_id}", f"jaap:cc:{call_id}", f"jaap:r:{round_id}",
              f"jaap:add:{round_id}", f"jaap:ai:{round_id}:1", f"jaap:d:{round_id}",
              f"jaap:di:{round_id}:1", f"jaap:share:{round_id}", f"jaap:act:{action_id}",
              f"jaap:st:{action_id}:done"]
    for payload in forged:
        intruder.press(payload)
        assert "could not be done" in intruder.text, payload
        assert "Fix the roof" not in intruder.text
    person = citizen(app, "nosy")
    for payload in forged:
        person.press(payload)
        assert "for Community Accountability Facilitators" in person.text
    with app.db.session() as session:
        assert session.get(JaapAction, action_id).status == "planned"
        assert session.get(ProposalCall, call_id).closed_at is None
        assert len(session.execute(select(ProposalCall)).all()) == 1
        stranger = Actor("dashboard:x", "caf", frozenset({OTHER}))
        for attempt in (
                lambda: plan.set_status(session, app.content, action_id, "done", note=None,
                                        by=stranger),
                lambda: plan.share_plan(session, app.content, round_id, by=stranger),
                lambda: proposals.close_call(session, app.content, call_id, by=stranger),
                lambda: proposals.open_call(session, app.content, HC, by=stranger)):
            with pytest.raises((NotAllowed, proposals.ProposalError)):
                attempt()


def test_flood_and_moderation(app: App) -> None:
    with app.db.session() as session:
        call_id = int(proposals.open_call(session, app.content, HC, by=operator("t")).id)
    person = citizen(app, "eager")
    for number in range(3):
        person.send(f"/start prop_{HC}")
        person.send(f"Suggestion number {number} about the toilets")
        assert "Thank you" in person.text
    person.send(f"/start prop_{HC}")
    assert "You have made all 3 suggestions" in person.text
    person.press(f"prop:i:{call_id}:2")
    assert "You have made all 3 suggestions" in person.text
    with app.db.session() as session:
        rows = session.execute(select(Proposal)).scalars().all()
        assert len(rows) == 3 and len({r.proposer for r in rows}) == 1
        assert all("eager" not in r.proposer for r in rows)
        pending = rows[0].id
    other = citizen(app, "curious")
    other.send(f"/start prop_{HC}")
    assert not [p for p in other.payloads if p.startswith("prop:s:")]  # nothing approved yet
    other.press(f"prop:s:{call_id}:{pending}")  # a forged support of a pending proposal
    assert "closed" in other.text
    other.press(f"prop:i:{call_id}:99")  # a forged standard question
    assert "could not be done" in other.text
    with app.db.session() as session:
        assert len(session.execute(select(Proposal)).all()) == 3
        proposals.close_call(session, app.content, call_id, by=operator("t"))
    other.send(f"/start prop_{HC}")
    assert "Suggestions for this service are closed" in other.text


def test_an_action_needs_who_and_when(app: App) -> None:
    round_id, _ = _round_with_action(app)
    open_id = seed_round(app, "ps_120809", [], [], [], close=False)
    today = date.today()
    with app.db.session() as session:
        for fields, reason in (
                ({"responsible": None, "due": today}, "jaap_action_no_responsible"),
                ({"responsible": "provider", "due": None}, "jaap_action_no_date"),
                ({"responsible": "mayor", "due": today}, "jaap_action_bad_responsible"),
                ({"responsible": "provider", "due": today - timedelta(days=1)},
                 "jaap_action_past_date")):
            with pytest.raises(PlanError) as refused:
                plan.add_action(session, app.content, round_id, what="Clean the wards",
                                by=operator("t"), today=today, **fields)  # type: ignore[arg-type]
            assert refused.value.reason == reason
        with pytest.raises(PlanError, match="jaap_round_still_open"):
            plan.add_action(session, app.content, open_id, what="x", responsible="provider",
                            due=today, by=operator("t"), today=today)
    assert "needs who is responsible" in app.content.message("jaap_action_no_responsible", "en")


def test_photos_lose_their_exif(tmp_path: Path) -> None:
    picture = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x8825] = {1: "N", 2: (11.0, 33.0, 0.0)}  # GPS
    raw = BytesIO()
    picture.save(raw, "JPEG", exif=exif)
    assert b"Phone maker" in raw.getvalue()
    name = plan.store_photo(raw.getvalue(), tmp_path / "jaap-photos")
    stored = (tmp_path / "jaap-photos" / name).read_bytes()
    assert b"Phone maker" not in stored and b"Exif" not in stored
    with Image.open(tmp_path / "jaap-photos" / name) as reopened:
        assert reopened.size == (40, 30) and not reopened.getexif()
    with pytest.raises(PlanError, match="jaap_photo_unreadable"):
        plan.store_photo(b"not a picture", tmp_path / "jaap-photos")


def test_forged_huge_ids_are_refused_not_crashed(app: App) -> None:
    """Ids beyond any integer column (SQLite refuses 2**63) are none, at every door."""
    huge = "9" * 25
    caf = make_caf(app, "caf-huge")
    for payload in (f"jaap:r:{huge}", f"jaap:act:{huge}", f"jaap:cv:{huge}",
                    f"jaap:st:{huge}:done"):
        caf.press(payload)
        assert "The scorecard cycle in Kouk Khleang" in caf.text, payload
    person = citizen(app, "huge")
    for payload in (f"prop:i:{huge}:1", f"prop:s:{huge}:abc", f"prop:stop:{huge}",
                    f"prop:i:1:{huge}"):
        person.press(payload)
        assert person.last, payload
