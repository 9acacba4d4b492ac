"""A CAF's invite code, however it is typed: `/caf ABCD2345`, `/start caf-ABCD2345` (a deep
link), the code alone after `/caf`, or the code alone out of the blue (`abcd 2345` too).

A code is 8 characters of the store's alphabet (no 0/O, 1/I). Typed alone, a text is taken
for a code when it has that shape and a digit, or is all capitals (a code copied from paper):
"whatsapp" or "telegram" typed by a citizen are words, not codes. Right after `/caf`, any
text of the shape is a code. The code never goes to the NLU nor into the message log.
"""

from __future__ import annotations

import re
from typing import Any

from content.places import gazetteer
from dialogues.core.router import Turn
from dialogues.meetings import store
from dialogues.meetings.store import MeetingError

_CHAR = "[A-HJ-NP-Za-hj-np-z2-9]"
# The shape of a code typed after /caf (any case, one space or dash in the middle allowed).
CODE = rf"{_CHAR}{{4}}[ \-]?{_CHAR}{{4}}"
# The shape of a code typed alone: with a digit and a letter, or all capitals.
ALONE = (rf"(?=[^0-9]*[2-9])(?=.*[A-Za-z]){CODE}",
         r"[A-HJ-NP-Z]{4}[ \-]?[A-HJ-NP-Z]{4}")
FLOW = "caf_code"


def _commune_name(code: str, lang: str) -> str:
    place = gazetteer().get(code)
    return place.name(lang) if place else code


def takes_code(flow: dict[str, Any], text: str, ctx: Any) -> bool:
    """After `/caf` alone: a text of a code's shape is the code (never sent to the NLU)."""
    return re.fullmatch(CODE, text) is not None


def ask_code(turn: Turn) -> None:
    """`/caf` without a code: ask for it, and read the next text as the code."""
    turn.say(turn.t("caf_ask_code"))
    turn.start_flow(FLOW, private=True)


def code_typed(turn: Turn) -> bool:
    """The text after `/caf` alone: the code if it has the shape, else let it through."""
    turn.end_flow()
    text = turn.text.strip()
    if re.fullmatch(CODE, text) is None:
        return False
    redeem(turn, text)
    return True


def redeem(turn: Turn, code: str) -> None:
    """Make the user a CAF of the code's communes, or say why not."""
    turn.private_incoming = True  # a code is a credential: the log keeps its step only
    code = re.sub(r"[ \-]", "", code.strip())
    if not code:
        ask_code(turn)
        return
    try:
        communes = store.redeem_invite(turn.session, turn.user, code[:16], now=turn.now)
    except MeetingError:
        turn.say(turn.t("caf_bad_code"), [turn.button("menu_button", "menu")])
        return
    names = ", ".join(_commune_name(c, turn.lang) for c in communes)
    turn.say(turn.t("caf_welcome", communes=names),
             [turn.button("meet_new_button", "meet:new"),
              turn.button("meet_manage_button", "meet:list"),
              turn.button("broadcast_button", "bc:new"), turn.button("menu_button", "menu")])
