"""The NLU training data keeps its own rules: contract names only, canonical values, spans on
token boundaries, a held-out split that never overlaps training, lookups equal to synonyms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.features import FEATURES
from common.amounts import Amount
from common.khmer import words
from content.loader import load_content
from content.places import gazetteer
from nlu.engine import HELDOUT, TRAINING_DATA
from nlu.lookups import render, service_forms

INTENTS = {
    "greet", "goodbye", "thank", "help", "affirm", "deny", "out_of_scope", "change_language",
    "ask_service", "list_services", "ask_budget", "rate_service", "ask_meeting",
    "subscribe_reminders", "unsubscribe", "report_problem", "ask_about_bot", "ask_privacy",
    "ask_social_accountability", "talk_to_human", "caf_help",
    "play_quiz", "ask_glossary", "convert_currency", "ask_fund_sources",
    "ask_if_late", "ask_on_behalf",  # issue 19 finding 2 (nlu/data/situations.yml)
}
CLOSED = {
    "aspect": {"documents", "fee", "duration", "place"},
    "budget_scope": {"commune", "health_centre", "school"},
    "facility_type": {"health_centre", "school", "commune_office"},
}
_ANNOTATION = re.compile(r"\[([^\]]+)\](\{[^}]+\}|\([^)]+\))")


def _load(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]


def _examples(paths: list[Path]) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        for block in _load(path):
            if "intent" in block:
                found += [(block["intent"], line[2:].strip())
                          for line in block["examples"].splitlines() if line.strip()]
    return found


def _plain(annotated: str) -> tuple[str, list[tuple[int, int, str, str]]]:
    """Text without markup and its (start, end, entity, value) spans."""
    text, spans, cursor = "", [], 0
    for match in _ANNOTATION.finditer(annotated):
        text += annotated[cursor:match.start()]
        surface, meta = match.group(1), match.group(2)
        if meta.startswith("{"):
            data = yaml.safe_load(meta)
            entity, value = data["entity"], str(data.get("value", surface))
        else:
            entity, value = meta[1:-1], surface
        spans.append((len(text), len(text) + len(surface), entity, value))
        text += surface
        cursor = match.end()
    return text + annotated[cursor:], spans


TRAINING = _examples(sorted(TRAINING_DATA.glob("*.yml")))
HELD_OUT = _examples([HELDOUT])


def test_only_contract_intents_and_entities() -> None:
    assert {intent for intent, _ in TRAINING} == INTENTS
    assert {intent for intent, _ in HELD_OUT} == INTENTS
    services = {p.stem for p in (Path(__file__).parent.parent / "content" / "services").glob(
        "*.yml")}
    for intent, example in TRAINING + HELD_OUT:
        for _, _, entity, value in _plain(example)[1]:
            if entity == "service":
                assert value in services, example
            elif entity in CLOSED:
                assert value in CLOSED[entity], example
            elif entity == "year":
                assert re.fullmatch(r"(19|20)\d\d", value), example
            elif entity == "place":
                assert gazetteer().by_english_name(value), example
            elif entity in ("district", "province"):
                assert gazetteer().area_by_name(entity, value), example
            elif entity == "amount":  # canonical: "20000 riel", "4 usd", "15000"
                assert Amount.from_canonical(value).canonical() == value, example
            else:
                pytest.fail(f"unknown entity {entity!r} in {example!r} ({intent})")


def test_heldout_never_appears_in_training() -> None:
    def key(example: str) -> str:
        return re.sub(r"\s+", "", _plain(example)[0].lower())

    trained = {key(example) for _, example in TRAINING}
    overlap = [example for _, example in HELD_OUT if key(example) in trained]
    assert overlap == []


# Lines of the written held-out sets that training also has, counted at stop 25: "hi", "yes",
# "bye", "remove me from the list"... Both sets were written without seeing the training data,
# so these are the same common words typed twice, not copies; a new training line equal to a
# held-out line raises the count and fails.
_COINCIDENCES = {"independent": 95, "blind": 45}


@pytest.mark.parametrize("folder", sorted(_COINCIDENCES))
def test_no_line_of_the_written_held_out_sets_is_copied_into_training(folder: str) -> None:
    """The independent and the blind sets (nlu/heldout/*/) stay out of training forever."""
    def key(example: str) -> str:
        return re.sub(r"\s+", "", _plain(example)[0].lower())

    written = [path for path in sorted((HELDOUT.parent / folder).glob("*.yml"))
               if path.name != "mapping.yml"]
    assert len(written) >= 4
    trained = {key(example) for _, example in TRAINING}
    overlap = [example for _, example in _examples(written) if key(example) in trained]
    assert len(overlap) <= _COINCIDENCES[folder]


_KHMER = re.compile("[\u1780-\u17ff]")
_LATIN = re.compile("[A-Za-z]")
# (Khmer letters, Latin letters) in every line of each file; None: either
_SCRIPTS: dict[str, tuple[bool, bool | None]] = {
    "en": (False, None), "km": (True, False), "mixed": (True, True), "romanised": (False, None)}


@pytest.mark.parametrize("language", sorted(_SCRIPTS))
def test_the_blind_set_keeps_the_contract_and_its_script(language: str) -> None:
    """nlu/heldout/blind/ (its README): the contract's intents, canonical values, places as
    spans, each file in its own script, no text twice."""
    blind = _examples([HELDOUT.parent / "blind" / f"test_{language}.yml"])
    services = {p.stem for p in (Path(__file__).parent.parent / "content" / "services").glob(
        "*.yml")}
    allowed = {"service": services, **CLOSED}
    texts = []
    for intent, example in blind:
        text, spans = _plain(example)
        assert intent in INTENTS, example
        assert all(value in allowed[entity] for _, _, entity, value in spans
                   if entity != "place"), example
        khmer, latin = _SCRIPTS[language]
        assert bool(_KHMER.search(text)) == khmer, example
        assert latin is None or bool(_LATIN.search(text)) == latin, example
        texts.append(re.sub(r"\s+", " ", text.lower()).strip())
    assert len(blind) >= {"en": 150, "km": 150, "mixed": 50, "romanised": 30}[language]
    assert len(texts) == len(set(texts))


def test_entity_spans_sit_on_token_boundaries() -> None:
    misaligned = []
    for _, example in TRAINING + HELD_OUT:
        text, spans = _plain(example)
        tokens = words(text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        # amounts are found by common.amounts ("$5" is one amount, two tokens), not the CRF
        misaligned += [example for start, end, entity, _ in spans
                       if entity != "amount" and (start not in starts or end not in ends)]
    assert misaligned == []


def test_service_lookup_is_generated_from_the_synonyms() -> None:
    assert (TRAINING_DATA / "lookups.yml").read_text(encoding="utf-8") == render()


def test_every_service_name_in_the_content_is_a_synonym() -> None:
    """What the bot calls a service, users will type back: the NLU must know it."""
    forms = {form.lower() for form in service_forms()}
    for service in load_content(sections=FEATURES.sections).services.values():
        assert service.name("en").lower() in forms, service.id
        assert service.name("km").lower() in forms, service.id
