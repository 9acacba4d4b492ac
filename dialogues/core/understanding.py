"""Context in understanding: what a message means given the conversation so far (issue 18,
issue 19 findings 3 and 4). Every rule is here, in the order they are tried, so that what the
bot makes of "and the price?" is decided in one place and tested in one place:

1. A yes/no right after a question that offered one answers it, however unsure the NLU is.
2. An aspect (fee, documents, time, place) with no service, in a message that says little else,
   after a service answer, is a follow-up on that service, whatever the intent confidence.
3. A service named alone ("ID", "កាតខ្មែរ?") is a question about it.
4. A bare place name after a budget answer is that budget for the new place.
5. A question that does not fit the topic is never answered with the old topic: a service
   question naming no service, but saying more than a follow-up, is asked back ("Do you mean
   the marriage certificate, or something else?"); a question about a rating's results does not
   start a new rating: it is answered with what is known of the rounds (`ask_results`).

When nothing applies the NLU's reading stands; when the bot does not understand, the fallback
keeps the current service's buttons (`context_buttons`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from common.khmer import words
from common.messages import Button, Entity, Understanding
from common.when import parse_when
from content.places import resolve

if TYPE_CHECKING:
    from dialogues.core.router import Turn

LAST_SERVICE = "last_service"  # the service of the last answer (its id) ...
LAST_SERVICE_AT = "last_service_at"  # ... and when: "how much is it?" refers to it a while
BUDGET_PLACE = "budget_place"  # the commune of the last budget answer (its code) ...
BUDGET_PLACE_AT = "budget_place_at"  # ... and when
BUDGET_PENDING = "budget_pending"  # a budget question still waiting for its place ...
BUDGET_PENDING_AT = "budget_pending_at"  # ... since when ("I could not find X": type another)
EXPECT = "expect"  # {"yes": payload, "no": payload}: the last question offered yes/no
ASK_BACK = "context_ask_back"  # the internal intent that asks back
ASK_RESULTS = "ask_results"  # the internal intent of "when will I know the results?"
BUDGET_SPENDING = "budget_spending"  # internal: "what do they spend it on?" after a budget
_ASPECTS = ("documents", "fee", "duration", "place")
_YES = frozenset("yes y yeah yep ok okay sure ya yes please បាទ ចាស បាទបង ចាសបង អូខេ ព្រម "
                 "ត្រូវ ត្រូវហើយ baat chas jas bat ok".split())
_THANKS = frozenset("thanks thank you thx ty អរគុណ អរគុណច្រើន សូមអរគុណ hi hello "
                    "សួស្តី awkun orkun".split())
_NO = frozenset("no nope nah not now no thanks ទេ អត់ទេ អត់ មិនទេ ទេបង te ot ot te".split())
# Words that say nothing of their own in a short follow-up ("and the price?", "ចុះថ្លៃវិញ?").
_FILLERS = frozenset("""
and the a an what about how is it its does do i that this for then so ok okay please pls bong
of to there go with much many take need bring cost costs get again also too now ?
ចុះ វិញ ហើយ បង អ៊ីចឹង ចឹង នោះ នេះ ដែរ ទេ វា អី អ្វី ខ្លះ ត្រូវ ការ ធ្វើ បាន នៅ ណា សម្រាប់ មួយ
ណាស់ ចេញ ទៅ មែន ម៉េច អញ្ចឹង បាទ ចាស ផង ដែល គេ យក អស់ ប៉ុន្មាន
chos vinh hz hoy ey klas klah na nov tver trov ka
long time days day take takes spend pay ចំណាយ ពេល យូរ ថ្ងៃ ខែ លុយ បង់ ចាំ
can could we you will would should must be are have has soon yet
អាច យើង ខ្ញុំ គាត់ ទើប
""".split())
# Money words that make a short question after a service answer its fee ("ត្រូវចំណាយលុយ
# ប៉ុន្មាន"), unless it names a budget or a place ("how much money does the commune get").
_MONEY = re.compile(r"how much|\bcosts?\b|\bprice\b|\bfees?\b|\bpay\b|លុយ|ប៉ុន្មាន|ថ្លៃ|តម្លៃ"
                    r"|បង់|ponman|\btlai\b|\bluy\b", re.I)
_BUDGET_WORDS = re.compile(r"budget|commune|sangkat|khan|district|province|ថវិកា|ឃុំ|សង្កាត់"
                           r"|ខណ្ឌ|ស្រុក|ខេត្ត|thavika|\bkhum\b", re.I)
# "What do they spend it on?", "លុយនោះយកទៅធ្វើអី" right after a budget answer.
_SPENDING = re.compile(r"\bspen[dt]\b|spending|used for|\buse it\b|goes? to|\bwent\b"
                       r"|where did (?:it|the money) go|ចាយ|យកទៅធ្វើ|ប្រើប្រាស់|ប្រើលើ"
                       r"|\bchay\b", re.I)
# "glossary" typed alone: the glossary's list of words (dialogues/budgets/handlers.py).
GLOSSARY_ALONE = re.compile(r"^\s*(?:glossary|words?|វចនានុក្រម|ពាក្យពេចន៍)\s*[?!.]*\s*$", re.I)
# When the NLU is unsure, a few unmistakable shapes name what is asked (issue 19, finding 7 and
# "everything typed"): whether the bot is a person, who reads what one writes, the glossary.
_SHAPES = (
    ("ask_about_bot", re.compile(
        r"\bare you (?:a |an )?(?:real |actual )?(?:person|human|people|robot|bot|machine|ai)\b"
        r"|អ្នកជាមនុស្ស|ជាមនុស្សពិត|ជារ៉ូបូត", re.I)),
    ("ask_privacy", re.compile(
        r"\bwho (?:can |will |does |do )?(?:see|sees|read|reads|look at|looks at)\b.*\b(?:my|i)\b"
        r"|\b(?:find out|know|knows|see) (?:that )?it (?:was|is) me\b"
        r"|\b(?:anonymous|confidential|secret)\b|sam ?ngat"
        r"|នរណា(?:ខ្លះ)?(?:អាច)?(?:មើល|អាន)|ដឹង(?:ទេ)?ថាខ្ញុំ|សម្ងាត់|អនាមិក", re.I)),
    ("ask_glossary", GLOSSARY_ALONE),
)
# "Will the chief find out it was me?" asked of a report or a rating: whether one is known is
# asked before complaining, and answered first, whatever the NLU's confidence in the report.
_FOUND_OUT = re.compile(
    r"\b(?:find out|found out|know|knows|see|sees) (?:that )?it (?:was|is) me\b"
    r"|\banonymous(?:ly)?\b|\bconfidential\b|ដឹង(?:ទេ)?ថាខ្ញុំ|អនាមិក|សម្ងាត់(?:ទេ|អត់)", re.I)
_QUESTION = re.compile(r"\?\s*$|^\s*(?:will|would|can|could|is|are|do|does|if)\b"
                       r"|(?:ទេ|អត់|ឬទេ)\s*\??\s*$|\b(?:te|ot)\s*\??\s*$", re.I)
# A word of the glossary that the NLU reads as the question about the framework ("what does
# JAAP mean"): the glossary's own entry answers it better than the framework's.
_GLOSSARY_TERM = re.compile(r"\bJAAP\b|\bI4C\b|ផ\.?ស\.?រ\.?គ", re.I)
# Intents a date and a time are mistaken for: their numbers look like sums.
_NUMBER_READINGS = ("convert_currency", "report_problem", "ask_budget")
_BUDGET_MONEY = re.compile(r"budget|money|fund|ថវិកា|លុយ|មូលនិធិ|thavika|\bluy\b", re.I)
_BYE = frozenset("bye goodbye good-bye byebye ciao លា លាហើយ ជម្រាបលា ជំរាបលា".split())
_RESULTS = re.compile(r"\bresults?\b|\bwhen will i (know|see|hear)\b|លទ្ធផល|ពេលណាដឹង", re.I)
_FIRM = ("ask_budget", "ask_meeting", "rate_service", "subscribe_reminders", "unsubscribe",
         "change_language", "goodbye", "report_problem", "ask_about_bot", "ask_privacy",
         "ask_social_accountability", "talk_to_human", "caf_help",
         "play_quiz", "ask_glossary", "convert_currency", "ask_fund_sources",
         "ask_if_late", "ask_on_behalf")
# Intents a question about a rating's results is read as (it names the rating, or asks who
# sees the answers): it is asked back, never a new rating or the privacy notice.
_RESULTS_READ_AS = ("rate_service", "ask_privacy", "ask_about_bot")
_SMALL_TALK = ("affirm", "deny", "thank", "greet", "goodbye", "help", "unsubscribe",
               "subscribe_reminders", "change_language")
_SHORT = 1  # content words a follow-up may carry besides its aspect or service
_PLACE_ENTITIES = ("place", "district", "province")


@dataclass(frozen=True)
class Reading:
    """The understanding to act on, the rule that produced it (None: the NLU's own), and for
    an asked-back question the topic it might be about."""

    understanding: Understanding | None
    rule: str | None = None
    topic: str | None = None  # "service:<id>" or "rating"


def read_in_context(turn: Turn) -> Reading:
    """The first rule that applies to this message in this conversation."""
    understanding = turn.understanding
    if understanding is None or not turn.text.strip():
        return Reading(understanding)
    for rule in (_yes_no, _results, _thanks_and_bye, _aspect_follow_up, _bare_service,
                 _budget_spending, _budget_of_a_place, _bare_place, _date_alone, _shapes,
                 _off_topic):
        reading = rule(turn, understanding)
        if reading is not None:
            return reading
    return Reading(understanding)


def _as(understanding: Understanding, intent: str, *extra: Entity) -> Understanding:
    return replace(understanding, intent=intent, confidence=1.0,
                   entities=(*understanding.entities, *extra))


def _yes_no(turn: Turn, understanding: Understanding) -> Reading | None:
    if not isinstance(turn.state.get(EXPECT), dict):
        return None
    said = " ".join(w.text.lower() for w in words(turn.text))
    if said in _YES:
        return Reading(_as(understanding, "affirm"), "yes_no")
    if said in _NO:
        return Reading(_as(understanding, "deny"), "yes_no")
    return None


def _results(turn: Turn, understanding: Understanding) -> Reading | None:
    """"When do the results come out?": the rounds' state, never a new rating or reminders."""
    if not _RESULTS.search(turn.text) or understanding.first("service"):
        return None
    if understanding.intent in (*_RESULTS_READ_AS, "subscribe_reminders") \
            or understanding.confidence < turn.ctx.fallback_threshold:
        return Reading(_as(understanding, ASK_RESULTS), "results")
    return None


def _thanks_and_bye(turn: Turn, understanding: Understanding) -> Reading | None:
    """"thanks, goodbye", "អរគុណ លាហើយ": a goodbye, however the NLU split it."""
    said = _said(turn.text)
    if not any(w in _BYE for w in said):
        return None
    if all(w in _BYE or w in _THANKS or w in _YES or w in _FILLERS for w in said):
        return Reading(_as(understanding, "goodbye"), "goodbye")
    return None


def _aspect_follow_up(turn: Turn, understanding: Understanding) -> Reading | None:
    service = recent_service(turn)
    if service is None or understanding.first("service"):
        return None
    aspects = [a for a in understanding.all("aspect") if a in _ASPECTS]
    money = not aspects and _money_not_budget(turn, understanding)
    if not aspects and not money and understanding.intent != "ask_service":
        return None
    if (_firm(turn, understanding) and not money) \
            or _content_words(turn.text, understanding) > _SHORT:
        return None
    fee = (Entity("aspect", "fee", 0, 0),) if money else ()
    return Reading(_as(understanding, "ask_service", Entity("service", service, 0, 0), *fee),
                   "follow_up")


def _money_not_budget(turn: Turn, understanding: Understanding) -> bool:
    """A budget reading of a short money question that names no budget and no place: after a
    service answer, "how much money do I pay?" asks its fee."""
    return (understanding.intent == "ask_budget" and bool(_MONEY.search(turn.text))
            and not _BUDGET_WORDS.search(turn.text)
            and not any(e.entity in (*_PLACE_ENTITIES, "budget_scope")
                        for e in understanding.entities))


def _budget_spending(turn: Turn, understanding: Understanding) -> Reading | None:
    """Right after a budget answer, "what do they spend it on?" is that budget's details."""
    if not _recent(turn, BUDGET_PLACE, BUDGET_PLACE_AT) or not _SPENDING.search(turn.text):
        return None
    if understanding.first("service") or len(words(turn.text)) > 8 \
            or _more_recent(turn, LAST_SERVICE_AT, BUDGET_PLACE_AT):
        return None
    if _firm(turn, understanding) and understanding.intent != "ask_budget":
        return None
    return Reading(_as(understanding, BUDGET_SPENDING), "budget_spending")


def _budget_of_a_place(turn: Turn, understanding: Understanding) -> Reading | None:
    """"What is the budget of Sen Sok district": the NLU's first guess is the budget, unsure
    of itself, but the message names a place and says budget or money: it is that budget."""
    if understanding.intent != "ask_budget" \
            or understanding.confidence >= turn.ctx.fallback_threshold:
        return None
    if not any(e.entity in _PLACE_ENTITIES for e in understanding.entities) \
            or understanding.first("service") or not _BUDGET_MONEY.search(turn.text):
        return None
    return Reading(_as(understanding, "ask_budget"), "budget_of_a_place")


def _shapes(turn: Turn, understanding: Understanding) -> Reading | None:
    """An unsure or out-of-scope reading of "are you a real person?", "who reads my comments",
    "glossary": what they plainly ask; and a report or a rating that asks whether one will be
    known ("will the chief find out it was me?"): that question first; "what does JAAP mean":
    the glossary's word, not the whole framework."""
    if understanding.intent in ("report_problem", "rate_service") \
            and _FOUND_OUT.search(turn.text) and _QUESTION.search(turn.text):
        return Reading(_as(understanding, "ask_privacy"), "shape")
    if understanding.intent == "ask_social_accountability" \
            and _GLOSSARY_TERM.search(turn.text):
        return Reading(_as(understanding, "ask_glossary"), "shape")
    if understanding.confidence >= turn.ctx.fallback_threshold \
            and understanding.intent not in ("out_of_scope", "help", None):
        return None
    for intent, shape in _SHAPES:
        if shape.search(turn.text):
            return Reading(_as(understanding, intent), "shape")
    return None


def _date_alone(turn: Turn, understanding: Understanding) -> Reading | None:
    """A date or time typed on its own, outside a form ("ថ្ងៃអង្គារក្រោយ ម៉ោង២រសៀល"), is
    about meetings: never a report (a clock hour is not an amount) nor a commune's name."""
    if (_firm(turn, understanding) and understanding.intent not in _NUMBER_READINGS) \
            or len(words(turn.text)) > 8 or any(
            e.entity in ("service", "facility_type", *_PLACE_ENTITIES)
            for e in understanding.entities):
        return None
    if parse_when(turn.text, turn.now).problem not in (None, "past"):
        return None  # a day and a time both: "tomorrow" alone is no meeting
    return Reading(_as(understanding, "ask_meeting"), "date_alone")


def _bare_service(turn: Turn, understanding: Understanding) -> Reading | None:
    if not understanding.first("service") or (
            understanding.intent == "ask_service"
            and understanding.confidence >= turn.ctx.fallback_threshold):
        return None
    if _firm(turn, understanding) or _content_words(turn.text, understanding) > _SHORT:
        return None
    return Reading(_as(understanding, "ask_service"), "bare_service")


def _bare_place(turn: Turn, understanding: Understanding) -> Reading | None:
    """Right after a budget answer, or while a budget question waits for its place, a place
    typed alone asks for that place's budget."""
    waiting = (_recent(turn, BUDGET_PLACE, BUDGET_PLACE_AT)
               or _recent(turn, BUDGET_PENDING, BUDGET_PENDING_AT))
    if not waiting or understanding.intent == "ask_budget" or surely_not_a_place(turn):
        return None
    if understanding.first("service") or understanding.all("aspect"):
        return None
    names = [e for e in understanding.entities if e.entity in _PLACE_ENTITIES]
    if names and _content_words(turn.text, understanding) <= _SHORT:
        return Reading(_as(understanding, "ask_budget"), "budget_place")
    if len(words(turn.text)) > 4 or (
            understanding.intent in _SMALL_TALK
            and understanding.confidence >= turn.ctx.fallback_threshold):
        return None
    found = resolve(turn.text)
    if found.area is not None:
        return Reading(_as(understanding, "ask_budget", Entity(
            found.area.level, found.area.name_en, 0, len(turn.text))), "budget_place")
    if found.places and found.places[0].name_en:
        return Reading(_as(understanding, "ask_budget", Entity(
            "place", found.places[0].name_en, 0, len(turn.text))), "budget_place")
    return None


def _off_topic(turn: Turn, understanding: Understanding) -> Reading | None:
    """A question that does not fit the topic is asked back, never answered with the topic."""
    service = recent_service(turn)
    if understanding.intent == "ask_service" and service and not understanding.first("service"):
        return Reading(understanding, "off_topic", topic=f"service:{service}")
    return None


def surely_not_a_place(turn: Turn) -> bool:
    """While a commune is awaited, a message that names no place is not searched as one when
    it is only small words ("ok", "yes", "thanks"), a date or a time ("next Tuesday 2 pm"), or
    a question the NLU is sure of that the bot answers on its own ("what is CIP?", "bye"):
    a near-miss spelling of some commune is no reason to answer "did you mean Chi Kraeng?"."""
    understanding = turn.understanding
    if understanding is not None and any(
            e.entity in _PLACE_ENTITIES for e in understanding.entities):
        return False
    if only_small_words(turn.text) or _RESULTS.search(turn.text):
        return True
    if parse_when(turn.text, turn.now).problem != "unreadable":
        return True
    return (understanding is not None and understanding.intent != "ask_budget"
            and understanding.intent in (*_FIRM, *_SMALL_TALK)
            and understanding.confidence >= turn.ctx.fallback_threshold)


def only_small_words(text: str) -> bool:
    """Yes, no, ok, thanks or a greeting only: an acknowledgement, not an answer ("how long
    does it take" is a question, though every word of it is a filler of a follow-up)."""
    said = _said(text)
    return bool(said) and all(w in _YES or w in _NO or w in _THANKS for w in said)


def _said(text: str) -> list[str]:
    """The message's words, lower case, without those that are only punctuation."""
    return [w.text.lower() for w in words(text) if w.text.strip("?!.,។ ")]


def _firm(turn: Turn, understanding: Understanding) -> bool:
    """The NLU is sure of an intent that a follow-up is not (a budget question, "bye")."""
    return understanding.intent in _FIRM and understanding.confidence >= 0.8


def _content_words(text: str, understanding: Understanding) -> int:
    """Words of the message outside its entities that are not fillers."""
    spans = [(e.start, e.end) for e in understanding.entities if e.end > e.start]
    return sum(1 for w in words(text)
               if not any(s <= w.start and w.end <= e for s, e in spans)
               and w.text.lower() not in _FILLERS and not w.text.isdigit())


def _more_recent(turn: Turn, at_key: str, than_key: str) -> bool:
    """The state's time under `at_key` is later than under `than_key` (ISO strings)."""
    first, second = turn.state.get(at_key), turn.state.get(than_key)
    return bool(first) and (not second or str(first) > str(second))


def _recent(turn: Turn, key: str, at_key: str) -> bool:
    value, at = turn.state.get(key), turn.state.get(at_key)
    if not value or not at:
        return False
    try:
        elapsed = turn.now - datetime.fromisoformat(str(at))
    except (TypeError, ValueError):
        return False
    return elapsed.total_seconds() <= turn.ctx.followup_minutes * 60


def recent_service(turn: Turn) -> str | None:
    """The service of the last answer, if it was recent enough to be what "it" means."""
    if not _recent(turn, LAST_SERVICE, LAST_SERVICE_AT):
        return None
    service = str(turn.state[LAST_SERVICE])
    return service if service in turn.content.services else None


# ------------------------------------------------------------------ replies

def ask_back(turn: Turn, topic: str) -> None:
    """"Do you mean the marriage certificate, or something else?" with the topic's button."""
    if topic.startswith("service:"):
        service = turn.content.services[topic.partition(":")[2]]
        name, payload = service.name(turn.lang), f"svc:{service.id}"
    else:
        name, payload = turn.t("context_topic_rating"), "svy"
    turn.say(turn.t("context_ask_back", topic=name),
             [Button(name, payload), turn.button("other_services", "svcs"),
              turn.button("menu_button", "menu")])


def context_buttons(turn: Turn) -> list[Button]:
    """The current service's buttons (when one was just answered), then the menu's: a message
    the bot did not understand does not drop the topic."""
    service_id = recent_service(turn)
    if service_id is None or _more_recent(turn, BUDGET_PLACE_AT, LAST_SERVICE_AT):
        return turn.menu()  # no service, or a budget answered since: not its buttons
    service = turn.content.services[service_id]
    buttons = [Button(turn.t(f"button_{a}"), f"svc:{service.id}:{a}") for a in _ASPECTS
               if service.fact(a)]
    return [*buttons, turn.button("other_services", "svcs"), turn.button("menu_button", "menu")]

