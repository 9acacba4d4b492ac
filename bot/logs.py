"""Logging configured in one place: `ISAFBOT_LOG_FORMAT=json` writes one JSON object per line
(for journald, Docker, Loki...), `console` (the default; `text` is the same) a readable line.
`ISAFBOT_LOG_LEVEL` sets the level. Fields given with `extra={...}` are kept in JSON lines.
Every line goes through the one redaction filter (common.redact): no token or password is
written."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Any

from bot.settings import Settings, SettingsError
from common.redact import Redactor, protect

FORMATS = ("console", "text", "json")
# Our loggers carry the level themselves: Rasa sets the root logger's level to WARNING while
# it loads a model (in the background, after start-up), which must not silence the server.
OWN_LOGGERS = ("bot", "scheduler", "dialogues", "nlu", "content", "common", "uvicorn")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                        "taskName"}


class JsonLines(logging.Formatter):
    """A log record as one line of JSON: time (UTC, ISO 8601), level, logger, message, pid,
    the extra fields, and the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process or os.getpid(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key != "color_message":
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
                    else str(value)
        if record.exc_text:  # set, and redacted, by common.redact's filter
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Replace the root handlers with one on stderr in the configured format."""
    if settings.log_format not in FORMATS:
        raise SettingsError(f"ISAFBOT_LOG_FORMAT={settings.log_format!r} must be one of "
                            f"{', '.join(FORMATS)}")
    level = logging.getLevelName(settings.log_level)
    if not isinstance(level, int):
        raise SettingsError(f"ISAFBOT_LOG_LEVEL={settings.log_level!r} is not a level")
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"))
    protect(Redactor.from_env(settings.env), handlers=[handler])
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # follow "uvicorn" below (set from ISAFBOT_LOG_LEVEL)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if level > logging.DEBUG:  # per-migration and per-job chatter, at INFO
        for name in ("alembic", "apscheduler.executors", "apscheduler.scheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)
