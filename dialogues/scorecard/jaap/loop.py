"""What citizens and CAFs are told about a round's plan: the agreed actions, each status change,
a CAF's deadline reminder. Texts only, in the reader's language; the scheduler
(scheduler/jaap.py) decides who gets them and queues them in the outbox.

Citizens are told the action, who is responsible, by when and its status, never the CAF's
progress note (free text written for the CAFs), and each message names its source: the record
the commune's CAFs keep, with the date of the last change.
"""

from __future__ import annotations

from common import formatting as fmt
from common import khmer_dates as dates
from common.clock import local_date
from content.model import Content
from content.surveys.section import surveys_of
from dialogues.scorecard.jaap.models import JaapAction
from dialogues.scorecard.models import ScoringRound

STATUS_FACES = {"planned": "🗓", "in_progress": "🔧", "done": "✅", "dropped": "✖️"}


def facility_name(content: Content, facility_id: str, lang: str) -> str:
    facility = surveys_of(content).facilities.get(facility_id)
    return facility.name(lang) if facility else facility_id


def action_line(content: Content, action: JaapAction, lang: str) -> str:
    """"🔧 Open at 7:30 every day (provider, by 31 January 2027): in progress"."""
    return content.message(
        "jaap_action_line", lang, face=STATUS_FACES.get(str(action.status), ""),
        what=str(action.what),
        responsible=content.message(f"jaap_responsible_{action.responsible}", lang),
        due=dates.day(action.due_date, lang),
        status=content.message(f"jaap_status_{action.status}", lang))


def _source(content: Content, actions: list[JaapAction], lang: str, tz: str) -> str:
    latest = max((a.updated_at for a in actions), default=None)
    checked = fmt.day(local_date(latest, tz), lang) if latest else ""
    return content.message("jaap_source", lang, checked=checked)


def plan_text(content: Content, round_: ScoringRound, actions: list[JaapAction], lang: str,
              *, tz: str) -> str:
    """The agreed plan, sent once when a CAF shares it."""
    lines = "\n".join(action_line(content, action, lang) for action in actions)
    return content.message("jaap_plan_message", lang,
                           facility=facility_name(content, str(round_.facility_id), lang),
                           lines=lines, source=_source(content, actions, lang, tz))


def status_text(content: Content, round_: ScoringRound, action: JaapAction, lang: str, *,
                tz: str) -> str:
    """One action's new status ("the health centre now opens at 7:30: done")."""
    return content.message("jaap_status_message", lang,
                           facility=facility_name(content, str(round_.facility_id), lang),
                           line=action_line(content, action, lang),
                           source=_source(content, [action], lang, tz))


def deadline_text(content: Content, round_: ScoringRound, action: JaapAction, days: int,
                  lang: str) -> str:
    """To the CAFs of the commune, `days` before an action's date."""
    return content.message("jaap_deadline_reminder", lang, days=fmt.integer(days, lang),
                           facility=facility_name(content, str(round_.facility_id), lang),
                           line=action_line(content, action, lang))
