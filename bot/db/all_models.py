"""Imports every model module so that `Base.metadata` knows every table (for Alembic)."""

from bot.db import (
    models,  # noqa: F401
    models_dashboard,  # noqa: F401
    models_meetings,  # noqa: F401
    models_scorecard,  # noqa: F401
)
from bot.db.base import Base

__all__ = ["Base"]
