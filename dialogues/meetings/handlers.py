"""Meetings in chat: citizens ask when the next meeting of their commune is and subscribe to
its reminders and broadcasts; CAFs (and admins) redeem an invite, create, move, relocate and
cancel meetings with a step-by-step form, and broadcast to their commune's subscribers.

Every CAF action re-checks the role and the commune (dialogues.core.permissions, with the
communes granted to the CAF, never the commune they named as theirs) when it is carried out,
not only when its button was shown: a button payload can be forged, and a role can be revoked
between two messages. The store functions check the same actor again when they act.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common import formatting as fmt
from common import khmer_dates as dates
from common.clock import local_time
from common.messages import Button
from content.places import gazetteer
from dialogues.core.permissions import NotAllowed
from dialogues.core.places import need_commune
from dialogues.core.router import Router, Turn
from dialogues.core.steps.form import FormHooks, start_form
from dialogues.meetings import broadcasts as casts
from dialogues.meetings import invites, store
from dialogues.meetings.store import MeetingError
from dialogues.meetings.texts import MeetingTexts, meeting_text, report_text

router = Router("meetings")
router.menu_item("menu_meetings", "meet", order=40)
router.uses(
    "meet_kind_interface", "meet_kind_scorecard", "meet_kind_jaap", "meet_kind_other",
    "meet_ask_kind", "meet_ask_commune", "meet_ask_place", "meet_ask_when", "meet_ask_agenda",
    "meet_confirm", "meet_ask_new_when", "meet_ask_moved_when", "meet_ask_new_place",
    "meet_confirm_edit",
    "meet_preview", "meet_next", "meet_none", "meet_subscribe_button",
    "meet_unsubscribe_button", "meet_subscribed", "meet_already_subscribed",
    "meet_unsubscribed", "meet_not_subscribed", "meet_reminder", "meet_cancelled_notice",
    "meet_changed_notice", "meet_not_allowed", "meet_no_communes", "meet_created",
    "meet_updated", "meet_cancel_confirm", "meet_cancel_yes", "meet_cancelled",
    "meet_list", "meet_list_empty", "meet_new_button", "meet_manage_button",
    "meet_edit_time_button", "meet_edit_place_button", "meet_cancel_button",
    "meet_details", "meet_show_button", "meet_gone", "meet_past", "caf_welcome",
    "caf_bad_code", "caf_ask_code",
    "broadcast_ask_commune", "broadcast_ask_text", "broadcast_preview", "broadcast_message",
    "broadcast_recipients", "broadcast_queued", "broadcast_progress", "broadcast_report",
    "broadcast_status_button", "broadcast_none", "broadcast_button", "change_commune",
    "menu_button",
)

PREFIX = "meet"


# ------------------------------------------------------------------ helpers

def _tz(turn: Turn) -> str:
    return turn.ctx.timezone


def _notices(turn: Turn) -> MeetingTexts:
    """What the store queues for others, worded from this turn's content and time zone."""
    return MeetingTexts(turn.content, _tz(turn))


def _commune_name(code: str, lang: str) -> str:
    place = gazetteer().get(code)
    return place.name(lang) if place else code


def my_communes(turn: Turn) -> list[str]:
    """The communes offered to this CAF: those granted to them (an admin, who acts on every
    commune: theirs, and the commune they named)."""
    actor = turn.actor()
    if not actor.is_staff:
        return []
    codes = sorted(actor.communes)
    if actor.is_admin and turn.user.commune_code and turn.user.commune_code not in codes:
        codes.append(turn.user.commune_code)
    return codes


def _is_caf(turn: Turn) -> bool:
    """A CAF (or admin) with communes, in a private chat; otherwise they are told why (in a
    group: to continue privately, where the CAF tools are)."""
    if my_communes(turn):
        if turn.incoming.in_group:
            turn.continue_privately("meet")
            return False
        return True
    key = "meet_no_communes" if turn.actor().is_staff else "meet_not_allowed"
    turn.say(turn.t(key), [turn.button("menu_button", "menu")])
    return False


def _meeting_in_scope(turn: Turn, value: str) -> Any:
    """The meeting of a payload id, if this CAF may act on it (None: told why)."""
    meeting = None
    if value.isdigit():
        try:
            meeting = store.get_meeting(turn.session, int(value))
        except MeetingError:
            meeting = None
    if meeting is None:
        turn.say(turn.t("meet_gone"), [turn.button("meet_manage_button", "meet:list")])
        return None
    if not turn.actor().may_act_on(meeting.commune_code):
        turn.say(turn.t("meet_not_allowed"), [turn.button("menu_button", "menu")])
        return None
    return meeting


# ------------------------------------------------------------------ citizens

@router.intent("ask_meeting")
def ask_meeting(turn: Turn) -> None:
    next_meeting(turn)


@router.intent("subscribe_reminders")
def ask_subscribe(turn: Turn) -> None:
    subscribe(turn)


# Exact payloads (matched before the `meet` prefix): these are also pressed on the user's
# behalf once their commune is known (`need_commune(then=...)`), when the incoming message
# is their text, not this payload.
@router.payload("meet:next")
def next_meeting(turn: Turn) -> None:
    commune = need_commune(turn, then="meet:next")
    if commune is None:
        return
    subscribed = commune.code in store.subscriptions(turn.session, turn.user)
    buttons = [turn.button("meet_unsubscribe_button", "meet:unsub") if subscribed
               else turn.button("meet_subscribe_button", "meet:sub"),
               turn.button("change_commune", "commune:change")]
    if turn.actor().is_staff:
        buttons.append(turn.button("meet_manage_button", "meet:list"))
    buttons.append(turn.button("menu_button", "menu"))
    meetings = store.next_meetings(turn.session, commune.code, turn.now)
    if not meetings:
        turn.say(turn.t("meet_none", commune=commune.name(turn.lang)), buttons)
        return
    lines = [meeting_text(turn.content, m, "meet_next", turn.lang, _tz(turn))
             for m in meetings]
    turn.say("\n\n".join(lines), buttons)


@router.payload("meet:sub")
def subscribe(turn: Turn) -> None:
    commune = need_commune(turn, then="meet:sub")
    if commune is None:
        return
    new = store.subscribe(turn.session, turn.user, commune.code)
    turn.say(turn.t("meet_subscribed" if new else "meet_already_subscribed",
                    commune=commune.name(turn.lang)),
             [turn.button("meet_unsubscribe_button", "meet:unsub"),
              turn.button("change_commune", "commune:change"),
              turn.button("menu_button", "menu")])


@router.payload("meet:unsub")
def unsubscribe(turn: Turn) -> None:
    turn.end_flow()
    left = store.unsubscribe(turn.session, turn.user)
    turn.say(turn.t("meet_unsubscribed" if left else "meet_not_subscribed"),
             [turn.button("meet_subscribe_button", "meet:sub"),
              turn.button("menu_button", "menu")])


# ------------------------------------------------------------------ CAF: invites

@router.private_only(lambda turn: "caf")  # an invite code is not for the group to read
@router.command("caf")
def caf_command(turn: Turn) -> None:
    invites.redeem(turn, (turn.incoming.argument or "").strip())


@router.private_only(lambda turn: "caf")
@router.deep_link("caf")
def caf_link(turn: Turn) -> None:
    """`/start caf-CODE` (a Telegram deep link from `isafbot caf invite`)."""
    argument = (turn.incoming.argument or "").strip()
    invites.redeem(turn, argument[4:] if len(argument) > 4 else "")


@router.private_only(lambda turn: "caf")
@router.shape(*invites.ALONE)
def caf_code_alone(turn: Turn) -> None:
    """An invite code typed without /caf (dialogues/meetings/invites.py: which texts)."""
    invites.redeem(turn, turn.text)


@router.private_only(lambda turn: "caf")
@router.flow(invites.FLOW, takes_text=invites.takes_code)
def caf_code_after_command(turn: Turn) -> bool:
    return invites.code_typed(turn)


# ------------------------------------------------------------------ CAF: meetings

@router.command("meetings")
@router.deep_link("meet")  # `/start meet`: where a group's "continue privately" leads
def meetings_command(turn: Turn) -> None:
    """A CAF's meetings; anyone else's next meeting."""
    if turn.actor().is_staff:
        list_meetings(turn)
    else:
        next_meeting(turn)


def list_meetings(turn: Turn) -> None:
    if not _is_caf(turn):
        return
    communes = my_communes(turn)
    meetings = store.list_meetings(turn.session, communes=communes, now=turn.now)
    names = ", ".join(_commune_name(c, turn.lang) for c in communes)
    buttons = [Button(f"{dates.short_moment(local_time(m.starts_at, _tz(turn)), turn.lang)} · "
                      f"{turn.t('meet_kind_' + m.kind)}"[:60], f"meet:show:{m.id}")
               for m in meetings[:10]]
    buttons += [turn.button("meet_new_button", "meet:new"),
                turn.button("broadcast_button", "bc:new"), turn.button("menu_button", "menu")]
    key = "meet_list" if meetings else "meet_list_empty"
    turn.say(turn.t(key, communes=names), buttons)


def show_meeting(turn: Turn, value: str) -> None:
    meeting = _meeting_in_scope(turn, value)
    if meeting is None:
        return
    text = meeting_text(turn.content, meeting, "meet_details", turn.lang, _tz(turn))
    recipients = store.subscriber_count(turn.session, meeting.commune_code)
    turn.say(text + "\n" + turn.t("broadcast_recipients",
                                  count=fmt.integer(recipients, turn.lang)),
             [turn.button("meet_edit_time_button", f"meet:time:{meeting.id}"),
              turn.button("meet_edit_place_button", f"meet:place:{meeting.id}"),
              turn.button("meet_cancel_button", f"meet:cancel:{meeting.id}"),
              turn.button("meet_manage_button", "meet:list")])


def cancel(turn: Turn, value: str, confirmed: bool) -> None:
    meeting = _meeting_in_scope(turn, value)
    if meeting is None:
        return
    if not confirmed:
        text = meeting_text(turn.content, meeting, "meet_cancel_confirm", turn.lang,
                            _tz(turn))
        turn.say(text, [turn.button("meet_cancel_yes", f"meet:cancel:{meeting.id}:yes"),
                        turn.button("meet_manage_button", "meet:list")])
        return
    try:
        told = store.cancel_meeting(turn.session, _notices(turn), meeting.id, by=turn.actor(),
                                    now=turn.now)
    except (MeetingError, NotAllowed):
        turn.say(turn.t("meet_gone"), [turn.button("meet_manage_button", "meet:list")])
        return
    turn.say(turn.t("meet_cancelled", told=fmt.integer(told, turn.lang)),
             [turn.button("meet_manage_button", "meet:list"),
              turn.button("menu_button", "menu")])


def edit(turn: Turn, form: str, value: str) -> None:
    meeting = _meeting_in_scope(turn, value)
    if meeting is None:
        return
    if meeting.status != "scheduled" or meeting.starts_at <= store.naive_utc(turn.now):
        turn.say(turn.t("meet_past"), [turn.button("meet_manage_button", "meet:list")])
        return
    values = {"starts_at": local_time(meeting.starts_at, _tz(turn)).isoformat()} \
        if form == "meeting_time" else {}  # "move it to 3" keeps the day (common/when.py)
    start_form(turn, form, values=values, meeting_id=meeting.id)


@router.payload(PREFIX)
def meet_button(turn: Turn) -> None:
    """`meet` (citizens: the next meeting); `meet:new`, `meet:list`,
    `meet:show:<id>`, `meet:time:<id>`, `meet:place:<id>`, `meet:cancel:<id>[:yes]` (CAFs)."""
    parts = (turn.incoming.payload or "").split(":")
    action, value = [*parts, "", ""][1:3]
    if action == "":
        next_meeting(turn)
    elif not _is_caf(turn):
        return
    elif action == "new":
        start_form(turn, "meeting")
    elif action == "show":
        show_meeting(turn, value)
    elif action == "time":
        edit(turn, "meeting_time", value)
    elif action == "place":
        edit(turn, "meeting_place", value)
    elif action == "cancel":
        cancel(turn, value, len(parts) > 3 and parts[3] == "yes")
    else:
        list_meetings(turn)


# ------------------------------------------------------------------ the forms' hooks

def _form_communes(turn: Turn, flow: dict[str, Any]) -> list[str]:
    return my_communes(turn)


def _meeting_preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    if extra.get("meeting_id"):
        try:
            meeting = store.get_meeting(turn.session, int(extra["meeting_id"]))
        except MeetingError:
            return ""
        kind, commune, place = meeting.kind, meeting.commune_code, meeting.place
        starts = local_time(meeting.starts_at, _tz(turn))
        agenda = meeting.agenda
    else:
        kind, commune, place = values.get("kind"), values.get("commune"), values.get("place")
        starts, agenda = None, values.get("agenda")
    if values.get("starts_at"):
        starts = datetime.fromisoformat(values["starts_at"])
    place = values.get("place") or place
    return turn.t("meet_preview", kind=turn.t(f"meet_kind_{kind}"),
                  commune=_commune_name(str(commune), turn.lang),
                  when=dates.moment(starts, turn.lang) if starts else "-",
                  place=place or "-", agenda=agenda or "-")


def _meeting_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    commune = str(values.get("commune") or "")
    if not turn.actor().may_act_on(commune):
        turn.say(turn.t("meet_not_allowed"), [turn.button("menu_button", "menu")])
        return
    try:
        meeting = store.create_meeting(
            turn.session, kind=str(values.get("kind")), commune=commune,
            place=str(values.get("place") or ""),
            starts_at=datetime.fromisoformat(str(values.get("starts_at"))),
            agenda=values.get("agenda"), by=turn.actor(), now=turn.now)
    except (MeetingError, ValueError):
        turn.say(turn.t("meet_past"), [turn.button("meet_new_button", "meet:new")])
        return
    turn.say(turn.t("meet_created",
                    subscribers=fmt.integer(store.subscriber_count(turn.session, commune),
                                            turn.lang)),
             [turn.button("meet_manage_button", "meet:list"),
              turn.button("meet_show_button", f"meet:show:{meeting.id}"),
              turn.button("menu_button", "menu")])


def _edit_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    meeting = _meeting_in_scope(turn, str(extra.get("meeting_id", "")))
    if meeting is None:
        return
    try:
        store.update_meeting(
            turn.session, _notices(turn), meeting.id, by=turn.actor(), now=turn.now,
            starts_at=datetime.fromisoformat(values["starts_at"])
            if values.get("starts_at") else None,
            place=values.get("place"))
    except (MeetingError, NotAllowed):
        turn.say(turn.t("meet_past"), [turn.button("meet_manage_button", "meet:list")])
        return
    turn.say(meeting_text(turn.content, meeting, "meet_updated", turn.lang, _tz(turn)),
             [turn.button("meet_manage_button", "meet:list"),
              turn.button("menu_button", "menu")])


router.form("meeting", FormHooks(done=_meeting_done, preview=_meeting_preview,
                                 communes=_form_communes))
router.form("meeting_time", FormHooks(done=_edit_done, preview=_meeting_preview))
router.form("meeting_place", FormHooks(done=_edit_done, preview=_meeting_preview))


# ------------------------------------------------------------------ CAF: broadcasts

@router.command("broadcast")
def broadcast_command(turn: Turn) -> None:
    if (turn.incoming.argument or "").strip().lower() == "status":
        broadcast_status(turn, "")
    elif _is_caf(turn):
        start_form(turn, "broadcast")


@router.payload("bc")
def broadcast_button(turn: Turn) -> None:
    """`bc:new` | `bc:status[:<id>]`."""
    parts = (turn.incoming.payload or "").split(":")
    action, value = [*parts, "", ""][1:3]
    if action == "status":
        broadcast_status(turn, value)
    elif _is_caf(turn):
        start_form(turn, "broadcast")


def broadcast_status(turn: Turn, value: str) -> None:
    """Progress of this CAF's latest broadcasts (or of one): "sent 120 of 450"."""
    if not _is_caf(turn):
        return
    broadcasts = casts.latest_broadcasts(turn.session, turn.user)
    if value.isdigit():
        broadcasts = [b for b in broadcasts if b.id == int(value)] or [
            b for b in casts.latest_broadcasts(turn.session, turn.user, limit=50)
            if b.id == int(value)]
    if not broadcasts:
        turn.say(turn.t("broadcast_none"), [turn.button("broadcast_button", "bc:new"),
                                            turn.button("menu_button", "menu")])
        return
    lines = [report_text(turn.content, casts.progress(turn.session, b), turn.lang,
                         "broadcast_progress") for b in broadcasts]
    turn.say("\n\n".join(lines), [turn.button("broadcast_status_button", "bc:status"),
                                  turn.button("menu_button", "menu")])


def _broadcast_preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    commune = str(values.get("commune") or "")
    body = turn.t("broadcast_message", text=str(values.get("text") or ""),
                  commune=_commune_name(commune, turn.lang))
    count = store.subscriber_count(turn.session, commune)
    return f"{body}\n\n{turn.t('broadcast_recipients', count=fmt.integer(count, turn.lang))}"


def _broadcast_done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    commune = str(values.get("commune") or "")
    try:
        broadcast = casts.create_broadcast(turn.session, _notices(turn), turn.user, commune,
                                           str(values.get("text") or ""), now=turn.now)
    except (MeetingError, NotAllowed):
        turn.say(turn.t("meet_not_allowed"), [turn.button("menu_button", "menu")])
        return
    turn.say(turn.t("broadcast_queued", count=fmt.integer(broadcast.recipients, turn.lang),
                    commune=_commune_name(commune, turn.lang)),
             [turn.button("broadcast_status_button", f"bc:status:{broadcast.id}"),
              turn.button("menu_button", "menu")])


router.form("broadcast", FormHooks(done=_broadcast_done, preview=_broadcast_preview,
                                   communes=_form_communes))

