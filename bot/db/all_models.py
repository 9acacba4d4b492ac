"""Imports every model module so that `Base.metadata` knows every table (for Alembic)."""

import bot.dashboard.models
import bot.inbox.models  # noqa: F401
import dialogues.core.models
import dialogues.core.outbox
import dialogues.meetings.models
import dialogues.scorecard.models  # noqa: F401
from common.db.base import Base

__all__ = ["Base"]
