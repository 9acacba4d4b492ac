"""Several server processes on one port, forked from a parent that loaded the NLU model first
(`isafbot run --workers N`, issue 17).

uvicorn's own supervisor starts each worker as a fresh interpreter (multiprocessing's spawn):
each imports Rasa and loads the model again, and holds its own copy. Here the parent loads the
model once (and imports what every worker imports), freezes the garbage collector's view of
those objects (`gc.freeze`, so collections in the workers do not write to their pages), binds
the port, and forks the workers: the model's arrays, the CRF taggers and the imported modules
are pages the workers share until one writes to them. The parent then only supervises: a worker
that dies is forked again (after a second, so a worker that cannot start does not spin), and
SIGTERM or SIGINT is passed on to every worker once, which then shuts down gracefully
(uvicorn's handler). The workers have their own process group, so a Ctrl-C in a terminal
reaches them once, through the parent.

With ISAFBOT_NLU_URL (a shared Rasa server) there is no model to share; the workers are forked
all the same (the imports are shared) and each opens its own client to the server.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)
RESTART_PAUSE = 1.0
SIGNALS = {signal.SIGTERM, signal.SIGINT}


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on (as uvicorn's Config.bind_socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_forked(settings: Settings, processes: int,
                 worker: Callable[[socket.socket, Any], None]) -> None:
    """Load the model, fork `processes` workers running `worker(sock, nlu)`, keep them
    running until SIGTERM/SIGINT, then wait for all of them to finish."""
    from bot.bootstrap import make_nlu

    nlu = None if settings.nlu_url else make_nlu(settings, background=False)
    sock = bind(settings.http_host, settings.http_port)
    gc.collect()
    gc.freeze()  # what is loaded now stays shared: the workers' collections leave it alone
    parent = _Parent(processes, lambda: worker(sock, nlu))
    previous = {sig: signal.signal(sig, parent.stop) for sig in SIGNALS}
    try:
        parent.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        gc.unfreeze()


class _Parent:
    """The supervising parent: forks the workers, forks again the ones that die, passes a
    stop signal on once."""

    def __init__(self, processes: int, work: Callable[[], None]) -> None:
        self.processes = processes
        self.work = work
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False

    def run(self) -> None:
        """Start every slot, then wait, replacing a worker that exits unasked."""
        for slot in range(self.processes):
            self.start(slot)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            slot = self.children.pop(pid, -1)
            if self.stopping or slot < 0:
                continue
            log.warning("worker %d exited (%s): starting another", pid,
                        os.waitstatus_to_exitcode(status))
            time.sleep(RESTART_PAUSE)
            if not self.stopping:
                self.start(slot)

    def start(self, slot: int) -> None:
        """Fork one worker; signals wait until each side has its own handlers (the child must
        never run `stop`)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pid = os.fork()
        if pid == 0:
            self._be_the_worker()
        self.children[pid] = slot
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        log.info("worker %d started (slot %d of %d)", pid, slot + 1, self.processes)

    def _be_the_worker(self) -> None:
        code = 1
        try:
            os.setpgid(0, 0)
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            self.work()
            code = 0
        except BaseException:  # a worker must never return into the parent's code
            log.exception("worker %d failed", os.getpid())
        finally:
            logging.shutdown()
            os._exit(code)

    def stop(self, signum: int, _frame: Any) -> None:
        """SIGTERM/SIGINT: pass it on to every worker, once."""
        if self.stopping:
            return
        self.stopping = True
        log.info("%s: stopping %d workers", signal.Signals(signum).name, len(self.children))
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
