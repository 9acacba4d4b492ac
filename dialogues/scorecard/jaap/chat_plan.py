"""`/jaap`: a CAF (or an admin) runs the scorecard cycle of their communes' facilities from the
chat: collect suggestions before a round, then after it closes record the discussion of each
question and the Joint Accountability Action Plan, update each action's status, and send the
plan to citizens. Three forms on the one step engine (content/forms/jaap.yml).

Every button checks the actor again when it is pressed, and the functions it calls
(proposals, plan) check once more: a payload can be forged and a role revoked between two
messages. Moderating suggestions, merging duplicates and writing custom questions in two
languages are done on the dashboard.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from common import formatting as fmt
from common import khmer_dates as dates
from common.messages import Button
from content.places import gazetteer
from content.surveys.section import surveys_of
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.core.places import need_commune
from dialogues.core.router import Router, Turn
from dialogues.core.steps.form import FormHooks, start_form
from dialogues.scorecard import store as rounds_store
from dialogues.scorecard.jaap import chat_photo, plan, proposals
from dialogues.scorecard.jaap import store as jaap_store
from dialogues.scorecard.jaap.loop import action_line, facility_name
from dialogues.scorecard.jaap.models import STATUSES
from dialogues.scorecard.jaap.plan import PlanError
from dialogues.scorecard.jaap.proposals import ProposalError
from dialogues.scorecard.models import ScoringRound
from dialogues.scorecard.rounds import round_name
from dialogues.scorecard.rounds_chat import allowed_actor

router = Router("jaap", private=lambda turn: "jaap")
# the messages of its forms' steps (content/forms/), which `isafbot content check` needs
router.uses("jaap_ask_due", "jaap_ask_responsible", "jaap_ask_what", "jaap_confirm_action",
            "jaap_responsible_citizens", "jaap_responsible_commune_council",
            "jaap_responsible_provider", "jaap_ask_strengths", "jaap_ask_suggested",
            "jaap_ask_weaknesses", "jaap_confirm_discussion", "jaap_ask_note",
            "jaap_confirm_status")
router.uses(
    "jaap_caf_list", "jaap_call_open_button", "jaap_call_view_button", "jaap_plan_button",
    "jaap_call_opened", "jaap_call_view", "jaap_call_line", "jaap_state_pending",
    "jaap_state_approved", "jaap_state_rejected", "jaap_call_close_button", "jaap_call_closed",
    "jaap_round_view", "jaap_round_no_actions", "jaap_add_button", "jaap_discuss_button",
    "jaap_share_button", "jaap_shared", "jaap_action_button", "jaap_which_indicator",
    "jaap_no_indicator_button", "jaap_action_view", "jaap_no_note", "jaap_discuss_which",
    "jaap_back_button", "jaap_action_saved", "jaap_status_saved", "jaap_discussion_saved",
    "jaap_action_preview", "jaap_discussion_preview", "jaap_error", "rounds_none",
    "menu_button", "change_commune", *(f"jaap_status_{s}" for s in STATUSES))

PREFIX = "jaap"
REFUSALS = (PlanError, ProposalError, NotAllowed, LookupError)


@router.command("jaap")
@router.deep_link(PREFIX)
def jaap_command(turn: Turn) -> None:
    actor = allowed_actor(turn)
    if actor is not None:
        show_cycle(turn, actor)


def _communes(turn: Turn, actor: Actor) -> list[str] | None:
    if not actor.is_admin:
        return sorted(actor.communes)
    commune = need_commune(turn, then=PREFIX)
    return [commune.code] if commune else None


def _latest_closed(turn: Turn, facility_ids: list[str]) -> dict[str, int]:
    rows = turn.session.execute(
        select(ScoringRound.facility_id, func.max(ScoringRound.id))
        .where(ScoringRound.facility_id.in_(facility_ids), ScoringRound.closed_at.is_not(None))
        .group_by(ScoringRound.facility_id)).all()
    return {str(facility): int(round_id) for facility, round_id in rows}


def show_cycle(turn: Turn, actor: Actor) -> None:
    """Per facility: collect suggestions (or see them), and the plan of its last closed
    round."""
    codes = _communes(turn, actor)
    if codes is None:
        return
    names = ", ".join(p.name(turn.lang) if (p := gazetteer().get(c)) else c for c in codes)
    facilities = [f for code in codes for f in surveys_of(turn.content).in_commune(code)]
    after = [turn.button("menu_button", "menu")]
    if actor.is_admin:
        after.insert(0, turn.button("change_commune", "commune:change"))
    if not facilities:
        turn.say(turn.t("rounds_none", commune=names), after)
        return
    ids = [f.id for f in facilities]
    calls = proposals.open_calls(turn.session, ids)
    running = rounds_store.open_rounds(turn.session, ids)
    closed = _latest_closed(turn, ids)
    buttons = []
    for facility in facilities:
        name = facility.name(turn.lang)
        if facility.id in calls:
            buttons.append(turn.button("jaap_call_view_button",
                                       f"{PREFIX}:cv:{calls[facility.id].id}", facility=name))
        elif facility.id not in running:
            buttons.append(turn.button("jaap_call_open_button", f"{PREFIX}:co:{facility.id}",
                                       facility=name))
        if facility.id in closed:
            row = turn.session.get(ScoringRound, closed[facility.id])
            label = round_name(turn.content, int(row.id), row.label, turn.lang)
            buttons.append(turn.button("jaap_plan_button", f"{PREFIX}:r:{row.id}",
                                       facility=name, round=label))
    turn.say(turn.t("jaap_caf_list", commune=names), buttons + after)


@router.payload(PREFIX)
def on_button(turn: Turn) -> None:
    """`jaap:<action>:<id>[:<value>]`: co (open a call), cv (see it), cc (close it), r (a
    round's plan), add/ai (an action), d/di (a discussion), share, act (an action), st (its
    status)."""
    actor = allowed_actor(turn)
    if actor is None:
        return
    parts = [*(turn.incoming.payload or "").split(":"), "", "", ""]
    action, value, extra = parts[1], parts[2], parts[3]
    handler = HANDLERS.get(action)
    if handler is None or not value or (action != "co" and not jaap_store.valid_id(value)):
        show_cycle(turn, actor)
        return
    try:
        handler(turn, actor, value, extra)
    except REFUSALS as error:
        reason = getattr(error, "reason", "jaap_error")
        turn.say(turn.t(reason))
        show_cycle(turn, actor)


# ------------------------------------------------------------------ suggestions

def _open_call(turn: Turn, actor: Actor, facility_id: str, _: str) -> None:
    call = proposals.open_call(turn.session, turn.content, facility_id, by=actor)
    turn.say(turn.t("jaap_call_opened", facility=facility_name(turn.content, facility_id,
                                                              turn.lang),
                    start=f"prop_{facility_id}"),
             [turn.button("jaap_call_view_button", f"{PREFIX}:cv:{call.id}",
                          facility=facility_name(turn.content, facility_id, turn.lang)),
              turn.button("menu_button", "menu")])


def _view_call(turn: Turn, actor: Actor, call_id: str, _: str) -> None:
    call = proposals.checked_call(turn.session, turn.content, int(call_id), by=actor)
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(str(call.facility_id))
    survey = surveys.survey_for(facility) if facility else None
    tallies = proposals.tally(turn.session, int(call.id))
    lines = []
    for entry in tallies[:15]:
        found = survey.indicator(str(entry.proposal.indicator)) if survey else None
        text = found.text(turn.lang) if found else str(entry.proposal.text or "")
        lines.append(turn.t("jaap_call_line", n=fmt.integer(entry.supporters, turn.lang),
                            text=text, state=turn.t(f"jaap_state_{entry.proposal.state}")))
    turn.say(turn.t("jaap_call_view", facility=facility_name(turn.content,
                                                             str(call.facility_id), turn.lang),
                    count=fmt.integer(len(tallies), turn.lang), lines="\n".join(lines)),
             [turn.button("jaap_call_close_button", f"{PREFIX}:cc:{call.id}"),
              turn.button("menu_button", "menu")])


def _close_call(turn: Turn, actor: Actor, call_id: str, _: str) -> None:
    call = proposals.close_call(turn.session, turn.content, int(call_id), by=actor)
    turn.say(turn.t("jaap_call_closed", facility=facility_name(
        turn.content, str(call.facility_id), turn.lang)), [turn.button("menu_button", "menu")])


# ------------------------------------------------------------------ the plan

def show_plan(turn: Turn, actor: Actor, round_id: str, _: str = "") -> None:
    row = plan.checked_round(turn.session, turn.content, int(round_id), actor)
    agreed = jaap_store.actions(turn.session, int(row.id))
    lines = [f"{n}. {action_line(turn.content, a, turn.lang)}"
             for n, a in enumerate(agreed, start=1)] or [turn.t("jaap_round_no_actions")]
    buttons = [turn.button("jaap_action_button", f"{PREFIX}:act:{a.id}", n=n,
                           what=_short(str(a.what))) for n, a in enumerate(agreed, start=1)]
    buttons += [turn.button("jaap_add_button", f"{PREFIX}:add:{row.id}"),
                turn.button("jaap_discuss_button", f"{PREFIX}:d:{row.id}")]
    shared = plan.plan_row(turn.session, int(row.id)).shared_at is not None
    if agreed and not shared:
        buttons.append(turn.button("jaap_share_button", f"{PREFIX}:share:{row.id}"))
    name = round_name(turn.content, int(row.id), row.label, turn.lang)
    turn.say(turn.t("jaap_round_view", facility=facility_name(
        turn.content, str(row.facility_id), turn.lang), round=name, lines="\n".join(lines)),
        [*buttons, turn.button("menu_button", "menu")])


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _indicator_buttons(turn: Turn, actor: Actor, round_id: str, action: str) -> list[Button]:
    plan.checked_round(turn.session, turn.content, int(round_id), actor)
    indicators = jaap_store.round_indicators(turn.session, surveys_of(turn.content),
                                             int(round_id))
    return [Button(_short(i.text(turn.lang), 60), f"{PREFIX}:{action}:{round_id}:{n}")
            for n, i in enumerate(indicators, start=1)]


def _indicator(turn: Turn, round_id: int, number: str) -> str | None:
    indicators = jaap_store.round_indicators(turn.session, surveys_of(turn.content), round_id)
    if number.isdigit() and 1 <= int(number) <= len(indicators):
        return indicators[int(number) - 1].id
    return None


def _add(turn: Turn, actor: Actor, round_id: str, _: str) -> None:
    buttons = _indicator_buttons(turn, actor, round_id, "ai")
    turn.say(turn.t("jaap_which_indicator"),
             [*buttons, turn.button("jaap_no_indicator_button", f"{PREFIX}:ai:{round_id}:0"),
              turn.button("jaap_back_button", f"{PREFIX}:r:{round_id}")])


def _add_for(turn: Turn, actor: Actor, round_id: str, number: str) -> None:
    plan.checked_round(turn.session, turn.content, int(round_id), actor)
    start_form(turn, "jaap_action", round=int(round_id),
               indicator=_indicator(turn, int(round_id), number))


def _discuss(turn: Turn, actor: Actor, round_id: str, _: str) -> None:
    buttons = _indicator_buttons(turn, actor, round_id, "di")
    turn.say(turn.t("jaap_discuss_which"),
             [*buttons, turn.button("jaap_back_button", f"{PREFIX}:r:{round_id}")])


def _discuss_one(turn: Turn, actor: Actor, round_id: str, number: str) -> None:
    plan.checked_round(turn.session, turn.content, int(round_id), actor)
    indicator = _indicator(turn, int(round_id), number)
    if indicator is None:
        raise PlanError("jaap_unknown_indicator")
    start_form(turn, "jaap_discussion", round=int(round_id), indicator=indicator)


def _share(turn: Turn, actor: Actor, round_id: str, _: str) -> None:
    row = plan.checked_round(turn.session, turn.content, int(round_id), actor)
    plan.share_plan(turn.session, turn.content, int(round_id), by=actor)
    turn.say(turn.t("jaap_shared", facility=facility_name(turn.content, str(row.facility_id),
                                                          turn.lang)))
    show_plan(turn, actor, round_id)


def _action(turn: Turn, actor: Actor, action_id: str, _: str) -> None:
    row = plan.checked_action(turn.session, turn.content, int(action_id), actor)
    buttons = [Button(turn.t(f"jaap_status_{status}"), f"{PREFIX}:st:{row.id}:{status}")
               for status in STATUSES if status != row.status]
    turn.say(turn.t("jaap_action_view", line=action_line(turn.content, row, turn.lang),
                    note=row.progress_note or turn.t("jaap_no_note")),
             [*buttons, turn.button("jaap_back_button", f"{PREFIX}:r:{row.round_id}")])


def _status(turn: Turn, actor: Actor, action_id: str, status: str) -> None:
    plan.checked_action(turn.session, turn.content, int(action_id), actor)
    if status not in STATUSES:
        raise PlanError("jaap_bad_status")
    start_form(turn, "jaap_status", action=int(action_id), status=status)


HANDLERS = {"co": _open_call, "cv": _view_call, "cc": _close_call, "r": show_plan,
            "add": _add, "ai": _add_for, "d": _discuss, "di": _discuss_one, "share": _share,
            "act": _action, "st": _status}


# ------------------------------------------------------------------ the forms' hooks

def _refused(turn: Turn, error: Exception, back: str) -> None:
    turn.say(turn.t(getattr(error, "reason", "jaap_error")),
             [turn.button("jaap_back_button", back), turn.button("menu_button", "menu")])


def _action_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    actor = allowed_actor(turn)
    round_id = int(extra.get("round") or 0)
    if actor is None:
        return
    due = date.fromisoformat(values["due"]) if values.get("due") else None
    try:
        row = plan.add_action(turn.session, turn.content, round_id, what=values.get("what"),
                              responsible=values.get("responsible"), due=due, by=actor,
                              today=turn.now.date(), indicator=extra.get("indicator"))
    except REFUSALS as error:
        _refused(turn, error, f"{PREFIX}:r:{round_id}")
        return
    turn.say(turn.t("jaap_action_saved", line=action_line(turn.content, row, turn.lang)))
    show_plan(turn, actor, str(round_id))


def _indicator_title(turn: Turn, round_id: int, indicator: str | None) -> str:
    found = {i.id: i for i in jaap_store.round_indicators(turn.session, surveys_of(
        turn.content), round_id)}.get(indicator or "")
    return found.text(turn.lang) if found else "–"


def _action_preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    due = date.fromisoformat(values["due"]) if values.get("due") else None
    return turn.t("jaap_action_preview", what=values.get("what") or "–",
                  responsible=turn.t(f"jaap_responsible_{values.get('responsible')}"),
                  due=dates.day(due, turn.lang) if due else "–",
                  indicator=_indicator_title(turn, int(extra.get("round") or 0),
                                             extra.get("indicator")))


def _discussion_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    actor = allowed_actor(turn)
    round_id = int(extra.get("round") or 0)
    if actor is None:
        return
    try:
        plan.save_discussion(turn.session, turn.content, round_id, str(extra.get("indicator")),
                             strengths=values.get("strengths"),
                             weaknesses=values.get("weaknesses"),
                             suggested_actions=values.get("suggested"), by=actor)
    except REFUSALS as error:
        _refused(turn, error, f"{PREFIX}:r:{round_id}")
        return
    turn.say(turn.t("jaap_discussion_saved",
                    indicator=_indicator_title(turn, round_id, extra.get("indicator"))))
    show_plan(turn, actor, str(round_id))


def _discussion_preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    return turn.t("jaap_discussion_preview",
                  indicator=_indicator_title(turn, int(extra.get("round") or 0),
                                             extra.get("indicator")),
                  strengths=values.get("strengths") or "–",
                  weaknesses=values.get("weaknesses") or "–",
                  suggested=values.get("suggested") or "–")


def _status_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    actor = allowed_actor(turn)
    if actor is None:
        return
    action_id = int(extra.get("action") or 0)
    try:
        plan.set_status(turn.session, turn.content, action_id, str(extra.get("status")),
                        note=values.get("note"), by=actor, photo=extra.get("photo"))
        row = plan.checked_action(turn.session, turn.content, action_id, actor)
    except REFUSALS as error:
        _refused(turn, error, PREFIX)
        return
    turn.say(turn.t("jaap_status_saved", line=action_line(turn.content, row, turn.lang)))
    show_plan(turn, actor, str(row.round_id))


def _status_preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    status = str(extra.get("status"))
    label = turn.t(f"jaap_status_{status}") if status in STATUSES else status
    return f"{label}\n{values.get('note') or ''}".strip()


router.form("jaap_action", FormHooks(done=_action_done, preview=_action_preview))
router.form("jaap_discussion", FormHooks(done=_discussion_done, preview=_discussion_preview))
router.form("jaap_status", FormHooks(done=_status_done, preview=_status_preview,
                                     attachment=chat_photo.on_attachment))
router.uses(*chat_photo.MESSAGES)
