"""Intent corrections the EntityCanonicalizer makes once the entities are known: a named
commune service makes a small-talk reading a service question, an unsure service question
with nothing of a service in it is the classifier's second choice, a negated stop asks for
reminders, and a document other offices issue is out of scope (docs/nlu-contract.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

_SERVICE_OVERRIDES = ("out_of_scope", "help", "list_services", "affirm", "deny",
                      "change_language", "greet", "thank", "rate_service")
_UNSURE = 0.5  # below this an ask_service reading with nothing of a service is not kept


def service_named(message: Message, found: list[dict[str, Any]], intent: str | None
                  ) -> str | None:
    """A commune service named in a message read as small talk, out of scope or a rating
    without a facility is a question about that service: the bot can help with it."""
    names = {e["entity"] for e in found}
    if "service" not in names or intent not in _SERVICE_OVERRIDES or (
            intent == "rate_service" and "facility_type" in names):
        return intent
    message.set(INTENT, {**(message.get(INTENT) or {}), "name": "ask_service"},
                add_to_output=True)
    return "ask_service"


def unsure_service_question(message: Message, found: list[dict[str, Any]],
                            intent: str | None) -> str | None:
    """An unsure service question that names neither a service nor an aspect is the
    classifier's second choice ("ចំណាយរបស់ឃុំ…" is a budget question)."""
    confidence = float((message.get(INTENT) or {}).get("confidence") or 0.0)
    if intent != "ask_service" or confidence >= _UNSURE or any(
            e["entity"] in ("service", "aspect") for e in found):
        return intent
    return _next_reading(message, intent)


def _next_reading(message: Message, intent: str) -> str:
    """The classifier's best reading other than `intent`, set on the message (`intent` when
    the ranking has no other)."""
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
    if not ranking:
        return intent
    message.set(INTENT, {"name": ranking[0]["name"],
                         "confidence": float(ranking[0]["confidence"])}, add_to_output=True)
    return str(ranking[0]["name"])


_NEGATED_STOP = re.compile(
    r"\b(?:don'?t|do not|dont|never|kom|kum)\s+(?:stop|chhob|chhop|chob|chheub)\b"
    r"|កុំ\s*(?:ឈប់|stop)|មិនចង់ឈប់|កុំអាល់ឈប់", re.I)
# Documents other offices issue (the police, ministries): the commune cannot issue them, so a
# question about one is out of the bot's scope, said honestly, not read as a commune service.
_NOT_COMMUNE = re.compile(
    r"passport|pass port|driv(?:ing|er'?s?)\s*licen[cs]e|driving permit|\bvisa\b"
    r"|building permit|construction permit|work permit|likhet chlong den|bann? bek bo"
    r"|លិខិតឆ្លងដែន|ប័ណ្ណបើកបរ|បណ្ណបើកបរ|ប័ណ្ណបើកបរ|ទិដ្ឋាការ|លិខិតអនុញ្ញាតសាងសង់|ប៉ាសស្ព័រ"
    r"|ប៉ាស្ព័រ|លិខិតអនុញ្ញាតធ្វើការ", re.I)


def _set(message: Message, name: str) -> str:
    message.set(INTENT, {**(message.get(INTENT) or {}), "name": name}, add_to_output=True)
    return name


def negated_stop(message: Message, intent: str | None) -> str | None:
    """"don't stop sending me reminders" asks to keep them: a negated stop read as
    unsubscribe (or as leaving) is a request for reminders."""
    if intent in ("unsubscribe", "goodbye") and _NEGATED_STOP.search(message.get(TEXT) or ""):
        return _set(message, "subscribe_reminders")
    return intent


def not_a_commune_service(message: Message, found: list[dict[str, Any]],
                          intent: str | None) -> str | None:
    """A passport or a driving licence is no commune service: a question about one is
    out_of_scope (the answer says so), unless a commune service is named as well."""
    if intent != "ask_service" or any(e["entity"] == "service" for e in found) \
            or not _NOT_COMMUNE.search(message.get(TEXT) or ""):
        return intent
    return _set(message, "out_of_scope")


_NOT_A_COMPLAINT = re.compile(
    r"(?:don'?t|do not|dont|not)\s+(?:want\s+to\s+)?(?:complain|report)|not a complaint"
    r"|no complaint|មិន(?:ចង់|មែន)?(?:ប្តឹង|តវ៉ា|រាយការណ៍)|min chong pdeng|ot chong pdeng", re.I)
_ONE_WINDOW = re.compile(r"one[\s-]*window|ច្រកចេញចូលតែមួយ|chrok chenh chol", re.I)


def said_no_complaint(message: Message, found: list[dict[str, Any]],
                      intent: str | None) -> str | None:
    """"I don't want to complain, just the price of the family book": a report reading of a
    message that says it is no complaint and names a service is a service question; and
    the One Window office, read as small talk, is where commune services are asked for."""
    text = message.get(TEXT) or ""
    if intent == "report_problem" and _NOT_A_COMPLAINT.search(text) \
            and any(e["entity"] == "service" for e in found):
        return _set(message, "ask_service")
    if intent in ("out_of_scope", "help", "affirm", "greet") and _ONE_WINDOW.search(text):
        return _set(message, "ask_service")
    return intent


# What makes a question one about who may apply: someone else, instead, in person, allowed.
_ON_BEHALF = re.compile(
    r"instead|behalf|in person|themselves|himself|herself|allowed|\bwho\b|someone|somebody"
    r"|anyone|relative|for (?:him|her|them|me)\b"
    r"|can (?:i|my \w+|a \w+|an \w+|the \w+) (?:apply|register|sign|go|do|report|get|make)"
    r"|jomnu|jamnu|ជំនួស|ខ្លួនឯង|អ្នកណា|នរណា|អ្នកផ្សេង|សាច់ញាតិ|អាច\S*ឱ្យ|អាច\S*អោយ", re.I)


def story_with_a_question(message: Message, aspects: list[dict[str, Any]],
                          intent: str | None) -> str | None:
    """A long story about the family ("my wife gave birth last week… I work in Phnom Penh…")
    that ends with what to bring, what it costs, how long or where is a service question,
    not one about who may apply: read so when it asks for an aspect and says nothing of
    applying for someone else."""
    if intent != "ask_on_behalf" or not aspects or _ON_BEHALF.search(message.get(TEXT) or ""):
        return intent
    return _set(message, "ask_service")


# What asks for a conversion: an equals sign, a verb of changing, or the other currency asked.
_CONVERSION = re.compile(
    r"=|convert|change|exchange|\b(?:in|to|into) (?:usd|dollars?|riels?|\$|៛)"
    r"|how (?:much|many) (?:usd|dollars?|riels?)|(?:usd|dollars?|riels?) is (?:that|how)"
    r"|ស្មើ|ប្តូរ|ប្ដូរ|ដូរ|គិតជា|ជា(?:ដុល្លារ|រៀល)|ប៉ុន្មាន\s*(?:ដុល្លារ|រៀល|dollar|usd|riel)"
    r"|pon ?man (?:dollar|usd|riel)", re.I)


_RIEL = re.compile(r"riel|រៀល|៛", re.I)
_DOLLAR = re.compile(r"dollar|dolla|usd|\$|ដុល្លារ", re.I)


def money_without_conversion(message: Message, found: list[dict[str, Any]],
                             intent: str | None) -> str | None:
    """A sum of money is not a conversion question unless it asks for one ("the clerk said
    $5 or wait a month" is a report, "ស្មៀនថា៥ដុល្លារ"): a currency reading without any
    conversion word, and a question about who may apply that names a sum paid, are the
    classifier's next reading."""
    text = message.get(TEXT) or ""
    named_sum = any(e["entity"] == "amount" for e in found)
    both = _RIEL.search(text) and _DOLLAR.search(text)  # "how much riel is 30 dollars"
    if not ((intent == "convert_currency" and not both and not _CONVERSION.search(text))
            or (intent == "ask_on_behalf" and named_sum)):
        return intent
    return _next_reading(message, intent)


def before_entities(message: Message, intent: str | None,
                    service_entities: Callable[[], list[dict[str, Any]]],
                    amounts: Callable[[], list[dict[str, Any]]]) -> str | None:
    """The corrections decided before the entities are looked for (which ones are looked for
    depends on the intent): a family story asking what to bring, a sum that asks no
    conversion. The lexicon's search costs, so it runs only for the intents concerned."""
    if intent == "ask_on_behalf":
        aspects = [e for e in service_entities() if e["entity"] == "aspect"]
        intent = story_with_a_question(message, aspects, intent)
    if intent in ("convert_currency", "ask_on_behalf"):
        intent = money_without_conversion(message, amounts(), intent)
    return intent
