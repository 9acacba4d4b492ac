"""The user's commune: asked once, remembered (users.commune_code), changeable, shared by
budgets, surveys and reminders.

Other dialogues call `need_commune(turn, then="<payload>")`: when the commune is known it
returns it; otherwise it asks, and once the user has answered (typing a name, or choosing among
namesakes with buttons) the `then` payload is pressed to carry on where they were.
"""

from __future__ import annotations

from common.khmer import words
from common.messages import Button
from content.places import Area, Place, gazetteer, resolve
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import only_small_words, surely_not_a_place

router = Router("places")
router.uses("ask_commune", "commune_ambiguous", "commune_not_found", "commune_set",
            "change_commune", "menu_button", "commune_in_area", "commune_not_found_suggest")

FLOW = "commune"
MAX_CHOICES = 8
MAX_AREA_CHOICES = 16  # a district's communes (Sen Sok has 6, some districts 15)


def user_commune(turn: Turn) -> Place | None:
    return gazetteer().get(turn.user.commune_code) if turn.user.commune_code else None


def need_commune(turn: Turn, *, then: str) -> Place | None:
    """The user's commune, or None after asking for it (then `then` is pressed later)."""
    place = user_commune(turn)
    if place is not None:
        return place
    ask_commune(turn, then=then)
    return None


def ask_commune(turn: Turn, *, then: str | None) -> None:
    turn.start_flow(FLOW, then=then)
    turn.say(turn.t("ask_commune"))


def resolve_commune(turn: Turn, text: str, *, then: str | None) -> bool:
    """Set the commune from a typed name. True when set; otherwise the user was asked again:
    which commune of the district named, which of the namesakes, did you mean one of these
    near misses, or a polite "not found"."""
    found = resolve(text)
    if found.sure:
        set_commune(turn, found.places[0], then=then)
        return True
    turn.start_flow(FLOW, then=then)
    name = text.strip()[:60]
    if found.area is not None and not found.suggestions:
        choices = area_choices(found.area, list(found.places))
        turn.say(turn.t("commune_in_area", area=found.area.name(turn.lang)),
                 [Button(p.label(turn.lang), f"commune:{p.code}") for p in choices])
    elif found.places:
        turn.say(turn.t("commune_ambiguous"), [Button(p.label(turn.lang), f"commune:{p.code}")
                                               for p in found.places[:MAX_CHOICES]])
    elif found.suggestions:
        turn.say(turn.t("commune_not_found_suggest", name=name),
                 [Button(p.label(turn.lang), f"commune:{p.code}") for p in found.suggestions])
    else:
        turn.say(turn.t("commune_not_found", name=name))
    return False


def area_choices(area: Area, namesakes: list[Place]) -> list[Place]:
    """The communes of a district or province to choose from, then communes elsewhere that
    bear the typed name (Saen Sokh commune in Siem Reap, for khan Sen Sok)."""
    inside = gazetteer().communes_in(area)[:MAX_AREA_CHOICES]
    return [*inside, *(p for p in namesakes if p not in inside)][:MAX_AREA_CHOICES + 2]


def set_commune(turn: Turn, place: Place, *, then: str | None) -> None:
    turn.user.commune_code = place.code
    turn.end_flow()
    turn.say(turn.t("commune_set", commune=place.label(turn.lang)),
             [turn.button("change_commune", "commune:change")])
    if then:
        turn.press(then)


@router.flow(FLOW)
def on_commune_text(turn: Turn) -> bool:
    """While we wait for a commune, a text is its name; other intents (menu, goodbye...) that
    the NLU is sure about go through, and so does a question that names no place."""
    flow = turn.flow() or {}
    if turn.intent in ("help", "goodbye", "unsubscribe", "change_language") and \
            turn.understanding and turn.understanding.confidence >= 0.8:
        turn.end_flow()
        return False
    if not turn.text.strip():
        return False
    if only_small_words(turn.text):  # "ok": still waiting for the name
        turn.say(turn.t("ask_commune"))
        return True
    if surely_not_a_place(turn):
        turn.end_flow()  # "what is CIP?", "next Tuesday 2 pm": answered as themselves
        return False
    if turn.entity("place") is None and _another_question(turn):
        turn.end_flow()  # "how long does it take?" is not a commune: answer it instead
        return False
    name = turn.entity("place") or turn.text
    resolve_commune(turn, name, then=flow.get("then"))
    return True


def _another_question(turn: Turn) -> bool:
    """A text that names no place and is nothing like one: the NLU reads it, surely, as
    something else, or it is a sentence (more than three words) in which no name comes close.
    "I couldn't find a commune called 'when do the results come out'" is never said."""
    found = resolve(turn.text)
    if found.places or found.area or found.suggestions:
        return False
    if len(words(turn.text)) > 3:
        return True
    understanding = turn.understanding
    return not (understanding is None or understanding.intent in (None, "out_of_scope")
                or understanding.confidence < turn.ctx.fallback_threshold)


@router.payload("commune")
def commune_button(turn: Turn) -> None:
    """`commune:<code>` chooses among namesakes; `commune:change` asks again."""
    value = (turn.incoming.payload or "").partition(":")[2]
    flow = turn.flow() or {}
    if value == "change":
        ask_commune(turn, then=None)
        return
    place = gazetteer().get(value)
    if place is None:
        ask_commune(turn, then=flow.get("then"))
        return
    set_commune(turn, place, then=flow.get("then"))
