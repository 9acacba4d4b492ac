"""Button payloads of steps: short, language-neutral, and signed where an answer must not be
readable from the payload (the scorecard: an old button in the log says nothing).

Telegram refuses callback data over 64 bytes, so every payload is checked here once, where it
is made, instead of failing at send time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any, TypeVar

MAX_PAYLOAD_BYTES = 64  # Telegram's callback_data limit
TAG_CHARS = 10

V = TypeVar("V")


def payload(*parts: object) -> str:
    """`a:b:c`, refused when over Telegram's limit (ids in content data are kept short)."""
    text = ":".join(str(part) for part in parts)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"button payload over {MAX_PAYLOAD_BYTES} bytes: {text[:80]!r}")
    return text


def sign(secret: bytes, nonce: str, step: str, value: Any) -> str:
    """An opaque tag for a value at a step: meaningless without the secret and the nonce
    (per session, forgotten when the flow ends)."""
    message = f"{nonce}:{step}:{value}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:TAG_CHARS]


def verify(secret: bytes, nonce: str, step: str, tag: str, values: Iterable[V]) -> V | None:
    """The value whose tag this is, among the values of the step (None: stale or forged)."""
    return next((value for value in values
                 if hmac.compare_digest(sign(secret, nonce, step, value), tag)), None)
