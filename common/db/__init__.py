"""Storage: SQLAlchemy models, sessions and Alembic migrations (SQLite or PostgreSQL)."""

from bot.db.base import Base
from bot.db.session import Database

__all__ = ["Base", "Database"]
