"""The console channel as a user runs it: `isafbot chat --script` and interactive `isafbot chat`.

These start the real command in a subprocess (cold start included), with a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ISAFBOT_DATA_DIR": str(tmp_path / "var"),
            "ISAFBOT_MODEL_DIR": str(ROOT / "models")}


def test_script_answers_every_line_and_reports_bad_ones(tmp_path: Path) -> None:
    script = tmp_path / "script.jsonl"
    lines = [
        json.dumps({"user": "u1", "text": "how much is a birth certificate"}).encode(),
        json.dumps({"user": "u1", "button": "svc:birth_certificate:place"}).encode(),
        b"\xff\xfe not utf-8",
        json.dumps({"user": "u2", "text": "សំបុត្រកំណើតថ្លៃប៉ុន្មាន"}, ensure_ascii=False).encode(),
        b"{not json",
        json.dumps({"user": "u2", "text": ""}).encode(),
        json.dumps({"user": "u3", "button": "x" * 80}).encode(),
    ]
    script.write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "chat.db"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--script", str(script), "--db",
         f"sqlite:///{db}"], capture_output=True, timeout=300, env=_env(tmp_path))
    assert result.returncode == 1  # some lines were unusable, and it says so
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(out) == len(lines)  # one output line per input line, nothing lost
    assert out[0]["replies"][0]["text"].startswith("💵 Birth certificate: free")
    assert out[0]["replies"][-1]["buttons"][0]["payload"].startswith("svc:birth_certificate:")
    assert out[1]["replies"][0]["text"].startswith("📍 Birth certificate:")
    assert "not valid UTF-8" in out[2]["error"]
    assert "សំបុត្រកំណើត" in out[3]["replies"][0]["text"]
    assert "not valid JSON" in out[4]["error"]
    assert out[5]["replies"]  # empty text gets a reply
    assert "button payload" in out[6]["error"]
    assert db.exists()
    assert "could not be used" in result.stderr.decode()


def test_interactive_chat_numbers_buttons_and_presses_them(tmp_path: Path) -> None:
    typed = "hello\n1\n3\n"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], input=typed.encode(),
                            capture_output=True, timeout=300, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    out = result.stdout.decode()
    assert "[1] Commune services" in out  # after "hello" the menu is English
    assert "Choose one:" in out  # "1" pressed the first button: the list of services
    assert out.count("Source:") == 1  # "3" pressed a service: its answer with its source
