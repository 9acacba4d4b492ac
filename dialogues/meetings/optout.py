"""Opting out only when meant (issue 19, finding 5).

A bare "stop", "ឈប់", "unsubscribe", "កុំផ្ញើមកទៀត" (or `/stop`) leaves the reminders at once,
as people expect of any messaging service. A longer sentence the NLU reads as unsubscribing
("ឈប់និយាយសិន ចាំថ្ងៃក្រោយសួរទៀត": let's stop for now, I'll ask later) may only mean "stop
chatting": the bot asks first, with buttons, and says what to do to stay. The confirmation of
leaving says how to subscribe again (message `meet_unsubscribed`).
"""

from __future__ import annotations

import unicodedata

from common.khmer import normalise
from dialogues.core.router import Router, Turn
from dialogues.meetings import store
from dialogues.meetings.handlers import unsubscribe

router = Router("meetings_optout")
router.uses("unsub_confirm", "unsub_yes_button", "unsub_keep_button", "unsub_kept",
            "goodbye", "menu_button")

# What a person types when they mean "unsubscribe" and nothing else (compared after
# lower-casing and removing spaces, punctuation and emoji).
BARE_STOP = frozenset({
    "stop", "unsubscribe", "unsub", "optout", "stopall", "stopreminders",
    "ឈប់", "ឈប់ជាវ", "កុំផ្ញើមកទៀត", "ឈប់ផ្ញើ", "ឈប់ផ្ញើមកទៀត",
})


def is_bare_stop(text: str) -> bool:
    """Whether the whole message is one of the bare opt-out words."""
    folded = normalise(text).text.lower()
    key = "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PSZC")
    return key in BARE_STOP


@router.command("stop", "unsubscribe")
def stop_command(turn: Turn) -> None:
    """A command is always meant."""
    unsubscribe(turn)


@router.intent("unsubscribe")
def ask_unsubscribe(turn: Turn) -> None:
    """Bare: leave now. Longer: ask; with nothing to leave, take it as "talk later"."""
    if is_bare_stop(turn.text):
        unsubscribe(turn)
        return
    if not store.subscriptions(turn.session, turn.user):  # nothing to leave: "talk later"
        turn.say(turn.t("goodbye"), [turn.button("menu_button", "menu")])
        return
    turn.say(turn.t("unsub_confirm"), [turn.button("unsub_yes_button", "meet:unsub"),
                                       turn.button("unsub_keep_button", "unsub:keep")])


@router.payload("unsub:keep")
def keep(turn: Turn) -> None:
    turn.say(turn.t("unsub_kept"), [turn.button("menu_button", "menu")])
