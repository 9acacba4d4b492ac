"""A report's photo (a receipt, a price board) or voice note, kept as a file: under the data
directory (never the web root: the dashboard serves it only through a permission check), with a
random name, size-limited, and a photo re-encoded by Pillow so that no EXIF metadata (the
phone's GPS position, its model, the time) survives.

A file sent while a report's form is open is fetched through the channel's file port
(common/files.py) and saved here at once (dialogues/reports/attach.py); it is linked to the
report when the report is confirmed. `key` names a file after what it is (an HMAC of the form
and the bytes, dialogues/reports/attach.py): the same file handled again (a retried update, a
photo sent twice) is the same file on disk, written once.
"""

from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from content.reports.section import ReportRules

MEDIA_DIR = "report-media"  # under the data directory
MAX_PIXELS = 40_000_000  # a larger image is refused before decoding (a decompression bomb)


@dataclass(frozen=True)
class Saved:
    """A file written: its random name (the `report_media` row's) and size."""

    kind: str  # photo | voice
    file_name: str
    size: int


class MediaRefused(ValueError):
    """Not kept: `reason` is "too_big", "too_long" or "not_an_image"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def media_dir(data_dir: Path) -> Path:
    directory = data_dir / MEDIA_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _write(directory: Path, suffix: str, data: bytes, key: str | None = None) -> str:
    """Write a new file (random name, or `key`); a keyed file already there is kept as is."""
    name = f"{key or secrets.token_hex(16)}{suffix}"
    path = directory / name
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if key is None:
            raise
        return name
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return name


def clean_photo(data: bytes, rules: ReportRules) -> bytes:
    """The photo as a fresh JPEG: turned upright, at most `photo_max_pixels` on its longer
    side, without any metadata. MediaRefused when too big or not an image."""
    if len(data) > rules.photo_max_bytes:
        raise MediaRefused("too_big")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise MediaRefused("too_big")
            side = rules.photo_max_pixels  # a JPEG twice as large or more: decoded scaled down
            image.draft("RGB", (side, side))
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise MediaRefused("not_an_image") from error
    upright.thumbnail((rules.photo_max_pixels, rules.photo_max_pixels))
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)  # pixels only: no info, no EXIF, no ICC profile carried over
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85)
    return out.getvalue()


def save_photo(data: bytes, data_dir: Path, rules: ReportRules, *,
               key: str | None = None) -> Saved:
    cleaned = clean_photo(data, rules)
    return Saved("photo", _write(media_dir(data_dir), ".jpg", cleaned, key), len(cleaned))


def save_voice(data: bytes, seconds: float | None, data_dir: Path, rules: ReportRules, *,
               key: str | None = None) -> Saved:
    """A voice note as it came (an Ogg/Opus or AAC file holds no location), limited in length
    (when the platform tells it: Messenger does not) and size."""
    if seconds is not None and seconds > rules.voice_max_seconds:
        raise MediaRefused("too_long")
    if len(data) > rules.photo_max_bytes:
        raise MediaRefused("too_big")
    return Saved("voice", _write(media_dir(data_dir), ".ogg", data, key), len(data))


def remove(data_dir: Path, file_name: str) -> None:
    """Delete a saved file (a report's form cancelled or refused); no error if gone."""
    if "/" not in file_name and not file_name.startswith("."):
        (data_dir / MEDIA_DIR / file_name).unlink(missing_ok=True)


def sweep_orphans(data_dir: Path, kept: set[str], older_than_seconds: float,
                  now: float) -> int:
    """Delete files no report names (`kept`: every `report_media.file_name`) and older than
    `older_than_seconds`: what a cancelled or abandoned form left. Choose a period longer than
    a form can wait to be resumed (the conversation state's). Returns how many went. For the
    retention job (bot/retention.py) to call; `now` is time.time()."""
    directory = data_dir / MEDIA_DIR
    if not directory.is_dir():
        return 0
    removed = 0
    for path in directory.iterdir():
        if path.is_file() and path.name not in kept \
                and now - path.stat().st_mtime > older_than_seconds:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
