""""I am a CAF, how do I...": the CAF tools, offered by typing as well as by command.

A CAF asking how to plan a meeting is not a citizen asking for reminders: read as
`subscribe_reminders`, the question used to subscribe the CAF to their own reminders. A CAF is
shown their tools as buttons; anyone else learns how a CAF joins (the invite code) and how a
citizen hears about meetings, and nobody is told they are a CAF who is not.
"""

from __future__ import annotations

from dialogues.core.router import Router, Turn

router = Router("caf_help")
router.uses("caf_help_staff", "caf_help_citizen", "meet_new_button", "meet_manage_button",
            "broadcast_button", "meet_subscribe_button", "menu_button")


@router.intent("caf_help")
def caf_help(turn: Turn) -> None:
    if turn.actor().is_staff:
        turn.say(turn.t("caf_help_staff"),
                 [turn.button("meet_new_button", "meet:new"),
                  turn.button("meet_manage_button", "meet:list"),
                  turn.button("broadcast_button", "bc:new"),
                  turn.button("menu_button", "menu")])
        return
    turn.say(turn.t("caf_help_citizen"),
             [turn.button("meet_subscribe_button", "meet:sub"),
              turn.button("menu_button", "menu")])
