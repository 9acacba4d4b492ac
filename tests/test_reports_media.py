"""Attachments of reports: a photo is re-encoded without its EXIF metadata (GPS, camera),
limited in size, stored with a random name under the data directory; a long voice note or a
huge photo is refused with a reason, and in the chat the report goes on without it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from content.reports.section import ReportRules
from dialogues.reports import media

RULES = ReportRules(photo_max_bytes=2_000_000, voice_max_seconds=180, photo_max_pixels=256)


def photo_with_exif(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (11.0, 33.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_loses_its_metadata_and_gets_a_random_name(tmp_path: Path) -> None:
    data = photo_with_exif()
    assert b"SecretPhoneMaker" in data
    first = media.save_photo(data, tmp_path, RULES)
    second = media.save_photo(data, tmp_path, RULES)
    assert first.file_name != second.file_name and len(first.file_name) == 36
    stored = (tmp_path / media.MEDIA_DIR / first.file_name).read_bytes()
    assert b"SecretPhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and max(image.size) <= RULES.photo_max_pixels
    assert ((tmp_path / media.MEDIA_DIR / first.file_name).stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(("data", "reason"), [
    (b"\0" * 2_000_001, "too_big"),  # a 20 MB photo is refused the same way, before decoding
    (b"this is not a picture", "not_an_image"),
])
def test_a_photo_too_big_or_not_a_photo_is_refused(tmp_path: Path, data: bytes,
                                                   reason: str) -> None:
    with pytest.raises(media.MediaRefused) as refused:
        media.save_photo(data, tmp_path, RULES)
    assert refused.value.reason == reason
    assert not (tmp_path / media.MEDIA_DIR).exists()  # nothing written


def test_a_ten_minute_voice_note_is_refused(tmp_path: Path) -> None:
    with pytest.raises(media.MediaRefused) as refused:
        media.save_voice(b"OggS" + b"\0" * 100, 600, tmp_path, RULES)
    assert refused.value.reason == "too_long"
    saved = media.save_voice(b"OggS" + b"\0" * 100, 40, tmp_path, RULES)
    assert saved.file_name.endswith(".ogg") and saved.size == 104


def test_files_no_report_names_are_swept_once_old(tmp_path: Path) -> None:
    """What a cancelled form left goes; a report's file and a fresh one stay."""
    kept = media.save_photo(photo_with_exif(), tmp_path, RULES)
    left = media.save_voice(b"OggS" + b"\0" * 10, 5, tmp_path, RULES)
    fresh = media.save_voice(b"OggS" + b"\1" * 10, 5, tmp_path, RULES)
    directory = tmp_path / media.MEDIA_DIR
    old = (directory / fresh.file_name).stat().st_mtime - 100 * 86400
    for name in (kept.file_name, left.file_name):
        os.utime(directory / name, (old, old))
    now = (directory / fresh.file_name).stat().st_mtime
    assert media.sweep_orphans(tmp_path, {kept.file_name}, 40 * 86400, now) == 1
    assert sorted(p.name for p in directory.iterdir()) == sorted([kept.file_name,
                                                                   fresh.file_name])


def test_a_keyed_file_is_written_once(tmp_path: Path) -> None:
    """The same bytes under the same key (a retried update) are one file, not rewritten."""
    first = media.save_photo(photo_with_exif(), tmp_path, RULES, key="ab" * 16)
    second = media.save_photo(photo_with_exif(), tmp_path, RULES, key="ab" * 16)
    assert first.file_name == second.file_name == "ab" * 16 + ".jpg"
    assert len(list((tmp_path / media.MEDIA_DIR).iterdir())) == 1
