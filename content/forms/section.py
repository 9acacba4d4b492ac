"""Step-by-step forms (content/forms/*.yml) and quizzes (content/budgets/quiz.yml): data walked
by the one step engine (dialogues/core/steps/form.py, with the step kinds of
dialogues/core/steps/kinds.py). Validated at load: step types, options, and that every message
a step names exists in messages.yml in km and en."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from content.loader import Checker, Section
from content.model import Content, Source

STEP_TYPES = ("choice", "place", "text", "datetime", "date", "confirm",
              "amount")  # the kinds a form walks
_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    ask: str  # message key
    options: tuple[str, ...] = ()
    label: str = ""  # message key prefix of the options' labels
    max: int = 500
    optional: bool = False

    def message_keys(self) -> list[str]:
        """The question, and the options' labels when they are messages (a quiz's options
        can be ranks whose labels come from the figures)."""
        return [self.ask, *(f"{self.label}{option}" for option in self.options if self.label)]


@dataclass(frozen=True)
class Form:
    id: str
    steps: tuple[Step, ...]

    def index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)


class Forms(dict[str, Form]):
    """Every form by id: the type is the key of the section in `Content.sections`."""


def load_forms(check: Checker, sources: dict[str, Source]) -> Forms:
    forms = Forms()
    for path in sorted((check.root / "forms").glob("*.yml")):
        data = check.mapping(check.read_yaml(path), path, "-", "-")
        for form_id, raw in data.items():
            form = _form(check, path, str(form_id), raw)
            if form is None:
                continue
            if form.id in forms:
                check.problem(path, form.id, "-", "form defined twice")
            forms[form.id] = form
    return forms


def _form(check: Checker, path: Any, form_id: str, raw: Any) -> Form | None:
    if not _ID.match(form_id):
        check.problem(path, form_id, "-", "form ids are lower-case ASCII (they go in states)")
        return None
    steps_raw = check.mapping(raw, path, form_id, "-").get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        check.problem(path, form_id, "steps", "a form needs a list of steps")
        return None
    steps = []
    for position, item in enumerate(steps_raw, start=1):
        entry = f"{form_id} step {position}"
        item = check.mapping(item, path, entry, "-")
        step_id, kind, ask = item.get("id"), item.get("type"), item.get("ask")
        if not isinstance(step_id, str) or not _ID.match(step_id):
            check.problem(path, entry, "id", "missing or not a lower-case ASCII id")
            continue
        if kind not in STEP_TYPES:
            check.problem(path, entry, "type", f"one of {', '.join(STEP_TYPES)}")
            continue
        if not isinstance(ask, str) or not ask:
            check.problem(path, entry, "ask", "the message key of the question is missing")
            continue
        options = item.get("options") or []
        if kind == "choice" and (not isinstance(options, list) or not options or not all(
                isinstance(o, str) and _ID.match(o) for o in options)):
            check.problem(path, entry, "options", "a choice needs a list of option ids")
            continue
        limit = item.get("max", 500)
        if not isinstance(limit, int) or limit <= 0:
            check.problem(path, entry, "max", "a positive number of characters")
            continue
        steps.append(Step(id=step_id, type=kind, ask=ask, options=tuple(options),
                          label=str(item.get("label", "")), max=limit,
                          optional=bool(item.get("optional", False))))
    if len(steps) != len(steps_raw):
        return None
    if len({s.id for s in steps}) != len(steps):
        check.problem(path, form_id, "steps", "two steps have the same id")
        return None
    return Form(form_id, tuple(steps))


class Quizzes(dict[str, Form]):
    """Every quiz by id (content/budgets/quiz.yml): step lists too, walked by their feature with
    the same step kinds."""


def load_quizzes(check: Checker, sources: dict[str, Source]) -> Quizzes:
    quizzes = Quizzes()
    path = check.root / "budgets" / "quiz.yml"
    if not path.exists():
        return quizzes
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    for quiz_id, raw in data.items():
        quiz = _form(check, path, str(quiz_id), raw)
        if quiz is not None:
            quizzes[quiz.id] = quiz
    return quizzes


def forms_of(content: Content) -> dict[str, Form]:
    return dict(content.sections.get(Forms) or {})


def quizzes_of(content: Content) -> dict[str, Form]:
    return dict(content.sections.get(Quizzes) or {})


SECTION = Section("forms", Forms, load_forms)  # listed in the core feature record
QUIZ_SECTION = Section("quizzes", Quizzes, load_quizzes)  # listed in the budgets feature record
