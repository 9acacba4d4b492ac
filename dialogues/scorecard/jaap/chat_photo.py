"""A progress photo of a JAAP action sent in the chat while the CAF sets its status (the
`jaap_status` form): fetched through the channel's file port (common/files.py), re-encoded
without EXIF by `plan.store_photo` into the folder the dashboard shows them from
(bot/dashboard/jaap_photos.py), and saved with the status once confirmed. Too big (as
announced, or as sent) or unreadable: said plainly, and the status goes on without it.
"""

from __future__ import annotations

from pathlib import Path

from common import formatting as fmt
from common.files import PHOTO, FetchRefused, fetch, fetcher_for
from dialogues.core.router import Turn
from dialogues.scorecard.jaap import plan
from dialogues.scorecard.jaap.plan import PlanError

FOLDER = "jaap-photos"  # under the data directory; the dashboard's jaap_photos.FOLDER
MAX_BYTES = 8 * 1024 * 1024  # as the dashboard's upload
MESSAGES = ("jaap_photo_kept", "jaap_photo_too_big", "jaap_photo_failed",
            "jaap_photo_not_kept", "jaap_photo_unreadable")


def on_attachment(turn: Turn) -> None:
    """The `jaap_status` form's attachment hook: keep the photo (the last one sent wins)."""
    file = turn.incoming.file
    fetcher = fetcher_for(turn.ctx.extras, turn.incoming.channel)
    if file is None or file.kind != PHOTO or fetcher is None:
        turn.say(turn.t("jaap_photo_not_kept"))
        return
    too_big = turn.t("jaap_photo_too_big", mb=fmt.integer(MAX_BYTES // 1024 // 1024, turn.lang))
    if file.size is not None and file.size > MAX_BYTES:
        turn.say(too_big)
        return
    try:
        data = fetch(fetcher, file, MAX_BYTES)
        name = plan.store_photo(data, Path(turn.ctx.data_dir) / FOLDER)
    except FetchRefused as error:
        turn.say(too_big if error.reason == "too_big" else turn.t("jaap_photo_failed"))
        return
    except PlanError as error:
        turn.say(turn.t(error.reason))
        return
    flow = turn.flow() or {}
    flow.setdefault("extra", {})["photo"] = name
    turn.say(turn.t("jaap_photo_kept"))
