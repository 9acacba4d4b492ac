"""`isafbot run --workers 2` with the NLU in process: the workers are forked after the parent
loaded the model (bot/forking.py, issue 17). They answer texts with the parent's model (each
with a parse thread of its own), a worker killed with kill -9 is forked again, and SIGTERM
stops them all gracefully."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fake_graph import FakeGraph
from tests.test_messenger import APP_SECRET, TOKEN, batch, messenger_env, sign, text_event
from tests.test_server import _free_port

ROOT = Path(__file__).resolve().parent.parent


def _pids(base: str, wanted: int, server: subprocess.Popen[str], seconds: float = 240
          ) -> set[int]:
    """The workers' pids as /healthz reports them (a new connection may reach another)."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(seen) < wanted and time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1][-3000:]
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                seen.add(http.get("/healthz").json()["pid"])
        except (httpx.TransportError, ValueError):
            time.sleep(0.3)
    return seen


def _children(pid: int) -> set[int]:
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def _post(base: str, body: bytes) -> None:
    response = httpx.post(f"{base}/webhooks/messenger", content=body, timeout=30,
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": sign(body)})
    assert response.status_code == 200


def test_forked_workers_share_the_model_restart_and_stop(tmp_path: Path, sqlite_url: str
                                                        ) -> None:
    users = 6
    with FakeGraph(TOKEN, APP_SECRET) as graph:
        port = _free_port()
        env = {**os.environ, **messenger_env(graph), "ISAFBOT_DATABASE_URL": sqlite_url,
               "ISAFBOT_DATA_DIR": str(tmp_path / "var"), "ISAFBOT_HTTP_PORT": str(port),
               "ISAFBOT_SECRET_KEY": "test-secret-key-0123456789",
               "ISAFBOT_MODEL_DIR": str(ROOT / "models")}
        env.pop("ISAFBOT_NLU_URL", None)
        env.pop("ISAFBOT_PRELOAD", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--workers", "2", "--handlers", "2"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            first = _pids(base, 2, server)
            assert len(first) == 2 and first == _children(server.pid)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (
                    victim in _children(server.pid) or len(_children(server.pid)) < 2):
                time.sleep(0.3)
            now = _children(server.pid)
            assert victim not in now and len(now) == 2  # forked again
            for user in range(users):  # texts: every worker that takes one parses it
                _post(base, json.dumps(batch(text_event(
                    f"psid-{user}", "how much is a birth certificate"))).encode())
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and len(
                    {body["recipient"]["id"] for body in graph.sent()}) < users:
                time.sleep(0.3)
            answered = {body["recipient"]["id"] for body in graph.sent()}
            assert answered == {f"psid-{user}" for user in range(users)}
            fees = [body for body in graph.sent()
                    if "Birth certificate" in json.dumps(body, ensure_ascii=False)]
            assert len({body["recipient"]["id"] for body in fees}) == users  # understood
        finally:
            workers = _children(server.pid) if server.poll() is None else set()
            server.send_signal(signal.SIGTERM)
            try:
                _, stderr = server.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                server.kill()
                _, stderr = server.communicate()
    assert server.returncode == 0, stderr[-3000:]
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers)
