"""Handing a conversation to a person: "talk to a person" / "ចង់និយាយជាមួយមនុស្ស".

The person's side: the conversation is queued (dialogues.talk.store) for their commune's CAF,
or the NGO's staff when they named no commune; the `handover` flow then keeps the bot silent
(one short notice while nobody has taken it yet) until staff or the person end it ("End"
button, `/handover end`). Their messages are logged as any question, which is where staff
read them; when a CAF holds the conversation in chat, each message is also relayed to them.

The staff side in chat: `/handover` lists the open handovers a CAF or admin may take
(their communes; admins all), a button takes one; then every text the CAF types goes to the
person (the `handover_staff` flow), marked as a person's reply (Messenger's HUMAN_AGENT tag)
until they press End or type `/handover end`. The dashboard's handover page does the same.
"""

from __future__ import annotations

import re

from common.messages import Button, Kind, Reply
from content.places import Place, resolve
from dialogues.core.places import need_commune, resolve_commune
from dialogues.core.router import Router, Turn
from dialogues.talk import store
from dialogues.talk.models import OPEN, TAKEN

router = Router("handover")
router.uses("hand_queued_caf", "hand_queued_staff", "hand_waiting", "hand_end_button",
            "hand_ended", "hand_joined", "hand_staff_says", "hand_list", "hand_list_empty",
            "hand_take_button", "hand_taken", "hand_relay", "hand_gone", "hand_not_allowed",
            "hand_closed_staff", "hand_staff_end_button", "hand_nothing_held", "menu_button",
            "hand_queued_caf_of")

CITIZEN_FLOW = "handover"
STAFF_FLOW = "handover_staff"
ASK = "hand:ask"
# "how can I contact the CAF": a person of a commune is wanted, so the commune is asked for
_CAF = re.compile(r"\bcafs?\b|\bfacilitators?\b|អ្នកសម្របសម្រួល", re.I)


# ------------------------------------------------------------------ the person

@router.intent("talk_to_human")
def ask_for_a_person(turn: Turn) -> None:
    if turn.incoming.in_group:
        turn.continue_privately("hand")
        return
    named = turn.entity("place") if turn.incoming.kind == Kind.TEXT else None
    commune: Place | None = None
    if named:
        found = resolve(named)
        if not found.sure:
            resolve_commune(turn, named, then=ASK)  # which of the namesakes? then back here
            return
        commune = found.places[0]
    elif _CAF.search(turn.text or "") and need_commune(turn, then=ASK) is None:
        return  # asked which commune's CAF; ASK brings us back
    row, _ = store.open_for(turn.session, turn.user,
                            commune_code=commune.code if commune else None)
    turn.start_flow(CITIZEN_FLOW, handover=int(row.id), noticed=False)
    end = store.end_button(turn.t("hand_end_button"))
    if commune is not None and row.commune_code == commune.code:
        turn.say(turn.t("hand_queued_caf_of", commune=commune.label(turn.lang)), end)
        return
    turn.say(turn.t("hand_queued_caf" if row.commune_code else "hand_queued_staff"), end)


@router.deep_link("hand")
def from_group(turn: Turn) -> None:
    ask_for_a_person(turn)


@router.flow(CITIZEN_FLOW)
def while_held(turn: Turn) -> bool:
    """The bot stays silent while the conversation is with a person (one short notice while
    nobody has taken it); once staff closed it, the message is answered as usual."""
    flow = turn.flow() or {}
    row = store.active_for(turn.session, int(turn.user.id))
    if row is None:
        turn.end_flow()
        return False
    turn.handled_as = "handover"
    if row.status == TAKEN and row.staff_user_id and turn.incoming.kind == Kind.TEXT:
        staff = turn.session.get(type(turn.user), row.staff_user_id)
        if staff is not None:
            text = staff_text(turn, "hand_relay", staff.language, id=row.id, text=turn.text)
            store.send_to(turn.session, staff, Reply(text, buttons=(
                Button(turn.content.message("hand_staff_end_button", str(staff.language),
                                            id=row.id), f"hand:close:{row.id}"),)),
                f"handover:{row.id}")
    if row.status == OPEN and not flow.get("noticed"):
        flow["noticed"] = True
        turn.say(turn.t("hand_waiting"), store.end_button(turn.t("hand_end_button")))
    return True


def person_ends(turn: Turn) -> None:
    row = store.active_for(turn.session, int(turn.user.id))
    turn.end_flow()
    if row is not None:
        store.close(turn.session, row, f"user:{turn.user.id}")
        _tell_staff_closed(turn, row)
    turn.say(turn.t("hand_ended"), turn.menu())


def staff_text(turn: Turn, key: str, lang: object, **values: object) -> str:
    """A message for someone else, in their language."""
    return turn.content.message(key, str(lang), **values)


def _tell_staff_closed(turn: Turn, row: store.Handover) -> None:
    if row.staff_user_id and row.staff_user_id != turn.user.id:
        staff = turn.session.get(type(turn.user), row.staff_user_id)
        if staff is not None:
            store.send_to(turn.session, staff, Reply(staff_text(
                turn, "hand_closed_staff", staff.language, id=row.id)), f"handover:{row.id}")
