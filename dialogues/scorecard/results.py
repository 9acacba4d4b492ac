"""Results of a scoring round: per indicator the count, mean, median and distribution over the
five faces, and breakdowns by each profile question that never show a small group.

Pure computations (`indicator_stats`, `breakdown`; the rule's `hidden_groups` is
dialogues.core.small_groups, shared with the reports' figures) are separate from the one
function that reads the database (`round_results`), so the dashboard can reuse either. The
ISAF scorecard reports the median per indicator; with an even number of ratings it is the mean
of the two middle ones (3.5 lies between "acceptable" and "good").

The small-group rule (docs/results.md): a group of fewer than MIN_GROUP people is hidden, and so
many more groups that the hidden ones together are MIN_GROUP or more (or none): groups partition
everyone, so a single hidden group could otherwise be recovered by subtracting the shown ones
from the total.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.surveys.section import SCALE_VALUES, Facility, Survey, Surveys
from dialogues.core.small_groups import MIN_GROUP, hidden_groups
from dialogues.scorecard.jaap.store import round_survey
from dialogues.scorecard.models import (
    ScoringRound,
    SurveyComment,
    SurveyProfileAnswer,
    SurveyRating,
    SurveyResponse,
)

NO_ANSWER = "no_answer"  # the group of respondents who did not answer a profile question


@dataclass(frozen=True)
class IndicatorStats:
    """Ratings of one indicator by one set of respondents."""

    indicator: str
    distribution: tuple[int, ...]  # counts of 1..5
    skipped: int = 0

    @property
    def count(self) -> int:
        return sum(self.distribution)

    def _scores(self) -> list[int]:
        pairs = zip(SCALE_VALUES, self.distribution, strict=True)
        return [value for value, n in pairs for _ in range(n)]

    @property
    def mean(self) -> float | None:
        return sum(self._scores()) / self.count if self.count else None

    @property
    def median(self) -> float | None:
        return float(statistics.median(self._scores())) if self.count else None


def indicator_stats(indicator: str, scores: Iterable[int | None]) -> IndicatorStats:
    """Counts per level; None stands for a skipped question."""
    counter = Counter(scores)
    skipped = counter.pop(None, 0)
    unknown = set(counter) - set(SCALE_VALUES)
    if unknown:
        raise ValueError(f"scores outside 1-5: {sorted(unknown)}")  # type: ignore[type-var]
    return IndicatorStats(indicator, tuple(counter.get(v, 0) for v in SCALE_VALUES), skipped)


@dataclass(frozen=True)
class Group:
    """One answer to a profile question (or NO_ANSWER) and its respondents' ratings; None
    means hidden by the small-group rule."""

    option: str
    respondents: int | None
    indicators: dict[str, IndicatorStats | None]


@dataclass(frozen=True)
class Breakdown:
    question: str
    groups: tuple[Group, ...]


def breakdown(question: str, options: list[str], response_options: Mapping[str, str],
              response_scores: Mapping[str, Mapping[str, int | None]], indicators: list[str],
              *, minimum: int = MIN_GROUP) -> Breakdown:
    """Ratings by the answer each response gave to `question` (responses that did not answer
    form the NO_ANSWER group). Group sizes and each indicator's cells follow the small-group
    rule; a group hidden as a whole is hidden in every cell."""
    groups = [*options, NO_ANSWER]
    members: dict[str, list[str]] = defaultdict(list)
    for response_id in response_scores:
        option = response_options.get(response_id, NO_ANSWER)
        members[option if option in groups else NO_ANSWER].append(response_id)
    sizes = {group: len(members[group]) for group in groups}
    hidden_whole = hidden_groups(sizes, minimum=minimum)
    cells: dict[str, dict[str, IndicatorStats | None]] = {group: {} for group in groups}
    for indicator in indicators:
        stats = {group: indicator_stats(indicator, (response_scores[r].get(indicator)
                                                    for r in members[group]))
                 for group in groups}
        hidden = hidden_groups({group: s.count for group, s in stats.items()}, minimum=minimum,
                               already=hidden_whole)
        for group in groups:
            cells[group][indicator] = None if group in hidden else stats[group]
    return Breakdown(question, tuple(
        Group(group, None if group in hidden_whole else sizes[group], cells[group])
        for group in groups))


@dataclass(frozen=True)
class RoundInfo:
    id: int
    facility_id: str
    survey_id: str
    label: str | None
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class RoundResults:
    round: RoundInfo
    facility: Facility | None  # None when the facility left the content since
    survey: Survey | None
    responses: int
    complete: int
    comments: int
    indicators: tuple[IndicatorStats, ...]
    breakdowns: tuple[Breakdown, ...]


def round_info(row: ScoringRound) -> RoundInfo:
    return RoundInfo(row.id, row.facility_id, row.survey_id, row.label, row.opened_at,
                     row.closed_at)


def response_table(session: Session, round_id: int
                   ) -> tuple[dict[str, str], dict[str, dict[str, int | None]],
                              dict[str, dict[str, str]]]:
    """Status, ratings and profile answers of every response of a round, by response id."""
    status = dict(session.execute(select(SurveyResponse.id, SurveyResponse.status).where(
        SurveyResponse.round_id == round_id)).all())
    scores: dict[str, dict[str, int | None]] = {response_id: {} for response_id in status}
    for response_id, indicator, score in session.execute(
            select(SurveyRating.response_id, SurveyRating.indicator, SurveyRating.score)
            .join(SurveyResponse, SurveyResponse.id == SurveyRating.response_id)
            .where(SurveyResponse.round_id == round_id)):
        scores[response_id][indicator] = score
    profile: dict[str, dict[str, str]] = defaultdict(dict)
    for response_id, question, option in session.execute(
            select(SurveyProfileAnswer.response_id, SurveyProfileAnswer.question,
                   SurveyProfileAnswer.option)
            .join(SurveyResponse, SurveyResponse.id == SurveyProfileAnswer.response_id)
            .where(SurveyResponse.round_id == round_id)):
        profile[question][response_id] = option
    return status, scores, dict(profile)


def round_results(session: Session, surveys: Surveys, round_id: int, *,
                  minimum: int = MIN_GROUP) -> RoundResults:
    """Everything `isafbot results` prints, and the summary respondents receive."""
    row = session.get(ScoringRound, round_id)
    if row is None:
        raise LookupError(f"there is no round {round_id}")
    facility = surveys.facilities.get(row.facility_id)
    survey = round_survey(session, surveys, row)  # with the round's custom indicators
    status, scores, profile = response_table(session, round_id)
    known = [i.id for i in survey.indicators] if survey else []
    extra = sorted({i for answers in scores.values() for i in answers} - set(known))
    indicators = known + extra  # ratings of indicators removed from the content still count
    overall = tuple(indicator_stats(i, (answers.get(i) for answers in scores.values()
                                        if i in answers)) for i in indicators)
    breakdowns = tuple(
        breakdown(q.id, [o.id for o in q.options], profile.get(q.id, {}), scores, indicators,
                  minimum=minimum)
        for q in surveys.profile)
    comments = int(session.execute(select(func.count()).select_from(SurveyComment).where(
        SurveyComment.round_id == round_id)).scalar_one())
    return RoundResults(round_info(row), facility, survey, len(status),
                        sum(1 for s in status.values() if s == "complete"), comments, overall,
                        breakdowns)
