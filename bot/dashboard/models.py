"""Dashboard tables: staff accounts (admins and CAFs), their communes, server-side sessions,
login limits (rate limiting that holds across workers) and published rounds.

Passwords are stored as scrypt hashes with a per-password salt; sessions are stored as the
SHA-256 of their cookie token, so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String

from common.db.base import Base, utcnow


class DashboardAccount(Base):
    """A person who logs in to the dashboard: an admin (everything) or a CAF (their communes)."""

    __tablename__ = "dashboard_accounts"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)  # scrypt$n$r$p$salt$hash (hex)
    role = Column(String(10), nullable=False)  # admin | caf
    created_at = Column(DateTime, nullable=False, default=utcnow)
    disabled_at = Column(DateTime, nullable=True)  # set: no login, no session works


class DashboardAccountCommune(Base):
    """A commune (gazetteer code) whose data a CAF account may see."""

    __tablename__ = "dashboard_account_communes"

    account_id = Column(Integer, ForeignKey("dashboard_accounts.id", ondelete="CASCADE"),
                        primary_key=True)
    commune_code = Column(String(6), primary_key=True)


class DashboardSession(Base):
    """A logged-in browser. `id` is the SHA-256 (hex) of the cookie's token."""

    __tablename__ = "dashboard_sessions"

    id = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("dashboard_accounts.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)


class DashboardLoginLimit(Base):
    """Login attempts per account name or client address in the current window: counted
    before the password is checked (one atomic upsert), given back when it was right."""

    __tablename__ = "dashboard_login_limits"

    key = Column(String(160), primary_key=True)  # "user:<name>" or "ip:<address>"
    window_started_at = Column(DateTime, nullable=False, index=True)
    attempts = Column(Integer, nullable=False)


class PublishedRound(Base):
    """An admin made a closed round's results public (small-group rule still applies)."""

    __tablename__ = "published_rounds"

    round_id = Column(Integer, ForeignKey("scoring_rounds.id", ondelete="CASCADE"),
                      primary_key=True)
    published_at = Column(DateTime, nullable=False, default=utcnow)
    published_by = Column(String(64), nullable=False)
