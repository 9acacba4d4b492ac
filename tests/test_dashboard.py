"""The dashboard over HTTP: every permission rule, results, CSV, publishing, usage and
deliveries, accounts management, passwords, cookies and caching, on SQLite and PostgreSQL.
(Concurrency: tests/test_dashboard_concurrency.py.)"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.bootstrap import App
from bot.dashboard import auth
from bot.dashboard.models import DashboardAccount, DashboardSession
from bot.server import build_runtime, build_web_app
from common.db.base import utcnow
from dialogues.core.permissions import operator
from tests.dashboard_helpers import (
    COMMENT,
    HC,
    HC_COMMUNE,
    OTHER_COMMUNE,
    PASSWORD,
    Seeded,
    add_accounts,
    csrf_of,
    dashboard_app,
    log_usage,
    login,
    seed,
    seed_round,
)


@pytest.fixture
def seeded(board: App) -> Seeded:
    return seed(board)


def client_for(app: App) -> TestClient:
    """The production web app (no lifespan: the inbox workers are not needed here)."""
    return TestClient(build_web_app(build_runtime(app)), base_url="http://127.0.0.1")


def logged_in(app: App, username: str) -> TestClient:
    client = client_for(app)
    response = login(client, username)
    assert response.status_code == 303, response.text
    return client


# ------------------------------------------------------------------ passwords and accounts

def test_passwords_are_salted_scrypt_hashes(board: App) -> None:
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$")
    assert auth.verify_password(PASSWORD, first) and not auth.verify_password("wrong", first)
    with board.db.session() as session:
        stored = session.execute(select(DashboardAccount.password_hash)).scalars().all()
    assert stored and all(PASSWORD not in h for h in stored)
    assert not auth.verify_password(PASSWORD, "scrypt$1048576000$8$1$00$00")  # not computed
    assert not auth.verify_password(PASSWORD, "bcrypt$whatever")


def test_password_cost_is_owasps() -> None:
    """OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1."""
    assert auth.ScryptCost(2**17, 8, 1) == auth.PASSWORD_COST
    stored = auth.hash_password(PASSWORD)
    assert stored.split("$")[1:4] == ["131072", "8", "1"]
    assert auth.verify_password(PASSWORD, stored) and not auth.needs_rehash(stored)


def test_old_hashes_are_replaced_at_login(tmp_path: Path, database_url: str) -> None:
    """An account hashed at the old cost (N=2^14) logs in as before; its hash is then at
    today's cost, and a wrong password changes nothing."""
    app = dashboard_app(tmp_path, database_url)
    try:
        old = auth.hash_password(PASSWORD, auth.ScryptCost(2**14, 8, 1))
        with app.db.session() as session:
            session.add(DashboardAccount(username="old", password_hash=old, role="admin"))
        assert login(client_for(app), "old", "wrong password").status_code == 401
        with app.db.session() as session:
            assert session.execute(select(DashboardAccount.password_hash)).scalar_one() == old
        assert login(client_for(app), "old").status_code == 303
        with app.db.session() as session:
            new = session.execute(select(DashboardAccount.password_hash)).scalar_one()
        assert new != old and new.split("$")[1] == str(2**17)
        assert not auth.needs_rehash(new) and auth.verify_password(PASSWORD, new)
        assert login(client_for(app), "old").status_code == 303
    finally:
        app.close()


def test_account_rules(board: App) -> None:
    with board.db.session() as session, pytest.raises(auth.AccountError, match="commune"):
        auth.add_account(session, "caf2", PASSWORD, "caf", [])
    with board.db.session() as session, pytest.raises(auth.AccountError, match="already"):
        auth.add_account(session, "admin", PASSWORD, "admin", [])
    with board.db.session() as session, pytest.raises(auth.AccountError, match="characters"):
        auth.add_account(session, "short", "2short", "admin", [])


def test_cli_add_user(board: App, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["dashboard", "add-user", "newcaf", "--role", "caf", "--commune", HC_COMMUNE,
                 "--password-stdin", "--db", board.settings.database_url]) == 0
    assert "added caf newcaf" in capsys.readouterr().out
    client = client_for(board)
    assert login(client, "newcaf", "a long enough password").status_code == 303


def _cli(board: App, *args: str, stdin: str = "") -> tuple[int, str]:
    import contextlib

    from bot.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["dashboard", *args, "--db", board.settings.database_url])
    return code, out.getvalue() + err.getvalue()


def _works(client: TestClient) -> bool:
    return client.get("/dashboard/", follow_redirects=False).status_code == 200


def test_a_disabled_account_stops_working_at_once(board: App) -> None:
    phone, laptop = logged_in(board, "caf"), logged_in(board, "caf")
    admin = logged_in(board, "admin")
    assert _works(phone) and _works(laptop)
    assert _cli(board, "disable-user", "caf") == (0, "disabled caf (2 sessions ended)\n")
    assert not _works(phone) and not _works(laptop) and _works(admin)
    refused = login(client_for(board), "caf")
    assert refused.status_code == 403 and "គណនីនេះត្រូវបានផ្អាក" in refused.text
    assert "isafbot_session" not in refused.cookies
    code, listing = _cli(board, "list-users")
    assert code == 0 and "caf\tcaf\t120809\tdisabled since" in listing
    # a session that survived in the table (a copy restored, say) does not work either
    with board.db.session() as session:
        account = auth.account_named(session, "caf")
        token = auth.start_session(session, account)
    stolen = client_for(board)
    stolen.cookies.set("isafbot_session", token)
    assert not _works(stolen)
    assert _cli(board, "enable-user", "caf") == (0, "enabled caf\n")
    assert _works(logged_in(board, "caf"))
    assert _cli(board, "disable-user", "nobody")[0] == 1


def test_reset_password_ends_the_sessions(board: App) -> None:
    old_session = logged_in(board, "caf")
    code, out = _cli(board, "reset-password", "caf", "--password-stdin",
                     stdin="a brand new password\n")
    assert (code, out) == (0, "new password for caf (1 session ended)\n")
    assert not _works(old_session)
    assert login(client_for(board), "caf").status_code == 401
    assert login(client_for(board), "caf", "a brand new password").status_code == 303
    assert _cli(board, "reset-password", "caf", "--password-stdin", stdin="short\n")[0] == 1


def test_a_reset_password_lifts_the_login_limit(board: App) -> None:
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        login(client_for(board), "caf", "wrong password")
    assert login(client_for(board), "caf").status_code == 429
    _cli(board, "reset-password", "caf", "--password-stdin", stdin="a brand new password\n")
    assert login(client_for(board), "caf", "a brand new password").status_code == 303


def test_revoke_sessions_logs_out_everywhere(board: App) -> None:
    first, second, other = logged_in(board, "caf"), logged_in(board, "caf"), \
        logged_in(board, "admin")
    assert _cli(board, "revoke-sessions", "caf") == (0, "caf: 2 sessions ended\n")
    assert not _works(first) and not _works(second) and _works(other)
    assert _works(logged_in(board, "caf"))  # the account itself still works


# ------------------------------------------------------------------ login, sessions, CSRF

def test_logged_out_access_is_redirected_to_login(board: App, seeded: Seeded) -> None:
    client = client_for(board)
    for path in ("/dashboard/", f"/dashboard/rounds/{seeded.hc_rounds[1]}",
                 f"/dashboard/rounds/{seeded.hc_rounds[1]}/responses.csv",
                 f"/dashboard/rounds/{seeded.hc_rounds[1]}/charts/enough_staff.png",
                 "/dashboard/usage", "/dashboard/deliveries"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/dashboard/login?next=")
    response = client.post(f"/dashboard/rounds/{seeded.hc_rounds[1]}/publish",
                           data={"csrf": "x"}, follow_redirects=False)
    assert response.status_code == 403


def test_wrong_password_is_refused(board: App) -> None:
    client = client_for(board)
    response = login(client, "caf", "not the password")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text or "មិនត្រឹមត្រូវ" in response.text
    assert "isafbot_session" not in response.cookies
    assert login(client, "nobody", PASSWORD).status_code == 401


def test_session_cookie_flags(board: App) -> None:
    response = login(client_for(board), "caf")
    cookie = response.headers["set-cookie"]
    assert "isafbot_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie and "strict-transport-security" not in response.headers
    assert response.headers["location"] == "/dashboard/"


def test_over_https_cookies_are_secure_and_hsts_is_sent(board: App) -> None:
    """A request that arrived over HTTPS (uvicorn sets the scheme; from a trusted proxy's
    X-Forwarded-Proto too: tests/test_dashboard_concurrency.py runs that through uvicorn)."""
    client = TestClient(build_web_app(build_runtime(board)), base_url="https://127.0.0.1")
    page = client.get("/dashboard/login")
    assert "Secure" in page.headers["set-cookie"]  # the login form's CSRF cookie
    response = login(client, "caf")
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]
    for answer in (page, response, client.get("/dashboard/"), client.get("/results")):
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_secure_cookies_when_configured(tmp_path: Path, database_url: str,
                                       quick_passwords: None) -> None:
    app = dashboard_app(tmp_path, database_url, ISAFBOT_DASHBOARD_SECURE_COOKIES="1")
    try:
        add_accounts(app)
        client = TestClient(build_web_app(build_runtime(app)), base_url="https://127.0.0.1")
        response = login(client, "caf")
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
    finally:
        app.close()


@pytest.mark.parametrize("trusted", [True, False])
def test_https_is_believed_from_a_trusted_proxy_only(tmp_path: Path, sqlite_url: str,
                                                     quick_passwords: None,
                                                     trusted: bool) -> None:
    """Through uvicorn, as in production: X-Forwarded-Proto counts only from an address in
    ISAFBOT_FORWARDED_ALLOW_IPS (the tests connect from 127.0.0.1)."""
    from tests.live_server import LiveServer

    app = dashboard_app(tmp_path, sqlite_url,
                        ISAFBOT_FORWARDED_ALLOW_IPS="127.0.0.1" if trusted else "192.0.2.7")
    try:
        add_accounts(app)
        with LiveServer(app, workers=1) as live:
            assert live.http is not None
            proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
            page = live.http.get("/dashboard/login", headers=proxied)
            token = csrf_of(page.text)
            live.http.cookies.clear()  # the browser talks HTTPS to the proxy: sent explicitly
            response = live.http.post(
                "/dashboard/login", headers={**proxied, "Cookie": f"isafbot_login={token}"},
                data={"csrf": token, "next": "/dashboard/", "username": "caf",
                      "password": PASSWORD})
            assert response.status_code == 303
            for answer in (page, response):
                assert ("Secure" in answer.headers["set-cookie"]) is trusted
                assert ("strict-transport-security" in answer.headers) is trusted
            plain = live.http.get("/dashboard/login")
            assert "Secure" not in plain.headers["set-cookie"]
            assert "strict-transport-security" not in plain.headers
    finally:
        app.close()


def test_login_is_rate_limited_per_account(board: App) -> None:
    client = client_for(board)
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert login(client, "caf", "wrong password").status_code == 401
    refused = login(client, "caf", PASSWORD)  # even the right password, for now
    assert refused.status_code == 429
    assert "isafbot_session" not in refused.cookies
    assert login(client, "admin", PASSWORD).status_code == 303  # other accounts are not


def test_login_is_rate_limited_per_address(board: App) -> None:
    client = client_for(board)
    for number in range(auth.MAX_FAILURES_PER_ADDRESS):
        assert login(client, f"guess{number}", "wrong password").status_code == 401
    assert login(client, "admin", PASSWORD).status_code == 429


def test_rate_limit_is_in_the_database(board: App) -> None:
    """A second app on the same database (another worker) sees the same failures."""
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        login(client_for(board), "caf", "wrong password")
    other_worker = dashboard_app(board.settings.data_dir.parent / "w2",
                                 board.settings.database_url)
    try:
        assert login(client_for(other_worker), "caf", PASSWORD).status_code == 429
    finally:
        other_worker.close()


def test_login_form_needs_its_csrf_token(board: App) -> None:
    client = client_for(board)
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"csrf": "forged", "username": "caf",
                                                     "password": PASSWORD})
    assert response.status_code == 403
    assert "isafbot_session" not in response.cookies


def test_posts_need_the_session_csrf_token(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "admin")
    round_id = seeded.hc_rounds[1]
    url = f"/dashboard/rounds/{round_id}/publish"
    assert client.post(url, data={}, follow_redirects=False).status_code == 403
    assert client.post(url, data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    # another session's token is not this session's
    other = logged_in(board, "admin")
    other_token = csrf_of(other.get(f"/dashboard/rounds/{round_id}").text)
    assert client.post(url, data={"csrf": other_token},
                       follow_redirects=False).status_code == 403
    assert client_for(board).get(f"/results/{HC_COMMUNE}").text.count("enough_staff") == 0
    token = csrf_of(client.get(f"/dashboard/rounds/{round_id}").text)
    assert client.post(url, data={"csrf": token}, follow_redirects=False).status_code == 303


def test_logout_ends_the_session_everywhere(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    token = csrf_of(client.get("/dashboard/").text)
    cookie = client.cookies.get("isafbot_session")
    assert client.post("/dashboard/logout", data={"csrf": token},
                       follow_redirects=False).status_code == 303
    stolen = client_for(board)
    stolen.cookies.set("isafbot_session", str(cookie))
    assert stolen.get("/dashboard/", follow_redirects=False).status_code == 303
    with board.db.session() as session:
        assert session.execute(select(DashboardSession)).first() is None


def test_expired_sessions_do_not_count(board: App) -> None:
    client = logged_in(board, "caf")
    with board.db.session() as session:
        for row in session.execute(select(DashboardSession)).scalars():
            row.expires_at = utcnow() - timedelta(minutes=1)
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


# ------------------------------------------------------------------ scope: communes

def test_caf_sees_only_their_communes(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    listing = client.get("/dashboard/").text
    for round_id in seeded.hc_rounds:
        assert f"/dashboard/rounds/{round_id}\"" in listing
    assert f"/dashboard/rounds/{seeded.other_round}\"" not in listing
    other = seeded.other_round
    for path in (f"/dashboard/rounds/{other}", f"/dashboard/rounds/{other}/responses.csv",
                 f"/dashboard/rounds/{other}/comments.csv",
                 f"/dashboard/rounds/{other}/charts/working_hours.png"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "secret other commune comment" not in response.text
    assert client.get("/dashboard/rounds/9999").status_code == 404


def test_caf_cannot_publish_even_their_own(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    round_id = seeded.hc_rounds[1]
    token = csrf_of(client.get(f"/dashboard/rounds/{round_id}").text)
    assert client.post(f"/dashboard/rounds/{round_id}/publish",
                       data={"csrf": token}).status_code == 403


def test_admin_sees_every_commune(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "admin")
    listing = client.get("/dashboard/").text
    assert all(f"/dashboard/rounds/{r}\"" in listing
               for r in [*seeded.hc_rounds, seeded.other_round])
    assert client.get(f"/dashboard/rounds/{seeded.other_round}").status_code == 200


# ------------------------------------------------------------------ results

def test_results_page_shows_figures_breakdowns_trend_and_comments(board: App,
                                                                  seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    page = client.get(f"/dashboard/rounds/{seeded.hc_rounds[1]}?lang=en").text
    assert "Enough staff" in page or "enough" in page.lower()
    # enough_staff: 1 2 3 4 5 5 4 -> mean 24/7 = 3.43, median 4
    assert "3.43" in page and ">4<" in page
    # clean_water has 3 ratings: count only, no mean, no chart
    assert "fewer than 5 ratings" in page
    assert "charts/clean_water.png" not in page and "charts/enough_staff.png" in page
    # the man's group (1) is hidden, and so the women's (6): the total would give it away
    gender = page.split("Gender", 1)[1] if "Gender" in page else page.split("gender", 1)[1]
    assert gender.count(">hidden<") >= 2 and ">6<" not in gender.split("</table>", 1)[0]
    assert COMMENT in page
    # the trend has both rounds: 2.0 in 2025
    assert "Trend across rounds" in page and ">2<" in page


def test_results_page_in_khmer(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    page = client.get(f"/dashboard/rounds/{seeded.hc_rounds[1]}?lang=km").text
    assert 'lang="km"' in page and "មធ្យម" in page and "៧" in page  # Khmer digits


def test_language_switch_is_remembered(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    response = client.get("/dashboard/lang?to=en&next=%2Fdashboard%2F", follow_redirects=False)
    assert response.headers["location"] == "/dashboard/"
    assert "Scoring rounds" in client.get("/dashboard/").text
    client.get("/dashboard/lang?to=km&next=%2Fdashboard%2F")
    assert "ជុំវាយតម្លៃ" in client.get("/dashboard/").text
    # no open redirect
    response = client.get("/dashboard/lang?to=en&next=https://evil.example/",
                          follow_redirects=False)
    assert response.headers["location"] == "/dashboard/"


def test_chart_is_a_png(board: App, seeded: Seeded) -> None:
    client = logged_in(board, "caf")
    response = client.get(f"/dashboard/rounds/{seeded.hc_rounds[1]}/charts/enough_staff.png")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert response.headers["cache-control"] == "no-store"
    assert client.get(f"/dashboard/rounds/{seeded.hc_rounds[1]}/charts/clean_water.png"
                      ).status_code == 404


def test_csv_download_is_the_cli_export(board: App, seeded: Seeded, tmp_path: Path) -> None:
    from content.surveys.section import surveys_of
    from dialogues.scorecard.export import write_responses_csv

    client = logged_in(board, "caf")
    round_id = seeded.hc_rounds[1]
    response = client.get(f"/dashboard/rounds/{round_id}/responses.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert f"round-{round_id}-responses.csv" in response.headers["content-disposition"]
    expected = tmp_path / "cli.csv"
    with board.db.session() as session:
        write_responses_csv(session, surveys_of(board.content), round_id, expected)
    assert response.content == expected.read_bytes()
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 7
    comments = client.get(f"/dashboard/rounds/{round_id}/comments.csv")
    assert COMMENT in comments.content.decode("utf-8-sig")
    assert comments.headers["cache-control"] == "no-store"
    assert client.get(f"/dashboard/rounds/{round_id}/other.csv").status_code == 404


# ------------------------------------------------------------------ public pages

def test_unpublished_rounds_are_not_public(board: App, seeded: Seeded) -> None:
    public = client_for(board)
    page = public.get(f"/results/{HC_COMMUNE}?lang=en")
    assert page.status_code == 200 and "No published results" in page.text
    assert "/results/" not in public.get("/results").text.split("<main>", 1)[1]
    assert public.get(f"/results/{HC_COMMUNE}/rounds/{seeded.hc_rounds[1]}/charts/"
                      "enough_staff.png").status_code == 404
    assert public.get("/results/999999").status_code == 404


def test_published_round_is_public_without_comments_or_small_groups(board: App,
                                                                    seeded: Seeded) -> None:
    admin = logged_in(board, "admin")
    round_id = seeded.hc_rounds[1]
    token = csrf_of(admin.get(f"/dashboard/rounds/{round_id}").text)
    assert admin.post(f"/dashboard/rounds/{round_id}/publish", data={"csrf": token},
                      follow_redirects=False).status_code == 303
    public = client_for(board)
    assert f'href="/results/{HC_COMMUNE}"' in public.get("/results").text
    assert f'href="/results/{OTHER_COMMUNE}"' not in public.get("/results").text
    page = public.get(f"/results/{HC_COMMUNE}?lang=en").text
    assert "3.43" in page and "hidden" in page
    assert COMMENT not in page and "Log out" not in page
    assert "fewer than 5 ratings" in page  # clean_water
    chart = public.get(f"/results/{HC_COMMUNE}/rounds/{round_id}/charts/enough_staff.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    # the round is not public under another commune, and the other commune shows nothing
    assert public.get(f"/results/{OTHER_COMMUNE}/rounds/{round_id}/charts/"
                      "enough_staff.png").status_code == 404
    assert "No published results" in public.get(f"/results/{OTHER_COMMUNE}?lang=en").text
    # unpublish
    token = csrf_of(admin.get(f"/dashboard/rounds/{round_id}").text)
    admin.post(f"/dashboard/rounds/{round_id}/unpublish", data={"csrf": token})
    assert "No published results" in public.get(f"/results/{HC_COMMUNE}?lang=en").text


def test_an_open_round_shows_only_its_response_count(board: App, seeded: Seeded) -> None:
    """Figures of an open round, read before and after someone answers, would show what that
    person answered and who they are (profile breakdowns): until it closes, its count only."""
    from dialogues.scorecard.rounds import close_round

    round_id = seed_round(board, HC, [{"enough_staff": 1 + n % 5} for n in range(6)],
                          [{"gender": "female"} for _ in range(6)],
                          ["a comment while it is open"], close=False)
    for username in ("caf", "admin"):
        client = logged_in(board, username)
        page = client.get(f"/dashboard/rounds/{round_id}?lang=en").text
        assert "still open: 6 responses so far" in page
        for leak in ("Mean", "Median", "charts/", "Results by group", "Trend across rounds",
                     "a comment while it is open", "responses.csv", "comments.csv"):
            assert leak not in page, leak
        listing = client.get("/dashboard/?lang=en").text
        assert f'/dashboard/rounds/{round_id}"' in listing
        row = listing.split(f'/dashboard/rounds/{round_id}"', 1)[1].split("</tr>", 1)[0]
        assert ">6<" in row
        assert client.get(f"/dashboard/rounds/{round_id}/charts/enough_staff.png"
                          ).status_code == 404
        for kind in ("responses", "comments"):
            refused = client.get(f"/dashboard/rounds/{round_id}/{kind}.csv?lang=en")
            assert refused.status_code == 409 and "still open" in refused.text
            assert "a comment while it is open" not in refused.text
    # the closed rounds' trend does not include it either
    closed = logged_in(board, "caf").get(f"/dashboard/rounds/{seeded.hc_rounds[1]}?lang=en")
    assert "Round " + str(round_id) not in closed.text
    with board.db.session() as session:
        close_round(session, board.content, round_id, by=operator("test"))
    page = logged_in(board, "caf").get(f"/dashboard/rounds/{round_id}?lang=en").text
    assert "still open" not in page and "charts/enough_staff.png" in page
    assert "a comment while it is open" in page


def test_open_rounds_cannot_be_published(board: App, seeded: Seeded) -> None:
    from dialogues.scorecard.rounds import open_round

    with board.db.session() as session:
        round_id = int(open_round(session, board.content, "hc_120809", by=operator("test")).id)
    admin = logged_in(board, "admin")
    token = csrf_of(admin.get(f"/dashboard/rounds/{round_id}").text)
    response = admin.post(f"/dashboard/rounds/{round_id}/publish?lang=en",
                          data={"csrf": token})
    assert "Only closed rounds can be published" in response.text
    assert "No published results" in client_for(board).get(f"/results/{HC_COMMUNE}?lang=en").text


# ------------------------------------------------------------------ usage and deliveries

def test_usage_by_intent_language_channel_and_unanswered(board: App) -> None:
    log_usage(board)
    admin = logged_in(board, "admin").get("/dashboard/usage?lang=en").text
    assert "service_fee" in admin and "telegram" in admin and "messenger" in admin
    assert "what is the weather" in admin and "secret other question" in admin
    caf = logged_in(board, "caf").get("/dashboard/usage?lang=en").text
    assert "what is the weather" in caf and ">2<" in caf  # the two spellings counted together
    assert "secret other question" not in caf and "messenger" not in caf


def test_deliveries_report_per_batch(board: App) -> None:
    log_usage(board)
    admin = logged_in(board, "admin").get("/dashboard/deliveries?lang=en").text
    assert "broadcast:7" in admin
    caf = logged_in(board, "caf").get("/dashboard/deliveries?lang=en").text
    assert "broadcast:7" in caf
    # the CAF's counts are of their communes' users only: 1 sent, 0 failed
    row = caf.split("broadcast:7", 1)[1].split("</tr>", 1)[0]
    assert row.count(">1<") == 1 and row.count(">0<") == 4


def test_static_assets_are_served_locally(board: App) -> None:
    client = client_for(board)
    css = client.get("/dashboard/static/style.css")
    assert css.status_code == 200 and "Noto Sans Khmer" in css.text
    font = client.get("/dashboard/static/font/NotoSansKhmer.ttf")
    assert font.status_code == 200 and len(font.content) > 100_000
    page = client.get("/dashboard/login").text
    assert "http://" not in page and "https://" not in page


def test_pages_forbid_framing_scripts_and_caching(board: App) -> None:
    page = client_for(board).get("/dashboard/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_oversized_forms_are_not_read(board: App) -> None:
    client = client_for(board)
    page = client.get("/dashboard/login")
    response = client.post("/dashboard/login", content=b"csrf=" + csrf_of(page.text).encode()
                           + b"&username=caf&password=" + b"x" * 100_000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403


# ------------------------------------------------------------------ meetings

def test_meetings_with_reminder_and_broadcast_reports(board: App) -> None:
    from tests.dashboard_helpers import seed_meetings

    seed_meetings(board)
    admin = logged_in(board, "admin").get("/dashboard/meetings?lang=en").text
    assert "Kouk Khleang sangkat hall" in admin and "secret other commune hall" in admin
    assert "24 h before" in admin and "Broadcast to Kouk Khleang sangkat hall" in admin
    caf = logged_in(board, "caf").get("/dashboard/meetings?lang=en").text
    assert "Kouk Khleang sangkat hall" in caf and "secret other commune" not in caf
    # the reminder went to 2 subscribers: 1 sent, 1 failed
    reminder = caf.split("24 h before", 1)[1].split("</div>", 1)[0]
    assert "sent 1" in reminder and "failed 1" in reminder and "recipients 2" in reminder
    khmer = logged_in(board, "caf").get("/dashboard/meetings?lang=km").text
    assert "កិច្ចប្រជុំ" in khmer


def test_subscribers_per_commune_come_from_meeting_subscriptions(board: App) -> None:
    from tests.dashboard_helpers import seed_meetings

    seed_meetings(board)
    admin = logged_in(board, "admin").get("/dashboard/usage?lang=en").text
    subscribers = admin.split("Subscribers per commune", 1)[1]
    assert "Kouk Khleang" in subscribers and ">2<" in subscribers
    caf = logged_in(board, "caf").get("/dashboard/usage?lang=en").text
    assert "Srah Chik" not in caf.split("Subscribers per commune", 1)[1]
