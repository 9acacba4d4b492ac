"""Every feature's models, as the feature records (bot.features) list them, so that
`Base.metadata` knows every table (for Alembic and the storage tests)."""

from bot.features import FEATURES
from common.db.base import Base

MODELS = FEATURES.models  # imported with the records: their tables are in Base.metadata

__all__ = ["MODELS", "Base"]
