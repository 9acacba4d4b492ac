"""Intent corrections the EntityCanonicalizer makes once the entities are known: a named
commune service makes a small-talk reading a service question, and an unsure service question
with nothing of a service in it is the classifier's second choice (docs/nlu-contract.md)."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
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
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
               if r.get("name") != "ask_service"]
    if not ranking:
        return intent
    message.set(INTENT, {"name": ranking[0]["name"],
                         "confidence": float(ranking[0]["confidence"])}, add_to_output=True)
    return str(ranking[0]["name"])
