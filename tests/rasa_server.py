"""A real Rasa server (`rasa run --enable-api`) with the current model on a free loopback port,
for the test that compares it with the model in process and for bench/server_bench.py."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def rasa_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server's URL and process, once it answers /model/parse; stopped afterwards. Its
    output goes to a file (a pipe nobody reads would stall it), quoted if it dies."""
    from nlu.engine import train

    model, _ = train(ROOT / "models")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rasa = Path(sys.executable).parent / "rasa"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([str(rasa), "run", "--enable-api", "-i", "127.0.0.1", "-p",
                                    str(port), "-m", str(model)], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"the Rasa server stopped: {log.read()[-2000:]!r}")
                assert time.monotonic() < deadline, "the Rasa server did not start"
                try:
                    if httpx.post(f"{url}/model/parse", json={"text": "hi"}, timeout=30
                                  ).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            yield url, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
