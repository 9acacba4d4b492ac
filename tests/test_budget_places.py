"""The places budget questions are about, found from the ways people write them (Khmer
spelling variants, romanisations), namesakes resolved by asking, or by the user's own commune."""

from __future__ import annotations

import pytest

from content.places import gazetteer
from tests.conftest import Chat


@pytest.mark.parametrize(("typed", "code"), [
    ("Kok Khleang", "120809"), ("Kouk Khleang", "120809"), ("Kohk Khleang", "120809"),
    ("គោកឃ្លាំង", "120809"), ("គោកឃ្លាង", "120809"),
    ("Khmuonh", "120803"), ("Khmounh", "120803"), ("ឃ្មួញ", "120803"),
    ("Srah Chik", "010305"), ("ស្រះជីក", "010305"),
    ("Kompong Trach", "200408"), ("Kg Trach", "200408"), ("Mukhda", "200411"),
    ("Trapaing Sdao", "200415"), ("ត្រពាំងស្តៅ", "200415"), ("Chrey Thom", "200406"),
    ("Angprasre", "200404"), ("Andong Trabek", "200403"), ("Sambat Meanchey", "200414"),
])
def test_spellings_of_covered_places(typed: str, code: str) -> None:
    assert [p.code for p in gazetteer().find(typed)] == [code]


@pytest.mark.parametrize("typed", ["Teuk Thla", "Tuek Thla", "Toek Thla", "Tuk Thla",
                                   "ទឹកថ្លា"])
def test_every_spelling_of_tuek_thla_finds_all_namesakes(typed: str) -> None:
    found = gazetteer().find(typed)
    assert "120802" in {p.code for p in found} and len(found) >= 4
    assert {p.district_en for p in found} >= {"Saen Sokh", "Serei Saophoan"}


def test_namesakes_are_asked_with_district_and_province(chat: Chat) -> None:
    chat.send("budget of Andong Po commune")
    assert "Several communes are called Andoung Pou" in chat.text
    titles = [b.title for r in chat.last for b in r.buttons]
    assert titles[0] == "Andoung Pou (Romeas Haek, Svay Rieng)"  # the one with figures first
    assert any("Tang Kouk" in t for t in titles)
    chat.press("bud:pick:200402")
    assert "In 2023, Andoung Pou (Romeas Haek, Svay Rieng) had" in chat.text


def test_the_users_own_commune_settles_a_namesake_without_asking(chat: Chat) -> None:
    chat.send("how much money does my commune have")
    chat.send("Tuek Thla")
    chat.press("commune:120802")
    chat.send("health centre budget in Teuk Thla")
    assert "Several communes" not in chat.text
    assert "Tuek Thla health centre received" in chat.text


def test_a_khmer_romeas_haek_question(chat: Chat) -> None:
    chat.send("ថវិកាឃុំត្រពាំងស្តៅឆ្នាំ២០២២")
    assert "នៅឆ្នាំ ២០២២ ត្រពាំងស្ដៅ (រមាសហែក, ស្វាយរៀង) មានថវិកាសរុប" in chat.text


def test_a_romanised_my_sangkat_is_not_searched_as_a_name(chat: Chat) -> None:
    """"sangkat knhom" is "my sangkat": the bot asks which one instead of "I could not find
    knhom ban", and a district typed next leads to its sangkats."""
    chat.send("sangkat knhom ban luy ponman chnam nis")
    assert "knhom" not in chat.text
    chat.send("khan sen sok")
    titles = [b.title for r in chat.last for b in r.buttons]
    assert "Tuek Thla (Saen Sokh, Phnom Penh)" in titles


def test_a_place_typed_after_not_found_is_that_budget(chat: Chat) -> None:
    """After "I could not find X" the budget question waits: a district typed alone is read
    as its place, not as small talk."""
    chat.send("budget of sangkat Zzyzx")
    assert "Zzyzx" in chat.text
    chat.send("khan sen sok")
    titles = [b.title for r in chat.last for b in r.buttons]
    assert "Tuek Thla (Saen Sokh, Phnom Penh)" in titles
