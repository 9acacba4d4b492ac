"""Personal data in a survey comment (issue 19, finding 8): a phone number, an e-mail, an ID
number or a name introduced as one (common.redact.find_personal_data; the survey's comment
does not ask for names, so names count). The person is offered to remove it, keep the comment
as it is, or rewrite it.

The comment is stored as typed while they choose (in `survey_comments`, keyed by the
pseudonym: never in the conversation state, which is linked to the user); "remove" replaces
what was found with "[…]", "rewrite" deletes it and asks again. Whatever they choose, the
dashboard masks detected numbers when it shows comments (bot/dashboard/data.py).
"""

from __future__ import annotations

from common.redact import find_personal_data
from dialogues.core.router import Turn
from dialogues.scorecard import store
from dialogues.scorecard.survey import act, show
from dialogues.scorecard.survey.walk import Walk, router

REMOVED = "[…]"
CHOICES = ("remove", "keep", "rewrite")
router.uses("survey_pii_found", "survey_pii_remove", "survey_pii_keep", "survey_pii_rewrite",
            "survey_pii_removed", "survey_pii_again", "pii_phone", "pii_email", "pii_id",
            "pii_name", "survey_comment_saved")


def offer(turn: Turn, walk: Walk, step: str, text: str) -> bool:
    """Ask what to do when the comment holds personal data; False when it holds none."""
    found = find_personal_data(text)
    if not found:
        return False
    kinds = list(dict.fromkeys(item.kind for item in found))
    what = ", ".join(turn.t(f"pii_{kind}") for kind in kinds)
    turn.say(turn.t("survey_pii_found", what=what),
             [turn.button(f"survey_pii_{choice}", f"svy:pii:{step}:{choice}")
              for choice in CHOICES])
    return True


def choose(turn: Turn, walk: Walk, step: str, choice: str) -> None:
    """The person's answer to `offer`."""
    if choice == "rewrite":
        store.delete_comment(turn.session, walk.round_id, walk.author)
        show.show(turn, walk, step, note=turn.t("survey_pii_again"))
        return
    note = turn.t("survey_comment_saved")
    if choice == "remove":
        text = store.comment_text(turn.session, walk.round_id, walk.author) or ""
        for item in reversed(find_personal_data(text)):
            text = text[:item.start] + REMOVED + text[item.end:]
        store.save_comment(turn.session, walk.round_id, walk.author, text)
        note = turn.t("survey_pii_removed")
    act.goto(turn, walk, walk.index(step) + 1, note=note)
