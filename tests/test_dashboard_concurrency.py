"""The dashboard under concurrent traffic, through the real web server (uvicorn, its thread
pool) on SQLite and PostgreSQL: parallel logins cannot pass the limit, anonymous and read-only
requests never hold SQLite's write lock, the public page computes results once per
publication, and charts and results survive the NLU loader finishing at the same moment.

No timing assertions: blocking points are events the test controls, and the outcome is checked
(status codes, a write that succeeds, numbers of computations)."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from bot.bootstrap import App
from bot.dashboard import auth, data
from bot.dashboard import results as dashboard_results
from bot.server import build_runtime, build_web_app
from tests.dashboard_helpers import (
    HC_COMMUNE,
    PASSWORD,
    add_accounts,
    big_round,
    csrf_of,
    dashboard_app,
    login,
    seed,
)
from tests.live_server import LiveServer

WAIT = 60  # seconds: only ever reached when something is broken


def _publish(app: App, *round_ids: int) -> None:
    with app.db.session() as session:
        for round_id in round_ids:
            assert data.publish(session, round_id, "test")


# ------------------------------------------------------------------ the login limit

def _parallel_logins(base: str, usernames: list[str]) -> list[int]:
    """Each attempt from its own browser (its own login form), all posted at once."""
    clients = [httpx.Client(base_url=base, timeout=WAIT) for _ in usernames]
    tokens = [csrf_of(client.get("/dashboard/login").text) for client in clients]
    start = threading.Barrier(len(clients))

    def attempt(index: int) -> int:
        start.wait(WAIT)
        return clients[index].post("/dashboard/login", data={
            "csrf": tokens[index], "next": "/dashboard/", "username": usernames[index],
            "password": "not the password"}).status_code

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            return list(pool.map(attempt, range(len(clients))))
    finally:
        for client in clients:
            client.close()


def test_parallel_login_attempts_cannot_pass_the_limit(tmp_path: Path, database_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """16 wrong passwords for one account at the same moment, at the production scrypt cost:
    exactly 5 are checked, the others refused, on both databases (counting, then inserting,
    let every parallel attempt through on PostgreSQL). Then the address's limit likewise:
    the 5 failures count against it, the refused attempts do not."""
    app = dashboard_app(tmp_path, database_url)
    try:
        add_accounts(app)
        with LiveServer(app, workers=1) as live:
            statuses = Counter(_parallel_logins(live.url, ["caf"] * 16))
            assert statuses == {401: auth.MAX_FAILURES_PER_ACCOUNT,
                                429: 16 - auth.MAX_FAILURES_PER_ACCOUNT}
            # unknown names are checked against a hash at today's cost: a quick one will do
            monkeypatch.setattr(auth, "PASSWORD_COST", auth.ScryptCost(2**10, 8, 1))
            left = auth.MAX_FAILURES_PER_ADDRESS - auth.MAX_FAILURES_PER_ACCOUNT
            statuses = Counter(_parallel_logins(live.url, [f"guess{n}" for n in range(20)]))
            assert statuses == {401: left, 429: 20 - left}
    finally:
        app.close()


# ------------------------------------------------------------------ SQLite's write lock

class Gate:
    """Holds a request inside a slow step until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def wrap(self, slow: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            assert self.release.wait(WAIT), "the test never released the request"
            return slow(*args, **kwargs)
        return held


def _write_now(path: Path) -> None:
    """A write by another process, that waits at most 2 s for SQLite's write lock."""
    connection = sqlite3.connect(path, timeout=2, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO dashboard_account_communes (account_id, commune_code) "
                           "VALUES (1, '999999')")
        connection.execute("COMMIT")
    finally:
        connection.close()


@pytest.mark.parametrize("request_kind", ["public page", "round page", "chart", "csv", "login"])
def test_a_write_proceeds_while_a_request_computes(tmp_path: Path, sqlite_url: str,
                                                   quick_passwords: None,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   request_kind: str) -> None:
    """Held in the middle of its slow part (results, CSV, scrypt), a request must not hold
    SQLite's write lock: another writer gets it at once."""
    app = dashboard_app(tmp_path, sqlite_url)
    try:
        add_accounts(app)
        seeded = seed(app)
        round_id = seeded.hc_rounds[1]
        _publish(app, round_id)
        gate = Gate()
        client = TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")
        if request_kind == "login":
            monkeypatch.setattr(auth, "verify_password", gate.wrap(auth.verify_password))

            def send() -> int:
                return int(login(client, "caf").status_code)
        else:
            if request_kind != "public page":
                assert login(client, "caf").status_code == 303
            slow = "write_responses_csv" if request_kind == "csv" else "round_results"
            monkeypatch.setattr(dashboard_results, slow,
                                gate.wrap(getattr(dashboard_results, slow)))
            url = {"public page": f"/results/{HC_COMMUNE}",
                   "round page": f"/dashboard/rounds/{round_id}",
                   "chart": f"/dashboard/rounds/{round_id}/charts/enough_staff.png",
                   "csv": f"/dashboard/rounds/{round_id}/responses.csv"}[request_kind]

            def send() -> int:
                return int(client.get(url).status_code)

        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(send)
            try:
                assert gate.entered.wait(WAIT), "the request never reached its slow part"
                _write_now(Path(sqlite_url.split("///", 1)[1]))
            finally:
                gate.release.set()
            assert answer.result(WAIT) in (200, 303)
    finally:
        app.close()


def test_read_only_sessions_refuse_writes(board: App) -> None:
    with board.db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM dashboard_accounts")).scalar() == 3
        with pytest.raises(Exception, match=r"(?i)read.?only"):
            session.execute(text("DELETE FROM dashboard_accounts"))
    with board.db.session() as session:
        assert session.execute(text("SELECT count(*) FROM dashboard_accounts")).scalar() == 3


# ------------------------------------------------------------------ the public page's cache

def test_the_public_page_is_computed_once_per_publication(board: App,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    seeded = seed(board)
    computed: list[int] = []
    real = dashboard_results.round_results

    def counting(session: Any, surveys: Any, round_id: int, **kwargs: Any) -> Any:
        computed.append(round_id)
        return real(session, surveys, round_id, **kwargs)

    monkeypatch.setattr(dashboard_results, "round_results", counting)
    public = TestClient(build_web_app(build_runtime(board)), base_url="http://127.0.0.1")
    first, second = seeded.hc_rounds
    _publish(board, second)
    pages = [public.get(f"/results/{HC_COMMUNE}?lang={lang}").text for lang in ("en", "km",
                                                                               "en")]
    assert "3.43" in pages[0] and pages[0] == pages[2]
    chart = public.get(f"/results/{HC_COMMUNE}/rounds/{second}/charts/enough_staff.png")
    assert chart.status_code == 200 and chart.headers["cache-control"] == "no-cache"
    assert computed == [second]
    _publish(board, first)
    assert "2025" in public.get(f"/results/{HC_COMMUNE}?lang=en").text
    assert computed == [second, first]
    # Unpublished: gone at once, in this worker and any other (each reads the publications).
    other_worker = dashboard_app(board.settings.data_dir.parent / "w2",
                                 board.settings.database_url)
    try:
        other = TestClient(build_web_app(build_runtime(other_worker)),
                           base_url="http://127.0.0.1")
        assert "3.43" in other.get(f"/results/{HC_COMMUNE}?lang=en").text
        with board.db.session() as session:
            data.unpublish(session, second)
        for worker in (public, other):
            page = worker.get(f"/results/{HC_COMMUNE}?lang=en").text
            assert "3.43" not in page and "2025" in page
            assert worker.get(f"/results/{HC_COMMUNE}/rounds/{second}/charts/"
                              "enough_staff.png").status_code == 404
        computed.clear()
        _publish(board, second)  # published again: a new publication, computed again
        assert "3.43" in public.get(f"/results/{HC_COMMUNE}?lang=en").text
        assert computed == [second]
    finally:
        other_worker.close()


# ------------------------------------------------------------------ issue 12, point 11

def test_charts_and_results_survive_the_nlu_loader_finishing(board: App, nlu: Any) -> None:
    """A browser loads every chart of a round while the bot starts: the NLU loader's last step
    (removing CRF temp files) runs in its own thread during the requests. It used to walk the
    heap with gc.get_objects(), whose list held a reference to every tuple other threads were
    building, and `tuple(...)` in round_results could not shrink its tuple: `SystemError:
    Objects/tupleobject.c:964: bad argument to internal function`, a 500. Many concurrent
    chart, results and public requests, with the loader's step repeated the whole time."""
    from content.surveys.section import surveys_of
    from nlu.engine import release_crf_temp_files

    round_id = big_round(board)
    _publish(board, round_id)
    indicators = [i.id for i in surveys_of(board.content).by_type["health_centre"].indicators]
    paths = [f"/dashboard/rounds/{round_id}?lang=km", f"/results/{HC_COMMUNE}?lang=en",
             f"/results/{HC_COMMUNE}/rounds/{round_id}/charts/enough_staff.png"]
    paths += [f"/dashboard/rounds/{round_id}/charts/{indicator}.png?lang={lang}"
              for indicator in indicators for lang in ("km", "en")]
    stop = threading.Event()
    scans = 0

    def loader_finishing() -> None:
        nonlocal scans
        while not stop.is_set():
            release_crf_temp_files(nlu.agent)
            scans += 1

    with LiveServer(board, workers=1) as live:
        assert live.http is not None
        page = live.http.get("/dashboard/login")
        assert live.http.post("/dashboard/login", data={
            "csrf": csrf_of(page.text), "next": "/dashboard/", "username": "admin",
            "password": PASSWORD}).status_code == 303
        cookies = {"isafbot_session": live.http.cookies["isafbot_session"]}
        for path in paths:  # the charts are drawn once: what remains is computing results
            assert live.http.get(path).status_code == 200, path

        def browse(_: int) -> list[tuple[str, int]]:
            seen = []
            with httpx.Client(base_url=live.url, timeout=WAIT, cookies=cookies) as browser:
                for path in paths:
                    try:
                        seen.append((path, browser.get(path).status_code))
                    except httpx.HTTPError as error:  # the server dropped the connection
                        seen.append((f"{path} ({error!r})", -1))
            return seen

        loader = threading.Thread(target=loader_finishing)
        loader.start()
        try:
            with ThreadPoolExecutor(3) as pool:
                results = [item for seen in pool.map(browse, range(3)) for item in seen]
        finally:
            stop.set()
            loader.join(WAIT)
    wrong = [(path, status) for path, status in results if status != 200]
    assert scans > 0 and len(results) == 3 * len(paths)
    assert not wrong, f"{len(wrong)} of {len(results)} requests failed, e.g. {wrong[:3]}"
