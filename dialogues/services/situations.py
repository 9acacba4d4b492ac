"""Reasoning on the citizen's situation (issue 19, finding 2).

A grandmother writes "ចៅខ្ញុំកើតបាន2ខែហើយចង់ធ្វើសំបុតកំនើត": the baby was born two months ago,
so the ordinary birth certificate (free within 30 days) is the wrong answer; she needs the late
birth registration, and should be told why. The thresholds, the words and the texts are data
with their sources (content/services/situations/); this module only reads the time in the
message (`find_elapsed`, the one duration parser: Khmer and Arabic digits, number words, Khmer
and English units, "last year"), picks the stage of the rule it falls in, and says so:

- a service question telling how long ago a birth or a death was: why this service, then it;
- "is it late?": yes or no with the rule (it depends, near a limit: a month is 28 to 31 days);
- "can grandma apply instead of the parents?": no source says who may, so the answer says the
  commune office decides and lists what the service's papers are;
- marriage with a foreigner: what differs, never led by "free".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from common import formatting as fmt
from common.khmer import khmer_to_arabic_digits, normalise_text
from common.messages import Button
from content.model import Service
from content.services.situations import Event, Relative, Situations, Stage, Unit
from dialogues.core.provenance import freshness, source_line
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import LAST_SERVICE, LAST_SERVICE_AT, recent_service

router = Router("situations")
router.uses("source_line", "source_line_stale", "button_documents", "button_fee",
            "button_duration", "button_place", "other_services", "menu_button")

SITUATION = "situation"  # the last time told {"event", "min", "max", "en", "km", "at"}, or
# a foreign partner {"foreign": True, "at"}: what follow-ups refer to
_WINDOW = 14  # characters around a number where an anchor ("ago", "ហើយ") must be
_ASPECTS = ("documents", "fee", "duration", "place")
Answer = Callable[[Turn, Service, list[str]], None]  # the services handler's answer


# ------------------------------------------------------------------ the duration parser

@dataclass(frozen=True)
class Elapsed:
    """How long ago, as a range of days (a month is 28 to 31), and how the user said it."""

    min_days: int
    max_days: int
    amount: int | None = None
    unit: Unit | None = None
    relative: Relative | None = None
    told: dict[str, str] | None = None  # as said before, remembered: {"en": ..., "km": ...}

    def said(self, lang: str) -> str:
        """"2 months ago" / "បាន ២ ខែ", or "last year" / "កាលពីឆ្នាំមុន"."""
        if self.told is not None:
            return self.told.get(lang, "")
        if self.relative is not None:
            return self.relative.name(lang)
        assert self.unit is not None and self.amount is not None
        form = self.unit.one if self.amount == 1 else self.unit.many
        return form(lang).format(n=fmt.integer(self.amount, lang))


def _key(text: str) -> str:
    return khmer_to_arabic_digits(normalise_text(text)).lower()


def _alternatives(words: Iterable[str]) -> str:
    """Longest first; a Latin word only as a whole word (Khmer has no spaces to look for)."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        escaped = re.escape(word).replace(r"\ ", r"\s+")
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if word.isascii() else escaped)
    return "|".join(parts)


def says(text: str, words: Iterable[str]) -> bool:
    """Whether the (normalised, lower-cased) text contains one of the words."""
    pattern = _alternatives(words)
    return bool(pattern) and re.search(pattern, _key(text)) is not None


def find_elapsed(text: str, situations: Situations, today: date,
                 anchors: Iterable[str] = ()) -> Elapsed | None:
    """The first time passed that the text tells: "2 months ago", "កើតបាន២ខែ", "3 weeks old",
    "២ខែហើយ", "last year", "ឆ្នាំមុន". A number with a unit counts only next to an anchor word
    ("ago", "old", "ហើយ", "បាន"), when anchors are given: "does it take 3 days?" is no age."""
    key = _key(text)
    numbers = _alternatives(situations.numbers)
    units = {w: u for u in situations.units for w in u.words}
    pattern = re.compile(rf"(\d+|{numbers})[\s\-]*({_alternatives(units)})")
    anchor = re.compile(_alternatives(anchors)) if anchors else None
    for match in pattern.finditer(key):
        near = key[max(0, match.start() - _WINDOW):match.start()] + " " + \
            key[match.end():match.end() + _WINDOW]
        if anchor is not None and not anchor.search(near):
            continue
        number = match.group(1)
        amount = int(number) if number.isdigit() else situations.numbers[number]
        unit = units[re.sub(r"\s+", " ", match.group(2))]
        return Elapsed(amount * unit.min_days, amount * unit.max_days, amount, unit)
    for relative in situations.relative:  # after numbers: "បីសប្តាហ៍មុន" is three weeks
        if re.search(_alternatives(relative.words), key):
            return _previous(relative, today)
    return None


def _previous(relative: Relative, today: date) -> Elapsed:
    """The previous calendar day, week, month or year, as days before today."""
    if relative.previous == "none":
        return Elapsed(0, 0, relative=relative)
    if relative.previous == "day":
        first = last = today - timedelta(days=1)
    elif relative.previous == "week":
        first = today - timedelta(days=today.weekday() + 7)
        last = first + timedelta(days=6)
    elif relative.previous == "month":
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
    else:
        first, last = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return Elapsed((today - last).days, (today - first).days, relative=relative)


def stages(event: Event, elapsed: Elapsed) -> tuple[Stage, ...]:
    """The stages of the rule the time may fall in: one, or several near a limit."""
    def index(days: int) -> int:
        return next(i for i, s in enumerate(event.stages)
                    if s.until_days is None or days <= s.until_days)
    return event.stages[index(elapsed.min_days):index(elapsed.max_days) + 1]


def event_of(text: str, situations: Situations, service_id: str | None) -> Event | None:
    """The birth or death the message is about: the service named, else the first event
    whose words it uses (content lists death first)."""
    for event in situations.events.values():
        if service_id in event.services:
            return event
    if service_id is not None:
        return None
    return next((e for e in situations.events.values() if says(text, e.words)), None)


# ------------------------------------------------------------------ service questions

def answer_situation(turn: Turn, service_id: str | None, aspects: list[str],
                     answer: Answer) -> bool:
    """Before a service answer: a foreign partner, or a time that chooses the service. True
    when this answered (it then calls the services handler's `answer` for the service)."""
    situations = turn.content.sections.get(Situations)
    if situations is None:
        return False
    foreign, remembered = situations.foreign, _remembered(turn) or {}
    if service_id in foreign.services and (says(turn.text, foreign.words)
                                           or remembered.get("foreign")):
        turn.state[SITUATION] = {"foreign": True, "at": turn.now.isoformat()}  # "and the fee?"
        service, rest = turn.content.services[foreign.services[0]], [a for a in aspects
                                                                       if a != "fee"]
        if aspects and not rest:  # the fee alone: this is the answer, the rest are buttons
            _say_foreign(turn, situations, True, _aspect_buttons(turn, service, skip="fee"))
            turn.state[LAST_SERVICE], turn.state[LAST_SERVICE_AT] = service.id, \
                turn.now.isoformat()
        else:
            _say_foreign(turn, situations, "fee" in aspects)
            answer(turn, service, rest)
        return True
    # only a service the NLU found: "my son is 20 years old, what papers?" is no birth
    event = event_of(turn.text, situations, service_id) if service_id else None
    if event is None:
        return False
    elapsed = find_elapsed(turn.text, situations, freshness(turn).today, event.anchors)
    if elapsed is None:
        return False
    _remember(turn, event, elapsed)
    found = stages(event, elapsed)
    services = list(dict.fromkeys(s.service for s in found))
    if len(found) == 1:
        turn.say("\n".join([found[0].why(turn.lang).format(when=elapsed.said(turn.lang)),
                            _source(turn, event.sources, event.checked)]))
    else:
        turn.say("\n".join([situations.message("late_depends", turn.lang),
                            event.rule(turn.lang), _source(turn, event.sources, event.checked)]),
                 [] if len(services) == 1 else _service_buttons(turn, services))
        if len(services) > 1:
            return True
    answer(turn, turn.content.services[services[0]], aspects)
    return True


def _say_foreign(turn: Turn, situations: Situations, fee_asked: bool,
                 buttons: list[Button] | None = None) -> None:
    foreign, lang = situations.foreign, turn.lang
    lines = [foreign.text(lang).format(fee_foreign=fmt.riel(foreign.fee_foreign_riel, lang),
                                       fee_khmer=fmt.riel(foreign.fee_khmer_riel, lang)),
             _source(turn, foreign.sources, foreign.checked)]
    if fee_asked and turn.content.rights:
        lines.append(turn.content.rights.block(lang))  # as every fee answer
    turn.say("\n".join(lines), buttons or [])


# ------------------------------------------------------------------ "is it late?"

@router.intent("ask_if_late")
def is_it_late(turn: Turn) -> None:
    """Yes or no with the rule; the rule and a question when the time is not said."""
    situations = turn.content.sections[Situations]
    lang, remembered = turn.lang, _remembered(turn)
    event = event_of(turn.text, situations, None) or event_of(
        "", situations, recent_service(turn)) or (
        situations.events.get(str(remembered.get("event"))) if remembered else None)
    if event is None:
        lines = [situations.message("late_which", lang)]
        for each in situations.events.values():
            lines += [f"• {each.rule(lang)}", _source(turn, each.sources, each.checked)]
        turn.say("\n".join(lines), _service_buttons(
            turn, [e.services[0] for e in situations.events.values()]))
        return
    elapsed = find_elapsed(turn.text, situations, freshness(turn).today, event.anchors)
    if elapsed is None and remembered and remembered.get("event") == event.id:
        elapsed = Elapsed(int(remembered["min"]), int(remembered["max"]),
                          told={k: str(remembered.get(k) or "") for k in ("en", "km")})
    source = _source(turn, event.sources, event.checked)
    if elapsed is None:
        turn.say("\n".join([event.rule(lang), source, situations.message("late_when", lang)]),
                 _service_buttons(turn, list(event.services)))
        return
    _remember(turn, event, elapsed)
    found = stages(event, elapsed)
    if len(found) > 1:  # near a limit; late either way ("died last year") is still a yes
        verdict = [situations.message("late_yes", lang)] if all(s.late for s in found) else []
        turn.say("\n".join([*verdict, situations.message("late_depends", lang),
                            event.rule(lang), source]),
                 _service_buttons(turn, list(dict.fromkeys(s.service for s in found))))
        return
    stage = found[0]
    turn.state[LAST_SERVICE] = stage.service
    turn.state[LAST_SERVICE_AT] = turn.now.isoformat()
    turn.say("\n".join([situations.message("late_yes" if stage.late else "late_no", lang),
                        stage.why(lang).format(when=elapsed.said(lang)), source]),
             _aspect_buttons(turn, turn.content.services[stage.service]))


# ------------------------------------------------------------------ on someone's behalf

@router.intent("ask_on_behalf")
def on_behalf(turn: Turn) -> None:
    """No source says who may apply for someone else: say so, send them to the commune
    office, and list the papers of the service in question (or ask which)."""
    situations = turn.content.sections[Situations]
    lang, behalf = turn.lang, situations.on_behalf
    lines = [behalf.text(lang), _source(turn, behalf.sources, behalf.checked)]
    service = _service_in_question(turn, situations)
    if service is None:
        lines.append(situations.message("behalf_which", lang))
        recent = recent_service(turn)  # the topic's button first, not its answer
        services = sorted(turn.content.services.values(),
                          key=lambda s: (s.id != recent, s.name(lang)))
        turn.say("\n".join(lines), [Button(s.name(lang), f"svc:{s.id}") for s in services])
        return
    if service.id in behalf.in_person and behalf.in_person_text:  # its source says: in person
        lines[0] = behalf.in_person_text(lang)
    documents = service.fact("documents")
    if documents is not None:
        lines += ["", situations.message("behalf_bring", lang, service=service.name(lang))]
        lines += [f"• {item(lang)}" for item in documents.items]
        lines.append(_source(turn, documents.sources, documents.checked))
    turn.state[LAST_SERVICE] = service.id
    turn.state[LAST_SERVICE_AT] = turn.now.isoformat()
    turn.say("\n".join(lines), _aspect_buttons(turn, service, skip="documents"))


def _service_in_question(turn: Turn, situations: Situations) -> Service | None:
    """The service the message names or tells (a birth two months ago: late registration),
    else the birth or death registration just answered (papers done for someone else) or a
    paper whose source says who applies. After any other topic (a residence certificate) the
    bot asks which paper, never assumes it."""
    services = turn.content.services
    event = event_of(turn.text, situations, None)
    if event is not None:
        elapsed = find_elapsed(turn.text, situations, freshness(turn).today, event.anchors)
        found = stages(event, elapsed) if elapsed else ()
        return services[found[-1].service if found else event.services[0]]
    recent = recent_service(turn)
    known = {s for e in situations.events.values() for s in e.services}  # registrations
    known |= set(situations.on_behalf.in_person)  # and what a source says of
    return services[recent] if recent in known else None


# ------------------------------------------------------------------ helpers

def _source(turn: Turn, sources: tuple[str, ...], checked: date) -> str:
    return source_line(turn.content, sources, checked, turn.lang,
                       stale=freshness(turn).stale(turn.content, sources))


def _remember(turn: Turn, event: Event, elapsed: Elapsed) -> None:
    """So that "is it late?" right after knows the time said before."""
    turn.state[SITUATION] = {"event": event.id, "min": elapsed.min_days,
                             "max": elapsed.max_days, "en": elapsed.said("en"),
                             "km": elapsed.said("km"), "at": turn.now.isoformat()}


def _remembered(turn: Turn) -> dict[str, Any] | None:
    """The time told in this conversation, while a follow-up may still refer to it."""
    value = turn.state.get(SITUATION)
    if not isinstance(value, dict):
        return None
    try:
        elapsed = turn.now - datetime.fromisoformat(str(value.get("at")))
    except (TypeError, ValueError):
        return None
    return value if elapsed.total_seconds() <= turn.ctx.followup_minutes * 60 else None


def _service_buttons(turn: Turn, service_ids: list[str]) -> list[Button]:
    services = turn.content.services
    return [*(Button(services[s].name(turn.lang), f"svc:{s}") for s in service_ids
              if s in services),
            turn.button("other_services", "svcs"), turn.button("menu_button", "menu")]


def _aspect_buttons(turn: Turn, service: Service, skip: str = "") -> list[Button]:
    return [*(Button(turn.t(f"button_{a}"), f"svc:{service.id}:{a}") for a in _ASPECTS
              if a != skip and service.fact(a)),
            turn.button("other_services", "svcs"), turn.button("menu_button", "menu")]
