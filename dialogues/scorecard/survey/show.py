"""Showing a survey step: the question (or choice) with its buttons, chosen by the step's kind
(dialogues/core/steps/kinds.py); the survey's own texts (progress, an earlier answer) are its
hooks. Answer buttons are signed (Walk.answer_button); controls name the step they belong to,
so a button of an earlier step is recognised as stale."""

from __future__ import annotations

from collections.abc import Callable

from common import formatting as fmt
from common.messages import Button
from dialogues.core.router import Turn
from dialogues.scorecard import store
from dialogues.scorecard.survey import entry
from dialogues.scorecard.survey.walk import PREFIX, Walk, profile_number, step_kind

Shown = tuple[list[str], list[Button]]


def show(turn: Turn, walk: Walk | None, step: str, *, note: str = "",
         rerate: bool = False) -> None:
    """Say the question (or choice) of a step, with its buttons; `note` goes first."""
    flow = turn.flow() or {}
    if step in ("facility", "commune") or walk is None:
        if step == "facility" and flow.get("commune"):
            entry.choose_facility(turn, str(flow["commune"]), flow.get("type"))
        else:
            entry.start(turn, flow.get("type"))
        return
    if step == "consent":
        lines, buttons = _consent(turn, walk, rerate)
    else:
        lines, buttons = _BY_KIND.get(step_kind(step), _confirm)(turn, walk, step)
    turn.say("\n\n".join([note, *lines] if note else lines), buttons)


def controls(turn: Turn, step: str, *, keep: bool = False, skip: bool = True) -> list[Button]:
    """Back, skip (or keep an earlier answer) and stop, for this step."""
    buttons = [turn.button("survey_back_button", f"{PREFIX}:back:{step}")]
    if skip:
        buttons.append(turn.button("survey_keep_button" if keep else "survey_skip_button",
                                   f"{PREFIX}:skip:{step}"))
    buttons.append(turn.button("survey_stop_button", f"{PREFIX}:stop:{step}"))
    return buttons


def _progress(turn: Turn, walk: Walk, number: int) -> str:
    return turn.t("survey_progress", n=fmt.integer(number, turn.lang),
                  total=fmt.integer(walk.questions, turn.lang))


def _consent(turn: Turn, walk: Walk, rerate: bool) -> Shown:
    name, lines = walk.facility.name(turn.lang), []
    if rerate:
        lines.append(turn.t("survey_rerate_note", facility=name))
    lines.append(turn.t("survey_consent", facility=name,
                        count=fmt.integer(walk.questions, turn.lang)))
    return lines, [turn.button("survey_start_button", f"{PREFIX}:yes:consent"),
                   turn.button("survey_not_now_button", f"{PREFIX}:no:consent")]


def _rating(turn: Turn, walk: Walk, step: str) -> Shown:
    """An indicator: the five faces, signed."""
    lang, number = turn.lang, int(step[1:])
    indicator = walk.survey.indicators[number - 1]
    lines = [turn.t("survey_question", progress=_progress(turn, walk, number),
                    facility=walk.facility.name(lang), indicator=indicator.text(lang))]
    earlier = walk.ratings().get(indicator.id)
    if earlier is not None:
        lines.append(turn.t("survey_earlier_answer",
                            answer=walk.surveys.level(earlier).button_label(lang)))
    if number == 1:
        lines.append(turn.t("survey_answer_hint"))
    buttons = [walk.answer_button(level.button_label(lang), step, level.value)
               for level in walk.surveys.scale]
    return lines, buttons + controls(turn, step, keep=earlier is not None)


def _comment(turn: Turn, walk: Walk, step: str) -> Shown:
    """The free-text comment (typed; skipping keeps an earlier one)."""
    lines = [turn.t("survey_comment", progress=_progress(turn, walk, walk.questions),
                    facility=walk.facility.name(turn.lang))]
    commented = store.has_comment(turn.session, walk.round_id, walk.author)
    if commented:
        lines.append(turn.t("survey_comment_earlier"))
    return lines, controls(turn, step, keep=commented)


def _choice(turn: Turn, walk: Walk, step: str) -> Shown:
    """A question about the respondent: its options, signed."""
    lang, number = turn.lang, profile_number(step, walk.surveys) or 1
    question = walk.surveys.profile[number - 1]
    lines = [turn.t("survey_profile_question", n=fmt.integer(number, lang),
                    total=fmt.integer(len(walk.surveys.profile), lang),
                    question=question.text(lang))]
    earlier_id = walk.profile().get(question.id)
    earlier = question.option(earlier_id) if earlier_id else None
    if earlier:
        lines.append(turn.t("survey_earlier_answer", answer=earlier.label(lang)))
    buttons = [walk.answer_button(option.label(lang), step, option.id)
               for option in question.options]
    return lines, buttons + controls(turn, step, keep=earlier is not None)


def _confirm(turn: Turn, walk: Walk, step: str) -> Shown:
    """The yes/no steps: resume, the profile questions' introduction, the notification."""
    lang, name = turn.lang, walk.facility.name(turn.lang)
    if step == "resume":
        return [turn.t("survey_resume", facility=name,
                       answered=fmt.integer(walk.answered(), lang),
                       total=fmt.integer(len(walk.survey.indicators), lang))], [
            turn.button("survey_continue_button", f"{PREFIX}:yes:resume"),
            turn.button("survey_restart_button", f"{PREFIX}:redo:resume"),
            turn.button("survey_other_facility_button", f"{PREFIX}:no:resume")]
    if step == "profile":
        return [turn.t("survey_profile_intro",
                       count=fmt.integer(len(walk.surveys.profile), lang))], [
            turn.button("survey_profile_yes", f"{PREFIX}:yes:profile"),
            turn.button("survey_profile_no", f"{PREFIX}:skip:profile"),
            *controls(turn, step, skip=False)]
    return [turn.t("survey_notify", facility=name)], [
        turn.button("survey_notify_yes", f"{PREFIX}:yes:notify"),
        turn.button("survey_notify_no", f"{PREFIX}:no:notify"),
        *controls(turn, step, skip=False)]


_BY_KIND: dict[str, Callable[[Turn, Walk, str], Shown]] = {
    "rating": _rating, "text": _comment, "choice": _choice, "confirm": _confirm}
