"""What dialogues may use besides the database session: content and a few settings.

Built once by `bot.bootstrap` and passed in; dialogues never read the environment themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content.model import Content


@dataclass(frozen=True)
class DialogueContext:
    content: Content
    fallback_threshold: float = 0.6  # below this intent confidence the bot does not guess
    data_dir: Path = Path("var")  # caches (charts) live here
    secret_key: bytes = b""  # keys pseudonymous respondent ids (HMAC)
    timezone: str = "Asia/Phnom_Penh"
    followup_minutes: int = 30  # "how much is it?" refers to a service named this recently
    stale_after_years: float = 2.0  # a fact whose newest source is older carries a warning
    extras: dict[str, Any] = field(default_factory=dict)  # feature services (charts...)
