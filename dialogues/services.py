"""Commune services: which documents, what fee, how long, where.

Every answer names its source and the date the fact was last checked, and warns when a fee may
have changed (pointing to the price board each One Window office must display).
"""

from __future__ import annotations

from datetime import datetime

from bot.messages import Button
from content.model import ASPECTS, Fact, Service
from dialogues import formatting as fmt
from dialogues.router import Router, Turn

router = Router("services")
router.menu_item("menu_services", "svcs", order=10)
router.uses(
    "which_service", "services_list", "service_unknown", "service_summary", "source_line",
    "outdated_fee", "outdated_other",
    "aspect_documents", "aspect_fee", "aspect_duration", "aspect_place", "aspect_validity",
    "button_documents", "button_fee", "button_duration", "button_place", "button_validity",
    "fee_free", "fee_free_condition", "fee_amount_condition", "working_days", "days", "months",
    "other_services", "menu_button",
)

LAST_SERVICE = "last_service"
LAST_SERVICE_AT = "last_service_at"
_ASPECT_ORDER = (*ASPECTS, "validity")


@router.intent("ask_service")
def ask_service(turn: Turn) -> None:
    aspects = [a for a in dict.fromkeys(turn.understanding.all("aspect"))  # type: ignore[union-attr]
               if a in ASPECTS]
    service_id = turn.entity("service") or _recent_service(turn)
    if service_id is None or service_id not in turn.content.services:
        _ask_which(turn, aspects)
        return
    answer(turn, turn.content.services[service_id], aspects)


@router.intent("list_services")
@router.payload("svcs")
def list_services(turn: Turn) -> None:
    _ask_which(turn, [], key="services_list")


@router.payload("svc")
def service_button(turn: Turn) -> None:
    """`svc:<service>` (overview) or `svc:<service>:<aspect>`."""
    _, service_id, aspect = ((turn.incoming.payload or "") + "::").split(":")[:3]
    service = turn.content.services.get(service_id)
    if service is None:
        _ask_which(turn, [], key="service_unknown")
        return
    pending = turn.state.pop("pending_aspects", [])
    aspects = [aspect] if aspect in _ASPECT_ORDER else [a for a in pending if a in ASPECTS]
    answer(turn, service, aspects)


def answer(turn: Turn, service: Service, aspects: list[str]) -> None:
    """Answer the aspects asked (all of them, in the order asked), then offer the rest.
    Without an aspect: what the service is and what to bring, the commonest question."""
    turn.state[LAST_SERVICE] = service.id
    turn.state[LAST_SERVICE_AT] = turn.now.isoformat()
    shown = aspects or ["documents"]
    parts = [] if aspects else [turn.t("service_summary", service=service.name(turn.lang),
                                       summary=service.summary(turn.lang))]
    for aspect in shown:
        fact = service.fact(aspect)
        if fact:
            parts.append(describe(turn, service, fact))
    rest = [a for a in _ASPECT_ORDER if a not in shown and service.fact(a)]
    buttons = [Button(turn.t(f"button_{a}"), f"svc:{service.id}:{a}") for a in rest]
    buttons += [turn.button("other_services", "svcs"), turn.button("menu_button", "menu")]
    turn.say("\n\n".join(parts), buttons)


def describe(turn: Turn, service: Service, fact: Fact) -> str:
    """One fact as a short paragraph, its source line last."""
    lang = turn.lang
    title = turn.t(f"aspect_{fact.aspect}", service=service.name(lang))
    lines = [title]
    if fact.aspect == "documents":
        lines += [f"• {item(lang)}" for item in fact.items]
    elif fact.aspect == "fee":
        lines += [f"• {_fee(turn, option.amount_riel, option.condition)}"
                  for option in fact.fee_options]
    else:
        lines.append(_measure(turn, fact))
    if fact.note:
        lines.append(fact.note(lang))
    if fact.may_be_outdated:
        lines.append(turn.t("outdated_fee" if fact.aspect == "fee" else "outdated_other"))
    source = turn.content.sources[fact.source]
    lines.append(turn.t("source_line", source=source.title(lang),
                        published=_published(source.published, lang),
                        checked=fmt.day(fact.checked, lang)))
    return "\n".join(lines)


def _fee(turn: Turn, amount: int, condition: object) -> str:
    cond = condition(turn.lang) if callable(condition) else None
    if amount == 0:
        return turn.t("fee_free_condition", condition=cond) if cond else turn.t("fee_free")
    money = fmt.riel(amount, turn.lang)
    return turn.t("fee_amount_condition", amount=money, condition=cond) if cond else money


def _measure(turn: Turn, fact: Fact) -> str:
    lang = turn.lang
    if fact.working_days:
        return turn.t("working_days", n=fmt.integer(fact.working_days, lang))
    if fact.days:
        return turn.t("days", n=fmt.integer(fact.days, lang))
    if fact.months:
        return turn.t("months", n=fmt.integer(fact.months, lang))
    return fact.text(lang) if fact.text else ""


def _published(published: str, lang: str) -> str:
    return fmt.integer(int(published[:4]), lang) if published[:4].isdigit() else published


def _ask_which(turn: Turn, aspects: list[str], key: str = "which_service") -> None:
    """Buttons for every service; the aspect asked is remembered for the choice."""
    if aspects:
        turn.state["pending_aspects"] = aspects
    services = sorted(turn.content.services.values(), key=lambda s: s.name(turn.lang))
    turn.say(turn.t(key), [Button(s.name(turn.lang), f"svc:{s.id}") for s in services])


def _recent_service(turn: Turn) -> str | None:
    """The service of the last answer, if it was recent enough to be what "it" means."""
    service_id, at = turn.state.get(LAST_SERVICE), turn.state.get(LAST_SERVICE_AT)
    if not service_id or not at:
        return None
    try:
        elapsed = turn.now - datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return None
    return str(service_id) if elapsed.total_seconds() <= turn.ctx.followup_minutes * 60 else None
