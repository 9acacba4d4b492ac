"""Dashboard accounts, passwords, sessions, CSRF tokens and login rate limits.

- Passwords: scrypt (hashlib) with a random 16-byte salt per password, compared in constant
  time; the parameters are stored with the hash so they can be raised later.
- Sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure when configured); the
  database keeps its SHA-256, the account and a CSRF token, so every worker sees every session
  and logging out ends it everywhere.
- CSRF: every POST carries the session's token in a form field, compared in constant time.
- Login rate limits: failed attempts are rows, counted per account name and per client address
  over a window, so the limit holds across workers and restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.base import utcnow
from bot.db.models_dashboard import (
    DashboardAccount,
    DashboardAccountCommune,
    DashboardLoginAttempt,
    DashboardSession,
)
from bot.permissions import Actor

ROLES = ("admin", "caf")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_CHARS = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COMMUNE = re.compile(r"^\d{6}$")


class AccountError(ValueError):
    """A new account's name, role, password or communes are not acceptable."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


# A hash to check against when the account does not exist, so that a wrong name takes as long
# as a wrong password (no account enumeration by timing).
_DUMMY_HASH = hash_password(secrets.token_hex(8))


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
        """The account as bot.permissions sees it: the one check of who acts on which commune."""
        return Actor(f"dashboard:{self.username}", self.role, self.communes)

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin

    def may_see_commune(self, commune: str | None) -> bool:
        return self.actor.may_act_on(commune)


def add_account(session: Session, username: str, password: str, role: str,
                communes: list[str]) -> DashboardAccount:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("the user name must be 2-64 lower-case letters, digits, . _ or -")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    bad = [c for c in communes if not _COMMUNE.match(c)]
    if bad:
        raise AccountError(f"commune codes are 6 digits (gazetteer codes): {', '.join(bad)}")
    if role == "caf" and not communes:
        raise AccountError("a CAF account needs at least one --commune")
    if session.execute(select(DashboardAccount.id).where(
            DashboardAccount.username == username)).first():
        raise AccountError(f"there is already an account {username!r}")
    account = DashboardAccount(username=username, password_hash=hash_password(password),
                               role=role)
    session.add(account)
    session.flush()
    for code in sorted(set(communes)):
        session.add(DashboardAccountCommune(account_id=account.id, commune_code=code))
    return account


def _failures(session: Session, key: str, now: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(DashboardLoginAttempt).where(
        DashboardLoginAttempt.key == key,
        DashboardLoginAttempt.at > now - LOGIN_WINDOW)).scalar_one())


def login_limited(session: Session, username: str, address: str) -> bool:
    """True when this account name or this address failed too often recently."""
    now = utcnow()
    return (_failures(session, f"user:{username.strip().lower()}", now)
            >= MAX_FAILURES_PER_ACCOUNT
            or _failures(session, f"ip:{address}", now) >= MAX_FAILURES_PER_ADDRESS)


def record_failure(session: Session, username: str, address: str) -> None:
    now = utcnow()
    session.add(DashboardLoginAttempt(key=f"user:{username.strip().lower()}"[:160], at=now))
    session.add(DashboardLoginAttempt(key=f"ip:{address}"[:160], at=now))
    session.execute(delete(DashboardLoginAttempt).where(
        DashboardLoginAttempt.at < now - LOGIN_WINDOW * 4))


def authenticate(session: Session, username: str, password: str) -> DashboardAccount | None:
    account = session.execute(select(DashboardAccount).where(
        DashboardAccount.username == username.strip().lower())).scalar_one_or_none()
    if account is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return account if verify_password(password, account.password_hash) else None


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
    """The logged-in account for a cookie token, or None (unknown or expired)."""
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(DashboardSession, DashboardAccount)
        .join(DashboardAccount, DashboardAccount.id == DashboardSession.account_id)
        .where(DashboardSession.id == _token_id(token),
               DashboardSession.expires_at > utcnow())).first()
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
