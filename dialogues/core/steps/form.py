"""The form walker: step-by-step forms of content/forms/*.yml, a flow named "form" whose state
holds the form id, the step and the values given so far (so a user who comes back later
resumes at the step they left).

A feature owns a form by registering its hooks on its router: `router.form(form_id,
FormHooks(...))`: the communes offered at a `place` step, the preview shown at the `confirm`
step, and what to do once confirmed (`done`, which must re-check permissions: a button payload
can be forged). The walker only asks, reads (dialogues/core/steps/kinds.py) and stores answers.

Buttons: `frm:<value>` answers the current step (`frm:c:<index>` for a choice, `frm:m:<code>`
for a place, `frm:skip`, `frm:yes`), `frm:back` goes back one step, `frm:cancel` stops the
form. A button pressed after the form moved on (or ended) is answered with "that button is
old", never acted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common import formatting as fmt
from common import khmer_dates as dates
from common.messages import Button, Kind
from content.forms.section import Form, Step, forms_of
from content.places import gazetteer
from dialogues.core.router import Router, Turn
from dialogues.core.steps import kinds
from dialogues.core.steps.buttons import payload

router = Router("forms", private=lambda turn: "meet")  # CAF forms: private chats only
router.uses("form_cancel_button", "form_back_button", "form_skip_button", "form_yes_button",
            "form_cancelled", "form_stale", "form_press_button", "form_too_long", "form_empty",
            "form_when_unreadable", "form_when_no_date", "form_when_no_time",
            "form_when_bad_date", "form_when_past", "form_when_understood",
            "form_day_unreadable", "form_day_bad_date", "form_day_past", "form_day_understood",
            "form_amount_not_a_number", "form_amount_zero", "form_amount_several",
            "form_amount_too_large")

FLOW = "form"
PREFIX = "frm"
# A whole message that means "stop this form" (the form's intro says to type cancel; people
# also write these). Only the whole message: "they told me to stop" is an answer.
_CANCEL_WORDS = frozenset((
    "cancel", "stop", "quit", "exit", "never mind", "nevermind", "forget it", "nah forget it",
    "no forget it", "bye", "cya", "បោះបង់", "ឈប់", "ឈប់សិន", "ឈប់ហើយ", "បោះបង់ចោល", "ចេញ"))
_ATTACHMENTS = (Kind.IMAGE, Kind.VOICE, Kind.AUDIO, Kind.FILE, Kind.VIDEO)
Values = dict[str, Any]


@dataclass(frozen=True)
class FormHooks:
    """What a feature does with its form: the rest is the walker's."""

    done: Callable[[Turn, Values, Values], None]  # (turn, values, extra), once confirmed
    preview: Callable[[Turn, Values, Values], str]  # shown with the confirm step's question
    communes: Callable[[Turn, Values], list[str]] = lambda turn, flow: []  # a place step's
    # steps not to ask (already answered from the first message, or not relevant to the
    # answers so far): (turn, flow, step id) -> skip it
    skip: Callable[[Turn, Values, str], bool] = lambda turn, flow, step_id: False
    # a photo, voice note or file sent while the form is open (None: "press a button")
    attachment: Callable[[Turn], None] | None = None


def start_form(turn: Turn, form_id: str, *, values: Values | None = None, **extra: Any) -> None:
    """Begin a form at its first step; `values` pre-fills answers (an edit), `extra` is kept
    in the flow for the hooks (a meeting id...)."""
    turn.start_flow(FLOW, form=form_id, step=0, values=dict(values or {}), extra=extra)
    _ask(turn)


def resume_form(turn: Turn) -> None:
    """Ask the current step of the form in progress again (a user back after a while)."""
    _ask(turn)


def _hooks(turn: Turn, form_id: str) -> FormHooks | None:
    hooks = turn.dialogues.forms.get(form_id)
    return hooks if isinstance(hooks, FormHooks) else None


def _form(turn: Turn) -> tuple[Form, Values, FormHooks] | None:
    """The form in progress, its flow state and its hooks (a flow of a form that no longer
    exists, or that no feature owns, is ended)."""
    flow = turn.flow()
    if not flow or flow.get("name") != FLOW:
        return None
    form_id = str(flow.get("form"))
    form, hooks = forms_of(turn.content).get(form_id), _hooks(turn, form_id)
    if form is None or hooks is None:
        turn.end_flow()
        return None
    return form, flow, hooks


def _step(form: Form, flow: Values) -> Step:
    index = min(max(int(flow.get("step", 0)), 0), len(form.steps) - 1)
    return form.steps[index]


def _controls(turn: Turn, flow: Values, step: Step) -> list[Button]:
    buttons = []
    if step.optional:
        buttons.append(turn.button("form_skip_button", payload(PREFIX, "skip")))
    if int(flow.get("step", 0)) > 0:
        buttons.append(turn.button("form_back_button", payload(PREFIX, "back")))
    buttons.append(turn.button("form_cancel_button", payload(PREFIX, "cancel")))
    return buttons


def _ask(turn: Turn) -> None:
    """Say the current step's question with its buttons (a place step with one commune to
    offer answers itself)."""
    found = _form(turn)
    if found is None:
        return
    form, flow, hooks = found
    while hooks.skip(turn, flow, _step(form, flow).id) \
            and int(flow.get("step", 0)) < len(form.steps) - 1:
        flow["step"] = int(flow.get("step", 0)) + 1
    step = _step(form, flow)
    controls = _controls(turn, flow, step)
    if step.type == "place":
        communes = hooks.communes(turn, flow)
        if len(communes) == 1:  # nothing to choose
            _advance(turn, form, flow, step, communes[0])
            return
        turn.say(turn.t(step.ask), _place_buttons(turn, communes) + controls)
    elif step.type == "choice":
        buttons = [Button(turn.t(f"{step.label}{option}"), payload(PREFIX, "c", index))
                   for index, option in enumerate(step.options)]
        turn.say(turn.t(step.ask), buttons + controls)
    elif step.type == "confirm":
        preview = hooks.preview(turn, flow["values"], flow.get("extra") or {})
        turn.say(f"{turn.t(step.ask)}\n\n{preview}",
                 [turn.button("form_yes_button", payload(PREFIX, "yes")), *controls])
    else:
        turn.say(turn.t(step.ask), controls)


def _place_buttons(turn: Turn, communes: list[str]) -> list[Button]:
    return [Button(place.label(turn.lang) if (place := gazetteer().get(code)) else code,
                   payload(PREFIX, "m", code)) for code in communes]


def _advance(turn: Turn, form: Form, flow: Values, step: Step, value: Any) -> None:
    flow["values"][step.id] = value
    flow["step"] = form.index(step.id) + 1
    _ask(turn)


def _reads_every_text(flow: Values, text: str, ctx: Any) -> bool:
    """A form step reads what is typed itself (a place, a date, a choice): never the NLU."""
    return True


@router.flow(FLOW, takes_text=_reads_every_text)
def on_text(turn: Turn) -> bool:
    """A typed answer to the current step, read by its kind."""
    found = _form(turn)
    if found is None:
        return False
    form, flow, hooks = found
    step = _step(form, flow)
    if turn.incoming.kind in _ATTACHMENTS and hooks.attachment is not None:
        hooks.attachment(turn)
        _ask(turn)
        return True
    text = turn.text.strip()
    if text.lower().strip(" .!?។") in _CANCEL_WORDS:
        _cancel(turn)
        return True
    if step.type == "text":
        _typed_text(turn, form, flow, step, text)
    elif step.type == "datetime":
        _typed_when(turn, form, flow, step, text)
    elif step.type == "date":
        _typed_day(turn, form, flow, step, text)
    elif step.type == "amount":
        _typed_amount(turn, form, flow, step, text)
    else:  # a choice, place or confirmation: buttons only
        turn.say(turn.t("form_press_button"))
        _ask(turn)
    return True


def _typed_text(turn: Turn, form: Form, flow: Values, step: Step, text: str) -> None:
    read = kinds.read_text(text, step.max)
    if read.problem == "empty":
        turn.say(turn.t("form_empty"), _controls(turn, flow, step))
    elif read.problem == "too_long":
        turn.say(turn.t("form_too_long", max=fmt.integer(step.max, turn.lang)),
                 _controls(turn, flow, step))
    else:
        _advance(turn, form, flow, step, read.value)


def _typed_when(turn: Turn, form: Form, flow: Values, step: Step, text: str) -> None:
    given = flow["values"].get(step.id)  # an edit's answer: "move it to 3" keeps its day
    base = datetime.fromisoformat(given) if isinstance(given, str) and given else None
    read = kinds.read_datetime(text, turn.now.astimezone(ZoneInfo(turn.ctx.timezone)), base)
    if not read.ok:
        at = read.values.get("at")
        values = {"when": fmt.moment(at, turn.lang)} if at else {}
        turn.say(turn.t(f"form_when_{read.problem}", **values), _controls(turn, flow, step))
        return
    turn.say(turn.t("form_when_understood", when=fmt.moment(read.value, turn.lang)))
    _advance(turn, form, flow, step, read.value.isoformat())


def _typed_day(turn: Turn, form: Form, flow: Values, step: Step, text: str) -> None:
    read = kinds.read_date(text, turn.now.astimezone(ZoneInfo(turn.ctx.timezone)).date())
    if not read.ok:
        at = read.values.get("at")
        # (the Khmer message already says ថ្ងៃ before the day: "ថ្ងៃ អង្គារ ទី៨ ខែធ្នូ ...")
        values = {"day": dates.day(at, turn.lang).removeprefix("ថ្ងៃ")} if at else {}
        turn.say(turn.t(f"form_day_{read.problem}", **values), _controls(turn, flow, step))
        return
    turn.say(turn.t("form_day_understood", day=dates.day(read.value, turn.lang)))
    _advance(turn, form, flow, step, read.value.isoformat())


def _typed_amount(turn: Turn, form: Form, flow: Values, step: Step, text: str) -> None:
    read = kinds.read_amount(text)
    if not read.ok:
        turn.say(turn.t(f"form_amount_{read.problem}"), _controls(turn, flow, step))
        return
    _advance(turn, form, flow, step, read.value)


@router.payload(PREFIX)
def on_button(turn: Turn) -> None:
    """A button of the form: an answer, skip, back, cancel or the confirmation."""
    action, _, value = (turn.incoming.payload or "").partition(":")[2].partition(":")
    found = _form(turn)
    if found is None:
        turn.say(turn.t("form_stale"), [turn.button("menu_button", "menu")])
        return
    form, flow, hooks = found
    step = _step(form, flow)
    if action == "cancel":
        _cancel(turn)
    elif action == "back":
        _back(turn, form, flow, hooks)
    elif action == "skip" and step.optional:
        _advance(turn, form, flow, step, None)
    elif action == "c" and step.type == "choice" and value.isdigit() \
            and int(value) < len(step.options):
        _advance(turn, form, flow, step, step.options[int(value)])
    elif action == "m" and step.type == "place" \
            and kinds.read_place(value, hooks.communes(turn, flow)).ok:
        _advance(turn, form, flow, step, value)
    elif action == "yes" and step.type == "confirm":
        values, extra = dict(flow["values"]), dict(flow.get("extra") or {})
        turn.end_flow()
        hooks.done(turn, values, extra)
    else:  # a button of an earlier step, or forged
        turn.say(turn.t("form_stale"))
        _ask(turn)


def _back(turn: Turn, form: Form, flow: Values, hooks: FormHooks) -> None:
    """One step back, over the steps the hooks skip (the first step is always asked)."""
    index = max(0, int(flow.get("step", 0)) - 1)
    while index > 0 and hooks.skip(turn, flow, form.steps[index].id):
        index -= 1
    flow["step"] = index
    _ask(turn)


def _cancel(turn: Turn) -> None:
    turn.end_flow()
    turn.say(turn.t("form_cancelled"), [turn.button("menu_button", "menu")])


def local_time(value: str) -> datetime:
    """A datetime step's stored value (ISO with its offset)."""
    return datetime.fromisoformat(value)
