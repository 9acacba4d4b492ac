"""`/rounds`: a CAF (or an admin) opens and closes the scoring rounds of their commune's
facilities from the chat, and reads the summary of a closed round. Everyone else is told the
command is for CAFs; every button re-checks the role and, for a CAF, that the facility is in
their commune (a payload can be forged).

The same functions as `isafbot rounds` (bot/scorecard/rounds.py): closing queues the summaries
for the respondents who asked for one, in the same transaction.
"""

from __future__ import annotations

from bot.messages import Button
from bot.scorecard import store
from bot.scorecard.results import round_results
from bot.scorecard.rounds import RoundError, close_round, open_round, summary_text
from content.sections.surveys import surveys_of
from dialogues import formatting as fmt
from dialogues.places import need_commune
from dialogues.router import Router, Turn

router = Router("rounds")
router.uses("rounds_not_allowed", "rounds_list", "rounds_open_button", "rounds_close_button",
            "rounds_results_button", "rounds_opened", "rounds_confirm_close",
            "rounds_close_yes", "rounds_closed", "rounds_none", "rounds_error", "menu_button",
            "change_commune")

ROLES = ("caf", "admin")
PREFIX = "rnd"


def _allowed(turn: Turn) -> bool:
    if turn.user.role in ROLES:
        return True
    turn.say(turn.t("rounds_not_allowed"), [turn.button("menu_button", "menu")])
    return False


@router.command("rounds")
def rounds_command(turn: Turn) -> None:
    if _allowed(turn):
        show_rounds(turn)


def show_rounds(turn: Turn) -> None:
    """The commune's facilities: open a round, or close the open one."""
    commune = need_commune(turn, then=PREFIX)
    if commune is None:
        return
    surveys = surveys_of(turn.content)
    facilities = surveys.in_commune(commune.code)
    after = [turn.button("change_commune", "commune:change"), turn.button("menu_button", "menu")]
    if not facilities:
        turn.say(turn.t("rounds_none", commune=commune.name(turn.lang)), after)
        return
    rounds = store.open_rounds(turn.session, [f.id for f in facilities])
    buttons = []
    for facility in facilities:
        name = facility.name(turn.lang)
        found = rounds.get(facility.id)
        if found is None:
            buttons.append(turn.button("rounds_open_button", f"{PREFIX}:open:{facility.id}",
                                       facility=name))
        else:
            buttons.append(turn.button("rounds_close_button", f"{PREFIX}:close:{found.id}",
                                       facility=name))
    turn.say(turn.t("rounds_list", commune=commune.name(turn.lang)), buttons + after)


@router.payload(PREFIX)
def rounds_button(turn: Turn) -> None:
    """`rnd` | `rnd:open:<facility>` | `rnd:close:<round>[:yes]` | `rnd:results:<round>`."""
    if not _allowed(turn):
        return
    parts = (turn.incoming.payload or "").split(":")
    action, value = [*parts, "", ""][1:3]
    confirmed = len(parts) > 3 and parts[3] == "yes"
    by = f"user:{turn.user.id}"
    try:
        if not _in_scope(turn, action, value):
            raise RoundError("not this CAF's commune")
        if action == "open":
            row = open_round(turn.session, turn.content, value, by=by)
            facility = surveys_of(turn.content).facilities[row.facility_id]
            turn.say(turn.t("rounds_opened", facility=facility.name(turn.lang),
                            start=f"svy_{facility.id}"),
                     [turn.button("menu_button", "menu")])
        elif action == "close" and value.isdigit():
            _close(turn, int(value), confirmed, by)
        elif action == "results" and value.isdigit():
            results = round_results(turn.session, surveys_of(turn.content), int(value))
            if results.round.closed_at is None:  # figures of an open round are not shared
                raise RoundError("the round is still open")
            turn.say(summary_text(turn.content, results, turn.lang, tz=turn.ctx.timezone),
                     [turn.button("menu_button", "menu")])
        else:
            show_rounds(turn)
    except (RoundError, LookupError):  # opened or closed meanwhile, or a forged id
        turn.say(turn.t("rounds_error"))
        show_rounds(turn)


def _in_scope(turn: Turn, action: str, value: str) -> bool:
    """A CAF acts on the facilities of their own commune; an admin on any."""
    if turn.user.role == "admin" or action not in ("open", "close", "results"):
        return True
    facility_id = value
    if action != "open":
        found = store.round_row(turn.session, int(value)) if value.isdigit() else None
        facility_id = found.facility_id if found else ""
    facility = surveys_of(turn.content).facilities.get(facility_id)
    return facility is not None and facility.commune == turn.user.commune_code


def _close(turn: Turn, round_id: int, confirmed: bool, by: str) -> None:
    surveys = surveys_of(turn.content)
    if not confirmed:
        results = round_results(turn.session, surveys, round_id)
        name = results.facility.name(turn.lang) if results.facility else \
            results.round.facility_id
        turn.say(turn.t("rounds_confirm_close", facility=name,
                        responses=fmt.integer(results.responses, turn.lang)),
                 [turn.button("rounds_close_yes", f"{PREFIX}:close:{round_id}:yes"),
                  turn.button("menu_button", "menu")])
        return
    row = close_round(turn.session, turn.content, round_id, by=by, tz=turn.ctx.timezone)
    facility = surveys.facilities.get(row.facility_id)
    turn.say(turn.t("rounds_closed", facility=facility.name(turn.lang) if facility
                    else row.facility_id, summaries=fmt.integer(row.summaries or 0, turn.lang)),
             [Button(turn.t("rounds_results_button"), f"{PREFIX}:results:{round_id}"),
              turn.button("menu_button", "menu")])
