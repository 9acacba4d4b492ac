"""Which place and year a budget question means: the place named (namesakes resolved with
buttons), else the one just discussed, else the user's commune; relative years ("last year")."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from common.khmer import is_khmer_char
from common.messages import Button
from content.budgets.section import (
    FACILITY_SCOPES,
)
from content.places import Area, Place, gazetteer, resolve
from dialogues.budgets.explain import show
from dialogues.budgets.pieces import (
    PENDING,
    PLACE_YEAR,
    budgets_of,
    lost,
    place_arg,
    recent_place,
    wait_for_place,
    year_arg,
)
from dialogues.core.places import area_choices, need_commune
from dialogues.core.router import Turn

_LAST_YEAR = re.compile(r"\b(last|previous|past) year\b|\byear before\b|ឆ្នាំមុន|ឆ្នាំទៅ"
                        r"|ឆ្នាំកន្លងទៅ", re.I)
_THIS_YEAR = re.compile(r"\b(this|current) year\b|ឆ្នាំនេះ", re.I)
_NEXT_YEAR = re.compile(r"\bnext year\b|ឆ្នាំក្រោយ", re.I)



# ------------------------------------------------------------------ places

def places_named(turn: Turn) -> list[Place]:
    """The communes the question names: the NLU's place entity, kept only when the words the
    user typed look like that name (the entity finder can mistake "money" for Mien)."""
    if turn.understanding is None:
        return []
    for entity in turn.understanding.entities:
        if entity.entity != "place":
            continue
        surface = turn.text[entity.start:entity.end].strip()
        if surface and not _looks_like(surface, entity.value):
            continue
        places = gazetteer().by_english_name(entity.value)
        if places:
            covered = budgets_of(turn).communes
            return sorted(places, key=lambda p: (p.code not in covered, p.province_en,
                                                 p.district_en))
    return []


def area_named(turn: Turn) -> Area | None:
    """The district (narrower, preferred) or province the question names, if any; not words
    inside a commune's name ("Chik" of Srah Chik is not Chhuk district)."""
    entities = turn.understanding.entities if turn.understanding else ()
    spelled = [e for e in entities if e.entity == "place" and e.end > e.start
               and _compact(turn.text[e.start:e.end]) == _compact(e.value)]
    for level in ("district", "province"):
        for entity in (e for e in entities if e.entity == level):
            if any(p.start < entity.end and entity.start < p.end and p.value != entity.value
                   for p in spelled):
                continue  # its words overlap another name: a commune's, spelled exactly
            area = gazetteer().area_by_name(level, entity.value)
            if area is not None:
                return area
    return None


def _compact(name: str) -> str:
    return name.lower().replace(" ", "")


def within_area(turn: Turn, named: list[Place], scope: str, year: int | None) -> list[Place]:
    """The named communes inside the district/province named too. None inside (or none
    named): ask which commune of that area, never a namesake elsewhere stated as sure."""
    area = area_named(turn)
    if area is None:
        return named
    inside = [p for p in named if p.code.startswith(area.code)]
    if inside:
        return inside
    wait_for_place(turn, scope, year)
    turn.say(turn.t("commune_in_area", area=area.name(turn.lang)),
             [Button(p.label(turn.lang), f"bud:pick:{p.code}")
              for p in area_choices(area, named)])
    return []


# A name in Latin letters after the marker: in unspaced Khmer the words after ឃុំ run on
# ("ថវិកាឃុំឆ្នាំនេះ"), so a Khmer name the gazetteer lacks is not guessed at here.
_MARKED = re.compile(r"(?:ឃុំ|សង្កាត់|\bcommune|\bsangkat|\bkhum)\s*([A-Za-z][A-Za-z'\-]+"
                     r"(?:\s+[A-Za-z][A-Za-z'\-]+)?)", re.I)


def unknown_place(turn: Turn, scope: str, year: int | None) -> bool:
    """A commune named after ឃុំ/sangkat that the gazetteer does not have: "I could not find
    X", with near misses as buttons. True when the user was told."""
    match = _MARKED.search(turn.text)
    if match is None or turn.entity("budget_scope") not in (None, "commune"):
        return False
    typed = match.group(1).strip()
    if typed.split()[0].lower() in _NOT_NAMES:
        return False
    found = resolve(typed)
    if found.places or found.area is not None:
        return False
    wait_for_place(turn, scope, year)
    key = "commune_not_found_suggest" if found.suggestions else "commune_not_found"
    turn.say(turn.t(key, name=typed[:60]),
             [*(Button(p.label(turn.lang), f"bud:pick:{p.code}") for p in found.suggestions),
              turn.button("menu_button", "menu")])
    return True


_NOT_NAMES = frozenset("""budget budgets money fund funds office get gets got have has had
receive receives received spend spends spent go goes my your our this that the of in for is
was are and or where what how when which who year last next chief council hall people
knhom khnhom kh'nhom yeung yerng neak bong ban baan luy loy lui prak ponman ponmann chnam
chhnam nis nih ni thavika tvika mean min ot""".split())  # romanised Khmer: my, we, get, money...


def _looks_like(surface: str, name: str) -> bool:
    if any(map(is_khmer_char, surface)):
        return True  # Khmer names are matched on spelling-tolerant keys by the gazetteer
    if any(p.name_en == name for p in gazetteer().exact(surface)):
        return True
    return fuzz.ratio(surface.lower(), name.lower()) >= 75


def ask_which_place(turn: Turn, places: list[Place], scope: str, year: int | None) -> None:
    wait_for_place(turn, scope, year)
    buttons = [Button(p.label(turn.lang), f"bud:pick:{p.code}") for p in places[:8]]
    turn.say(turn.t("budget_which_place", name=places[0].name(turn.lang)), buttons)


def pick(turn: Turn, args: list[str]) -> None:
    """`bud:pick:<code>`: one of the namesakes, for the question asked before."""
    place = place_arg(args, 0)
    pending = turn.state.pop(PENDING, None) or {}
    if place is None:
        lost(turn)
        return
    scope = pending.get("scope") if pending.get("scope") in FACILITY_SCOPES else "commune"
    year = pending.get("year") if isinstance(pending.get("year"), int) else None
    show(turn, place, str(scope), year)


def mine(turn: Turn, args: list[str]) -> None:
    """`bud:my:<scope>:<year|latest>`: the user's commune (pressed after it was asked)."""
    scope = args[0] if args and args[0] in FACILITY_SCOPES else "commune"
    year = year_arg(args, 1)
    place = need_commune(turn, then=f"bud:my:{scope}:{year or 'latest'}")
    if place is not None:
        show(turn, place, scope, year)


def commune_button(turn: Turn, args: list[str]) -> None:
    """`bud:c:<code>:<year|latest>`."""
    place = place_arg(args, 0)
    if place is None:
        lost(turn)
        return
    show(turn, place, "commune", year_arg(args, 1))


def year_asked(turn: Turn, *, follow_up: bool) -> int | None:
    """The year entity, or a relative year. Right after an answer about year Y, "and last
    year?" means Y - 1 (what the user just saw), not the calendar's last year."""
    value = turn.entity("year")
    if value and value.isdigit():
        return int(value)
    local_year = turn.now.astimezone(ZoneInfo(turn.ctx.timezone)).year
    shown = turn.state.get(PLACE_YEAR)
    if _LAST_YEAR.search(turn.text):
        if follow_up and recent_place(turn) and isinstance(shown, int):
            return shown - 1
        return local_year - 1
    if _NEXT_YEAR.search(turn.text):
        return local_year + 1
    if _THIS_YEAR.search(turn.text):
        return local_year
    return None
