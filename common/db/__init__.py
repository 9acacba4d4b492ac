"""Storage plumbing every layer shares: the declarative base, the engine and sessions (SQLite or
PostgreSQL). The migrations and the models live above (bot/db, each feature's models)."""

from common.db.base import Base
from common.db.session import Database

__all__ = ["Base", "Database"]
