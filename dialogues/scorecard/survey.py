"""The community scorecard in chat: one state machine that walks any survey definition.

Start (the rate_service intent with its facility_type/place entities, the menu, or a deep link
`/start svy_<facility>` from a poster) -> choose the facility (of the user's commune) -> a short
consent and anonymity notice -> one question per message with progress, back, skip and stop ->
an optional comment -> optional questions about the respondent -> "send me the results?" ->
thanks.

Privacy (docs/privacy.md): the flow is private, so the message log keeps the step ("survey:q3"),
never the text; answer buttons carry an opaque tag (an HMAC of a per-session nonce, the step and
the value) instead of the value, so even a stale button pressed after the survey ended and
logged says nothing; the conversation state holds the facility and the step, never an answer.
Each answer is saved in the turn that received it, keyed by the pseudonymous respondent id, so
leaving and coming back resumes where the user was, even if the state was lost.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from common import formatting as fmt
from common.messages import Button, Kind
from content.places import gazetteer
from content.surveys.section import (
    FACILITY_TYPES,
    Facility,
    Survey,
    Surveys,
    answer_key,
    surveys_of,
    typed_number,
)
from dialogues.core.context import DialogueContext
from dialogues.core.places import need_commune
from dialogues.core.router import Router, Turn
from dialogues.scorecard import store
from dialogues.scorecard.store import COMPLETE, IN_PROGRESS, STOPPED, ResponseState, RoundClosed


def private_link(turn: Turn) -> str:
    """From a group, the rating continues in the private chat: `/start svy_<facility>` when
    the message named a facility (a button, a deep link, a flow), else `/start svy`."""
    incoming = turn.incoming
    payload, argument = incoming.payload or "", (incoming.argument or "").strip()
    if payload.startswith("svy:f:"):
        facility = payload[len("svy:f:"):]
    elif argument.lower().startswith("svy_"):
        facility = argument[len("svy_"):]
    else:
        facility = str((turn.flow() or {}).get("facility") or "")
    known = facility in surveys_of(turn.content).facilities and \
        _LINK_SAFE.fullmatch(facility) is not None
    return f"{PREFIX}_{facility}" if known else PREFIX


router = Router("survey", private=private_link)
router.menu_item("menu_survey", "svy", order=30)
router.uses(
    "survey_which_facility", "survey_which_facility_any", "survey_sample_list",
    "survey_no_facilities", "survey_no_facilities_any", "survey_place_without_facilities",
    "survey_no_open_round", "survey_no_open_rounds", "survey_which_commune", "survey_consent",
    "survey_rerate_note", "survey_start_button", "survey_not_now_button", "survey_declined",
    "survey_progress", "survey_question", "survey_answer_hint", "survey_earlier_answer",
    "survey_back_button", "survey_skip_button", "survey_keep_button", "survey_stop_button",
    "survey_not_understood", "survey_out_of_range", "survey_not_text", "survey_first_question",
    "survey_stale_button", "survey_comment", "survey_comment_earlier", "survey_comment_saved",
    "survey_comment_truncated", "survey_comment_no_words", "survey_profile_intro",
    "survey_profile_yes", "survey_profile_no", "survey_profile_question",
    "survey_option_not_understood", "survey_yes_no_hint", "survey_notify", "survey_notify_yes",
    "survey_notify_no", "survey_done", "survey_done_notify", "survey_stopped", "survey_paused",
    "survey_resume", "survey_continue_button", "survey_restart_button",
    "survey_other_facility_button", "survey_round_closed", "survey_facility_gone",
    "change_commune", "menu_button",
)

FLOW = "survey"
PREFIX = "svy"
_LINK_SAFE = re.compile(r"[A-Za-z0-9_-]{1,60}")  # a /start parameter is at most 64
# Intents that mean the user wants something else: the survey pauses (answers are kept) and
# the message goes to its handler. Only when the NLU is sure and the text is not an answer.
LEAVE_INTENTS = frozenset({"ask_service", "list_services", "ask_budget", "ask_meeting",
                           "subscribe_reminders", "unsubscribe", "help", "goodbye",
                           "change_language"})
LEAVE_CONFIDENCE = 0.8
YES_NO_CONFIDENCE = 0.6


# ------------------------------------------------------------------ the walk

def walk_steps(survey: Survey, surveys: Surveys) -> list[str]:
    """Every step of a survey in order; a response's `position` indexes this list."""
    return ([f"q{i}" for i in range(1, len(survey.indicators) + 1)] + ["comment", "profile"]
            + [f"p{i}" for i in range(1, len(surveys.profile) + 1)] + ["notify"])


class Walk:
    """The survey in progress during one turn, rebuilt from the flow state; what it reads from
    the database is read once per turn and kept up to date by its writes."""

    def __init__(self, turn: Turn, surveys: Surveys, facility: Facility, round_id: int,
                 nonce: str) -> None:
        self.turn = turn
        self.surveys = surveys
        self.facility = facility
        self.survey = surveys.survey_for(facility)
        self.round_id = round_id
        self.nonce = nonce
        self.respondent = _respondent(turn)
        self.steps = walk_steps(self.survey, surveys)
        self._response: ResponseState | None = None
        self._ratings: dict[str, int | None] | None = None
        self._profile: dict[str, str] | None = None

    def index(self, step: str) -> int:
        return self.steps.index(step) if step in self.steps else 0

    @property
    def questions(self) -> int:
        """Numbered questions: the indicators and the comment."""
        return len(self.survey.indicators) + 1

    def response(self) -> ResponseState | None:
        if self._response is None:
            self._response = store.find_response(self.turn.session, self.round_id,
                                                 self.respondent)
        return self._response

    def ensure_response(self) -> ResponseState:
        found = self.response()
        if found is None:
            found = self._response = store.start_response(self.turn.session, self.round_id,
                                                          self.respondent)
        return found

    def ratings(self) -> dict[str, int | None]:
        if self._ratings is None:
            found = self.response()
            self._ratings = store.ratings(self.turn.session, found.id) if found else {}
        return self._ratings

    def profile(self) -> dict[str, str]:
        if self._profile is None:
            found = self.response()
            self._profile = store.profile_answers(self.turn.session, found.id) if found else {}
        return self._profile

    def save_rating(self, indicator: str, score: int | None) -> None:
        ratings = self.ratings()
        store.save_rating(self.turn.session, self.ensure_response(), indicator, score)
        if score is not None or indicator not in ratings:
            ratings[indicator] = score

    def save_profile(self, question: str, option: str) -> None:
        profile = self.profile()
        store.save_profile_answer(self.turn.session, self.ensure_response(), question, option)
        profile[question] = option

    def set_progress(self, position: int, status: str = IN_PROGRESS) -> None:
        response = self.ensure_response()
        store.set_progress(self.turn.session, response, position=position, status=status)
        self._response = ResponseState(response.id, response.round_id, status, position)

    def answered(self) -> int:
        return sum(1 for score in self.ratings().values() if score is not None)

    @property
    def author(self) -> str:
        """The comment's author key (not joinable to the response without the secret)."""
        return store.comment_author(self.turn.ctx.secret_key, self.respondent, self.round_id)


def _respondent(turn: Turn) -> str:
    return store.respondent_key(turn.ctx.secret_key, str(turn.user.channel),
                                str(turn.user.channel_user_id))


def _walk(turn: Turn) -> Walk | None:
    flow = turn.flow() or {}
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(str(flow.get("facility")))
    if flow.get("name") != FLOW or facility is None or not isinstance(flow.get("round"), int):
        return None
    return Walk(turn, surveys, facility, int(flow["round"]), str(flow.get("nonce", "")))


def _tag(turn: Turn, walk: Walk, step: str, value: Any) -> str:
    """An opaque button id for a value: meaningless without the secret and this session's
    nonce, which is forgotten when the flow ends."""
    message = f"{walk.nonce}:{step}:{value}".encode()
    return hmac.new(turn.ctx.secret_key, message, hashlib.sha256).hexdigest()[:10]


def _values(walk: Walk, step: str) -> list[Any]:
    """What can be chosen at a step, for decoding answer tags."""
    if step.startswith("q"):
        return [level.value for level in walk.surveys.scale]
    if step.startswith("p") and step[1:].isdigit():
        return [option.id for option in walk.surveys.profile[int(step[1:]) - 1].options]
    return []


# ------------------------------------------------------------------ entry points

@router.intent("rate_service")
def rate_service(turn: Turn) -> None:
    facility_type = turn.entity("facility_type")
    start(turn, facility_type if facility_type in FACILITY_TYPES else None, turn.entity("place"))


@router.deep_link(PREFIX)
def from_link(turn: Turn) -> None:
    """`/start svy_<facility>`: a CAF's poster or QR code opens the rating of one facility;
    `/start svy` (from a group) starts a rating as the menu does."""
    facility_id = (turn.incoming.argument or "").strip().partition("_")[2]
    if facility_id:
        facility_chosen(turn, facility_id)
    else:
        start(turn, None)


@router.payload(PREFIX)
def button(turn: Turn) -> None:
    """`svy` | `svy:go:<type>` | `svy:c:<commune>` | `svy:f:<facility>` start or choose;
    `svy:<action>:<step>[:<tag>]` acts at a step of the flow."""
    parts = (turn.incoming.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    value = parts[2] if len(parts) > 2 else ""
    try:
        if action in ("", "go"):
            start(turn, value if value in FACILITY_TYPES else None)
        elif action == "c":
            flow = turn.flow() or {}
            choose_facility(turn, value, flow.get("type") if flow.get("name") == FLOW else None)
        elif action == "f":
            facility_chosen(turn, value)
        else:
            step_button(turn, action, value, parts[3] if len(parts) > 3 else "")
    except RoundClosed:
        _round_closed(turn)


def start(turn: Turn, facility_type: str | None, place: str | None = None) -> None:
    """Offer to resume an unfinished rating, else find the commune and its facilities."""
    surveys = surveys_of(turn.content)
    if not place:
        unfinished = [(state, facility_id) for state, facility_id
                      in store.unfinished_responses(turn.session, _respondent(turn))
                      if facility_id in surveys.facilities and
                      (facility_type is None or surveys.facilities[facility_id].type
                       == facility_type)]
        if unfinished:
            offer_resume(turn, surveys.facilities[unfinished[0][1]], unfinished[0][0])
            return
    if place:
        candidates = [p for p in gazetteer().by_english_name(place)
                      if p.code in surveys.communes()]
        if len(candidates) == 1:
            choose_facility(turn, candidates[0].code, facility_type)
            return
        if candidates:
            turn.start_flow(FLOW, private=True, step="commune", type=facility_type)
            turn.say(turn.t("survey_which_commune"),
                     [Button(p.label(turn.lang), f"{PREFIX}:c:{p.code}") for p in candidates])
            return
        turn.say(turn.t("survey_place_without_facilities", place=place))
    commune = need_commune(turn, then=f"{PREFIX}:go:{facility_type or 'any'}")
    if commune is not None:
        choose_facility(turn, commune.code, facility_type)


def choose_facility(turn: Turn, commune_code: str, facility_type: str | None) -> None:
    """Buttons for the commune's facilities that have an open round (straight to the consent
    when there is only one)."""
    surveys = surveys_of(turn.content)
    place = gazetteer().get(commune_code)
    if place is None:
        start(turn, facility_type)
        return
    commune = place.name(turn.lang)
    type_label = surveys.by_type[facility_type].facility_label(turn.lang) if facility_type \
        else None
    facilities = surveys.in_commune(commune_code, facility_type)
    after = [turn.button("change_commune", "commune:change"), turn.button("menu_button", "menu")]
    if not facilities:
        _end(turn)
        key = "survey_no_facilities" if type_label else "survey_no_facilities_any"
        turn.say(turn.t(key, type=type_label or "", commune=commune), after)
        return
    rounds = store.open_rounds(turn.session, [f.id for f in facilities])
    available = [f for f in facilities if f.id in rounds]
    if not available:
        _end(turn)
        if len(facilities) == 1:
            text = turn.t("survey_no_open_round", facility=facilities[0].name(turn.lang))
        else:
            text = turn.t("survey_no_open_rounds", commune=commune)
        turn.say(text, after)
        return
    if len(available) == 1:
        facility_chosen(turn, available[0].id)
        return
    turn.start_flow(FLOW, private=True, step="facility", commune=commune_code,
                    type=facility_type)
    key = "survey_which_facility" if type_label else "survey_which_facility_any"
    text = turn.t(key, type=type_label or "", commune=commune)
    if any(f.sample for f in available):
        text += "\n" + turn.t("survey_sample_list")
    turn.say(text, [Button(f.name(turn.lang), f"{PREFIX}:f:{f.id}") for f in available]
             + after)


def facility_chosen(turn: Turn, facility_id: str) -> None:
    """The consent notice, or the offer to resume an unfinished rating of this facility."""
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(facility_id)
    if facility is None:
        _end(turn)
        turn.say(turn.t("survey_facility_gone"), turn.menu())
        return
    found = store.open_rounds(turn.session, [facility.id]).get(facility.id)
    if found is None:
        _end(turn)
        turn.say(turn.t("survey_no_open_round", facility=facility.name(turn.lang)),
                 [turn.button("menu_button", "menu")])
        return
    existing = store.find_response(turn.session, found.id, _respondent(turn))
    if existing and existing.status != COMPLETE and existing.position > 0:
        offer_resume(turn, facility, existing)
        return
    walk = _begin(turn, facility, found.id, "consent")
    show(turn, walk, "consent", rerate=existing is not None and existing.position > 0)


def offer_resume(turn: Turn, facility: Facility, response: ResponseState) -> None:
    show(turn, _begin(turn, facility, response.round_id, "resume"), "resume")


def _begin(turn: Turn, facility: Facility, round_id: int, step: str) -> Walk:
    """A new private survey flow: the user's texts are withheld from the log from now on."""
    turn.start_flow(FLOW, private=True, step=step, facility=facility.id, round=round_id,
                    nonce=secrets.token_hex(8))
    walk = _walk(turn)
    assert walk is not None
    return walk


# ------------------------------------------------------------------ showing a step

def show(turn: Turn, walk: Walk | None, step: str, *, note: str = "",
         rerate: bool = False) -> None:
    """Say the question (or choice) of a step, with its buttons; `note` goes first."""
    flow = turn.flow() or {}
    if step in ("facility", "commune") or walk is None:
        if step == "facility" and flow.get("commune"):
            choose_facility(turn, str(flow["commune"]), flow.get("type"))
        else:
            start(turn, flow.get("type"))
        return
    lang = turn.lang
    lines = [note] if note else []
    name = walk.facility.name(lang)
    controls = _controls(turn, step)
    if step == "consent":
        if rerate:
            lines.append(turn.t("survey_rerate_note", facility=name))
        lines.append(turn.t("survey_consent", facility=name,
                            count=fmt.integer(walk.questions, lang)))
        buttons = [turn.button("survey_start_button", f"{PREFIX}:yes:consent"),
                   turn.button("survey_not_now_button", f"{PREFIX}:no:consent")]
    elif step == "resume":
        lines.append(turn.t("survey_resume", facility=name,
                            answered=fmt.integer(walk.answered(), lang),
                            total=fmt.integer(len(walk.survey.indicators), lang)))
        buttons = [turn.button("survey_continue_button", f"{PREFIX}:yes:resume"),
                   turn.button("survey_restart_button", f"{PREFIX}:redo:resume"),
                   turn.button("survey_other_facility_button", f"{PREFIX}:no:resume")]
    elif step.startswith("q"):
        number = int(step[1:])
        indicator = walk.survey.indicators[number - 1]
        lines.append(turn.t("survey_question", progress=_progress(turn, walk, number),
                            facility=name, indicator=indicator.text(lang)))
        earlier = walk.ratings().get(indicator.id)
        if earlier is not None:
            lines.append(turn.t("survey_earlier_answer",
                                answer=walk.surveys.level(earlier).button_label(lang)))
        if number == 1:
            lines.append(turn.t("survey_answer_hint"))
        buttons = [Button(level.button_label(lang),
                          f"{PREFIX}:a:{step}:{_tag(turn, walk, step, level.value)}")
                   for level in walk.surveys.scale]
        buttons += controls(keep=earlier is not None)
    elif step == "comment":
        lines.append(turn.t("survey_comment", progress=_progress(turn, walk, walk.questions),
                            facility=name))
        commented = store.has_comment(turn.session, walk.round_id, walk.author)
        if commented:
            lines.append(turn.t("survey_comment_earlier"))
        buttons = controls(keep=commented)
    elif step == "profile":
        lines.append(turn.t("survey_profile_intro",
                            count=fmt.integer(len(walk.surveys.profile), lang)))
        buttons = [turn.button("survey_profile_yes", f"{PREFIX}:yes:profile"),
                   turn.button("survey_profile_no", f"{PREFIX}:skip:profile")]
        buttons += controls(skip=False)
    elif step.startswith("p"):
        number = int(step[1:])
        question = walk.surveys.profile[number - 1]
        lines.append(turn.t("survey_profile_question", n=fmt.integer(number, lang),
                            total=fmt.integer(len(walk.surveys.profile), lang),
                            question=question.text(lang)))
        earlier_id = walk.profile().get(question.id)
        earlier_option = question.option(earlier_id) if earlier_id else None
        if earlier_option:
            lines.append(turn.t("survey_earlier_answer", answer=earlier_option.label(lang)))
        buttons = [Button(option.label(lang),
                          f"{PREFIX}:a:{step}:{_tag(turn, walk, step, option.id)}")
                   for option in question.options]
        buttons += controls(keep=earlier_option is not None)
    else:  # notify
        lines.append(turn.t("survey_notify", facility=name))
        buttons = [turn.button("survey_notify_yes", f"{PREFIX}:yes:notify"),
                   turn.button("survey_notify_no", f"{PREFIX}:no:notify")]
        buttons += controls(skip=False)
    turn.say("\n\n".join(lines), buttons)


def _controls(turn: Turn, step: str) -> Any:
    def make(*, keep: bool = False, skip: bool = True) -> list[Button]:
        buttons = [turn.button("survey_back_button", f"{PREFIX}:back:{step}")]
        if skip:
            buttons.append(turn.button("survey_keep_button" if keep else "survey_skip_button",
                                       f"{PREFIX}:skip:{step}"))
        buttons.append(turn.button("survey_stop_button", f"{PREFIX}:stop:{step}"))
        return buttons
    return make


def _progress(turn: Turn, walk: Walk, number: int) -> str:
    return turn.t("survey_progress", n=fmt.integer(number, turn.lang),
                  total=fmt.integer(walk.questions, turn.lang))


# ------------------------------------------------------------------ moving through the walk

def goto(turn: Turn, walk: Walk, index: int, *, note: str = "") -> None:
    """Move to a step (saving the position, so that coming back resumes here) and show it."""
    index = max(0, min(index, len(walk.steps)))
    if index >= len(walk.steps):
        finish(turn, walk)
        return
    walk.set_progress(index)
    flow = turn.flow()
    if flow is not None:
        flow["step"] = walk.steps[index]
    show(turn, walk, walk.steps[index], note=note)


def finish(turn: Turn, walk: Walk) -> None:
    walk.set_progress(len(walk.steps), COMPLETE)
    notified = store.is_subscribed(turn.session, walk.round_id, turn.user.id)
    _end(turn)
    text = turn.t("survey_done", facility=walk.facility.name(turn.lang))
    if notified:
        text += "\n" + turn.t("survey_done_notify")
    turn.say(text, [turn.button("menu_button", "menu")])


def stop(turn: Turn, walk: Walk | None, step: str | None = None) -> None:
    """Stop: what was given stays, as an incomplete response (resumable at `step`)."""
    _end(turn)
    found = walk.response() if walk else None
    if walk is None or found is None:
        turn.say(turn.t("survey_declined"), [turn.button("menu_button", "menu")])
        return
    walk.set_progress(walk.index(step) if step else found.position, STOPPED)
    turn.say(turn.t("survey_stopped", n=fmt.integer(walk.answered(), turn.lang)),
             [turn.button("menu_button", "menu")])


def _end(turn: Turn) -> None:
    flow = turn.flow()
    if flow and flow.get("name") == FLOW:
        turn.end_flow()


def _round_closed(turn: Turn) -> None:
    walk = _walk(turn)
    _end(turn)
    name = walk.facility.name(turn.lang) if walk else ""
    turn.say(turn.t("survey_round_closed", facility=name), [turn.button("menu_button", "menu")])


# ------------------------------------------------------------------ acting at a step

def step_button(turn: Turn, action: str, step: str, tag: str) -> None:
    """A button of a step. One from an earlier step (a double tap, an old message) changes
    nothing: the current step is shown again."""
    flow = turn.flow() or {}
    walk = _walk(turn)
    current = str(flow.get("step", "")) if flow.get("name") == FLOW else ""
    if not current or walk is None:
        start(turn, None)
        return
    if step != current:
        show(turn, walk, current, note=turn.t("survey_stale_button"))
        return
    if action == "a":
        value = next((v for v in _values(walk, step) if hmac.compare_digest(
            _tag(turn, walk, step, v), tag)), None)
        if value is None:
            show(turn, walk, current, note=turn.t("survey_stale_button"))
            return
        answer(turn, walk, step, value)
    elif action in ("yes", "no", "redo"):
        choose(turn, walk, step, action)
    elif action in ("back", "skip", "stop"):
        control(turn, walk, step, action)
    else:
        show(turn, walk, current)


def answer(turn: Turn, walk: Walk, step: str, value: Any) -> None:
    if step.startswith("q"):
        walk.save_rating(walk.survey.indicators[int(step[1:]) - 1].id, int(value))
    elif step.startswith("p"):
        walk.save_profile(walk.surveys.profile[int(step[1:]) - 1].id, str(value))
    goto(turn, walk, walk.index(step) + 1)


def choose(turn: Turn, walk: Walk, step: str, action: str) -> None:
    """Yes/no steps: consent, resume, the profile questions' introduction, the summary."""
    if step == "consent":
        if action == "yes":
            walk.ensure_response()
            goto(turn, walk, 0)
        else:
            _end(turn)
            turn.say(turn.t("survey_declined"), [turn.button("menu_button", "menu")])
    elif step == "resume":
        if action == "yes":
            goto(turn, walk, walk.ensure_response().position)
        elif action == "redo":
            goto(turn, walk, 0)
        else:
            _end(turn)
            _choose_other(turn)
    elif step == "profile":
        goto(turn, walk, walk.index("p1") if action == "yes" else walk.index("notify"))
    elif step == "notify":
        if action == "yes":
            store.subscribe(turn.session, walk.round_id, turn.user.id)
        else:
            store.unsubscribe(turn.session, walk.round_id, turn.user.id)
        finish(turn, walk)
    else:
        show(turn, walk, step)


def _choose_other(turn: Turn) -> None:
    """"Rate another service": the facility list of the user's commune, without the offer to
    resume (the unfinished rating stays as it is)."""
    commune = need_commune(turn, then=f"{PREFIX}:go:any")
    if commune is not None:
        choose_facility(turn, commune.code, None)


def control(turn: Turn, walk: Walk, step: str, action: str) -> None:
    index = walk.index(step)
    if action == "stop":
        stop(turn, walk, step)
    elif action == "back":
        if index == 0:
            show(turn, walk, step, note=turn.t("survey_first_question"))
        else:
            goto(turn, walk, index - 1)
    elif step.startswith("q"):  # skip: recorded as skipped, an earlier score is kept
        walk.save_rating(walk.survey.indicators[int(step[1:]) - 1].id, None)
        goto(turn, walk, index + 1)
    elif step == "profile":
        goto(turn, walk, walk.index("notify"))
    elif step == "notify":
        finish(turn, walk)
    else:  # comment or a profile question: nothing recorded, an earlier answer is kept
        goto(turn, walk, index + 1)


# ------------------------------------------------------------------ typed messages in the flow

def reads_itself(flow: dict[str, Any], text: str, ctx: DialogueContext) -> bool:
    """The texts the survey takes as they are, decided before any parsing, so they never go
    to the NLU server: every comment, and every typed answer of the current step (a number,
    a word of the scale, of a profile question's options, yes/no, back/skip/stop). Only a text
    that answers nothing is asked to the NLU, to tell whether the person wants something else
    (the survey then pauses)."""
    step = str(flow.get("step", ""))
    if step == "comment":
        return True
    surveys = surveys_of(ctx.content)
    key = answer_key(text)
    if not key or key in surveys.controls:
        return True
    if step.startswith("q"):
        return typed_number(text) is not None or key in surveys.scale_words
    if step.startswith("p") and step[1:].isdigit() \
            and 0 < int(step[1:]) <= len(surveys.profile):
        return key in surveys.profile[int(step[1:]) - 1].words or typed_number(text) is not None
    if step in ("consent", "resume", "profile", "notify"):
        return _yes_no(surveys, key) is not None
    return False


def _yes_no(surveys: Surveys, key: str) -> str | None:
    """"yes" or "no" for the words the profile questions' yes/no options list ("បាទ",
    "ចាស", "yeah", "អត់"...), else None."""
    for question in surveys.profile:
        meaning = question.words.get(key)
        if meaning in ("yes", "no"):
            return meaning
    return None


@router.flow(FLOW, takes_text=reads_itself)
def on_message(turn: Turn) -> bool:
    """Every message while the survey is open: typed answers and control words. A message the
    NLU is sure means something else pauses the survey and goes through (False)."""
    flow = turn.flow() or {}
    step = str(flow.get("step", ""))
    walk = _walk(turn)
    try:
        if turn.incoming.kind != Kind.TEXT:
            show(turn, walk, step, note=turn.t("survey_not_text"))
            return True
        text = turn.text.strip()
        if not text:
            show(turn, walk, step)
            return True
        surveys = surveys_of(turn.content)
        key = answer_key(text)
        control_word = surveys.controls.get(key)
        if step in ("facility", "commune"):
            if control_word == "stop":
                stop(turn, None)
                return True
            if _leaving(turn):
                _end(turn)
                return False
            show(turn, walk, step)
            return True
        if walk is None:
            _end(turn)
            return False
        if control_word and step not in ("consent", "resume"):
            control(turn, walk, step, control_word)
            return True
        if step in ("consent", "resume", "profile", "notify"):
            return _typed_choice(turn, walk, step, control_word)
        if step.startswith("q"):
            return _typed_rating(turn, walk, step, text, key)
        if step == "comment":
            if _means_no(turn, walk, key):  # "no", "ទេ": no comment
                control(turn, walk, step, "skip")
                return True
            if not any(ch.isalpha() for ch in text):
                show(turn, walk, step, note=turn.t("survey_comment_no_words"))
                return True
            walk.ensure_response()
            cut = store.save_comment(turn.session, walk.round_id, walk.author, text)
            note = turn.t("survey_comment_saved")
            if cut:
                note += " " + turn.t("survey_comment_truncated",
                                     n=fmt.integer(store.MAX_COMMENT_CHARS, turn.lang))
            goto(turn, walk, walk.index(step) + 1, note=note)
            return True
        if step.startswith("p"):
            return _typed_option(turn, walk, step, text, key)
        show(turn, walk, step)
        return True
    except RoundClosed:
        _round_closed(turn)
        return True


def _means_no(turn: Turn, walk: Walk, key: str) -> bool:
    """A short "no" (a profile question's "no" words, or the NLU sure of a short deny)."""
    if any(question.words.get(key) == "no" for question in walk.surveys.profile):
        return True
    understanding = turn.understanding
    return bool(understanding and understanding.intent == "deny" and len(key) <= 12
                and understanding.confidence >= LEAVE_CONFIDENCE)


def _leaving(turn: Turn) -> bool:
    understanding = turn.understanding
    return bool(understanding and understanding.intent in LEAVE_INTENTS
                and understanding.confidence >= LEAVE_CONFIDENCE)


def _pause(turn: Turn, walk: Walk) -> bool:
    """The user asked something else: keep the answers, let the message through."""
    _end(turn)
    turn.say(turn.t("survey_paused", facility=walk.facility.name(turn.lang)))
    return False


def _typed_rating(turn: Turn, walk: Walk, step: str, text: str, key: str) -> bool:
    number = typed_number(text)
    if number is not None:
        if 1 <= number <= len(walk.surveys.scale):
            answer(turn, walk, step, number)
        else:
            show(turn, walk, step, note=turn.t("survey_out_of_range"))
        return True
    value = walk.surveys.scale_words.get(key)
    if value is not None:
        answer(turn, walk, step, value)
        return True
    if _leaving(turn):
        return _pause(turn, walk)
    show(turn, walk, step,
         note=f"{turn.t('survey_not_understood')} {turn.t('survey_answer_hint')}")
    return True


def _typed_option(turn: Turn, walk: Walk, step: str, text: str, key: str) -> bool:
    question = walk.surveys.profile[int(step[1:]) - 1]
    option_id = question.words.get(key)
    number = typed_number(text)
    if option_id is None and number is not None:
        option = question.option_for_age(number)
        option_id = option.id if option else None
    if option_id is not None:
        answer(turn, walk, step, option_id)
        return True
    if _leaving(turn):
        return _pause(turn, walk)
    show(turn, walk, step, note=turn.t("survey_option_not_understood"))
    return True


def _typed_choice(turn: Turn, walk: Walk, step: str, control_word: str | None) -> bool:
    understanding = turn.understanding
    intent = _yes_no(walk.surveys, answer_key(turn.text))
    if intent is not None:
        intent = "affirm" if intent == "yes" else "deny"
    elif understanding and understanding.confidence >= YES_NO_CONFIDENCE:
        intent = understanding.intent
    if control_word == "stop" and step in ("consent", "resume"):
        stop(turn, None)
        return True
    if intent == "affirm":
        choose(turn, walk, step, "yes")
        return True
    if intent == "deny":
        choose(turn, walk, step, "no")
        return True
    if _leaving(turn):
        if step in ("consent", "resume"):
            _end(turn)
            return False
        return _pause(turn, walk)
    show(turn, walk, step, note=turn.t("survey_yes_no_hint"))
    return True


__all__ = ["FLOW", "Walk", "router", "walk_steps"]
