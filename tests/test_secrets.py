"""Secrets are never stored or printed: the Messenger page token and its appsecret_proof stay
out of URLs (so out of every error that quotes one), and one redaction filter covers what
reaches the database (outbox and inbox errors), the logs and the terminal. The deployment's
secret key file is never readable by others, not even for a moment."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.channels.messenger.client import MessengerClient
from bot.inbox.models import InboundUpdate
from bot.inbox.queue import Claimed
from bot.server import build_runtime
from bot.settings import Settings
from common.messages import Reply
from dialogues.core.outbox import OutboxMessage, enqueue
from tests.conftest import ROOT, make_settings
from tests.fake_graph import FakeGraph

TOKEN = "EAAGtestPageAccessToken0123456789abcdefXYZ"
APP_SECRET = "test-app-secret-5f1c"
PROOF = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
TG_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstu"
CHART = ROOT / "docs" / "images"


def _refused_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def messenger_env(graph_url: str) -> dict[str, str]:
    return {"MESSENGER_PAGE_ACCESS_TOKEN": TOKEN, "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": "test-verify-token", "MESSENGER_GRAPH_URL": graph_url,
            "MESSENGER_API_VERSION": "26.0", "MESSENGER_RETRY_SECONDS": "0.1",
            "MESSENGER_TIMEOUT": "1"}


def _no_secret(text: str) -> None:
    for secret in (TOKEN, PROOF, APP_SECRET, TG_TOKEN, TG_TOKEN.split(":")[1]):
        assert secret not in text, f"{secret[:12]}… in {text[:400]!r}"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(TOKEN, APP_SECRET) as fake:
        yield fake


# ------------------------------------------------------------------ Messenger: not in URLs

def test_messenger_credentials_never_travel_in_a_url(graph: FakeGraph) -> None:
    """Every kind of Graph API call the bot makes (send, upload, profile set and read) is
    accepted by the fake, which checks the token and the proof wherever Meta reads them; none
    has them in its URL."""
    image = next(CHART.glob("*.png"))
    client = MessengerClient(TOKEN, APP_SECRET, graph_url=graph.url, api_version=26.0,
                             timeout=5)
    try:
        asyncio.run(client.send_reply("psid-1", Reply("hello", image=image)))
        client.set_profile({"get_started": {"payload": "get_started"}})
        read = client.get_profile(["get_started"])
    finally:
        client.close()
    assert read["data"][0]["get_started"] == {"payload": "get_started"}
    assert [c.status for c in graph.calls] == [200] * len(graph.calls)
    assert {c.path.rsplit("/", 1)[-1] for c in graph.calls} >= {
        "messages", "message_attachments", "messenger_profile"}
    for call in graph.calls:
        assert "access_token" not in call.params and "appsecret_proof" not in call.params
        _no_secret(call.url)


def test_the_fake_graph_refuses_a_wrong_or_missing_proof(graph: FakeGraph) -> None:
    import requests

    url = f"{graph.url}/v26.0/me/messages"
    body = {"recipient": {"id": "p"}, "messaging_type": "RESPONSE",
            "message": {"text": "hi"}}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    missing = requests.post(url, json=body, headers=headers, timeout=5)
    wrong = requests.post(url, json={**body, "appsecret_proof": "0" * 64}, headers=headers,
                          timeout=5)
    in_query = requests.post(url, json=body, timeout=5,
                             params={"access_token": TOKEN, "appsecret_proof": PROOF})
    assert missing.json()["error"]["code"] == 190 and wrong.json()["error"]["code"] == 190
    assert in_query.status_code == 200  # Meta reads the query string too: the fake is honest


def test_a_refused_graph_api_leaves_no_secret_in_the_outbox(tmp_path: Path, sqlite_url: str,
                                                          nlu: Any) -> None:
    """Why 6: a connection error's text (requests quotes the URL) was stored in outbox.error
    with access_token= and appsecret_proof=."""
    settings = make_settings(tmp_path, sqlite_url,
                             **messenger_env(f"http://127.0.0.1:{_refused_port()}"))
    app = bootstrap(settings, nlu=nlu)
    try:
        with app.db.session() as session:
            from dialogues.core.engine import find_or_create_user

            user = find_or_create_user(session, "messenger", "psid-9")
            user.last_inbound_at = app.clock.now().replace(tzinfo=None)
            enqueue(session, user_id=user.id, channel="messenger", address="psid-9",
                    replies=[Reply("hello")])
        runtime = build_runtime(app)

        async def deliver() -> None:
            await runtime.dispatcher.deliver_due()
            await runtime.channels["messenger"].stop()

        asyncio.run(deliver())
        with app.db.session() as session:
            row = session.execute(select(OutboxMessage)).scalar_one()
        assert row.status == "pending" and row.error and "Connection" in row.error
        _no_secret(row.error)
    finally:
        app.close()


def test_messenger_setup_prints_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    for name, value in messenger_env(f"http://127.0.0.1:{_refused_port()}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ISAFBOT_DATA_DIR", str(tmp_path / "var"))
    assert main(["messenger", "setup"]) == 1
    printed = capsys.readouterr()
    assert "the page was not set up" in printed.err and "Connection" in printed.err
    _no_secret(printed.out + printed.err)


# ------------------------------------------------------------------ one redaction filter

def test_one_filter_redacts_every_secret_in_the_logs(tmp_path: Path, sqlite_url: str) -> None:
    from bot.logs import configure_logging

    settings = make_settings(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TG_TOKEN,
                             **messenger_env("http://127.0.0.1:9"))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        configure_logging(settings)
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        logger = logging.getLogger("bot.test_secrets")
        logger.warning("GET https://api.telegram.org/bot%s/getMe", TG_TOKEN)
        logger.error("refused: /v26.0/me/messages?access_token=%s&appsecret_proof=%s", TOKEN,
                     PROOF)
        try:
            raise ConnectionError(f"url: /me/messages?access_token={TOKEN}")
        except ConnectionError:
            logger.exception("send failed")
        logging.getLogger("httpx").warning("HTTP Request: POST .../bot%s/sendMessage", TG_TOKEN)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    written = stream.getvalue()
    assert written.count("getMe") == 1 and "send failed" in written
    assert "ConnectionError" in written and "sendMessage" in written
    _no_secret(written)


def test_the_redactor_knows_the_deployments_secrets_and_the_usual_shapes() -> None:
    from common.redact import Redactor

    redact = Redactor.from_env({"MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
                                "MESSENGER_APP_SECRET": APP_SECRET,
                                "TELEGRAM_BOT_TOKEN": TG_TOKEN,
                                "ISAFBOT_DATABASE_URL": "postgresql://bot:pa55word@db/isaf"})
    text = (f"{TOKEN} {PROOF} {APP_SECRET} {TG_TOKEN} pa55word "
            "https://x/me?access_token=OTHER-token-9&appsecret_proof=abc123 "
            "bot987654321:AAnother-token-from-elsewhere-123 Authorization: Bearer zzz999")
    cleaned = redact(text)
    _no_secret(cleaned)
    for gone in ("pa55word", "OTHER-token-9", "abc123", "AAnother-token-from-elsewhere",
                 "zzz999"):
        assert gone not in cleaned
    assert redact("nothing secret here: 42 ៛") == "nothing secret here: 42 ៛"


def test_inbox_errors_are_redacted(tmp_path: Path, sqlite_url: str, nlu: Any) -> None:
    settings = make_settings(tmp_path, sqlite_url, TELEGRAM_BOT_TOKEN=TG_TOKEN)
    app = bootstrap(settings, nlu=nlu)
    try:
        runtime = build_runtime(app)
        assert runtime.inbox.accept("telegram", "1", "telegram:5", {"update_id": 1})
        claimed = runtime.inbox.claim()
        assert isinstance(claimed, Claimed)
        runtime.inbox.fail(claimed, f"InvalidToken('https://api.telegram.org/bot{TG_TOKEN}')")
        with app.db.session() as session:
            row = session.execute(select(InboundUpdate)).scalar_one()
        assert row.error and "InvalidToken" in row.error
        _no_secret(row.error)
        asyncio.run(runtime.channels["telegram"].stop())
    finally:
        app.close()


# ------------------------------------------------------------------ the secret key file

def test_the_secret_key_file_is_never_readable_by_others(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Point 12: the key was written 0644 and chmod'ed after; a process killed in between
    left it readable by every local user. Here chmod "kills the process"."""
    def killed(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "chmod", killed)
    monkeypatch.setattr(Path, "chmod", killed)
    env = {"ISAFBOT_DATA_DIR": str(tmp_path / "var")}
    old = os.umask(0o022)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            Settings.from_env(env)
    finally:
        os.umask(old)
    files = list((tmp_path / "var").iterdir())
    assert files, "no key file was made"
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, (file, oct(file.stat().st_mode))
    monkeypatch.undo()
    first = Settings.from_env(env).secret_key
    assert Settings.from_env(env).secret_key == first and len(first) >= 32
    assert [f.name for f in (tmp_path / "var").iterdir()] == ["secret_key"]
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700  # made here: owner only


def test_a_secret_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    from bot.settings import SettingsError

    key = tmp_path / "elsewhere" / "key"
    key.parent.mkdir()
    key.write_text("k" * 43)
    key.chmod(0o644)
    env = {"ISAFBOT_DATA_DIR": str(tmp_path / "var"), "ISAFBOT_SECRET_KEY_FILE": str(key)}
    with pytest.raises(SettingsError, match="chmod 600"):
        Settings.from_env(env)
    key.chmod(0o600)
    assert Settings.from_env(env).secret_key == b"k" * 43
    assert not (tmp_path / "var" / "secret_key").exists()


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    env = {"ISAFBOT_DATA_DIR": str(tmp_path / "var")}
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: Settings.from_env(env).secret_key, range(16)))
    assert len(keys) == 1
