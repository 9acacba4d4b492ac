"""A file a person sent in the chat (a photo, a voice note), as a reference, and the small port
through which the dialogues fetch it.

Why a port: the webhook stores only the reference (Telegram's file_id with its size and
duration, Messenger's attachment URL) and answers at once; the bytes are fetched later, when a
worker handles the update and a dialogue wants them (a report's receipt photo). Dialogues never
import a platform library: each channel (bot/channels/*/files.py) implements `FileFetcher` and
the channel's factory registers it in the dialogue context's extras under `FILES`, keyed by
channel name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

FILES = "files"  # DialogueContext.extras key: {channel name: FileFetcher}
PHOTO, VOICE = "photo", "voice"
# The most any flow keeps of one file (a JAAP progress photo, 8 MiB; a report's photo is
# smaller): what is fetched ahead of the turn (`Prefetched`) is capped here.
PREFETCH_MAX_BYTES = 8 * 1024 * 1024
PREFETCH_MAX_SECONDS = 180  # the longest voice note a flow keeps (a report's, 3 minutes)


@dataclass(frozen=True)
class Prefetched:
    """A file fetched before the turn's transaction (bot/bootstrap.App.prepare), so that a
    slow platform never holds a database transaction open: its bytes, or why there are none
    ("too_big" over PREFETCH_MAX_BYTES, "failed")."""

    data: bytes | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class FileRef:
    """What the platform told about a file, before anything is downloaded."""

    kind: str  # PHOTO | VOICE
    ref: str  # Telegram: the file_id; Messenger: the attachment's URL
    size: int | None = None  # bytes, when the platform announces it
    seconds: float | None = None  # a voice note's duration, when announced
    mime: str | None = None
    unique: str | None = None  # Telegram's file_unique_id: the same file sent twice
    prefetched: Prefetched | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> FileRef | None:
        """Read back from a stored update (None when it is not one)."""
        if not isinstance(data, dict) or data.get("kind") not in (PHOTO, VOICE) \
                or not isinstance(data.get("ref"), str) or not data["ref"]:
            return None
        size, seconds = data.get("size"), data.get("seconds")
        return cls(kind=str(data["kind"]), ref=str(data["ref"]),
                   size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                   seconds=float(seconds) if isinstance(seconds, (int, float))
                   and not isinstance(seconds, bool) else None,
                   mime=data["mime"] if isinstance(data.get("mime"), str) else None,
                   unique=data["unique"] if isinstance(data.get("unique"), str) else None)


class FetchRefused(Exception):
    """Not fetched: `reason` is "too_big" (announced or found larger than allowed) or
    "failed" (the platform or the network did not give it)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class FileFetcher(Protocol):
    """A channel's way to get a file's bytes. Blocking (called from a worker thread, never the
    event loop); never returns more than `max_bytes`: FetchRefused("too_big") instead, checked
    before the download when the size is known, and by cutting the stream otherwise."""

    def fetch(self, file: FileRef, max_bytes: int) -> bytes: ...


def fetch(fetcher: FileFetcher | None, file: FileRef, max_bytes: int) -> bytes:
    """The file's bytes, at most `max_bytes`: those fetched before the turn when there are
    (never a second download inside the transaction), else from the channel's fetcher."""
    outcome = file.prefetched
    if outcome is not None:
        if outcome.data is None:
            raise FetchRefused(outcome.refusal or "failed")
        if len(outcome.data) > max_bytes:
            raise FetchRefused("too_big", f"{len(outcome.data)} bytes")
        return outcome.data
    if fetcher is None:
        raise FetchRefused("failed", "this channel cannot fetch files")
    return fetcher.fetch(file, max_bytes)


def prefetch(fetcher: FileFetcher, file: FileRef) -> FileRef:
    """The same reference with its bytes (or why not) fetched now, blocking. A voice note
    announced longer than any flow keeps is not fetched (the flow refuses it unheard)."""
    if file.seconds is not None and file.seconds > PREFETCH_MAX_SECONDS:
        return file
    try:
        outcome = Prefetched(data=fetcher.fetch(file, PREFETCH_MAX_BYTES))
    except FetchRefused as error:
        outcome = Prefetched(refusal=error.reason)
    return replace(file, prefetched=outcome)


def fetcher_for(extras: Mapping[str, Any], channel: str) -> FileFetcher | None:
    """The channel's fetcher from the dialogue context's extras (None: none registered, as on
    the console)."""
    fetchers = extras.get(FILES)
    found = fetchers.get(channel) if isinstance(fetchers, Mapping) else None
    return found if found is not None and hasattr(found, "fetch") else None


def register(extras: dict[str, Any], channel: str, fetcher: FileFetcher) -> None:
    """What a channel's factory calls once, when the runtime is built."""
    extras.setdefault(FILES, {})[channel] = fetcher
