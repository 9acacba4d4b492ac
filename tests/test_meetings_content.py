"""The meetings forms are valid data: every step's messages exist in km and en, every form has
its hooks, and a broken form is reported by the content check, not at run time."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.features import FEATURES
from content.forms.section import forms_of
from content.loader import check_content, load_content

ROOT = Path(__file__).resolve().parent.parent


def test_every_form_step_speaks_both_languages_and_has_hooks() -> None:
    content = load_content(sections=FEATURES.sections)
    found = forms_of(content)
    assert set(found) == {"meeting", "meeting_time", "meeting_place", "broadcast", "report",
                          "jaap_action", "jaap_discussion", "jaap_status"}
    hooked = {form_id for router in FEATURES.routers for form_id in router.forms}
    for form in found.values():
        assert form.id in hooked
        for step in form.steps:
            for key in step.message_keys():
                assert key in FEATURES.required_messages(), key
                assert content.message(key, "km") and content.message(key, "en")


def test_a_broken_form_is_a_content_problem(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    (root / "forms" / "meetings.yml").write_text(
        "meeting:\n  steps:\n    - {id: kind, type: dropdown, ask: meet_ask_kind}\n"
        "broadcast:\n  steps: []\n", encoding="utf-8")
    content, problems = check_content(root, sections=FEATURES.sections)
    assert content is None
    text = "\n".join(str(p) for p in problems)
    assert "one of choice, place, text, datetime, date, confirm, amount" in text
    assert "a form needs a list of steps" in text
