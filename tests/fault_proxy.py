"""A TCP proxy of the tests' own, put between the bot and what it depends on (PostgreSQL, the
NLU server, the fake platforms) to make that dependency fail the ways networks do:

- ``refuse()``: nothing listens on the port any more (new connections are refused) and the
  open connections are cut: a database restart, a server that is down;
- ``cut()``: the open connections are reset, new ones refused (the same as ``refuse``: kept as
  its own name for readability where a running dependency is cut mid-traffic);
- ``stall()``: connections are accepted but nothing is forwarded to the target any more (a
  request already forwarded still gets its answer): a network that swallows packets, a server
  that hangs. Requests not forwarded never reach the target, so a client timing out never
  makes the target do something twice. On ``restore()`` the stalled connections are closed;
- ``restore()``: forward again, on the same port.

It runs its own event loop in a daemon thread, so synchronous tests and the benchmark drive it
with plain method calls. `python -m tests.fault_proxy HOST:PORT` runs one by hand (it prints
its port; type refuse, stall or restore).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PASS, REFUSE, STALL = "pass", "refuse", "stall"
_CHUNK = 64 * 1024


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.mode = PASS
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")
        self._server: asyncio.AbstractServer | None = None
        self._pairs: set[_Pair] = set()
        self._thread.start()
        self.port = self._call(self._listen(port))
        self.connections = 0  # accepted so far, for tests that want to see traffic

    @classmethod
    def for_url(cls, url: str) -> FaultProxy:
        """A proxy in front of the host and port of `url` (http://..., postgresql://...)."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or _default_port(parts.scheme))

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        userinfo, _, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}@" if userinfo else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    # -- faults

    def refuse(self) -> None:
        self._call(self._set(REFUSE))

    cut = refuse

    def stall(self) -> None:
        self._call(self._set(STALL))

    def restore(self) -> None:
        self._call(self._set(PASS))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # -- inside the proxy's loop

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self, port: int) -> int:
        server = await asyncio.start_server(self._accept, "127.0.0.1", port, reuse_address=True)
        self._server = server
        return int(server.sockets[0].getsockname()[1])

    async def _set(self, mode: str) -> None:
        previous, self.mode = self.mode, mode
        if mode == REFUSE:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
            for pair in list(self._pairs):
                pair.reset()
        elif mode == STALL:
            for pair in list(self._pairs):
                pair.stalled = True
        else:
            if previous == STALL:  # what was held back is dropped, never delivered late
                for pair in list(self._pairs):
                    if pair.stalled:
                        pair.reset()
            if self._server is None:
                await self._listen(self.port)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for pair in list(self._pairs):
            pair.reset()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == REFUSE:  # accepted just before the listener closed
            _reset(writer)
            return
        self.connections += 1
        pair = _Pair(writer, stalled=self.mode == STALL)
        self._pairs.add(pair)
        try:
            while pair.stalled and not pair.closed:  # hold it: connect succeeded, no answer
                await asyncio.sleep(0.05)
            if pair.closed:
                return
            try:
                upstream_reader, upstream = await asyncio.open_connection(*self.target)
            except OSError:
                _reset(writer)
                return
            pair.upstream = upstream
            await asyncio.gather(self._pipe(reader, upstream, pair, outbound=True),
                                 self._pipe(upstream_reader, writer, pair, outbound=False))
        finally:
            pair.reset()
            self._pairs.discard(pair)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair,
                    *, outbound: bool) -> None:
        try:
            while not pair.closed:
                if outbound and pair.stalled:  # hold the client's bytes back
                    await asyncio.sleep(0.05)
                    continue
                data = await reader.read(_CHUNK)
                if not data or pair.closed:
                    break
                while outbound and pair.stalled and not pair.closed:
                    await asyncio.sleep(0.05)  # read as the stall began: never forwarded
                if pair.closed:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            pair.reset()


class _Pair:
    """A client connection and its upstream one."""

    def __init__(self, client: asyncio.StreamWriter, *, stalled: bool) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.stalled = stalled
        self.closed = False

    def reset(self) -> None:
        if self.closed:
            return
        self.closed = True
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (what a dying server or a cut network gives the client)."""
    with contextlib.suppress(OSError, AttributeError):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()


def _default_port(scheme: str) -> int:
    return {"http": 80, "https": 443}.get(scheme, 5432)


def main() -> None:
    host, _, port = sys.argv[1].rpartition(":")
    proxy = FaultProxy(host or "127.0.0.1", int(port))
    print(f"proxy on 127.0.0.1:{proxy.port} -> {host}:{port}; commands: refuse, stall, restore")
    for line in sys.stdin:
        command = line.strip()
        if command in ("refuse", "stall", "restore"):
            getattr(proxy, command)()
            print(proxy.mode)


if __name__ == "__main__":
    main()
