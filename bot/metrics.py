"""What `/metrics` tells Prometheus, in its text format (prometheus_client).

Each runtime has its own registry (no module-level state: two apps in one process, as in the
tests, do not mix their figures). Counters and the handling-time histogram are per process;
the backlogs and the age of the oldest waiting item are read from the database at each scrape,
so they are the deployment's, whichever process answers.

- `isafbot_inbox_backlog` / `isafbot_inbox_oldest_seconds`: updates not yet handled, and how
  long the oldest has waited (an update waiting out an NLU outage included);
- `isafbot_outbox_backlog{channel}` / `isafbot_outbox_oldest_seconds{channel}`: messages due
  (or being retried) and not yet sent, and how long the oldest has waited;
- `isafbot_sends_total{channel,result}`: send attempts by outcome: sent, rate_limited (429),
  temporary (5xx, timeouts, network), rejected, unreachable, held, gave_up, error;
- `isafbot_updates_total{channel,result}`: handled, postponed (waiting for the NLU),
  failed, released (the database went away mid-way), nlu_unavailable (answered "cannot
  understand right now" after the horizon);
- `isafbot_update_handling_seconds{channel}`: time from claiming an update to committing it;
- `isafbot_nlu_failures_total`: NLU server calls that failed (connection, timeout, 5xx);
- `isafbot_loop_up{loop}`, `isafbot_loop_restarts_total{loop}`: the supervised loops;
- `isafbot_database_up`: 1 when the last health probe reached the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.db import Database
from bot.inbox.models import InboundUpdate
from common.db.base import utcnow
from dialogues.core.outbox import OutboxMessage

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNFINISHED = ("pending", "processing")
UNSENT = ("pending", "sending")


@dataclass(frozen=True)
class Backlog:
    """What is waiting, read from the database (also what /healthz judges)."""

    inbox: int
    inbox_oldest: float  # seconds; 0 when nothing waits
    outbox: dict[str, int]
    outbox_oldest: dict[str, float]

    @property
    def outbox_oldest_any(self) -> float:
        return max(self.outbox_oldest.values(), default=0.0)


def read_backlog(db: Database) -> Backlog:
    """Counts and ages of unfinished updates and of due, unsent messages. An outbox row being
    retried counts from its first failure (its due time moves with each retry); one scheduled
    for later does not count until it is due."""
    now = utcnow()
    with db.read_session() as session:
        inbox, oldest_in = session.execute(
            select(func.count(), func.min(InboundUpdate.received_at))
            .where(InboundUpdate.status.in_(UNFINISHED))).one()
        waiting_since = func.coalesce(OutboxMessage.retry_since, OutboxMessage.due_at)
        rows = session.execute(
            select(OutboxMessage.channel, func.count(), func.min(waiting_since))
            .where(OutboxMessage.status.in_(UNSENT), waiting_since <= now)
            .group_by(OutboxMessage.channel)).all()
    return Backlog(
        inbox=int(inbox or 0), inbox_oldest=_age(oldest_in, now),
        outbox={channel: int(count) for channel, count, _ in rows},
        outbox_oldest={channel: _age(oldest, now) for channel, _, oldest in rows})


def _age(then: datetime | None, now: datetime) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class Metrics:
    """The instruments of one runtime, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sends = Counter("isafbot_sends", "Send attempts by outcome",
                             ["channel", "result"], registry=self.registry)
        self.updates = Counter("isafbot_updates", "Inbox updates by outcome",
                               ["channel", "result"], registry=self.registry)
        self.handling = Histogram("isafbot_update_handling_seconds",
                                  "Seconds from claiming an update to committing its effects",
                                  ["channel"], registry=self.registry,
                                  buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                           30, 60))
        self.nlu_failures = Counter("isafbot_nlu_failures", "NLU server calls that failed",
                                    registry=self.registry)
        self.database_up = Gauge("isafbot_database_up",
                                 "1 when the last health probe reached the database",
                                 registry=self.registry)
        self.database_up.set(1)

    def watch(self, db: Database, loops: Callable[[], Iterable[Any]]) -> None:
        """Add the collectors that read the database and the supervised loops at scrape."""
        self.registry.register(_DatabaseCollector(db))
        self.registry.register(_LoopCollector(loops))

    def sent(self, channel: str, result: str) -> None:
        self.sends.labels(channel, result).inc()

    def handled(self, channel: str, result: str, seconds: float | None = None) -> None:
        self.updates.labels(channel, result).inc()
        if seconds is not None:
            self.handling.labels(channel).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format (reads the database: call it in a thread)."""
        return generate_latest(self.registry)


class _DatabaseCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> list[Any]:
        return []  # read at scrape time only

    def collect(self) -> Iterable[Any]:
        try:
            backlog = read_backlog(self.db)
        except Exception as error:  # the scrape still answers: the gauges are left out
            log.warning("metrics: the database could not be read: %s", error)
            return
        yield GaugeMetricFamily("isafbot_inbox_backlog", "Updates not yet handled",
                                value=backlog.inbox)
        yield GaugeMetricFamily("isafbot_inbox_oldest_seconds",
                                "Seconds the oldest unhandled update has waited",
                                value=backlog.inbox_oldest)
        count = GaugeMetricFamily("isafbot_outbox_backlog", "Due messages not yet sent",
                                  labels=["channel"])
        age = GaugeMetricFamily("isafbot_outbox_oldest_seconds",
                                "Seconds the oldest due, unsent message has waited",
                                labels=["channel"])
        for channel, number in sorted(backlog.outbox.items()):
            count.add_metric([channel], number)
            age.add_metric([channel], backlog.outbox_oldest[channel])
        yield count
        yield age


class _LoopCollector(Collector):
    def __init__(self, loops: Callable[[], Iterable[Any]]) -> None:
        self.loops = loops

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        up = GaugeMetricFamily("isafbot_loop_up",
                               "1 while a supervised loop runs without failing",
                               labels=["loop"])
        restarts = CounterMetricFamily("isafbot_loop_restarts",
                                       "Times a supervised loop was started again",
                                       labels=["loop"])
        for state in self.loops():
            up.add_metric([state.name], 1.0 if state.running and not state.failing else 0.0)
            restarts.add_metric([state.name], float(state.restarts))
        yield up
        yield restarts
