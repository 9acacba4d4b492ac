""""When will I know the results of the health centre rating?" typed as a question (issue 19,
"everything typed"): what is known of the rounds this person cares about, never a new rating.

The rounds are those they asked a summary of (round_subscriptions: kept only while a summary
or the plan is still to come) and the open rounds of their commune's facilities. A round has no
planned end: the commune's CAF closes it before the interface meeting, and the summary goes to
those who asked for it then. `dialogues.core.understanding` reads the question (intent
`ask_results`); the NLU has no intent of its own for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from common import khmer_dates as dates
from common.clock import local_date
from content.surveys.section import surveys_of
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import ASK_RESULTS
from dialogues.scorecard import store
from dialogues.scorecard.models import RoundSubscription, ScoringRound

router = Router("results_when")
router.uses("results_when_open", "results_when_closed", "results_when_asked",
            "results_when_none", "results_when_how", "menu_meetings", "menu_survey",
            "menu_button")

MAX_ROUNDS = 3


@router.intent(ASK_RESULTS)
def results_when(turn: Turn) -> None:
    """Each round's state in a line, then how results come, with the meetings' button."""
    asked = _asked_rounds(turn)
    rounds = [*asked, *(r for r in _open_in_commune(turn) if r.id not in {a.id for a in asked})]
    lines = [_line(turn, r, subscribed=r in asked) for r in rounds[:MAX_ROUNDS]]
    buttons = [turn.button("menu_meetings", "meet:next"), turn.button("menu_button", "menu")]
    if not lines:
        turn.say(turn.t("results_when_none") + "\n" + turn.t("results_when_how"),
                 [turn.button("menu_survey", "svy"), *buttons])
        return
    turn.say("\n".join(lines) + "\n\n" + turn.t("results_when_how"), buttons)


def _asked_rounds(turn: Turn) -> list[ScoringRound]:
    return list(turn.session.execute(
        select(ScoringRound).join(RoundSubscription,
                                  RoundSubscription.round_id == ScoringRound.id)
        .where(RoundSubscription.user_id == turn.user.id)
        .order_by(ScoringRound.opened_at.desc()).limit(MAX_ROUNDS)).scalars())


def _open_in_commune(turn: Turn) -> list[ScoringRound]:
    if not turn.user.commune_code:
        return []
    facilities = surveys_of(turn.content).in_commune(turn.user.commune_code)
    found = store.open_rounds(turn.session, [f.id for f in facilities])
    return [found[f.id] for f in facilities if f.id in found]


def _line(turn: Turn, round_: ScoringRound, *, subscribed: bool) -> str:
    facility = surveys_of(turn.content).facilities.get(round_.facility_id)
    name = facility.name(turn.lang) if facility is not None else round_.facility_id
    if round_.closed_at is not None:
        return turn.t("results_when_closed", facility=name, day=_day(turn, round_.closed_at))
    line = turn.t("results_when_open", facility=name, day=_day(turn, round_.opened_at))
    return line + (" " + turn.t("results_when_asked") if subscribed else "")


def _day(turn: Turn, moment: datetime) -> str:
    """A stored naive UTC time as the local day people would say."""
    return dates.day(local_date(moment, turn.ctx.timezone), turn.lang, weekday=False)
