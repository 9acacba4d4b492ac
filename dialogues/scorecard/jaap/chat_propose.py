"""Citizens suggest what a facility's next scorecard should rate (`/propose`, `/start
prop_<facility>`, or the button the survey offers when a facility has no open round but
collects suggestions): one of the usual questions, support of a suggestion the CAF approved,
or a few words of their own.

Privacy: the flow is private (the message log keeps the step, never the text), a proposal is
keyed by an HMAC pseudonym (proposals.proposer_key) and nothing a citizen wrote is shown to
anyone but the commune's CAFs until a CAF approves it. At most MAX_PER_PERSON proposals per
person and call (a flood is told so). Also here: "stop these updates" under the plan's news.
"""

from __future__ import annotations

from typing import Any

from common import formatting as fmt
from common.messages import Button
from content.surveys.section import surveys_of
from dialogues.core.context import DialogueContext
from dialogues.core.places import need_commune
from dialogues.core.router import Router, Turn
from dialogues.scorecard import store
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.jaap.models import ProposalCall
from dialogues.scorecard.jaap.proposals import MAX_PER_PERSON, ProposalError
from dialogues.scorecard.jaap.store import valid_id

router = Router("propose", private=lambda turn: "prop")
router.uses("jaap_propose_intro", "jaap_propose_thanks", "jaap_propose_none",
            "jaap_propose_facilities", "jaap_propose_facility_button", "jaap_propose_button",
            "jaap_propose_closed", "jaap_propose_flood", "jaap_propose_empty",
            "jaap_stopped_updates", "jaap_error", "menu_button", "change_commune")

PREFIX = "prop"
FLOW = "propose"
SUPPORT_LABEL_CHARS = 40
MAX_BUTTONS = 12


def propose_buttons(turn: Turn, facility_ids: list[str]) -> list[Button]:
    """A "suggest what to rate" button when one of these facilities collects suggestions
    (the survey offers it when they have no open round)."""
    calls = proposals.open_calls(turn.session, facility_ids)
    if not calls:
        return []
    target = next(iter(calls)) if len(calls) == 1 else ""
    return [turn.button("jaap_propose_button", f"{PREFIX}:f:{target}" if target else PREFIX)]


@router.command("propose")
@router.deep_link(PREFIX)
def propose_command(turn: Turn) -> None:
    facility_id = (turn.incoming.argument or "").strip().partition("_")[2]
    if facility_id:
        facility_chosen(turn, facility_id)
    else:
        list_calls(turn)


def list_calls(turn: Turn) -> None:
    """The facilities of the user's commune that collect suggestions."""
    commune = need_commune(turn, then=PREFIX)
    if commune is None:
        return
    surveys = surveys_of(turn.content)
    facilities = surveys.in_commune(commune.code)
    calls = proposals.open_calls(turn.session, [f.id for f in facilities])
    after = [turn.button("change_commune", "commune:change"), turn.button("menu_button", "menu")]
    name = commune.name(turn.lang)
    if not calls:
        turn.say(turn.t("jaap_propose_none", commune=name), after)
    elif len(calls) == 1:
        facility_chosen(turn, next(iter(calls)))
    else:
        buttons = [turn.button("jaap_propose_facility_button", f"{PREFIX}:f:{f.id}",
                               facility=f.name(turn.lang)) for f in facilities if f.id in calls]
        turn.say(turn.t("jaap_propose_facilities", commune=name), buttons + after)


def _proposer(turn: Turn, call_id: int) -> str:
    respondent = store.respondent_key(turn.ctx.secret_key, str(turn.user.channel),
                                      str(turn.user.channel_user_id))
    return proposals.proposer_key(turn.ctx.secret_key, respondent, call_id)


def _left(turn: Turn, call_id: int) -> int:
    used = proposals.proposals_of(turn.session, call_id, _proposer(turn, call_id))
    return max(0, MAX_PER_PERSON - used)


def facility_chosen(turn: Turn, facility_id: str) -> None:
    """The usual questions and the approved suggestions as buttons; a typed text is a new
    suggestion (the flow reads it)."""
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(facility_id)
    call = proposals.open_call_of(turn.session, facility_id) if facility else None
    menu = turn.button("menu_button", "menu")
    if facility is None or call is None:
        turn.say(turn.t("jaap_propose_closed"), [menu])
        return
    left = _left(turn, int(call.id))
    if left == 0:
        turn.say(turn.t("jaap_propose_flood", max=fmt.integer(MAX_PER_PERSON, turn.lang)), [menu])
        return
    survey = surveys.survey_for(facility)
    buttons = [Button(f"💬 {_short(str(p.text))}", f"{PREFIX}:s:{call.id}:{p.id}")
               for p in proposals.approved(turn.session, int(call.id))]
    buttons += [Button(indicator.text(turn.lang), f"{PREFIX}:i:{call.id}:{number}")
                for number, indicator in enumerate(survey.indicators, start=1)]
    buttons = buttons[:MAX_BUTTONS]  # Messenger shows 13 quick replies: these and the menu
    turn.start_flow(FLOW, private=True, call=int(call.id))
    turn.say(turn.t("jaap_propose_intro", facility=facility.name(turn.lang),
                    left=fmt.integer(left, turn.lang)), [*buttons, menu])


def _short(text: str) -> str:
    return text if len(text) <= SUPPORT_LABEL_CHARS else text[:SUPPORT_LABEL_CHARS - 1] + "…"


def _takes_text(flow: dict[str, Any], text: str, ctx: DialogueContext) -> bool:
    """A text typed after the question is the suggestion: never sent to the NLU."""
    return True


@router.flow(FLOW, takes_text=_takes_text)
def on_text(turn: Turn) -> bool:
    flow = turn.flow() or {}
    call_id = flow.get("call")
    turn.end_flow()
    if not isinstance(call_id, int):
        return False
    if not any(ch.isalpha() for ch in turn.text):
        turn.say(turn.t("jaap_propose_empty"), [turn.button("menu_button", "menu")])
        turn.start_flow(FLOW, private=True, call=call_id)
        return True
    _save(turn, call_id, text=turn.text)
    return True


def _save(turn: Turn, call_id: int, **what: Any) -> None:
    menu = turn.button("menu_button", "menu")
    try:
        proposals.propose(turn.session, call_id, _proposer(turn, call_id), **what)
    except ProposalError as error:
        turn.say(turn.t(error.reason, max=fmt.integer(MAX_PER_PERSON, turn.lang)), [menu])
        return
    call = turn.session.get(ProposalCall, call_id)
    left = _left(turn, call_id)
    more = [turn.button("jaap_propose_button", f"{PREFIX}:f:{call.facility_id}")] \
        if left and call is not None else []
    turn.say(turn.t("jaap_propose_thanks", left=fmt.integer(left, turn.lang)), [*more, menu])


@router.payload(PREFIX)
def on_button(turn: Turn) -> None:
    """`prop` | `prop:f:<facility>` | `prop:i:<call>:<n>` (a usual question) |
    `prop:s:<call>:<proposal>` (support) | `prop:stop:<round>` (no more news of a plan)."""
    parts = [*(turn.incoming.payload or "").split(":"), "", "", ""]
    action, value, extra = parts[1], parts[2], parts[3]
    if action == "f" and value:
        facility_chosen(turn, value)
    elif action == "i" and valid_id(value) and extra.isdigit() and len(extra) < 4:
        _standard(turn, int(value), int(extra))
    elif action == "s" and valid_id(value) and extra:
        turn.end_flow()
        _save(turn, int(value), supports=extra)
    elif action == "stop" and valid_id(value):
        store.unsubscribe(turn.session, int(value), int(turn.user.id))
        turn.say(turn.t("jaap_stopped_updates"), [turn.button("menu_button", "menu")])
    else:
        list_calls(turn)


def _standard(turn: Turn, call_id: int, number: int) -> None:
    """A usual question of the facility's survey, by its position (a forged one is refused)."""
    turn.end_flow()
    call = proposals.call_row(turn.session, call_id)
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(str(call.facility_id)) if call is not None else None
    indicators = surveys.survey_for(facility).indicators if facility else ()
    if not 1 <= number <= len(indicators):
        turn.say(turn.t("jaap_error"), [turn.button("menu_button", "menu")])
        return
    _save(turn, call_id, indicator=indicators[number - 1].id)


