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
from nlu.entity_rules import chat_words, not_id_poor, one_place_per_span, plain_aspects
from nlu.intent_rules import negated_stop, not_a_commune_service, said_no_complaint


def entity(name: str, value: str, text: str, surface: str) -> dict[str, Any]:
    start = text.index(surface)
    return {"entity": name, "value": value, "start": start, "end": start + len(surface)}


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
