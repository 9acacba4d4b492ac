"""Rules on the entities of one message once every extractor has spoken: which of two
readings of the same words the intent needs, and one entity per stretch of text. Kept apart
from the components (nlu/components.py) so each stays readable; a model input like them."""

from __future__ import annotations

import re
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
    "birth certificate"), the model's own first when equally long. A word the lexicon knows
    that only sticks out of a longer span of the model ("ប៉ុន្មានថ្ងៃទើបបាន|កាត|ខ្មែរ": the
    model's duration took the first half of the ID card) is kept, and the model's span ends
    where it starts: unspaced Khmer blurs the model's edges, not the lexicon's."""
    ranked = sorted(entities, key=lambda e: (-(e["end"] - e["start"]),
                                             e.get("extractor") == "EntityCanonicalizer",
                                             e["start"]))
    kept: list[dict[str, Any]] = []
    for entity in ranked:
        crossed = [k for k in kept if entity["start"] < k["end"] and k["start"] < entity["end"]]
        if not crossed or (len(crossed) == 1 and _trimmed(crossed[0], entity)):
            kept.append(entity)
    return sorted(kept, key=lambda e: e["start"])


def _trimmed(kept: dict[str, Any], word: dict[str, Any]) -> bool:
    """Cut the model's span `kept` back to make room for the lexicon's `word` sticking out of
    its end or its start, when something of both remains; False when it cannot be done."""
    if kept.get("extractor") == "EntityCanonicalizer" or \
            word.get("extractor") != "EntityCanonicalizer" or kept["entity"] == word["entity"]:
        return False
    if kept["start"] < word["start"] < kept["end"] < word["end"]:
        kept["end"] = word["start"]
        return True
    if word["start"] < kept["start"] < word["end"] < kept["end"]:
        kept["start"] = word["end"]
        return True
    return False


def one_per_value(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A service or an aspect said twice ("my father died… for the death certificate") is one
    thing asked about: the first of its value is kept."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for entity in entities:
        key = (entity["entity"], str(entity["value"]))
        if entity["entity"] in ("service", "aspect") and key in seen:
            continue
        seen.add(key)
        kept.append(entity)
    return kept


# Words of chat whose spelling-tolerant keys happen to be those of a commune or a district
# ("but I" ~ Bati, "twice" ~ Takeo, "chnam" ~ Cham, "trong" ~ Treang). A span of such words
# only, typed without ឃុំ/khum/district before it, is no place. Written as lists of common
# words (English, romanised Khmer chat), not of the names they collide with.
ENGLISH_WORDS = frozenset("""
a an the and or but if so to of in on at by for from with about as into than then this that
these those there here it its is are was were be been am do does did done have has had i me my
we us our you your he him his she her they them their who what when where which why how not no
yes ok okay can could will would should must may might get got go goes went come came make made
take took give gave pay paid charge charged ask asked want need know think say said tell told
see help work live lived born wrong right twice once again only also very too much many more
most some any all every each other same new old good bad rude late early soon now today
tomorrow yesterday week month day days year time money fee price cost office commune sangkat
district province village chief clerk staff teacher teaches teach nurse doctor school health
centre center hospital clinic family book card paper papers birth death marriage baby wife
husband son daughter mother father child children people person man woman please thanks thank
hello hi bye sorry meeting meetings budget rate rating service services road water class extra
sign open closed always never drunk afternoon morning evening night home house job factory bus
way just still even well like got let lets gets keep kept wait waited long first last next
while whom prices schools tonight
""".split())
ROMANISED_WORDS = frozenset("""
knhom khnhom nhom bong bang oun own neak nak tver tvea twer trov trauv tro ka kar kaa ey ei
avey avei klas klah khlas na nov nouv tov tow teuv mok mk mean ot at min te tae tee dae dai ban
han sen hz heuy hoy haey chea ke kee luy loy ponman ponmann ponna pon tlai thlai yu yuu pel peil
nis nih nuh noh ning jam chong jong dak som sum sour suor brab prab chuy juy jouy chhob chhop
chob pnhae phnhae chnam chhnam chay chai phong pong trong robeab robiab rebeab mch mech mjh yang
thngai tngai sala rean kru pet mondol kat kaat sombot seavphov sievphov krousar eksar ekasar
chol chenh tam kom kor del tha thaa oy aoy ler leu krom pi pii mouy muoy bei buon pram chbab
lok yeay reang rouk rok sak saksey apea pipea neit nert lerng laeng mek plieng ah euy hai jas
chas baat bat bart sousdey suosdei lea arkun orkun akun
""".split())
# Khmer words that follow ឃុំ/សង្កាត់ in a question without being a name ("ឃុំម៉ោងប៉ុន្មាន").
KHMER_WORDS = frozenset("""
ម៉ោង ឆ្នាំ នេះ នោះ ណា យើង ខ្ញុំ អ្នក មាន គាត់ គេ ហ្នឹង ថ្ងៃ ខែ ពេល ថ្មី ធំ តូច ជា និង ដែល នៅ មិន
អត់ ទេ ហើយ ចឹង អញ្ចឹង ឯង ខ្លះ អី អ្វី
""".split())
COMMUNE_MARKERS = ("ឃុំ", "សង្កាត់", "commune", "sangkat", "khum", "sk")


def chat_words(span: list[str]) -> bool:
    """Every word of the span is a word of chat, so it names no place unless marked."""
    return all(w.lower() in ENGLISH_WORDS or w.lower() in ROMANISED_WORDS
               or w in KHMER_WORDS for w in span)


def _marked(place: dict[str, Any], text: str) -> bool:
    """A commune marker just before the name, inside its span or just after it."""
    before = text[:place["start"]].rstrip().lower()
    inside = text[place["start"]:place["end"]].lower()
    after = text[place["end"]:].lstrip().lower()
    return any(before.endswith(m) or inside.startswith(m) or after.startswith(m)
               for m in COMMUNE_MARKERS)


def one_place_per_span(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A commune and a district or province read in the same words ("from Prey Veng",
    "ថវិកាឃុំកំពង់ចាម") are one place: the commune when a commune marker says so, else the
    area (the dialogue then asks which commune: safer than a namesake commune)."""
    def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return a["start"] < b["end"] and b["start"] < a["end"]

    places = [e for e in entities if e["entity"] == "place"]
    areas = [e for e in entities if e["entity"] in ("district", "province")]
    dropped: list[dict[str, Any]] = []
    for place in places:
        rivals = [a for a in areas if overlaps(a, place)]
        if rivals:
            dropped += rivals if _marked(place, text) else [place]
    return [e for e in entities if not any(e is d for d in dropped)]


# Bare quantity words: "ប៉ុន្មាន" is a fee only when nothing says what is counted.
_QUANTITY = frozenset({"ប៉ុន្មាន", "បុន្មាន", "ប៉ុនមាន", "ប៉ុន្នមាន", "ponman", "ponmann", "how much",
                       "hw much", "howmuch"})
_COUNTED = ("នាក់", "ច្បាប់", "សន្លឹក", "nak", "people", "witness", "copies")


def plain_aspects(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A bare "how much" beside a named aspect ("take time ប៉ុន្មាន") is that aspect's, and
    one before a counter ("សាក្សីប៉ុន្មាននាក់": how many witnesses) is no fee."""
    def bare(e: dict[str, Any]) -> bool:
        return e["entity"] == "aspect" and text[e["start"]:e["end"]].lower() in _QUANTITY

    named = {e["value"] for e in entities if e["entity"] == "aspect" and not bare(e)}
    return [e for e in entities if not bare(e) or not (
        named - {e["value"]} or text[e["end"]:].lstrip().lower().startswith(_COUNTED))]


_ID_POOR = re.compile(r"\s*-?\s*(?:poor|ក្រីក្រ)", re.I)


def not_id_poor(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """"ID Poor" / "ID-Poor" is the poor households' card (health care, fees), not the
    national ID card."""
    return [e for e in entities if not (e["entity"] == "service" and e["value"] == "id_card"
                                        and _ID_POOR.match(text[e["end"]:]))]


def tidy(entities: list[dict[str, Any]], text: str, intent: str | None
         ) -> list[dict[str, Any]]:
    """The rules on a message's entities once every extractor has spoken, in their order."""
    entities = not_id_poor(one_place_per_span(entities, text), text)
    return one_per_value(scopes_for_intent(plain_aspects(entities, text), intent))
