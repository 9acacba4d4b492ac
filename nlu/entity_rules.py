"""Rules on the entities of one message once every extractor has spoken: which of two
readings of the same words the intent needs, and one entity per stretch of text. Kept apart
from the components (nlu/components.py) so each stays readable; a model input like them."""

from __future__ import annotations

from typing import Any

_TO_SCOPE = {"health_centre": "health_centre", "school": "school", "commune_office": "commune"}
_TO_FACILITY = {"health_centre": "health_centre", "school": "school", "commune": "commune_office"}


def scopes_for_intent(entities: list[dict[str, Any]], intent: str | None
                       ) -> list[dict[str, Any]]:
    """The same words name a budget scope (ask_budget) or a facility (rate_service): give
    them the entity the intent needs, and none to other intents: "the sangkat office" in a
    service question is where to go, not a scope. "ឃុំ" before a place name marks the place;
    when a more specific scope or facility is named too, that one is meant."""
    target = {"ask_budget": "budget_scope", "rate_service": "facility_type",
              "report_problem": "facility_type"}.get(intent or "")
    if not target:  # "sangkat office", "at the health centre" inside a service question
        return [e for e in entities if e["entity"] not in ("budget_scope", "facility_type")]
    if target:
        convert = _TO_SCOPE if target == "budget_scope" else _TO_FACILITY
        for entity in entities:
            if entity["entity"] in ("budget_scope", "facility_type") \
                    and entity["entity"] != target:
                entity["entity"] = target
                entity["value"] = convert[entity["value"]]
    for name, general in (("budget_scope", "commune"), ("facility_type", "commune_office")):
        values = {e["value"] for e in entities if e["entity"] == name}
        if general in values and len(values) > 1:
            entities = [e for e in entities
                        if not (e["entity"] == name and e["value"] == general)]
    return entities

def without_overlaps(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entity per stretch of text: the longest ("copy of a birth certificate" over
    "birth certificate"), the model's own first when equally long."""
    ranked = sorted(entities, key=lambda e: (-(e["end"] - e["start"]),
                                             e.get("extractor") == "EntityCanonicalizer",
                                             e["start"]))
    kept: list[dict[str, Any]] = []
    for entity in ranked:
        if all(entity["end"] <= k["start"] or entity["start"] >= k["end"] for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e["start"])
