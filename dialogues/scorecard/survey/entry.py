"""Starting a rating: the rate_service intent (facility_type/place entities), the menu, or a
deep link `/start svy_<facility>` from a poster -> the facility (of the user's commune) -> a
short consent and anonymity notice, or the offer to resume an unfinished rating."""

from __future__ import annotations

import secrets

from common.messages import Button
from content.places import gazetteer
from content.surveys.section import FACILITY_TYPES, Facility, surveys_of
from dialogues.core.places import need_commune
from dialogues.core.router import Turn
from dialogues.scorecard import store
from dialogues.scorecard.jaap.chat_propose import propose_buttons
from dialogues.scorecard.store import COMPLETE, ResponseState, RoundClosed
from dialogues.scorecard.survey import act, show
from dialogues.scorecard.survey.walk import (
    FLOW,
    PREFIX,
    Walk,
    current_walk,
    end,
    respondent,
    router,
)


@router.intent("rate_service")
def rate_service(turn: Turn) -> None:
    facility_type = turn.entity("facility_type")
    start(turn, facility_type if facility_type in FACILITY_TYPES else None, turn.entity("place"))


@router.deep_link(PREFIX)
def from_link(turn: Turn) -> None:
    """`/start svy_<facility>`: a CAF's poster or QR code opens the rating of one facility;
    `/start svy` (from a group) starts a rating as the menu does."""
    facility_id = (turn.incoming.argument or "").strip().partition("_")[2]
    if facility_id:
        facility_chosen(turn, facility_id)
    else:
        start(turn, None)


@router.payload(PREFIX)
def button(turn: Turn) -> None:
    """`svy` | `svy:go:<type>` | `svy:c:<commune>` | `svy:f:<facility>` start or choose;
    `svy:<action>:<step>[:<tag>]` acts at a step of the flow."""
    parts = (turn.incoming.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    value = parts[2] if len(parts) > 2 else ""
    try:
        if action in ("", "go"):
            start(turn, value if value in FACILITY_TYPES else None)
        elif action == "c":
            flow = turn.flow() or {}
            choose_facility(turn, value, flow.get("type") if flow.get("name") == FLOW else None)
        elif action == "f":
            facility_chosen(turn, value)
        else:
            act.step_button(turn, action, value, parts[3] if len(parts) > 3 else "")
    except RoundClosed:
        act.round_closed(turn)


def start(turn: Turn, facility_type: str | None, place: str | None = None) -> None:
    """Offer to resume an unfinished rating, else find the commune and its facilities."""
    surveys = surveys_of(turn.content)
    if not place:
        unfinished = [(state, facility_id) for state, facility_id
                      in store.unfinished_responses(turn.session, respondent(turn))
                      if facility_id in surveys.facilities and
                      (facility_type is None or surveys.facilities[facility_id].type
                       == facility_type)]
        if unfinished:
            offer_resume(turn, surveys.facilities[unfinished[0][1]], unfinished[0][0])
            return
    if place and _start_at_place(turn, place, facility_type):
        return
    commune = need_commune(turn, then=f"{PREFIX}:go:{facility_type or 'any'}")
    if commune is not None:
        choose_facility(turn, commune.code, facility_type)


def _start_at_place(turn: Turn, place: str, facility_type: str | None) -> bool:
    """The commune the user named (namesakes as buttons); False when it has no facility."""
    communes = surveys_of(turn.content).communes()
    candidates = [p for p in gazetteer().by_english_name(place) if p.code in communes]
    if len(candidates) == 1:
        choose_facility(turn, candidates[0].code, facility_type)
        return True
    if candidates:
        turn.start_flow(FLOW, private=True, step="commune", type=facility_type)
        turn.say(turn.t("survey_which_commune"),
                 [Button(p.label(turn.lang), f"{PREFIX}:c:{p.code}") for p in candidates])
        return True
    turn.say(turn.t("survey_place_without_facilities", place=place))
    return False


def choose_facility(turn: Turn, commune_code: str, facility_type: str | None) -> None:
    """Buttons for the commune's facilities that have an open round (straight to the consent
    when there is only one)."""
    surveys = surveys_of(turn.content)
    place = gazetteer().get(commune_code)
    if place is None:
        start(turn, facility_type)
        return
    commune = place.name(turn.lang)
    type_label = surveys.by_type[facility_type].facility_label(turn.lang) if facility_type \
        else None
    facilities = surveys.in_commune(commune_code, facility_type)
    after = [turn.button("change_commune", "commune:change"), turn.button("menu_button", "menu")]
    rounds = store.open_rounds(turn.session, [f.id for f in facilities]) if facilities else {}
    available = [f for f in facilities if f.id in rounds]
    if not available:
        end(turn)
        if not facilities:
            key = "survey_no_facilities" if type_label else "survey_no_facilities_any"
            text = turn.t(key, type=type_label or "", commune=commune)
        elif len(facilities) == 1:
            text = turn.t("survey_no_open_round", facility=facilities[0].name(turn.lang))
        else:
            text = turn.t("survey_no_open_rounds", commune=commune)
        turn.say(text, propose_buttons(turn, [f.id for f in facilities]) + after)
        return
    if len(available) == 1:
        facility_chosen(turn, available[0].id)
        return
    turn.start_flow(FLOW, private=True, step="facility", commune=commune_code,
                    type=facility_type)
    key = "survey_which_facility" if type_label else "survey_which_facility_any"
    text = turn.t(key, type=type_label or "", commune=commune)
    if any(f.sample for f in available):
        text += "\n" + turn.t("survey_sample_list")
    turn.say(text, [Button(f.name(turn.lang), f"{PREFIX}:f:{f.id}") for f in available]
             + after)


def facility_chosen(turn: Turn, facility_id: str) -> None:
    """The consent notice, or the offer to resume an unfinished rating of this facility."""
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(facility_id)
    if facility is None:
        end(turn)
        turn.say(turn.t("survey_facility_gone"), turn.menu())
        return
    found = store.open_rounds(turn.session, [facility.id]).get(facility.id)
    if found is None:
        end(turn)
        turn.say(turn.t("survey_no_open_round", facility=facility.name(turn.lang)),
                 [*propose_buttons(turn, [facility.id]), turn.button("menu_button", "menu")])
        return
    existing = store.find_response(turn.session, found.id, respondent(turn))
    if existing and existing.status != COMPLETE and existing.position > 0:
        offer_resume(turn, facility, existing)
        return
    walk = _begin(turn, facility, found.id, "consent")
    show.show(turn, walk, "consent", rerate=existing is not None and existing.position > 0)


def offer_resume(turn: Turn, facility: Facility, response: ResponseState) -> None:
    show.show(turn, _begin(turn, facility, response.round_id, "resume"), "resume")


def _begin(turn: Turn, facility: Facility, round_id: int, step: str) -> Walk:
    """A new private survey flow: the user's texts are withheld from the log from now on."""
    turn.start_flow(FLOW, private=True, step=step, facility=facility.id, round=round_id,
                    nonce=secrets.token_hex(8))
    walk = current_walk(turn)
    assert walk is not None
    return walk


def choose_other(turn: Turn) -> None:
    """"Rate another service": the facility list of the user's commune, without the offer to
    resume (the unfinished rating stays as it is)."""
    commune = need_commune(turn, then=f"{PREFIX}:go:any")
    if commune is not None:
        choose_facility(turn, commune.code, None)
