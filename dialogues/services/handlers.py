"""Commune services: which documents, what fee, how long, where.

Short first: each fact is one message that fits a phone screen (at most 40 words, Khmer
counted in khmer-nltk words: `content.review.reading_words`) with its source and checked date in
a short form ("Source: Phnom Penh Post 2017 (checked December 2026)"); the history, the sources in
full and the long warning are one button away (`svc:<service>:<aspect>:more`). A fact whose
newest source is older than the configured age (content/review.py) carries a short warning that
says the year, whatever the aspect. A fee answer opens with what the citizen should expect to
pay under the newest official word, and is always followed by the rights block
(content/rights.yml) with a button to report being overcharged.

The answers are built by pure functions of the content (`answer_messages`, `fact_message`,
`more_text`), so that `isafbot content check` audits exactly what a citizen would read (`audit`).
"""

from __future__ import annotations

import re
from datetime import date

from common import formatting as fmt
from common.formatting import number_style_problems
from common.messages import Button
from content.loader import Problem
from content.model import ASPECTS, Content, Fact, FeeOption, Service
from content.review import (
    FIRST_MESSAGE_WORDS,
    contradiction_problems,
    newest_source,
    reading_words,
    stale_tense_problems,
)
from dialogues.core.provenance import Freshness, freshness, published, source_names
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import LAST_SERVICE, LAST_SERVICE_AT
from dialogues.services import situations

router = Router("services")
router.menu_item("menu_services", "svcs", order=10)
router.uses(
    "which_service", "services_list", "service_unknown", "service_summary", "source_line",
    "source_line_stale", "published_earliest", "stale_warning", "check_fee", "check_other",
    "office_one_window", "office_commune_police", "office_administrative_police",
    "aspect_documents", "aspect_fee", "aspect_duration", "aspect_place", "aspect_validity",
    "button_documents", "button_fee", "button_duration", "button_place", "button_validity",
    "button_more", "button_more_aspect", "more_sources", "more_source_item", "more_checked",
    "fee_headline", "source_short", "stale_short", "short_documents", "short_duration",
    "short_place", "short_validity", "fee_more_prices",
    "fee_free", "fee_free_condition", "fee_amount_condition", "working_days",
    "working_days_at_most", "days", "days_at_most", "months", "other_services", "menu_button",
    "rights_button", "rights_based_on", "rights_report_soon",
)

_ASPECT_ORDER = (*ASPECTS, "validity")
REPORT_PREFIX = "report"  # the overcharging report flow (its own issue) takes these buttons
RIGHTS_PREFIX = "rights"  # until then: how to complain
_BRACKETS = re.compile(r"\s*\([^)]*\)")  # "(Open Institute)": in the full list only
FEE_LINES = 2  # prices in a first message; the rest are listed behind "More"
_URL = re.compile(r"https?://\S+")  # a link's digits are no number a citizen reads


@router.intent("ask_service")
def ask_service(turn: Turn) -> None:
    aspects = [a for a in dict.fromkeys(turn.understanding.all("aspect"))  # type: ignore[union-attr]
               if a in ASPECTS]
    service_id = turn.entity("service")  # a follow-up's comes from the context rules
    if situations.answer_situation(turn, service_id, aspects, answer):  # "born 2 months ago"
        return
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
    """`svc:<service>` (overview), `svc:<service>:<aspect>`, `svc:<service>:<aspect>:more`."""
    _, service_id, aspect, more = ((turn.incoming.payload or "") + ":::").split(":")[:4]
    service = turn.content.services.get(service_id)
    if service is None:
        _ask_which(turn, [], key="service_unknown")
        return
    if more == "more" and service.fact(aspect):
        more_about(turn, service, service.facts[aspect])
        return
    pending = turn.state.pop("pending_aspects", [])
    aspects = [aspect] if aspect in _ASPECT_ORDER else [a for a in pending if a in ASPECTS]
    answer(turn, service, aspects)


@router.payload(RIGHTS_PREFIX)
def rights_button(turn: Turn) -> None:
    """`rights:<service>`: how to complain about being overcharged (the report flow takes over
    once it exists: older buttons are forwarded to it)."""
    service_id = (turn.incoming.payload or "").partition(":")[2]
    if turn.dialogues.handles(_report_payload(service_id)):
        turn.press(_report_payload(service_id))
        return
    content, lang = turn.content, turn.lang
    rights = content.rights
    assert rights is not None  # the loader requires content/rights.yml
    text = "\n".join([rights.complain(lang), content.message("rights_report_soon", lang),
                      _rights_sources(content, lang)])
    buttons = [turn.button("button_fee", f"svc:{service_id}:fee")] \
        if service_id in content.services else []
    turn.say(text, [*buttons, turn.button("other_services", "svcs"),
                    turn.button("menu_button", "menu")])


def answer(turn: Turn, service: Service, aspects: list[str]) -> None:
    """Answer the aspects asked (all of them, in the order asked, a message each), then offer
    the rest. Without an aspect: what the service is and what to bring, the commonest question.
    The buttons ride on the last message."""
    turn.state[LAST_SERVICE] = service.id
    turn.state[LAST_SERVICE_AT] = turn.now.isoformat()
    shown = [a for a in (aspects or ["documents"]) if service.fact(a)]
    *first, last = answer_messages(turn.content, service, aspects, turn.lang, freshness(turn))
    buttons = [_more_button(turn, service, a, len(shown)) for a in shown]
    if "fee" in shown:
        buttons.append(turn.button("rights_button", overcharged_payload(turn, service.id)))
    buttons += [Button(turn.t(f"button_{a}"), f"svc:{service.id}:{a}") for a in _ASPECT_ORDER
                if a not in shown and service.fact(a)]
    buttons += [turn.button("other_services", "svcs"), turn.button("menu_button", "menu")]
    for message in first:
        turn.say(message)
    turn.say(last, buttons)


def more_about(turn: Turn, service: Service, fact: Fact) -> None:
    """The details of one fact: history, sources that disagree, every source in full."""
    buttons = [Button(turn.t(f"button_{a}"), f"svc:{service.id}:{a}") for a in _ASPECT_ORDER
               if service.fact(a)]
    if fact.aspect == "fee":
        buttons.insert(0, turn.button("rights_button", overcharged_payload(turn, service.id)))
    turn.say(more_text(turn.content, service, fact, turn.lang, freshness(turn)),
             [*buttons, turn.button("other_services", "svcs"),
              turn.button("menu_button", "menu")])


def overcharged_payload(turn: Turn, service_id: str) -> str:
    """The report flow's payload once a router handles it; `rights:<service>` until then."""
    report = _report_payload(service_id)
    return report if turn.dialogues.handles(report) else f"{RIGHTS_PREFIX}:{service_id}"


def _report_payload(service_id: str) -> str:
    return f"{REPORT_PREFIX}:fee:{service_id}"


def _more_button(turn: Turn, service: Service, aspect: str, shown: int) -> Button:
    label = turn.t("button_more") if shown == 1 else \
        turn.t("button_more_aspect", aspect=turn.t(f"button_{aspect}"))
    return Button(label, f"svc:{service.id}:{aspect}:more")


# ------------------------------------------------------------------ answers (pure)

def answer_messages(content: Content, service: Service, aspects: list[str], lang: str,
                    fresh: Freshness) -> list[str]:
    """The messages answering the aspects asked: the summary first when none was asked (then
    the documents), a short message per fact, the rights block after a fee."""
    shown = [a for a in (aspects or ["documents"]) if service.fact(a)]
    parts = [] if aspects else [content.message("service_summary", lang,
                                                 service=service.name(lang),
                                                 summary=service.summary(lang))]
    parts += [fact_message(content, service, service.facts[a], lang, fresh) for a in shown]
    if "fee" in shown and content.rights:
        parts.append(content.rights.block(lang))
    return parts


def answer_text(content: Content, service: Service, aspects: list[str], lang: str,
                fresh: Freshness) -> str:
    """Every message of the answer, one after the other (what the reader sees in the chat)."""
    return "\n\n".join(answer_messages(content, service, aspects, lang, fresh))


def fact_message(content: Content, service: Service, fact: Fact, lang: str,
                 fresh: Freshness) -> str:
    """One fact as a message for a phone screen: what it is, the short note, the short warning
    when the fact is stale (or known to be outdated), and its source and checked date."""
    name = service.name(lang)
    if fact.aspect == "fee":
        first, *rest = fact.fee_options
        lines = [content.message("fee_headline", lang, service=name,
                                 fee=fee_text(content, first, lang))]
        lines += [f"• {fee_text(content, option, lang)}" for option in rest[:FEE_LINES - 1]]
        if len(rest) >= FEE_LINES:
            lines.append(content.message("fee_more_prices", lang))
    else:
        lines = [content.message(f"short_{fact.aspect}", lang, service=name)]
        if fact.aspect == "documents":
            lines += [f"• {item(lang)}" for item in fact.items]
        else:
            lines.append(_measure(content, fact, lang))
    if fact.note:
        lines.append(fact.note(lang))
    warning = stale_warning(content, service, fact, lang, fresh)
    if warning:
        lines.append(warning)
    lines.append(short_source(content, fact, lang))
    return "\n".join(lines)


def more_text(content: Content, service: Service, fact: Fact, lang: str,
              fresh: Freshness) -> str:
    """Behind "More": the details (history, sources that disagree), the long warning, every
    source with its date and link, and the day it was checked."""
    lines = [content.message(f"aspect_{fact.aspect}", lang, service=service.name(lang))]
    if fact.aspect == "fee":
        lines += [f"• {fee_text(content, option, lang)}" for option in fact.fee_options]
    if fact.details:
        lines.append(fact.details(lang))
    warning = stale_warning(content, service, fact, lang, fresh, short=False)
    if warning:
        lines.append(warning)
    lines.append(content.message("more_sources", lang))
    for source in (content.sources[s] for s in fact.sources):
        lines.append(content.message("more_source_item", lang, title=source.title(lang),
                                     published=published(content, source, lang),
                                     url=f" {source.url}" if source.url else ""))
    lines.append(content.message("more_checked", lang, checked=fmt.day(fact.checked, lang)))
    return "\n".join(lines)


def short_source(content: Content, fact: Fact, lang: str) -> str:
    """"Source: Phnom Penh Post 2017, checked 2026.": the source the fact rests on (its name
    without the publisher in brackets) and the year it was checked; every source in full, with
    the day, is behind "More"."""
    source = content.sources[fact.source]
    name = _BRACKETS.sub("", source.name(lang)).strip()
    return content.message("source_short", lang,
                           source=f"{name} {published(content, source, lang)}",
                           checked=fmt.digits(fact.checked.year, lang))


def stale_warning(content: Content, service: Service, fact: Fact, lang: str,
                  fresh: Freshness, *, short: bool = True) -> str | None:
    """"⚠️ May have changed since 2015." (the year of the newest source) for a stale fact or
    one marked outdated; the long form, behind "More", says what to check and where."""
    if not fresh.warns(content, fact):
        return None
    newest = newest_source(content, fact.sources)
    office = content.message(f"office_{service.office}", lang)
    check = content.message("check_fee", lang) if fact.aspect == "fee" else \
        content.message("check_other", lang, office=office)
    year = published(content, newest, lang)
    if short:
        return content.message("stale_short", lang, year=year)
    return content.message("stale_warning", lang, year=year, check=check)


def fee_text(content: Content, option: FeeOption, lang: str) -> str:
    condition = option.condition(lang) if option.condition else None
    if option.amount_riel == 0:
        return content.message("fee_free_condition", lang, condition=condition) if condition \
            else content.message("fee_free", lang)
    money = fmt.riel(option.amount_riel, lang)
    return content.message("fee_amount_condition", lang, amount=money, condition=condition) \
        if condition else money


def _measure(content: Content, fact: Fact, lang: str) -> str:
    for key, value in (("working_days", fact.working_days), ("days", fact.days)):
        if value:
            key = f"{key}_at_most" if fact.at_most else key
            return content.message(key, lang, n=fmt.integer(value, lang))
    if fact.months:
        return content.message("months", lang, n=fmt.integer(fact.months, lang))
    return fact.text(lang) if fact.text else ""


def _rights_sources(content: Content, lang: str) -> str:
    rights = content.rights
    assert rights is not None
    return content.message("rights_based_on", lang,
                           sources=source_names(content, rights.sources, lang),
                           checked=fmt.day(rights.checked, lang))


# ------------------------------------------------------------------ audit

def audit(content: Content, today: date, stale_after_years: float) -> list[Problem]:
    """What `isafbot content check` verifies in the answers themselves, in both languages:
    every fee answer carries the rights block; every answer showing a stale fact carries its
    warning, naming the year of the newest source; every fact's first message fits a phone
    screen and shows its source and checked year; every number is written the one way of its
    language; and the content's wording rules (content/review.py): no past event still
    "planned", no office named at two levels in one service."""
    fresh = Freshness(today, stale_after_years)
    problems: list[Problem] = []
    for service in content.services.values():
        for fact in service.facts.values():
            for lang in ("km", "en"):
                problems += _audit_fact(content, service, fact, lang, fresh)
    return problems + stale_tense_problems(content, today) + contradiction_problems(content)


def _audit_fact(content: Content, service: Service, fact: Fact, lang: str,
                fresh: Freshness) -> list[Problem]:
    where, field = f"content/services/{service.id}.yml", f"facts.{fact.aspect}"
    messages = answer_messages(content, service, [fact.aspect], lang, fresh)
    text, first = "\n\n".join(messages), messages[0]
    found = []
    if fact.aspect == "fee" and not (content.rights and content.rights.block(lang) in text):
        found.append(f"the {lang} fee answer has no rights block")
    if fresh.warns(content, fact):
        newest = newest_source(content, fact.sources)
        warning = stale_warning(content, service, fact, lang, fresh) or ""
        if not warning or warning not in first or fmt.digits(newest.year, lang) not in warning:
            found.append(f"the {lang} answer would show this stale fact (newest source "
                         f"{newest.published}) without its warning: the stale_short message "
                         "must say the source's {year}")
    length = reading_words(first)
    if length > FIRST_MESSAGE_WORDS:
        found.append(f"the {lang} first message has {length} words (at most "
                     f"{FIRST_MESSAGE_WORDS}): shorten the note, move the rest to details")
    source = _BRACKETS.sub("", content.sources[fact.source].name(lang)).strip()
    if source not in first or fmt.digits(fact.checked.year, lang) not in first:
        found.append(f"the {lang} first message does not show its source and checked date")
    more = _URL.sub("", more_text(content, service, fact, lang, fresh))
    for written in dict.fromkeys(number_style_problems(f"{text}\n{more}", lang)):
        found.append(f"the {lang} answer writes the number {written}")
    return [Problem(where, service.id, field, message) for message in found]


# ------------------------------------------------------------------ which service

def _ask_which(turn: Turn, aspects: list[str], key: str = "which_service") -> None:
    """Buttons for every service; the aspect asked is remembered for the choice."""
    if aspects:
        turn.state["pending_aspects"] = aspects
    services = sorted(turn.content.services.values(), key=lambda s: s.name(turn.lang))
    turn.say(turn.t(key), [Button(s.name(turn.lang), f"svc:{s.id}") for s in services])

