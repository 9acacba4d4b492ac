"""Settings, read from the environment in one place (documented in .env.example)."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Retention:
    """How long personal data is kept, in days (docs/privacy.md has the full table). Applied
    by the scheduler's purge job and by `isafbot db purge` (bot.retention)."""

    message_log_days: int = 90  # what people asked: the dashboard's usage page shows 12 weeks
    deliveries_days: int = 30  # outbox rows once final (who was sent which batch, and when)
    inbox_days: int = 7  # handled updates, for deduplication (Meta retries for 36 hours)
    conversation_days: int = 30  # an idle conversation's state (a survey left half-way...)
    inactive_users_days: int = 365  # a citizen who has not written since, with nothing pending

    # (attribute, variable, smallest value allowed)
    SETTINGS = (("message_log_days", "ISAFBOT_RETAIN_MESSAGE_LOG_DAYS", 1),
                ("deliveries_days", "ISAFBOT_RETAIN_DELIVERIES_DAYS", 1),
                ("inbox_days", "ISAFBOT_RETAIN_INBOX_DAYS", 2),
                ("conversation_days", "ISAFBOT_RETAIN_CONVERSATION_DAYS", 1),
                ("inactive_users_days", "ISAFBOT_RETAIN_INACTIVE_USERS_DAYS", 30))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        values = {attribute: int(_number(env, name, getattr(cls, attribute), low, 36500,
                                         whole=True))
                  for attribute, name, low in cls.SETTINGS}
        return cls(**values)


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    model_dir: Path
    content_dir: Path
    secret_key: bytes
    nlu_url: str | None = None
    nlu_model: Path | None = None  # a specific model archive instead of the current one
    fallback_threshold: float = 0.6
    timezone: str = "Asia/Phnom_Penh"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_level: str = "INFO"
    log_format: str = "console"  # console | json
    reminder_offsets: tuple[int, ...] = (1440, 120)  # minutes before a meeting (1 day, 2 h)
    # PostgreSQL: seconds to connect, seconds a statement may run (0: no limit), seconds of
    # silence on a connection before TCP keepalives probe it
    db_connect_timeout: float = 5.0
    db_statement_timeout: float = 30.0
    db_keepalive_idle: float = 30.0
    loop_max_backoff: float = 10.0  # a failing background loop retries at most this far apart
    # an update or message in hand is taken back this long after its worker stopped answering
    # (killed): the longest an update's handling or a send may take
    lease_seconds: float = 20.0  # renewed every lease / 4 while in hand (bot/leases.py)
    nlu_retry_horizon: float = 3600.0  # an update waits this long for the NLU server at most
    nlu_max_backoff: float = 30.0
    send_retry_horizon: float = 86400.0  # a message is retried this long at most
    send_max_backoff: float = 120.0
    health_inbox_max_age: float = 120.0  # /healthz: 503 when an update waits longer
    health_outbox_max_age: float = 900.0  # ...or a due message (a big broadcast takes minutes)
    metrics_token: str | None = None  # /metrics for others than loopback, with this bearer
    stale_after_years: float = 2.0  # facts whose newest source is older carry a warning
    retention: Retention = field(default_factory=Retention)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # for channel settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("ISAFBOT_DATA_DIR", str(Path.cwd() / "var"))).expanduser()
        database_url = env.get("ISAFBOT_DATABASE_URL") or f"sqlite:///{data_dir / 'isafbot.db'}"
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            model_dir=Path(env.get("ISAFBOT_MODEL_DIR", str(PROJECT_ROOT / "models"))),
            content_dir=Path(env.get("ISAFBOT_CONTENT_DIR", str(PROJECT_ROOT / "content"))),
            secret_key=_secret_key(env, data_dir, database_url),
            nlu_url=env.get("ISAFBOT_NLU_URL") or None,
            nlu_model=Path(env["ISAFBOT_NLU_MODEL"]) if env.get("ISAFBOT_NLU_MODEL") else None,
            fallback_threshold=_number(env, "ISAFBOT_FALLBACK_THRESHOLD", 0.6, 0.0, 1.0),
            timezone=env.get("ISAFBOT_TIMEZONE", "Asia/Phnom_Penh"),
            http_host=env.get("ISAFBOT_HTTP_HOST", "127.0.0.1"),
            http_port=int(_number(env, "ISAFBOT_HTTP_PORT", 8080, 1, 65535)),
            log_level=env.get("ISAFBOT_LOG_LEVEL", "INFO").upper(),
            log_format=env.get("ISAFBOT_LOG_FORMAT", "console"),
            reminder_offsets=_offsets(env.get("ISAFBOT_REMINDER_OFFSETS") or "1d,2h"),
            db_connect_timeout=duration_setting(env, "ISAFBOT_DB_CONNECT_TIMEOUT", 5.0,
                                                low=1.0, high=300.0),
            db_statement_timeout=duration_setting(env, "ISAFBOT_DB_STATEMENT_TIMEOUT", 30.0,
                                                  low=0.0, high=86400.0),
            db_keepalive_idle=duration_setting(env, "ISAFBOT_DB_KEEPALIVE_IDLE", 30.0,
                                               low=1.0, high=7200.0),
            loop_max_backoff=duration_setting(env, "ISAFBOT_LOOP_MAX_BACKOFF", 10.0,
                                              low=0.1, high=3600.0),
            lease_seconds=duration_setting(env, "ISAFBOT_LEASE_SECONDS", 20.0, low=1.0,
                                           high=3600.0),
            nlu_retry_horizon=duration_setting(env, "ISAFBOT_NLU_RETRY_HORIZON", 3600.0,
                                               low=0.0, high=7 * 86400.0),
            nlu_max_backoff=duration_setting(env, "ISAFBOT_NLU_MAX_BACKOFF", 30.0,
                                             low=0.1, high=3600.0),
            send_retry_horizon=duration_setting(env, "ISAFBOT_SEND_RETRY_HORIZON", 86400.0,
                                                low=0.0, high=30 * 86400.0),
            send_max_backoff=duration_setting(env, "ISAFBOT_SEND_MAX_BACKOFF", 120.0,
                                              low=0.1, high=86400.0),
            health_inbox_max_age=duration_setting(env, "ISAFBOT_HEALTH_INBOX_MAX_AGE", 120.0,
                                                  low=1.0, high=7 * 86400.0),
            health_outbox_max_age=duration_setting(env, "ISAFBOT_HEALTH_OUTBOX_MAX_AGE", 900.0,
                                                   low=1.0, high=7 * 86400.0),
            metrics_token=_metrics_token(env),
            stale_after_years=_number(env, "ISAFBOT_STALE_AFTER_YEARS", 2.0, 0.25, 50.0),
            retention=Retention.from_env(env),
            env=env,
        )

    @property
    def telegram_username(self) -> str | None:
        """The bot's @username, for the t.me links printed on posters."""
        return (self.env.get("TELEGRAM_BOT_USERNAME") or "").strip().lstrip("@") or None

    @property
    def messenger_page(self) -> str | None:
        """The Facebook page's name or id, for the m.me links printed on posters."""
        return (self.env.get("MESSENGER_PAGE_NAME") or "").strip() or None

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float,
            *, whole: bool = False) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if whole and not value.is_integer():
        raise SettingsError(f"{name}={raw!r} must be a whole number")
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} must be between {low:g} and {high:g}")
    return value


def seconds_setting(env: Mapping[str, str], name: str, default: float, *,
                    high: float = 3600.0, zero_ok: bool = False) -> float:
    """A duration setting of a channel (timeouts, retry waits) in seconds, at most `high`;
    0 only where it means something (`zero_ok`: Telegram's short polling)."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 <= value <= high or (value == 0 and not zero_ok):
        raise SettingsError(f"{name}={raw!r} must be between 0 and {high:g} seconds")
    return value


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_setting(env: Mapping[str, str], name: str, default: float, *, low: float,
                     high: float) -> float:
    """A duration of the core (timeouts, retry horizons, health thresholds): seconds, or a
    number with a unit: 90s, 30m, 1h, 1d."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    factor = _UNITS.get(raw[-1])
    number = raw[:-1] if factor else raw
    try:
        value = float(number) * (factor or 1.0)
    except ValueError:
        raise SettingsError(f"{name}={env[name]!r} is not a duration (seconds, or e.g. 30s, "
                            "5m, 1h, 1d)") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={env[name]!r} must be between {low:g} and {high:g} "
                            "seconds")
    return value


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("ISAFBOT_METRICS_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SettingsError("ISAFBOT_METRICS_TOKEN must be at least 16 characters")
    return token


def _offsets(raw: str) -> tuple[int, ...]:
    """ISAFBOT_REMINDER_OFFSETS: comma-separated durations before a meeting, e.g. "1d,2h,30m";
    returned in minutes, largest first."""
    units = {"d": 1440, "h": 60, "m": 1}
    minutes: set[int] = set()
    for part in raw.split(","):
        part = part.strip().lower()
        if not part:
            continue
        number, unit = part[:-1], part[-1:]
        if unit not in units or not number.isdigit() or int(number) <= 0:
            raise SettingsError(f"ISAFBOT_REMINDER_OFFSETS={raw!r}: {part!r} is not a duration "
                                "such as 1d, 2h or 30m")
        minutes.add(int(number) * units[unit])
    if not minutes:
        raise SettingsError("ISAFBOT_REMINDER_OFFSETS must name at least one duration")
    return tuple(sorted(minutes, reverse=True))


def _secret_key(env: Mapping[str, str], data_dir: Path, database_url: str) -> bytes:
    """ISAFBOT_SECRET_KEY keys pseudonymous ids and sessions. A local SQLite install makes and
    keeps its own, in ISAFBOT_SECRET_KEY_FILE (default: secret_key in the data directory); a
    shared database must be given one (every worker needs the same key). Back the key up apart
    from the database (docs/deployment.md): the two together link respondents to answers."""
    if env.get("ISAFBOT_SECRET_KEY"):
        key = env["ISAFBOT_SECRET_KEY"]
        if len(key) < 16:
            raise SettingsError("ISAFBOT_SECRET_KEY must be at least 16 characters")
        return key.encode()
    if not database_url.startswith("sqlite"):
        raise SettingsError("ISAFBOT_SECRET_KEY must be set when the database is shared "
                            "(generate one with: python -c 'import secrets; "
                            "print(secrets.token_urlsafe(32))')")
    path = Path(env.get("ISAFBOT_SECRET_KEY_FILE") or data_dir / "secret_key").expanduser()
    if not path.exists():
        _create_key_file(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise SettingsError(f"the secret key file {path} can be read by other users: "
                            f"chmod 600 {path}")
    key = path.read_text().strip()
    if len(key) < 16:
        raise SettingsError(f"the secret key file {path} holds fewer than 16 characters")
    return key.encode()


def _create_key_file(path: Path) -> None:
    """A new random key, written to a temporary file that is private (0600) from the moment it
    exists, then linked into place: the key is never readable by others nor half-written, and
    when several processes start at once the first link wins and all read that key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new data dir: owner only
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
