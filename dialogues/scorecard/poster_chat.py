"""The poster in the chat: a CAF who opened a round with `/rounds` gets its poster as a picture
(Khmer and English, the same page as `isafbot rounds poster` and the dashboard), to print or to
forward to the commune's group. Only for a round of the CAF's communes that is still open."""

from __future__ import annotations

import logging

from common import pages
from content.surveys.section import surveys_of
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.core.router import Turn
from dialogues.scorecard import store
from dialogues.scorecard.poster import ChatLinks, PosterError, draw_poster, poster_for

log = logging.getLogger(__name__)


def send_poster(turn: Turn, actor: Actor, round_id: int) -> None:
    """The poster of an open round as a picture; says why when there is none."""
    row = store.round_row(turn.session, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    if not actor.may_act_on_facility(surveys_of(turn.content), str(row.facility_id)):
        raise NotAllowed(f"{actor.name} may not see round {round_id}")
    config = turn.ctx.extras.get("poster", {})
    links = ChatLinks(config.get("telegram"), config.get("messenger"))
    try:
        if row.closed_at is not None:
            raise PosterError("the round is closed")
        poster = poster_for(turn.session, turn.content, str(row.facility_id), links,
                            forget_after_days=int(config.get("forget_after_days", 365)),
                            tz=turn.ctx.timezone)
        page = draw_poster(turn.content, poster, ("km", "en"))
    except PosterError as error:
        log.info("no poster for round %s: %s", round_id, error)
        turn.say(turn.t("rounds_poster_unavailable"), [turn.button("menu_button", "menu")])
        return
    path = turn.ctx.data_dir / "posters" / f"poster-{poster.facility.id}-r{round_id}.png"
    pages.save_png(page, path)
    turn.say(turn.t("rounds_poster_caption", facility=poster.facility.name(turn.lang)),
             [turn.button("menu_button", "menu")], image=path)
