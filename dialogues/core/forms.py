"""The one walker of step-by-step forms (content/forms/*.yml): a flow named "form" whose state
holds the form id, the step and the values given so far.

A dialogue module registers what a form needs with `register(form_id, FormHooks(...))`: the
communes offered at a `commune` step, the preview shown at the `confirm` step, and what to do
once confirmed (`done`, which must re-check permissions: a button payload can be forged). The
walker itself only asks, checks and stores answers.

Buttons: `frm:<value>` answers the current step (`frm:c:<index>` for a choice, `frm:m:<code>`
for a commune, `frm:skip`, `frm:yes`), `frm:back` goes back one step, `frm:cancel` stops the
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
from common.messages import Button
from common.when import parse_when
from content.forms.section import Form, Step, forms_of
from content.places import gazetteer
from dialogues.core.router import Router, Turn

router = Router("forms", private=lambda turn: "meet")  # CAF forms: private chats only
router.uses("form_cancel_button", "form_back_button", "form_skip_button", "form_yes_button",
            "form_cancelled", "form_stale", "form_press_button", "form_too_long", "form_empty",
            "form_when_unreadable", "form_when_no_date", "form_when_no_time",
            "form_when_bad_date", "form_when_past", "form_when_understood")

FLOW = "form"
PREFIX = "frm"
_CANCEL_WORDS = ("cancel", "បោះបង់")


@dataclass(frozen=True)
class FormHooks:
    done: Callable[[Turn, dict[str, Any], dict[str, Any]], None]
    preview: Callable[[Turn, dict[str, Any], dict[str, Any]], str]
    communes: Callable[[Turn, dict[str, Any]], list[str]] = lambda turn, flow: []


_hooks: dict[str, FormHooks] = {}


def register(form_id: str, hooks: FormHooks) -> None:
    """Called once at import by the module that owns the form (its router's module)."""
    _hooks[form_id] = hooks


def start_form(turn: Turn, form_id: str, *, values: dict[str, Any] | None = None,
               **extra: Any) -> None:
    """Begin a form at its first step; `values` pre-fills answers (an edit), `extra` is kept
    in the flow for the hooks (a meeting id...)."""
    turn.start_flow(FLOW, form=form_id, step=0, values=dict(values or {}), extra=extra)
    _ask(turn)


def _form(turn: Turn) -> tuple[Form, dict[str, Any]] | None:
    flow = turn.flow()
    if not flow or flow.get("name") != FLOW:
        return None
    form = forms_of(turn.content).get(str(flow.get("form")))
    if form is None or str(flow.get("form")) not in _hooks:
        turn.end_flow()
        return None
    return form, flow


def _step(form: Form, flow: dict[str, Any]) -> Step:
    index = min(max(int(flow.get("step", 0)), 0), len(form.steps) - 1)
    return form.steps[index]


def _controls(turn: Turn, flow: dict[str, Any], step: Step) -> list[Button]:
    buttons = []
    if step.optional:
        buttons.append(turn.button("form_skip_button", f"{PREFIX}:skip"))
    if int(flow.get("step", 0)) > 0:
        buttons.append(turn.button("form_back_button", f"{PREFIX}:back"))
    buttons.append(turn.button("form_cancel_button", f"{PREFIX}:cancel"))
    return buttons


def _ask(turn: Turn) -> None:
    found = _form(turn)
    if found is None:
        return
    form, flow = found
    step = _step(form, flow)
    hooks = _hooks[form.id]
    if step.type == "commune":
        communes = hooks.communes(turn, flow)
        if len(communes) == 1:  # nothing to choose
            _advance(turn, form, flow, step, communes[0])
            return
        buttons = [Button(place.label(turn.lang) if (place := gazetteer().get(code)) else code,
                          f"{PREFIX}:m:{code}") for code in communes]
        turn.say(turn.t(step.ask), buttons + _controls(turn, flow, step))
    elif step.type == "choice":
        buttons = [Button(turn.t(f"{step.label}{option}"), f"{PREFIX}:c:{index}")
                   for index, option in enumerate(step.options)]
        turn.say(turn.t(step.ask), buttons + _controls(turn, flow, step))
    elif step.type == "confirm":
        preview = hooks.preview(turn, flow["values"], flow.get("extra") or {})
        turn.say(f"{turn.t(step.ask)}\n\n{preview}",
                 [turn.button("form_yes_button", f"{PREFIX}:yes"),
                  *_controls(turn, flow, step)])
    else:
        turn.say(turn.t(step.ask), _controls(turn, flow, step))


def _advance(turn: Turn, form: Form, flow: dict[str, Any], step: Step, value: Any) -> None:
    flow["values"][step.id] = value
    flow["step"] = form.index(step.id) + 1
    _ask(turn)


def _reads_every_text(flow: dict[str, Any], text: str, ctx: Any) -> bool:
    """A form step reads what is typed itself (a place, a date, a choice): never the NLU."""
    return True


@router.flow(FLOW, takes_text=_reads_every_text)
def on_text(turn: Turn) -> bool:
    """A typed answer to the current step."""
    found = _form(turn)
    if found is None:
        return False
    form, flow = found
    step = _step(form, flow)
    text = turn.text.strip()
    if text.lower() in _CANCEL_WORDS:
        _cancel(turn)
        return True
    if step.type == "text":
        if not text:
            turn.say(turn.t("form_empty"), _controls(turn, flow, step))
        elif len(text) > step.max:
            turn.say(turn.t("form_too_long", max=fmt.integer(step.max, turn.lang)),
                     _controls(turn, flow, step))
        else:
            _advance(turn, form, flow, step, text)
        return True
    if step.type == "datetime":
        zone = ZoneInfo(turn.ctx.timezone)
        when = parse_when(text, turn.now.astimezone(zone))
        if when.problem or when.at is None:
            values = {"when": fmt.moment(when.at, turn.lang)} if when.at else {}
            turn.say(turn.t(f"form_when_{when.problem}", **values),
                     _controls(turn, flow, step))
            return True
        turn.say(turn.t("form_when_understood", when=fmt.moment(when.at, turn.lang)))
        _advance(turn, form, flow, step, when.at.isoformat())
        return True
    turn.say(turn.t("form_press_button"))  # a choice, commune or confirmation: buttons only
    _ask(turn)
    return True


@router.payload(PREFIX)
def on_button(turn: Turn) -> None:
    payload = turn.incoming.payload or ""
    action, _, value = payload.partition(":")[2].partition(":")
    found = _form(turn)
    if found is None:
        turn.say(turn.t("form_stale"), [turn.button("menu_button", "menu")])
        return
    form, flow = found
    step = _step(form, flow)
    if action == "cancel":
        _cancel(turn)
    elif action == "back":
        flow["step"] = max(0, int(flow.get("step", 0)) - 1)
        _ask(turn)
    elif action == "skip" and step.optional:
        _advance(turn, form, flow, step, None)
    elif action == "c" and step.type == "choice" and value.isdigit() \
            and int(value) < len(step.options):
        _advance(turn, form, flow, step, step.options[int(value)])
    elif action == "m" and step.type == "commune" \
            and value in _hooks[form.id].communes(turn, flow):
        _advance(turn, form, flow, step, value)
    elif action == "yes" and step.type == "confirm":
        values, extra = dict(flow["values"]), dict(flow.get("extra") or {})
        turn.end_flow()
        _hooks[form.id].done(turn, values, extra)
    else:  # a button of an earlier step, or forged
        turn.say(turn.t("form_stale"))
        _ask(turn)


def _cancel(turn: Turn) -> None:
    turn.end_flow()
    turn.say(turn.t("form_cancelled"), [turn.button("menu_button", "menu")])


def local_time(value: str) -> datetime:
    """A datetime step's stored value (ISO with its offset)."""
    return datetime.fromisoformat(value)
