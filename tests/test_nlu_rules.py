"""The canonicaliser's rules on entities and intents (nlu/entity_rules.py, nlu/intent_rules.py),
one category of the independent set's misses each (issue 18): words of chat that spell a
commune, a commune and its namesake district in the same words, bare "how much", ID-Poor, a
negated stop, a negated complaint, documents other offices issue. Real Rasa messages, no model;
the last tests parse with the trained model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from content.places import gazetteer
from nlu.entity_rules import (
    chat_words,
    not_id_poor,
    one_per_value,
    one_place_per_span,
    plain_aspects,
    without_overlaps,
)
from nlu.intent_rules import (
    negated_stop,
    not_a_commune_service,
    said_no_complaint,
    story_with_a_question,
)


def entity(name: str, value: str, text: str, surface: str,
           extractor: str = "CRFEntityExtractor") -> dict[str, Any]:
    start = text.index(surface)
    return {"entity": name, "value": value, "start": start, "end": start + len(surface),
            "extractor": extractor}


def message(text: str, intent: str) -> Message:
    return Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.6}})


@pytest.mark.parametrize(("words", "chat"), [
    (["but", "I"], True), (["twice"], True), (["chnam"], True), (["trong", "na"], True),
    (["ម៉ោង"], True), (["Mukhda"], False), (["Prey", "Veng"], False), (["Mean", "Chey"], False),
    (["Wat", "Phnom"], False),
])
def test_words_of_chat_are_no_place_names(words: list[str], chat: bool) -> None:
    assert chat_words(words) is chat


def test_a_commune_marker_keeps_the_commune_else_the_area_is_kept() -> None:
    text = "ថវិកាសង្កាត់កំពង់ចាម"
    marked = [entity("place", "Kampong Cham", text, "កំពង់ចាម"),
              entity("province", "Kampong Cham", text, "កំពង់ចាម")]
    assert [e["entity"] for e in one_place_per_span(marked, text)] == ["place"]
    text = "we moved from Prey Veng last year"
    unmarked = [entity("place", "Prey Veaeng", text, "Prey Veng"),
                entity("district", "Prey Veng", text, "Prey Veng")]
    assert [e["entity"] for e in one_place_per_span(unmarked, text)] == ["district"]
    text = "budget of Chbar Ampov sangkat"
    after = [entity("place", "Chbar Ampov", text, "Chbar Ampov"),
             entity("district", "Chbar Ampov", text, "Chbar Ampov")]
    assert [e["entity"] for e in one_place_per_span(after, text)] == ["place"]


def test_a_bare_how_much_gives_way_to_a_named_aspect_and_to_a_counter() -> None:
    text = "ធ្វើសៀវភៅគ្រួសារ take time ប៉ុន្មាន"
    found = [entity("aspect", "duration", text, "take time"),
             entity("aspect", "fee", text, "ប៉ុន្មាន")]
    assert [e["value"] for e in plain_aspects(found, text)] == ["duration"]
    text = "ត្រូវមានរូបថតប៉ុន្មាន សន្លឹក"
    assert plain_aspects([entity("aspect", "fee", text, "ប៉ុន្មាន")], text) == []
    text = "សៀវភៅគ្រួសារប៉ុន្មាន"
    alone = [entity("aspect", "fee", text, "ប៉ុន្មាន")]
    assert plain_aspects(alone, text) == alone


def test_id_poor_is_not_the_national_id_card() -> None:
    text = "our ID Poor card at the health centre"
    assert not_id_poor([entity("service", "id_card", text, "ID")], text) == []
    text = "my ID card is lost"
    assert not_id_poor([entity("service", "id_card", text, "ID card")], text) != []


@pytest.mark.parametrize(("text", "intent", "expected"), [
    ("please don't stop the reminders", "unsubscribe", "subscribe_reminders"),
    ("កុំឈប់ជូនដំណឹងប្រជុំ", "unsubscribe", "subscribe_reminders"),
    ("kom chhob prab knhom", "goodbye", "subscribe_reminders"),
    ("stop the reminders", "unsubscribe", "unsubscribe"),
])
def test_a_negated_stop_asks_for_reminders(text: str, intent: str, expected: str) -> None:
    msg = message(text, intent)
    assert negated_stop(msg, intent) == expected
    assert msg.get(INTENT)["name"] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("where can I renew a passport", "out_of_scope"),
    ("ប័ណ្ណបើកបរធ្វើម៉េច", "out_of_scope"),
    ("how much is a driving license", "out_of_scope"),
    ("how much is a family book", "ask_service"),
])
def test_documents_other_offices_issue_are_out_of_scope(text: str, expected: str) -> None:
    assert not_a_commune_service(message(text, "ask_service"), [], "ask_service") == expected


def test_a_named_commune_service_keeps_its_question_beside_a_passport() -> None:
    text = "passport or birth certificate first?"
    found = [entity("service", "birth_certificate", text, "birth certificate")]
    assert not_a_commune_service(message(text, "ask_service"), found, "ask_service") \
        == "ask_service"


def test_a_message_saying_it_is_no_complaint_is_a_service_question() -> None:
    text = "not a complaint: the fee of a status letter?"
    found = [entity("service", "status_letter", text, "status letter")]
    assert said_no_complaint(message(text, "report_problem"), found, "report_problem") \
        == "ask_service"
    text = "I don't want to complain but they took 20,000 riel"
    assert said_no_complaint(message(text, "report_problem"), [], "report_problem") \
        == "report_problem"
    text = "the one window office, is it open today?"
    assert said_no_complaint(message(text, "out_of_scope"), [], "out_of_scope") \
        == "ask_service"


def test_the_gazetteer_finds_phnom_penh_without_its_capital_prefix() -> None:
    assert [a.name_en for a in gazetteer().area("ភ្នំពេញ")] == ["Phnom Penh"]


@pytest.mark.parametrize(("text", "absent"), [
    ("I got charged twice for my family book", "Takeo"),
    ("luy khum chnam nis ponman", "Cham"),
    ("teacher teaches only if we pay", "Ta Ches"),
])
def test_chat_words_are_not_read_as_places(nlu: Any, text: str, absent: str) -> None:
    parsed = asyncio.run(nlu.parse(text))
    assert absent not in {e.value for e in parsed.entities}, parsed


def test_a_place_named_once_is_one_entity(nlu: Any) -> None:
    parsed = asyncio.run(nlu.parse("ខ្ញុំរស់នៅភ្នំពេញ ធ្វើសៀវភៅគ្រួសារនៅណា"))
    places = [e for e in parsed.entities if e.entity in ("place", "district", "province")]
    assert [(e.entity, e.value) for e in places] == [("province", "Phnom Penh")], parsed


def test_a_lexicon_word_sticking_out_of_a_model_span_keeps_both() -> None:
    """Unspaced Khmer: the model's duration swallowed half of "កាតខ្មែរ"."""
    text = "ប៉ុន្មានថ្ងៃទើបបានកាតខ្មែរ"
    model = entity("aspect", "duration", text, "ប៉ុន្មានថ្ងៃទើបបានកាត")
    word = entity("service", "id_card", text, "កាតខ្មែរ", "EntityCanonicalizer")
    kept = without_overlaps([model, word])
    assert [(e["entity"], text[e["start"]:e["end"]]) for e in kept] == [
        ("aspect", "ប៉ុន្មានថ្ងៃទើបបាន"), ("service", "កាតខ្មែរ")]


def test_a_span_inside_another_still_gives_way_to_the_longer() -> None:
    text = "copy of a birth certificate please"
    longer = entity("service", "birth_certificate_copy", text, "copy of a birth certificate",
                    "EntityCanonicalizer")
    inner = entity("service", "birth_certificate", text, "birth certificate")
    assert without_overlaps([inner, longer]) == [longer]
    text = "how long family book"  # the same entity across: the longer one, untouched
    a = entity("aspect", "duration", text, "how long family")
    b = entity("aspect", "fee", text, "family book", "EntityCanonicalizer")
    assert [e["value"] for e in without_overlaps([a, b])] == ["duration"]


def test_a_service_said_twice_is_one_entity() -> None:
    text = "my father died, what papers for the death certificate"
    died = entity("service", "death_certificate", text, "died", "EntityCanonicalizer")
    named = entity("service", "death_certificate", text, "death certificate")
    papers = entity("aspect", "documents", text, "papers")
    assert one_per_value([died, papers, named]) == [died, papers]
    text = "ID card or family book"
    two = [entity("service", "id_card", text, "ID card"),
           entity("service", "family_book", text, "family book")]
    assert one_per_value(two) == two


@pytest.mark.parametrize(("text", "has_aspect", "expected"), [
    ("my wife gave birth on monday, I work far away, what papers do we bring", True,
     "ask_service"),
    ("can grandma go instead of us, what papers", True, "ask_on_behalf"),
    ("the parents are in Thailand, can the aunt apply", False, "ask_on_behalf"),
    ("ម្តាយនៅថៃ យាយទៅធ្វើជំនួសបានទេ ត្រូវការអីខ្លះ", True, "ask_on_behalf"),
])
def test_a_family_story_asking_what_to_bring_is_a_service_question(
        text: str, has_aspect: bool, expected: str) -> None:
    aspects = [{"entity": "aspect", "value": "documents"}] if has_aspect else []
    msg = message(text, "ask_on_behalf")
    assert story_with_a_question(msg, aspects, "ask_on_behalf") == expected
    assert msg.get(INTENT)["name"] == expected


@pytest.mark.parametrize(("text", "aspect"), [
    ("how soon can I have the residence book", "duration"),
    ("can the family book be done on the same day", "duration"),
    ("ពេលណាទើបបានសៀវភៅគ្រួសារ", "duration"),
    ("where should i go for a marriage certificate", "place"),
    ("ធ្វើលិខិតបញ្ជាក់ទីលំនៅទៅធ្វើនៅណា", "place"),
    ("for the ID card do i need a photo", "documents"),
    ("ធ្វើសៀវភៅស្នាក់នៅត្រូវរៀបចំអ្វីខ្លះ", "documents"),
    ("is the family book free of charge", "fee"),
])
def test_questions_shaped_by_their_aspect_find_it(nlu: Any, text: str, aspect: str) -> None:
    parsed = asyncio.run(nlu.parse(text))
    assert parsed.intent == "ask_service", parsed
    assert aspect in {e.value for e in parsed.entities if e.entity == "aspect"}, parsed


def test_a_birth_told_at_length_that_asks_the_documents_is_a_service_question(nlu: Any
                                                                              ) -> None:
    parsed = asyncio.run(nlu.parse(
        "good morning, my sister had her baby last week in Takeo but her husband works in "
        "Bangkok, which documents do they need for the birth certificate"))
    assert parsed.intent == "ask_service", parsed
    assert {(e.entity, e.value) for e in parsed.entities} >= {
        ("service", "birth_certificate"), ("aspect", "documents")}, parsed
