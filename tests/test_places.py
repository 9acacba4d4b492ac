"""Finding communes from the many ways people write them (gazetteer + fuzzy matching)."""

from __future__ import annotations

import pytest

from content.places import gazetteer


@pytest.mark.parametrize(("typed", "name"), [
    ("Kouk Khleang", "Kouk Khleang"),
    ("kok khleang", "Kouk Khleang"),
    ("Sangkat Kok Khleang", "Kouk Khleang"),
    ("គោកឃ្លាំង", "Kouk Khleang"),  # common spelling; the gazetteer writes គោកឃ្លាង
    ("khmounh", "Khmuonh"),
    ("ឃុំស្រះជីក", "Srah Chik"),
    ("srah chik", "Srah Chik"),
])
def test_spellings_resolve_to_the_gazetteer_name(typed: str, name: str) -> None:
    found = gazetteer().find(typed)
    assert found, typed
    assert {place.name_en for place in found} == {name}


def test_ambiguous_names_return_every_namesake_with_district_and_province() -> None:
    found = gazetteer().find("Teuk Thla")
    assert len(found) >= 2
    assert {p.name_en for p in found} == {"Tuek Thla"}
    assert "Saen Sokh" in {p.district_en for p in found}
    labels = [p.label("km") for p in found]
    assert all("(" in label for label in labels)


@pytest.mark.parametrize("typed", ["how much", "", "zzzz", "ok"])
def test_non_places_find_nothing(typed: str) -> None:
    assert gazetteer().find(typed) == []


def test_codes_find_their_commune() -> None:
    place = gazetteer().get("120809")
    assert place is not None and place.name_en == "Kouk Khleang"
    assert gazetteer().find("120809") == [place]
