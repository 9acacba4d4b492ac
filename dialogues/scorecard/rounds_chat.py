"""`/rounds`: a CAF (or an admin) opens and closes the scoring rounds of their communes'
facilities from the chat, and reads the summary of a closed round. Everyone else is told the
command is for CAFs. A CAF sees and acts on the facilities of the communes granted to them
(dialogues.core.permissions), never of the commune they named as theirs; every button checks
again when it is pressed (a payload can be forged, a role revoked between two messages).

The same functions as `isafbot rounds` (dialogues/scorecard/rounds.py), which check the actor once
more: closing queues the summaries for the respondents who asked for one, in the same
transaction.
"""

from __future__ import annotations

from common import formatting as fmt
from common.messages import Button
from content.places import gazetteer
from content.surveys.section import surveys_of
from dialogues.core.permissions import Actor, NotAllowed
from dialogues.core.places import need_commune
from dialogues.core.router import Router, Turn
from dialogues.scorecard import store
from dialogues.scorecard.jaap.store import valid_id
from dialogues.scorecard.poster_chat import send_poster
from dialogues.scorecard.results import round_results
from dialogues.scorecard.rounds import RoundError, close_round, open_round, summary_text

router = Router("rounds", private=lambda turn: "rounds")  # CAF tools: private chats only
router.uses("rounds_not_allowed", "rounds_list", "rounds_open_button", "rounds_close_button",
            "rounds_results_button", "rounds_opened", "rounds_confirm_close",
            "rounds_close_yes", "rounds_closed", "rounds_none", "rounds_error", "menu_button",
            "change_commune", "meet_no_communes", "rounds_poster_button",
            "rounds_poster_caption", "rounds_poster_unavailable")

PREFIX = "rnd"


def allowed_actor(turn: Turn) -> Actor | None:
    """The actor when they are a CAF with communes or an admin; else they are told why."""
    actor = turn.actor()
    if actor.is_admin or (actor.is_staff and actor.communes):
        return actor
    key = "meet_no_communes" if actor.is_staff else "rounds_not_allowed"
    turn.say(turn.t(key), [turn.button("menu_button", "menu")])
    return None


@router.command("rounds")
@router.deep_link("rounds")
def rounds_command(turn: Turn) -> None:
    actor = allowed_actor(turn)
    if actor is not None:
        show_rounds(turn, actor)


def show_rounds(turn: Turn, actor: Actor) -> None:
    """The facilities of the CAF's communes (an admin's: of the commune they name): open a
    round, or close the open one."""
    after = [turn.button("menu_button", "menu")]
    if actor.is_admin:
        commune = need_commune(turn, then=PREFIX)
        if commune is None:
            return
        codes = [commune.code]
        after.insert(0, turn.button("change_commune", "commune:change"))
    else:
        codes = sorted(actor.communes)
    names = ", ".join(place.name(turn.lang) if (place := gazetteer().get(code)) else code
                      for code in codes)
    surveys = surveys_of(turn.content)
    facilities = [f for code in codes for f in surveys.in_commune(code)]
    if not facilities:
        turn.say(turn.t("rounds_none", commune=names), after)
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
    turn.say(turn.t("rounds_list", commune=names), buttons + after)


@router.payload(PREFIX)
def rounds_button(turn: Turn) -> None:
    """`rnd` | `rnd:open:<facility>` | `rnd:close:<round>[:yes]` | `rnd:results:<round>` |
    `rnd:poster:<round>`."""
    actor = allowed_actor(turn)
    if actor is None:
        return
    parts = (turn.incoming.payload or "").split(":")
    action, value = [*parts, "", ""][1:3]
    confirmed = len(parts) > 3 and parts[3] == "yes"
    try:
        if action == "open":
            row = open_round(turn.session, turn.content, value, by=actor)
            facility = surveys_of(turn.content).facilities[row.facility_id]
            turn.say(turn.t("rounds_opened", facility=facility.name(turn.lang),
                            start=f"svy_{facility.id}"),
                     [turn.button("rounds_poster_button", f"{PREFIX}:poster:{row.id}"),
                      turn.button("menu_button", "menu")])
        elif action == "poster" and valid_id(value) is not None:
            send_poster(turn, actor, int(value))
        elif action == "close" and valid_id(value) is not None:
            _close(turn, int(value), confirmed, actor)
        elif action == "results" and valid_id(value) is not None:
            _check_round(turn, actor, int(value))
            results = round_results(turn.session, surveys_of(turn.content), int(value))
            if results.round.closed_at is None:  # figures of an open round are not shared
                raise RoundError("the round is still open")
            turn.say(summary_text(turn.content, results, turn.lang, tz=turn.ctx.timezone),
                     [turn.button("menu_button", "menu")])
        elif action in ("close", "results", "poster"):  # a forged id beyond any key
            raise LookupError(f"there is no round {value[:20]!r}")
        else:
            show_rounds(turn, actor)
    except (RoundError, LookupError, NotAllowed):  # opened or closed meanwhile, or forged
        turn.say(turn.t("rounds_error"))
        show_rounds(turn, actor)


def _check_round(turn: Turn, actor: Actor, round_id: int) -> None:
    """Before anything of a round is shown: it exists and is of the actor's communes."""
    row = store.round_row(turn.session, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    if not actor.may_act_on_facility(surveys_of(turn.content), row.facility_id):
        raise NotAllowed(f"{actor.name} may not see round {round_id}")


def _close(turn: Turn, round_id: int, confirmed: bool, actor: Actor) -> None:
    surveys = surveys_of(turn.content)
    if not confirmed:
        _check_round(turn, actor, round_id)
        results = round_results(turn.session, surveys, round_id)
        name = results.facility.name(turn.lang) if results.facility else \
            results.round.facility_id
        turn.say(turn.t("rounds_confirm_close", facility=name,
                        responses=fmt.integer(results.responses, turn.lang)),
                 [turn.button("rounds_close_yes", f"{PREFIX}:close:{round_id}:yes"),
                  turn.button("menu_button", "menu")])
        return
    row = close_round(turn.session, turn.content, round_id, by=actor, tz=turn.ctx.timezone)
    facility = surveys.facilities.get(row.facility_id)
    turn.say(turn.t("rounds_closed", facility=facility.name(turn.lang) if facility
                    else row.facility_id, summaries=fmt.integer(row.summaries or 0, turn.lang)),
             [Button(turn.t("rounds_results_button"), f"{PREFIX}:results:{round_id}"),
              turn.button("menu_button", "menu")])
