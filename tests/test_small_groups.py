"""The small-group rule is one function (dialogues.core.small_groups): the scorecard's
breakdowns and the reports' figures hide the same groups for the same counts."""

from __future__ import annotations

import pytest

from dialogues.core.small_groups import MIN_GROUP, hidden_groups
from dialogues.reports import store
from dialogues.reports.store import Count
from dialogues.scorecard import results


def test_both_features_use_the_one_rule() -> None:
    assert results.hidden_groups is hidden_groups
    assert results.MIN_GROUP == store.MIN_GROUP == MIN_GROUP


@pytest.mark.parametrize("counts", [
    {"a": 3, "b": 10, "c": 12},  # one small group: the next smallest goes with it
    {"a": 2, "b": 2, "c": 7, "d": 30},
    {"a": 5, "b": 6},
    {"a": 1, "b": 0, "c": 4, "d": 9},
    {"a": 4},
])
def test_the_reports_figures_hide_what_the_scorecard_hides(counts: dict[str, int]) -> None:
    rows = [Count({"commune_code": "120809", "kind": kind}, n) for kind, n in counts.items()]
    shown = store.shown_counts(rows, within=("commune_code",))
    hidden_by_reports = {row.keys["kind"] for row in shown if row.count is None}
    assert hidden_by_reports == hidden_groups(counts)
    alone = store.shown_counts(rows)  # no shown total: only the small groups are hidden
    assert {row.keys["kind"] for row in alone if row.count is None} == \
        hidden_groups(counts, complementary=False)


def test_hidden_groups_add_up_to_none_or_enough() -> None:
    counts = {"a": 1, "b": 1, "c": 6, "d": 6}
    hidden = hidden_groups(counts)
    assert hidden == {"a", "b", "c"} and sum(counts[g] for g in hidden) >= MIN_GROUP
    assert hidden_groups(counts, complementary=False) == {"a", "b"}
    assert hidden_groups({"a": 7, "b": 9}, already={"b"}) == {"b"}  # 9 hidden: enough
