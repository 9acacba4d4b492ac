"""Places at every level, forgivingly (issue 18, issue 19 finding 1): districts ask which
commune, "commune + district/province" resolves, near misses are asked about, nothing close is
"not found"; a namesake elsewhere is never taken as sure when an area was named."""

from __future__ import annotations

import pytest

from content.places import gazetteer, resolve


def test_gazetteer_is_built_once_per_process() -> None:
    assert gazetteer() is gazetteer()


@pytest.mark.parametrize("typed", ["khan sen sok", "Sen Sok", "ខណ្ឌសែនសុខ", "Saen Sokh district"])
def test_a_district_asks_which_of_its_communes(typed: str) -> None:
    found = resolve(typed)
    assert not found.sure
    assert found.area is not None and found.area.name_en == "Saen Sokh"
    assert found.area.province_en == "Phnom Penh"
    communes = {p.name_en for p in gazetteer().communes_in(found.area)}
    assert {"Kouk Khleang", "Tuek Thla", "Khmuonh"} <= communes


@pytest.mark.parametrize("typed", ["អំពិល ស្វាយរៀង", "Ampil, Svay Rieng", "អំពិលស្វាយរៀង",
                                   "ampel svay rieng"])
def test_commune_and_province_resolve_to_the_one_in_that_province(typed: str) -> None:
    found = resolve(typed)
    assert found.sure, typed
    assert (found.places[0].name_en, found.places[0].province_en) == ("Ampil", "Svay Rieng")


def test_commune_and_district_resolve() -> None:
    found = resolve("Tuek Thla, Saen Sokh")
    assert found.sure and found.places[0].code.startswith("1208")


def test_namesakes_are_asked_about_not_chosen() -> None:
    found = resolve("Ampil")
    assert not found.sure and len(found.places) >= 3
    assert len({p.province_en for p in found.places}) == len(found.places)


@pytest.mark.parametrize(("typed", "name"), [
    ("Kouk Khleang", "Kouk Khleang"), ("kok khleang", "Kouk Khleang"),
    ("sangkat kok khleang", "Kouk Khleang"), ("គោកឃ្លាំង", "Kouk Khleang"),
    ("Kouk Kleang", "Kouk Khleang"),  # one letter off: close enough to be sure
])
def test_spelling_variants_with_or_without_prefix_are_sure(typed: str, name: str) -> None:
    found = resolve(typed)
    assert found.sure and found.places[0].name_en == name


def test_a_near_miss_is_a_suggestion_never_a_sure_wrong_commune() -> None:
    found = resolve("Kandal Ampil")  # no such commune; several names look a bit like it
    assert not found.sure and not found.places
    assert found.suggestions


def test_nothing_close_is_not_found() -> None:
    found = resolve("blahblahvill")
    assert not found.sure and not found.places and not found.suggestions and found.area is None
