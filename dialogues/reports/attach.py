"""A photo (a receipt, a price board) or a voice note sent while a report's form is open.

What the platform announced is checked first (a photo over the size limit, a voice note over
the length limit is refused without downloading anything); then the file is fetched through
the channel's port (common/files.py: dialogues never import a platform library), saved at once
by dialogues/reports/media.py (EXIF gone, outside the web root) and listed in the form's
state; confirming the report links the files to it (`attach_saved`). A refused or failed
download is told plainly and the report goes on without the file.

Nothing is kept twice: a file is named by an HMAC of the form's nonce and its bytes, so a
retried update or the same photo sent again is the same file, listed once.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy.orm import Session

from common import formatting as fmt
from common.files import PHOTO, FetchRefused, FileRef, fetch, fetcher_for
from content.reports.section import ReportRules
from dialogues.core.router import Turn
from dialogues.reports import media, store
from dialogues.reports.models import Report

MAX_FILES = 3  # photos and voice notes per report
MESSAGES = ("rpt_media_not_kept", "rpt_media_kind", "rpt_media_too_big", "rpt_media_too_long",
            "rpt_media_failed", "rpt_media_not_an_image", "rpt_media_enough",
            "rpt_media_already", "rpt_media_kept_photo", "rpt_media_kept_voice",
            "rpt_preview_media")


def file_key(secret: bytes, nonce: str, data: bytes) -> str:
    """The file's name (without suffix): unguessable, and the same for the same bytes in the
    same form."""
    digest = hashlib.sha256(data).hexdigest()
    return hmac.new(secret or b"-", f"report-media\x1f{nonce}\x1f{digest}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def _limits(turn: Turn, rules: ReportRules) -> dict[str, str]:
    return {"mb": fmt.integer(max(1, rules.photo_max_bytes // 1_000_000), turn.lang),
            "minutes": fmt.integer(max(1, rules.voice_max_seconds // 60), turn.lang)}


def _announced_refusal(file: FileRef, rules: ReportRules) -> str | None:
    """Refused on what the platform told, before any download."""
    if file.size is not None and file.size > rules.photo_max_bytes:
        return "too_big"
    if file.kind != PHOTO and file.seconds is not None and file.seconds > rules.voice_max_seconds:
        return "too_long"
    return None


def on_attachment(turn: Turn) -> None:
    """The form's attachment hook: keep the file if it may be kept, else say why."""
    rules = turn.content.sections.get(ReportRules)
    file = turn.incoming.file
    fetcher = fetcher_for(turn.ctx.extras, turn.incoming.channel)
    if rules is None or fetcher is None:
        turn.say(turn.t("rpt_media_not_kept"))
        return
    if file is None:  # a video, a sticker, a document that is no image
        turn.say(turn.t("rpt_media_kind"))
        return
    flow = turn.flow() or {}
    extra = flow.setdefault("extra", {})
    kept: list[dict[str, Any]] = extra.setdefault("media", [])
    if len(kept) >= MAX_FILES:
        turn.say(turn.t("rpt_media_enough", count=fmt.integer(MAX_FILES, turn.lang)))
        return
    refusal = _announced_refusal(file, rules)
    if refusal is None:
        try:
            data = fetch(fetcher, file, rules.photo_max_bytes)
            saved = _save(turn, rules, file, data, str(extra.get("nonce") or ""))
        except FetchRefused as error:
            refusal = "too_big" if error.reason == "too_big" else "failed"
        except media.MediaRefused as error:
            refusal = error.reason
    if refusal is not None:
        turn.say(turn.t(f"rpt_media_{refusal}", **_limits(turn, rules)))
        return
    if any(item.get("file_name") == saved.file_name for item in kept):
        turn.say(turn.t("rpt_media_already"))
        return
    kept.append({"kind": saved.kind, "file_name": saved.file_name, "size": saved.size})
    turn.say(turn.t(f"rpt_media_kept_{saved.kind}"))


def _save(turn: Turn, rules: ReportRules, file: FileRef, data: bytes,
          nonce: str) -> media.Saved:
    key = file_key(turn.ctx.secret_key, nonce, data)
    if file.kind == PHOTO:
        return media.save_photo(data, turn.ctx.data_dir, rules, key=key)
    return media.save_voice(data, file.seconds, turn.ctx.data_dir, rules, key=key)


def preview_line(turn: Turn, extra: dict[str, Any]) -> str | None:
    """"Attached: 1 photo, 1 voice note" in the confirm step's preview."""
    kept = extra.get("media") or []
    if not kept:
        return None
    photos = sum(1 for item in kept if item.get("kind") == PHOTO)
    return turn.t("rpt_preview_media", photos=fmt.integer(photos, turn.lang),
                  voices=fmt.integer(len(kept) - photos, turn.lang))


def attach_saved(turn: Turn, session: Session, report: Report, extra: dict[str, Any]) -> int:
    """Link the files saved during the form to the report just stored; how many."""
    count = 0
    for item in extra.get("media") or []:
        name = str(item.get("file_name") or "")
        path = media.media_dir(turn.ctx.data_dir) / name
        if item.get("kind") in ("photo", "voice") and name and path.is_file():
            store.add_media(session, report, kind=str(item["kind"]), file_name=name,
                            size=int(item.get("size") or path.stat().st_size))
            count += 1
    return count
