"""Dashboard accounts, passwords, sessions, CSRF tokens and login rate limits.

- Passwords: scrypt (hashlib) at the OWASP Password Storage Cheat Sheet's cost (N=2^17, r=8,
  p=1) with a random 16-byte salt per password, compared in constant time. The parameters are
  stored with the hash; a hash made at an older cost is replaced at the next good login.
- Sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS); the
  database keeps its SHA-256, the account and a CSRF token, so every worker sees every session,
  and logging out, a password reset or disabling the account ends it everywhere at once.
- CSRF: every POST carries the session's token in a form field, compared in constant time.
- Login rate limits: a counter per account name and per client address, raised by one atomic
  upsert *before* the password is checked (so parallel attempts cannot all pass the limit) and
  given back when the password was right.
- A login is three short transactions around the slow part: count the attempt; read the hash
  (read-only); check it with no transaction open; then start the session. scrypt never runs
  while SQLite's write lock is held.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from bot.dashboard.models import (
    DashboardAccount,
    DashboardAccountCommune,
    DashboardLoginLimit,
    DashboardSession,
)
from bot.db import Database
from common.db.base import utcnow
from dialogues.core.permissions import Actor

ROLES = ("admin", "caf")
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_CHARS = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COMMUNE = re.compile(r"^\d{6}$")


class AccountError(ValueError):
    """An account's name, role, password or communes are not acceptable, or it is unknown."""


# ------------------------------------------------------------------ passwords

@dataclass(frozen=True)
class ScryptCost:
    n: int  # CPU/memory cost
    r: int  # block size
    p: int  # parallelism

    @property
    def memory(self) -> int:
        """Bytes OpenSSL allocates for one hash (its maxmem check), plus slack."""
        return 128 * self.r * (self.n + self.p + 2) + 1024 * 1024


# OWASP Password Storage Cheat Sheet: "scrypt with a minimum CPU/memory cost parameter of
# (2^17), a minimum block size of 8 (1024 bytes), and a parallelization parameter of 1".
# 128 MiB and about 0.4 s per hash on one core (docs/benchmarks.md).
PASSWORD_COST = ScryptCost(2**17, 8, 1)
MAX_N = 2**20  # a stored hash asking for more is refused, not computed
# At most two hashes at once per process: 256 MiB, whatever the number of login attempts.
_SCRYPT_SLOTS = threading.BoundedSemaphore(2)


def _scrypt(password: str, salt: bytes, cost: ScryptCost, length: int) -> bytes:
    with _SCRYPT_SLOTS:
        return hashlib.scrypt(password.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                              maxmem=cost.memory, dklen=length)


def hash_password(password: str, cost: ScryptCost | None = None) -> str:
    cost = cost or PASSWORD_COST
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, 32)
    return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, str] | None:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        if scheme != "scrypt" or not 1 < cost.n <= MAX_N or cost.r < 1 or cost.p < 1:
            return None
        return cost, bytes.fromhex(salt), expected
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, expected = parsed
    try:
        digest = _scrypt(password, salt, cost, len(expected) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def needs_rehash(stored: str) -> bool:
    """True when the hash was made at another cost than today's (replaced at login)."""
    parsed = _parse(stored)
    return parsed is not None and parsed[0] != PASSWORD_COST


@lru_cache(maxsize=4)
def _dummy_hash(cost: ScryptCost) -> str:
    """A hash to check against when the account does not exist, so that a wrong name takes as
    long as a wrong password (no account enumeration by timing)."""
    return hash_password(secrets.token_hex(8), cost)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")


# ------------------------------------------------------------------ accounts

@dataclass(frozen=True)
class Principal:
    """Who is logged in, and what they may see."""

    account_id: int
    username: str
    role: str
    communes: frozenset[str]  # empty for admins (who see all)
    csrf_token: str

    @property
    def actor(self) -> Actor:
        """The account as dialogues.core.permissions sees it: the one check of who acts on
        which commune."""
        return Actor(f"dashboard:{self.username}", self.role, self.communes)

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin

    def may_see_commune(self, commune: str | None) -> bool:
        return self.actor.may_act_on(commune)


def normal_name(username: str) -> str:
    return username.strip().lower()


def add_account(session: Session, username: str, password: str, role: str,
                communes: list[str]) -> DashboardAccount:
    username = normal_name(username)
    if not _USERNAME.match(username):
        raise AccountError("the user name must be 2-64 lower-case letters, digits, . _ or -")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    check_password(password)
    bad = [c for c in communes if not _COMMUNE.match(c)]
    if bad:
        raise AccountError(f"commune codes are 6 digits (gazetteer codes): {', '.join(bad)}")
    if role == "caf" and not communes:
        raise AccountError("a CAF account needs at least one --commune")
    password_hash = hash_password(password)  # before the first query: no transaction yet
    if session.execute(select(DashboardAccount.id).where(
            DashboardAccount.username == username)).first():
        raise AccountError(f"there is already an account {username!r}")
    account = DashboardAccount(username=username, password_hash=password_hash, role=role)
    session.add(account)
    session.flush()
    for code in sorted(set(communes)):
        session.add(DashboardAccountCommune(account_id=account.id, commune_code=code))
    return account


def account_named(session: Session, username: str) -> DashboardAccount:
    account = session.execute(select(DashboardAccount).where(
        DashboardAccount.username == normal_name(username))).scalar_one_or_none()
    if account is None:
        raise AccountError(f"there is no account {normal_name(username)!r}")
    return account


def revoke_sessions(session: Session, username: str) -> int:
    """Log the account out everywhere; returns the number of sessions ended."""
    account = account_named(session, username)
    ended = session.execute(delete(DashboardSession).where(
        DashboardSession.account_id == account.id))
    return int(ended.rowcount or 0)


def disable_account(session: Session, username: str) -> int:
    """No more logins, and its sessions end now; returns the number of sessions ended."""
    account = account_named(session, username)
    if account.disabled_at is None:
        account.disabled_at = utcnow()
    return revoke_sessions(session, username)


def enable_account(session: Session, username: str) -> None:
    account_named(session, username).disabled_at = None


def replace_password(session: Session, username: str, password_hash: str) -> int:
    """A new password (hashed by the caller, outside the transaction): the account's sessions
    end and its login limit starts afresh. Returns the number of sessions ended."""
    account_named(session, username).password_hash = password_hash
    session.execute(delete(DashboardLoginLimit).where(
        DashboardLoginLimit.key == _user_key(username)))
    return revoke_sessions(session, username)


# ------------------------------------------------------------------ login limits

def _user_key(username: str) -> str:
    return f"user:{normal_name(username)}"[:160]


def _limits(username: str, address: str) -> list[tuple[str, int]]:
    """(counter key, most attempts allowed in a window), in key order (the order the rows are
    locked in, so that two attempts never wait for each other's second row)."""
    return sorted([(_user_key(username), MAX_FAILURES_PER_ACCOUNT),
                   (f"ip:{address}"[:160], MAX_FAILURES_PER_ADDRESS)])


def _upsert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(DashboardLoginLimit)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(DashboardLoginLimit)


@dataclass(frozen=True)
class Reservation:
    """An attempt counted against the limits (in these windows), before its password is
    checked; `allowed` is False when a limit was already reached (then it is not counted)."""

    allowed: bool
    windows: dict[str, datetime]


def reserve_attempt(session: Session, username: str, address: str,
                    now: datetime | None = None) -> Reservation:
    """Count one more attempt for the name and the address, atomically: on PostgreSQL the
    upsert locks each counter row until commit, on SQLite the transaction holds the write
    lock, so two attempts never both see the last free place."""
    now = now or utcnow()
    limits = _limits(username, address)
    for key, _ in limits:
        insert = _upsert(session).values(key=key, window_started_at=now, attempts=1)
        expired = DashboardLoginLimit.window_started_at <= now - LOGIN_WINDOW
        session.execute(insert.on_conflict_do_update(index_elements=["key"], set_={
            "attempts": case((expired, 1), else_=DashboardLoginLimit.attempts + 1),
            "window_started_at": case((expired, now),
                                      else_=DashboardLoginLimit.window_started_at)}))
    rows = {key: (attempts, started) for key, attempts, started in session.execute(
        select(DashboardLoginLimit.key, DashboardLoginLimit.attempts,
               DashboardLoginLimit.window_started_at)
        .where(DashboardLoginLimit.key.in_([key for key, _ in limits])))}
    forget_finished_windows(session, now)  # last: it never waits (see there)
    reservation = Reservation(all(rows[key][0] <= most for key, most in limits),
                              {key: rows[key][1] for key, _ in limits})
    if not reservation.allowed:  # refused unchecked: it does not count either
        release_attempt(session, reservation)
    return reservation


def forget_finished_windows(session: Session, now: datetime | None = None) -> int:
    """Delete the counters whose window is over (at each login attempt, and by the retention
    purge). Rows another transaction holds are skipped (PostgreSQL's SKIP LOCKED), so this
    never waits for a login in progress, and two of them never deadlock."""
    now = now or utcnow()
    deleted = session.execute(delete(DashboardLoginLimit).where(DashboardLoginLimit.key.in_(
        select(DashboardLoginLimit.key)
        .where(DashboardLoginLimit.window_started_at <= now - LOGIN_WINDOW)
        .with_for_update(skip_locked=True))).execution_options(synchronize_session=False))
    return int(deleted.rowcount or 0)


def release_attempt(session: Session, reservation: Reservation) -> None:
    """The attempt succeeded or was refused unchecked: it does not count (unless its window
    is already over)."""
    for key, started in reservation.windows.items():
        session.execute(update(DashboardLoginLimit).where(
            DashboardLoginLimit.key == key, DashboardLoginLimit.window_started_at == started,
            DashboardLoginLimit.attempts > 0).values(attempts=DashboardLoginLimit.attempts - 1))


# ------------------------------------------------------------------ logging in

@dataclass(frozen=True)
class LoginResult:
    status: str  # ok | failed | limited | disabled
    token: str | None = None  # the session cookie's token when ok


def log_in(database: Database, username: str, password: str, address: str) -> LoginResult:
    """Check a login and start a session. Blocking (run it in a thread)."""
    with database.session() as session:
        reservation = reserve_attempt(session, username, address)
    if not reservation.allowed:
        return LoginResult("limited")
    with database.read_session() as session:
        found = session.execute(select(DashboardAccount.id, DashboardAccount.password_hash)
                                .where(DashboardAccount.username == normal_name(username))
                                ).first()
    if found is None:
        verify_password(password, _dummy_hash(PASSWORD_COST))
        return LoginResult("failed")
    account_id, stored = found
    if not verify_password(password, stored):
        return LoginResult("failed")  # the attempt stays counted
    new_hash = hash_password(password) if needs_rehash(stored) else None
    with database.session() as session:
        release_attempt(session, reservation)
        account = session.get(DashboardAccount, account_id)
        if account is None or account.password_hash != stored:
            return LoginResult("failed")  # deleted, or its password changed meanwhile
        if account.disabled_at is not None:
            return LoginResult("disabled")
        if new_hash is not None:
            account.password_hash = new_hash
        return LoginResult("ok", start_session(session, account))


# ------------------------------------------------------------------ sessions

def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, account: DashboardAccount) -> str:
    """A new session for the account; returns the cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    session.add(DashboardSession(id=_token_id(token), account_id=account.id,
                                 csrf_token=secrets.token_urlsafe(32), created_at=now,
                                 expires_at=now + SESSION_LIFETIME))
    return token


def end_session(session: Session, token: str) -> None:
    session.execute(delete(DashboardSession).where(DashboardSession.id == _token_id(token)))


def principal(session: Session, token: str | None) -> Principal | None:
    """The logged-in account for a cookie token, or None (unknown, expired, or the account is
    disabled)."""
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(DashboardSession, DashboardAccount)
        .join(DashboardAccount, DashboardAccount.id == DashboardSession.account_id)
        .where(DashboardSession.id == _token_id(token),
               DashboardSession.expires_at > utcnow(),
               DashboardAccount.disabled_at.is_(None))).first()
    if row is None:
        return None
    stored, account = row
    communes = frozenset(session.execute(select(DashboardAccountCommune.commune_code).where(
        DashboardAccountCommune.account_id == account.id)).scalars())
    return Principal(account.id, account.username, account.role,
                     frozenset() if account.role == "admin" else communes, stored.csrf_token)


def csrf_ok(who: Principal, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(who.csrf_token.encode(),
                                                   str(submitted).encode())
