"""The scorecard survey's router and its walk: the steps of a survey as data for the one step
engine (dialogues/core/steps), and the hooks that keep the answers (pseudonymous, in the turn that
received them, so that leaving and coming back resumes where the user was).

Privacy (docs/privacy.md): the flow is private, so the message log keeps the step ("survey:q3"),
never the text; answer buttons carry an opaque tag (dialogues/core/steps/buttons.py: an HMAC of a
per-session nonce, the step and the value) instead of the value, so even a stale button pressed
after the survey ended and logged says nothing; the conversation state holds the facility and
the step, never an answer.
"""

from __future__ import annotations

import re
from typing import Any

from common.messages import Button
from content.surveys.section import Facility, Survey, Surveys, surveys_of
from dialogues.core.router import Router, Turn
from dialogues.core.steps.buttons import payload, sign
from dialogues.scorecard import store
from dialogues.scorecard.jaap.store import round_survey
from dialogues.scorecard.store import IN_PROGRESS, ResponseState

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
# The yes/no steps before the walk (the consent, the offer to resume) and in it.
CONFIRM_STEPS = ("consent", "resume", "profile", "notify")


def private_link(turn: Turn) -> str:
    """From a group, the rating continues in the private chat: `/start svy_<facility>` when
    the message named a facility (a button, a deep link, a flow), else `/start svy`."""
    incoming = turn.incoming
    found, argument = incoming.payload or "", (incoming.argument or "").strip()
    if found.startswith("svy:f:"):
        facility = found[len("svy:f:"):]
    elif argument.lower().startswith("svy_"):
        facility = argument[len("svy_"):]
    else:
        facility = str((turn.flow() or {}).get("facility") or "")
    known = facility in surveys_of(turn.content).facilities
    return (start_payload(facility) or PREFIX) if known else PREFIX


def start_payload(facility_id: str) -> str | None:
    """The deep-link argument that opens the rating of one facility (`/start svy_<id>` on
    Telegram, an m.me link's `ref` on Messenger: posters, QR codes); None when the id cannot
    be one (a /start parameter is at most 64 characters of A-Z a-z 0-9 _ -)."""
    payload = f"{PREFIX}_{facility_id}"
    return payload if _LINK_SAFE.fullmatch(facility_id) and len(payload) <= 64 else None


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


# ------------------------------------------------------------------ the steps as data

def walk_steps(survey: Survey, surveys: Surveys) -> list[str]:
    """Every step of a survey in order; a response's `position` indexes this list."""
    return ([f"q{i}" for i in range(1, len(survey.indicators) + 1)] + ["comment", "profile"]
            + [f"p{i}" for i in range(1, len(surveys.profile) + 1)] + ["notify"])


def step_kind(step: str) -> str:
    """The step engine's kind of a survey step (dialogues/core/steps/kinds.py): the indicators are
    ratings, the comment free text, the profile questions choices, the rest yes/no."""
    if step in CONFIRM_STEPS:
        return "confirm"
    if step == "comment":
        return "text"
    if step[:1] == "q" and step[1:].isdigit():
        return "rating"
    if step[:1] == "p" and step[1:].isdigit():
        return "choice"
    return ""  # facility, commune: the choices before the walk, by buttons


def profile_number(step: str, surveys: Surveys) -> int | None:
    """The profile question a `p<n>` step asks (1-based), if there is one."""
    if step[:1] == "p" and step[1:].isdigit() and 0 < int(step[1:]) <= len(surveys.profile):
        return int(step[1:])
    return None


def yes_no_words(surveys: Surveys) -> dict[str, str]:
    """The typed words that mean "yes" or "no": those of the profile questions' yes/no
    options ("បាទ", "ចាស", "yeah", "អត់"...), the first question's meaning first."""
    words: dict[str, str] = {}
    for question in surveys.profile:
        for key, meaning in question.words.items():
            if meaning in ("yes", "no"):
                words.setdefault(key, meaning)
    return words


# ------------------------------------------------------------------ the walk and its storage

class Walk:
    """The survey in progress during one turn, rebuilt from the flow state; what it reads from
    the database is read once per turn and kept up to date by its writes (the storage hooks
    of the step engine: every answer is saved in the turn that received it)."""

    def __init__(self, turn: Turn, surveys: Surveys, facility: Facility, round_id: int,
                 nonce: str) -> None:
        self.turn = turn
        self.surveys = surveys
        self.facility = facility
        self.survey = _round_survey(turn, surveys, facility, round_id)
        self.round_id = round_id
        self.nonce = nonce
        self.respondent = respondent(turn)
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

    def values(self, step: str) -> list[Any]:
        """What can be chosen at a step, for decoding answer tags."""
        kind = step_kind(step)
        if kind == "rating":
            return [level.value for level in self.surveys.scale]
        number = profile_number(step, self.surveys)
        if kind == "choice" and number is not None:
            return [option.id for option in self.surveys.profile[number - 1].options]
        return []

    def answer_button(self, label: str, step: str, value: Any) -> Button:
        """A signed answer button: `svy:a:<step>:<tag>`."""
        tag = sign(self.turn.ctx.secret_key, self.nonce, step, value)
        return Button(label, payload(PREFIX, "a", step, tag))


def _round_survey(turn: Turn, surveys: Surveys, facility: Facility, round_id: int) -> Survey:
    """The survey the round asks: the facility's, with the custom indicators the CAF added from
    citizens' proposals after the standard ones (dialogues/scorecard/jaap)."""
    row = store.round_row(turn.session, round_id)
    found = round_survey(turn.session, surveys, row) if row is not None else None
    return found or surveys.survey_for(facility)


def respondent(turn: Turn) -> str:
    """The pseudonymous respondent id (an HMAC of the channel and the channel's user id)."""
    return store.respondent_key(turn.ctx.secret_key, str(turn.user.channel),
                                str(turn.user.channel_user_id))


def current_walk(turn: Turn) -> Walk | None:
    flow = turn.flow() or {}
    surveys = surveys_of(turn.content)
    facility = surveys.facilities.get(str(flow.get("facility")))
    if flow.get("name") != FLOW or facility is None or not isinstance(flow.get("round"), int):
        return None
    return Walk(turn, surveys, facility, int(flow["round"]), str(flow.get("nonce", "")))


def end(turn: Turn) -> None:
    """End the survey flow (only it: another flow started meanwhile stays)."""
    flow = turn.flow()
    if flow and flow.get("name") == FLOW:
        turn.end_flow()
