"""The staff side of a handover in chat: `/handover` for CAFs and admins (see
dialogues/talk/handover.py for the whole story)."""

from __future__ import annotations

from common import formatting as fmt
from content.places import gazetteer
from dialogues.core.permissions import NotAllowed
from dialogues.core.router import Router, Turn
from dialogues.talk import store
from dialogues.talk.handover import STAFF_FLOW, ask_for_a_person, person_ends

router = Router("handover_staff", private=lambda turn: "handover")


def _commune(code: str | None, lang: str) -> str:
    place = gazetteer().get(code) if code else None
    return place.name(lang) if place else "–"


@router.command("handover")
@router.deep_link("handover")
def handover_command(turn: Turn) -> None:
    """`/handover`: the open handovers; `/handover end`: end the one held."""
    if (turn.incoming.argument or "").strip().lower() in ("end", "close", "stop"):
        flow = turn.flow() or {}
        if flow.get("name") == STAFF_FLOW and flow.get("handover"):
            close_one(turn, int(flow["handover"]))
        else:
            turn.say(turn.t("hand_nothing_held"))
        return
    actor = turn.actor()
    if not actor.is_staff:
        turn.say(turn.t("hand_not_allowed"), [turn.button("menu_button", "menu")])
        return
    rows = store.visible(turn.session, actor)
    if not rows:
        turn.say(turn.t("hand_list_empty"))
        return
    buttons = [turn.button("hand_take_button", f"hand:take:{row.id}", id=row.id,
                           commune=_commune(row.commune_code, turn.lang))
               for row in rows[:10]]
    turn.say(turn.t("hand_list", n=fmt.integer(len(rows), turn.lang)), buttons)


def _row(turn: Turn) -> store.Handover | None:
    value = (turn.incoming.payload or "").rsplit(":", 1)[-1]
    try:
        return store.get(turn.session, int(value), turn.actor()) if value.isdigit() else None
    except store.HandoverGone:
        turn.say(turn.t("hand_gone"))
    except NotAllowed:
        turn.say(turn.t("hand_not_allowed"))
    return None


@router.payload("hand")
def hand_button(turn: Turn) -> None:
    """hand:ask, hand:end (the person), hand:take:<id>, hand:close:<id> (staff)."""
    action = (turn.incoming.payload or "").split(":")[1:2]
    if action == ["take"]:
        take(turn)
    elif action == ["close"]:
        close_button(turn)
    elif action == ["end"]:
        person_ends(turn)
    else:
        ask_for_a_person(turn)


def take(turn: Turn) -> None:
    row = _row(turn)
    if row is None:
        return
    store.take_and_tell(turn.session, turn.content, row, turn.actor(),
                        staff_user_id=int(turn.user.id))
    turn.start_flow(STAFF_FLOW, handover=int(row.id))
    citizen = store.citizen_of(turn.session, row)
    lines = "\n".join(f"{'→' if line.direction == 'in' else '←'} {line.text}"
                      for line in store.recent(turn.session, int(citizen.id)))
    turn.say(turn.t("hand_taken", id=row.id, messages=lines or "–"),
             [turn.button("hand_staff_end_button", f"hand:close:{row.id}", id=row.id)])


@router.flow(STAFF_FLOW)
def staff_types(turn: Turn) -> bool:
    """Every text the CAF types goes to the person, as a person's reply."""
    held = int((turn.flow() or {}).get("handover") or 0)
    try:
        row = store.get(turn.session, held, turn.actor())
    except (store.HandoverGone, NotAllowed):
        turn.end_flow()
        return False
    if not turn.text.strip():
        return True
    store.staff_reply(turn.session, turn.content, row, turn.text)
    turn.handled_as = "handover:staff"
    return True


def close_button(turn: Turn) -> None:
    row = _row(turn)
    if row is not None:
        close_one(turn, int(row.id))


def close_one(turn: Turn, handover_id: int) -> None:
    try:
        row = store.get(turn.session, handover_id, turn.actor())
    except (store.HandoverGone, NotAllowed):
        turn.end_flow()
        turn.say(turn.t("hand_gone"))
        return
    store.close_and_tell(turn.session, turn.content, row, turn.actor().name)
    turn.end_flow()
    turn.say(turn.t("hand_closed_staff", id=row.id))
