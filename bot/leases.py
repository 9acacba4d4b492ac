"""Leases renewed while their work is in hand: short leases, so that what a killed process
held is taken again within seconds, without a slow handler or send losing its lease.

The inbox leases an update while a worker handles it, the dispatcher an outbox row while it
sends it; a row whose lease ran out is another process's to take. A fixed long lease (120 s)
made a killed worker's message, and its chat's later ones, wait two minutes; a short one
without renewal would give a slow send's row to a second sender (a message twice). Here each
process renews, in one UPDATE every `lease / 4` seconds, the leases of everything it holds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from common.db.base import utcnow

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the leases (`lease_until`) of the rows of `model` this process holds in
    `status`."""

    def __init__(self, db: Any, model: Any, status: str, lease: timedelta) -> None:
        self.db = db
        self.model = model
        self.status = status
        self.lease = lease
        self._held: dict[int, int] = {}  # row id -> how many holders

    def hold(self, *ids: int) -> None:
        for row_id in ids:
            self._held[row_id] = self._held.get(row_id, 0) + 1

    def drop(self, *ids: int) -> None:
        for row_id in ids:
            left = self._held.get(row_id, 0) - 1
            if left > 0:
                self._held[row_id] = left
            else:
                self._held.pop(row_id, None)

    @property
    def held(self) -> list[int]:
        return sorted(self._held)

    def renew(self) -> int:
        """Push back the lease of every row held (still in `status`); how many."""
        ids = self.held
        if not ids:
            return 0
        with self.db.session() as session:
            result = session.execute(
                update(self.model).where(self.model.id.in_(ids),
                                         self.model.status == self.status)
                .values(lease_until=utcnow() + self.lease)
                .execution_options(synchronize_session=False))
        return int(result.rowcount or 0)

    async def keep(self, stop: asyncio.Event | Any) -> None:
        """Renew every `lease / 4` seconds until `stop` (an Event, or a callable returning
        True) or cancellation; a failed renewal (the database away) is tried at the next
        turn: the lease has three more turns to run."""
        every = max(self.lease.total_seconds() / 4, 0.05)
        while not _stopped(stop):
            await asyncio.sleep(every)
            if not self._held:
                continue
            try:
                await asyncio.to_thread(self.renew)
            except Exception as error:  # the database is away: the next turn tries again
                log.warning("renewing %d leases failed: %s", len(self._held),
                            type(error).__name__)


def _stopped(stop: Any) -> bool:
    return bool(stop.is_set() if isinstance(stop, asyncio.Event) else stop())
