"""Keeping the background loops alive: inbox workers, the outbox dispatcher, leader election,
the scheduler's service loop, Telegram's long polling.

A loop is a coroutine function that runs until the process stops. `Supervisor.spawn` runs it
under watch: when it raises (the database went away, a bug), the failure is logged once for
the whole burst, the loop waits a capped exponential backoff with jitter and starts again; a
loop that returns while the process is not stopping is restarted too. A loop reports progress
with `LoopState.ok()`, which ends a burst (logged once, with how many failures and for how long)
and resets the backoff. `/healthz` asks `Supervisor.problems()` which loops are down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from common.db.session import database_unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

Loop = Callable[["LoopState"], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: attempt n (from 1) waits about
    `base * factor**(n-1)`, at most `cap`, each wait drawn between (1 - jitter) and 1 times
    that, so processes that failed together do not all retry at the same instant."""

    base: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        raw = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        draw = (rng or random).random()
        return raw * (1.0 - self.jitter * draw)

    def after(self, waited: float, rng: random.Random | None = None) -> float:
        """The next wait of something that has been failing for `waited` seconds without a
        count of attempts (the inbox: an update waiting for the NLU server): wait about as
        long again, which doubles the total each time, between `base` and `cap`."""
        raw = min(self.cap, max(self.base, waited))
        draw = (rng or random).random()
        return raw * (1.0 - self.jitter * draw)


class Burst:
    """Logs a run of failures once: the first with its traceback, then silence until the
    thing works again, then one line saying how many failed and for how long."""

    def __init__(self, what: str, logger: logging.Logger = log) -> None:
        self.what = what
        self.logger = logger
        self.failures = 0
        self.since: float | None = None  # monotonic
        self.last_error: str | None = None

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException, *, retry_in: float | None = None) -> None:
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"[:500]
        if self.failures == 1:
            self.since = time.monotonic()
            then = f"; retrying (backoff up to {retry_in:.1f} s)" if retry_in is not None \
                else "; retrying"
            self.logger.error("%s failed%s; further failures are counted, not logged",
                              self.what, then, exc_info=error)

    def ok(self) -> None:
        if self.failures:
            lasted = time.monotonic() - (self.since or time.monotonic())
            self.logger.warning("%s works again after %d failure(s) over %.1f s (last: %s)",
                                self.what, self.failures, lasted, self.last_error)
        self.failures = 0
        self.since = None
        self.last_error = None

    def failing_for(self) -> float:
        return time.monotonic() - self.since if self.since is not None else 0.0


@dataclass
class LoopState:
    """What one supervised loop reports, and what /healthz and /metrics read."""

    name: str
    backoff: Backoff
    burst: Burst
    running: bool = False
    once: bool = False  # a start-up task: done when it returns
    retired: bool = False  # stopped on purpose (leadership lost): not restarted
    restarts: int = 0
    task: asyncio.Task[Any] | None = None

    def ok(self) -> None:
        """Called by the loop after each round that worked."""
        self.burst.ok()

    def failed(self, error: BaseException) -> float:
        """A failure the loop handles itself (it keeps running): counted in the burst;
        returns how long to wait before the next try."""
        wait = self.backoff.delay(self.burst.failures + 1)
        self.burst.failed(error, retry_in=self.backoff.cap)
        return wait

    @property
    def failing(self) -> bool:
        return self.burst.failing

    def problem(self, grace: float) -> str | None:
        """Why this loop counts as down, or None: failing (or waiting to start again after a
        failure) for longer than `grace` seconds; a one-off error that the next round fixes
        is not an outage."""
        if self.burst.failing and self.burst.failing_for() >= grace:
            return (f"loop {self.name} failing for {self.burst.failing_for():.0f} s "
                    f"({self.burst.failures} failures; last: {self.burst.last_error})")
        return None


class Supervisor:
    """Runs loops and restarts them; one per process (the Runtime owns it)."""

    def __init__(self, *, backoff: Backoff | None = None, grace: float = 5.0) -> None:
        self.backoff = backoff or Backoff()
        self.grace = grace
        self.loops: dict[str, LoopState] = {}
        self._stopping = asyncio.Event()

    def spawn(self, name: str, loop: Loop, *, backoff: Backoff | None = None,
              once: bool = False) -> LoopState:
        """Start `loop(state)` under supervision (`name` unique per process); `once`: a task
        that is done when it returns (start-up), retried only while it raises."""
        old = self.loops.get(name)
        if old is not None and old.task is not None and not old.task.done():
            raise ValueError(f"loop {name!r} is already running")
        state = LoopState(name, backoff or self.backoff,
                          Burst(f"loop {name}", logging.getLogger(f"{__name__}.{name}")),
                          once=once)
        self.loops[name] = state
        state.task = asyncio.get_running_loop().create_task(self._run(state, loop),
                                                            name=f"isafbot:{name}")
        return state

    async def _run(self, state: LoopState, loop: Loop) -> None:
        while not self._stopping.is_set() and not state.retired:
            state.running = True
            try:
                await loop(state)
            except asyncio.CancelledError:
                state.running = False
                raise
            except Exception as error:  # anything: the loop is started again
                wait = state.failed(error)
            else:
                if self._stopping.is_set() or state.retired:
                    break
                if state.once:
                    state.ok()
                    state.retired = True
                    break
                # A loop only returns when told to stop: anything else is a bug somewhere.
                state.failed(RuntimeError(f"loop {state.name} ended on its own"))
                wait = state.backoff.delay(state.burst.failures)
            state.running = False
            state.restarts += 1
            await sleep_unless(self._stopping, wait)
        state.running = False

    def active(self) -> list[LoopState]:
        """The loops that should be running (start-up tasks that finished are left out)."""
        return [state for state in self.loops.values() if not state.retired]

    def problems(self) -> list[str]:
        found = []
        for state in self.loops.values():
            if state.retired:
                continue
            if state.task is not None and state.task.done() and not self._stopping.is_set():
                found.append(f"loop {state.name} has stopped")
                continue
            problem = state.problem(self.grace)
            if problem:
                found.append(problem)
        return found

    async def stop(self, timeout: float = 30.0) -> None:
        """Tell loops to stop (they watch their own stop events too) and wait for them;
        loops still running after `timeout` are cancelled."""
        self._stopping.set()
        tasks = [s.task for s in self.loops.values() if s.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def retire(self, name: str, timeout: float = 30.0) -> None:
        """Stop one loop for good (leadership lost: the dispatcher stops); the loop watches
        its own stop signal, which the caller has set: it is cancelled after `timeout`."""
        state = self.loops.pop(name, None)
        if state is None or state.task is None:
            return
        state.retired = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(state.task), timeout)
        if not state.task.done():
            state.task.cancel()
        await asyncio.gather(state.task, return_exceptions=True)


async def retry_database(function: Callable[..., T], *args: Any, backoff: Backoff,
                         stop: asyncio.Event | Callable[[], bool] | None,
                         burst: Burst) -> T:
    """Run a database call in a thread, again and again while the database is unavailable
    (capped exponential backoff, the burst logged once), until it works or `stop` is set (then
    the last error is raised). Other errors are raised at once."""

    def stopping() -> bool:
        if stop is None:
            return False
        return stop.is_set() if isinstance(stop, asyncio.Event) else stop()

    attempt = 0
    while True:
        try:
            result = await asyncio.to_thread(function, *args)
        except Exception as error:
            if not database_unavailable(error) or stopping():
                raise
            attempt += 1
            burst.failed(error, retry_in=backoff.cap)
            last = error
        else:
            burst.ok()
            return result
        if isinstance(stop, asyncio.Event):
            await sleep_unless(stop, backoff.delay(attempt))
        else:
            await asyncio.sleep(backoff.delay(attempt))
        if stopping():
            raise last


async def sleep_unless(event: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if `event` is set; True when it was set."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()
