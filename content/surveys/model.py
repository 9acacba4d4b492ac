"""The scorecard content's types: the scale, the surveys, the profile questions and the
facilities, as the loader (content/surveys/section.py) builds them and the dialogues read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from content.model import Text

FACILITY_TYPES = ("health_centre", "school", "commune_office")  # the facility_type entity values
CONTROLS = ("back", "skip", "stop")
PREFER_NOT = "prefer_not"
SCALE_VALUES = (1, 2, 3, 4, 5)
MAX_ID_CHARS = 32  # ids go into button payloads and CSV headers


# ------------------------------------------------------------------ typed content

@dataclass(frozen=True)
class Level:
    """One point of the five-level scale."""

    value: int
    code: str
    face: str
    label: Text

    def button_label(self, lang: str) -> str:
        return f"{self.face} {self.label(lang)}"


@dataclass(frozen=True)
class Option:
    id: str
    label: Text
    min_age: int | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class ProfileQuestion:
    id: str
    text: Text
    options: tuple[Option, ...]
    words: dict[str, str] = field(default_factory=dict)  # answer key -> option id

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def option_for_age(self, age: int) -> Option | None:
        return next((o for o in self.options if o.min_age is not None or o.max_age is not None
                     if (o.min_age or 0) <= age <= (o.max_age if o.max_age is not None
                                                      else 10**6)), None)


@dataclass(frozen=True)
class Indicator:
    id: str
    text: Text


@dataclass(frozen=True)
class Survey:
    id: str
    facility_type: str
    facility_label: Text
    title: Text
    indicators: tuple[Indicator, ...]
    source: str
    checked: date
    sample: bool

    def indicator(self, indicator_id: str) -> Indicator | None:
        return next((i for i in self.indicators if i.id == indicator_id), None)


@dataclass(frozen=True)
class Facility:
    id: str
    type: str
    commune: str  # gazetteer code
    name: Text
    source: str
    checked: date
    sample: bool


@dataclass(frozen=True)
class Surveys:
    """Everything the survey dialogue, the results and the exports need, validated."""

    scale: tuple[Level, ...]
    scale_words: dict[str, int]  # answer key -> level value
    controls: dict[str, str]  # answer key -> back | skip | stop
    profile: tuple[ProfileQuestion, ...]
    by_type: dict[str, Survey]  # facility type -> survey
    facilities: dict[str, Facility]
    source: str
    checked: date

    def level(self, value: int) -> Level:
        return self.scale[value - 1]

    def survey_for(self, facility: Facility) -> Survey:
        return self.by_type[facility.type]

    def in_commune(self, commune: str, facility_type: str | None = None) -> list[Facility]:
        """The commune's facilities (of one type when given), in a stable order."""
        order = {t: i for i, t in enumerate(FACILITY_TYPES)}
        found = [f for f in self.facilities.values() if f.commune == commune
                 and (facility_type is None or f.type == facility_type)]
        return sorted(found, key=lambda f: (order.get(f.type, 99), f.id))

    def communes(self) -> set[str]:
        return {f.commune for f in self.facilities.values()}

    def profile_question(self, question_id: str) -> ProfileQuestion | None:
        return next((q for q in self.profile if q.id == question_id), None)
