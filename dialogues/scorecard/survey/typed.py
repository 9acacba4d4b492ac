"""Typed messages while the survey is open: each step reads its answer by its kind
(dialogues/core/steps/kinds.py: rating, choice, free text, yes/no), never through the NLU; only a
text that answers nothing is asked to the NLU, to tell whether the person wants something else
(the survey then pauses, answers kept)."""

from __future__ import annotations

from common import formatting as fmt
from common.messages import Kind
from content.surveys.section import answer_key, surveys_of, typed_number
from dialogues.core.context import DialogueContext
from dialogues.core.router import Turn
from dialogues.core.steps import kinds
from dialogues.scorecard import store
from dialogues.scorecard.store import RoundClosed
from dialogues.scorecard.survey import act, personal, show
from dialogues.scorecard.survey.walk import (
    FLOW,
    LEAVE_CONFIDENCE,
    LEAVE_INTENTS,
    YES_NO_CONFIDENCE,
    Walk,
    current_walk,
    end,
    profile_number,
    router,
    step_kind,
    yes_no_words,
)


def reads_itself(flow: dict[str, object], text: str, ctx: DialogueContext) -> bool:
    """The texts the survey takes as they are, decided before any parsing, so they never go
    to the NLU server: every comment, and every typed answer of the current step (a number,
    a word of the scale, of a profile question's options, yes/no, back/skip/stop)."""
    step = str(flow.get("step", ""))
    if step == "comment":
        return True
    surveys = surveys_of(ctx.content)
    key = answer_key(text)
    if not key or key in surveys.controls:
        return True
    kind = step_kind(step)
    if kind == "rating":
        return kinds.read_rating(text, surveys.scale_words, len(surveys.scale)).understood
    number = profile_number(step, surveys)
    if kind == "choice" and number is not None:
        question = surveys.profile[number - 1]
        return key in question.words or typed_number(text) is not None
    if kind == "confirm":
        return kinds.read_confirm(text, yes_no_words(surveys)).ok
    return False


@router.flow(FLOW, takes_text=reads_itself)
def on_message(turn: Turn) -> bool:
    """Every message while the survey is open: typed answers and control words. A message the
    NLU is sure means something else pauses the survey and goes through (False)."""
    step = str((turn.flow() or {}).get("step", ""))
    walk = current_walk(turn)
    try:
        if turn.incoming.kind != Kind.TEXT:
            show.show(turn, walk, step, note=turn.t("survey_not_text"))
            return True
        if not turn.text.strip():
            show.show(turn, walk, step)
            return True
        return _typed(turn, walk, step)
    except RoundClosed:
        act.round_closed(turn)
        return True


def _typed(turn: Turn, walk: Walk | None, step: str) -> bool:
    """A typed text at a step, read by the step's kind."""
    control_word = surveys_of(turn.content).controls.get(answer_key(turn.text))
    if step in ("facility", "commune"):
        return _before_walk(turn, walk, step, control_word)
    if walk is None:
        end(turn)
        return False
    if control_word and step not in ("consent", "resume"):
        act.control(turn, walk, step, control_word)
        return True
    kind = step_kind(step)
    if kind == "confirm":
        return _typed_confirm(turn, walk, step, control_word)
    if kind == "rating":
        return _typed_rating(turn, walk, step)
    if kind == "text":
        return _typed_comment(turn, walk, step)
    if kind == "choice" and profile_number(step, walk.surveys) is not None:
        return _typed_choice(turn, walk, step)
    show.show(turn, walk, step)
    return True


def _before_walk(turn: Turn, walk: Walk | None, step: str, control_word: str | None) -> bool:
    """Choosing the commune or facility (by buttons): "stop" stops, another request leaves."""
    if control_word == "stop":
        act.stop(turn, None)
        return True
    if _leaving(turn):
        end(turn)
        return False
    show.show(turn, walk, step)
    return True


def _leaving(turn: Turn) -> bool:
    understanding = turn.understanding
    return bool(understanding and understanding.intent in LEAVE_INTENTS
                and understanding.confidence >= LEAVE_CONFIDENCE)


def _pause(turn: Turn, walk: Walk) -> bool:
    """The user asked something else: keep the answers, let the message through."""
    end(turn)
    turn.say(turn.t("survey_paused", facility=walk.facility.name(turn.lang)))
    return False


def _means_no(turn: Turn, walk: Walk, key: str) -> bool:
    """A short "no" (a profile question's "no" words, or the NLU sure of a short deny)."""
    if any(question.words.get(key) == "no" for question in walk.surveys.profile):
        return True
    understanding = turn.understanding
    return bool(understanding and understanding.intent == "deny" and len(key) <= 12
                and understanding.confidence >= LEAVE_CONFIDENCE)


def _typed_rating(turn: Turn, walk: Walk, step: str) -> bool:
    read = kinds.read_rating(turn.text, walk.surveys.scale_words, len(walk.surveys.scale))
    if read.ok:
        act.answer(turn, walk, step, read.value)
    elif read.problem:
        show.show(turn, walk, step, note=turn.t("survey_out_of_range"))
    elif _leaving(turn):
        return _pause(turn, walk)
    else:
        show.show(turn, walk, step,
                  note=f"{turn.t('survey_not_understood')} {turn.t('survey_answer_hint')}")
    return True


def _typed_choice(turn: Turn, walk: Walk, step: str) -> bool:
    question = walk.surveys.profile[(profile_number(step, walk.surveys) or 1) - 1]
    read = kinds.read_choice(turn.text, question.words, by_number=lambda age: (
        option.id if (option := question.option_for_age(age)) else None))
    if read.ok:
        act.answer(turn, walk, step, read.value)
        return True
    if _leaving(turn):
        return _pause(turn, walk)
    show.show(turn, walk, step, note=turn.t("survey_option_not_understood"))
    return True


def _typed_comment(turn: Turn, walk: Walk, step: str) -> bool:
    """The comment: "no" skips it; saved (cut to the store's limit) when it has words."""
    if _means_no(turn, walk, answer_key(turn.text)):  # "no", "ទេ": no comment
        act.control(turn, walk, step, "skip")
        return True
    read = kinds.read_text(turn.text, 0, needs_letters=True)
    if not read.ok:
        show.show(turn, walk, step, note=turn.t("survey_comment_no_words"))
        return True
    walk.ensure_response()
    cut = store.save_comment(turn.session, walk.round_id, walk.author, turn.text.strip())
    if personal.offer(turn, walk, step, turn.text.strip()):
        return True
    note = turn.t("survey_comment_saved")
    if cut:
        note += " " + turn.t("survey_comment_truncated",
                             n=fmt.integer(store.MAX_COMMENT_CHARS, turn.lang))
    act.goto(turn, walk, walk.index(step) + 1, note=note)
    return True


def _typed_confirm(turn: Turn, walk: Walk, step: str, control_word: str | None) -> bool:
    """Yes or no, by the survey's words, else by the NLU when it is fairly sure."""
    read = kinds.read_confirm(turn.text, yes_no_words(walk.surveys))
    understanding = turn.understanding
    intent = {"yes": "affirm", "no": "deny"}.get(str(read.value)) if read.ok else (
        understanding.intent if understanding
        and understanding.confidence >= YES_NO_CONFIDENCE else None)
    if control_word == "stop" and step in ("consent", "resume"):
        act.stop(turn, None)
    elif intent in ("affirm", "deny"):
        act.choose(turn, walk, step, "yes" if intent == "affirm" else "no")
    elif _leaving(turn):
        if step in ("consent", "resume"):
            end(turn)
            return False
        return _pause(turn, walk)
    else:
        show.show(turn, walk, step, note=turn.t("survey_yes_no_hint"))
    return True

