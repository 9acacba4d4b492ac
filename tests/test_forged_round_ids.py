"""Forged round ids far beyond any key (a URL edited by hand, a button payload made up) get a
clear "not found" on the dashboard and a clear answer in the chat, never a database error: the
dashboard's round routes and the `rnd:` buttons go through `valid_id`, on SQLite (which refuses
integers over 2**63) and PostgreSQL (integer keys end at 2**31)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.bootstrap import App
from dialogues.core.models import User
from dialogues.scorecard.models import ScoringRound
from tests.conftest import Chat
from tests.dashboard_helpers import csrf_of, seed
from tests.fake_nlu import RecordedNlu
from tests.test_dashboard import logged_in

FORGED = ("2147483648", "9223372036854775808", "99999999999999999999999999")


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> Any:
    return recorded_nlu  # buttons only: the model is never asked


@pytest.mark.parametrize("forged", FORGED)
def test_the_dashboard_says_not_found_for_a_forged_round(board: App, forged: str) -> None:
    seed(board)
    client = logged_in(board, "admin")
    for path in (f"/dashboard/rounds/{forged}", f"/dashboard/rounds/{forged}/responses.csv",
                 f"/dashboard/rounds/{forged}/comments.csv",
                 f"/dashboard/rounds/{forged}/charts/enough_staff.png"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    csrf = csrf_of(client.get("/dashboard/").text)
    published = client.post(f"/dashboard/rounds/{forged}/publish", data={"csrf": csrf},
                            follow_redirects=False)
    assert published.status_code == 404


def test_a_forged_round_button_is_answered(app: App) -> None:
    with app.db.session() as session:
        session.add(User(channel="console", channel_user_id="admin", language="en",
                         language_chosen=True, role="admin", unreachable=False,
                         commune_code="200401"))
    admin = Chat(app, user="admin")
    for forged in FORGED:
        for payload in (f"rnd:close:{forged}", f"rnd:close:{forged}:yes",
                        f"rnd:results:{forged}", f"rnd:poster:{forged}"):
            admin.press(payload)
            assert "could not be done" in admin.text, payload
    with app.db.session() as session:
        assert session.query(ScoringRound).count() == 0
