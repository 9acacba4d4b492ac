"""Moving through the survey's walk: answers, yes/no choices, back/skip/stop, resuming and
finishing. Every move saves the position, so that coming back resumes where the user was."""

from __future__ import annotations

from typing import Any

from common import formatting as fmt
from dialogues.core.router import Turn
from dialogues.core.steps.buttons import verify
from dialogues.scorecard import store
from dialogues.scorecard.store import COMPLETE, STOPPED
from dialogues.scorecard.survey import entry, personal, show
from dialogues.scorecard.survey.walk import FLOW, Walk, current_walk, end, profile_number, step_kind


def goto(turn: Turn, walk: Walk, index: int, *, note: str = "") -> None:
    """Move to a step (saving the position, so that coming back resumes here) and show it."""
    index = max(0, min(index, len(walk.steps)))
    if index >= len(walk.steps):
        finish(turn, walk)
        return
    walk.set_progress(index)
    flow = turn.flow()
    if flow is not None:
        flow["step"] = walk.steps[index]
    show.show(turn, walk, walk.steps[index], note=note)


def finish(turn: Turn, walk: Walk) -> None:
    """The completion hook: the response is complete; thanks (and whether results follow)."""
    walk.set_progress(len(walk.steps), COMPLETE)
    notified = store.is_subscribed(turn.session, walk.round_id, turn.user.id)
    end(turn)
    text = turn.t("survey_done", facility=walk.facility.name(turn.lang))
    if notified:
        text += "\n" + turn.t("survey_done_notify")
    turn.say(text, [turn.button("menu_button", "menu")])


def stop(turn: Turn, walk: Walk | None, step: str | None = None) -> None:
    """Stop: what was given stays, as an incomplete response (resumable at `step`)."""
    end(turn)
    found = walk.response() if walk else None
    if walk is None or found is None:
        turn.say(turn.t("survey_declined"), [turn.button("menu_button", "menu")])
        return
    walk.set_progress(walk.index(step) if step else found.position, STOPPED)
    turn.say(turn.t("survey_stopped", n=fmt.integer(walk.answered(), turn.lang)),
             [turn.button("menu_button", "menu")])


def round_closed(turn: Turn) -> None:
    walk = current_walk(turn)
    end(turn)
    name = walk.facility.name(turn.lang) if walk else ""
    turn.say(turn.t("survey_round_closed", facility=name), [turn.button("menu_button", "menu")])


def step_button(turn: Turn, action: str, step: str, tag: str) -> None:
    """A button of a step. One from an earlier step (a double tap, an old message) changes
    nothing: the current step is shown again."""
    flow = turn.flow() or {}
    walk = current_walk(turn)
    current = str(flow.get("step", "")) if flow.get("name") == FLOW else ""
    if not current or walk is None:
        entry.start(turn, None)
        return
    if step != current:
        show.show(turn, walk, current, note=turn.t("survey_stale_button"))
        return
    if action == "a":
        value = verify(turn.ctx.secret_key, walk.nonce, step, tag, walk.values(step))
        if value is None:
            show.show(turn, walk, current, note=turn.t("survey_stale_button"))
            return
        answer(turn, walk, step, value)
    elif action in ("yes", "no", "redo"):
        choose(turn, walk, step, action)
    elif action in ("back", "skip", "stop"):
        control(turn, walk, step, action)
    elif action == "pii" and tag in personal.CHOICES:
        personal.choose(turn, walk, step, tag)
    else:
        show.show(turn, walk, current)


def answer(turn: Turn, walk: Walk, step: str, value: Any, *, note: str = "") -> None:
    """The storage hook of a rating or a choice, then the next step."""
    kind = step_kind(step)
    number = profile_number(step, walk.surveys)
    if kind == "rating":
        walk.save_rating(walk.survey.indicators[int(step[1:]) - 1].id, int(value))
    elif kind == "choice" and number is not None:
        walk.save_profile(walk.surveys.profile[number - 1].id, str(value))
    goto(turn, walk, walk.index(step) + 1, note=note)


def choose(turn: Turn, walk: Walk, step: str, action: str) -> None:
    """Yes/no steps: consent, resume, the profile questions' introduction, the summary."""
    if step == "consent":
        if action == "yes":
            walk.ensure_response()
            goto(turn, walk, 0)
        else:
            end(turn)
            turn.say(turn.t("survey_declined"), [turn.button("menu_button", "menu")])
    elif step == "resume":
        if action == "yes":
            goto(turn, walk, walk.ensure_response().position)
        elif action == "redo":
            goto(turn, walk, 0)
        else:
            end(turn)
            entry.choose_other(turn)
    elif step == "profile":
        goto(turn, walk, walk.index("p1") if action == "yes" else walk.index("notify"))
    elif step == "notify":
        if action == "yes":
            store.subscribe(turn.session, walk.round_id, turn.user.id)
        else:
            store.unsubscribe(turn.session, walk.round_id, turn.user.id)
        finish(turn, walk)
    else:
        show.show(turn, walk, step)


def control(turn: Turn, walk: Walk, step: str, action: str) -> None:
    """Back, skip or stop. Skipping a rating records it as skipped (an earlier score is kept);
    skipping the comment or a profile question records nothing."""
    index = walk.index(step)
    if action == "stop":
        stop(turn, walk, step)
    elif action == "back":
        if index == 0:
            show.show(turn, walk, step, note=turn.t("survey_first_question"))
        else:
            goto(turn, walk, index - 1)
    elif step_kind(step) == "rating":
        walk.save_rating(walk.survey.indicators[int(step[1:]) - 1].id, None)
        goto(turn, walk, index + 1)
    elif step == "profile":
        goto(turn, walk, walk.index("notify"))
    elif step == "notify":
        finish(turn, walk)
    else:  # comment or a profile question: nothing recorded, an earlier answer is kept
        goto(turn, walk, index + 1)
