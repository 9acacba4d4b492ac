"""The small-group rule, one function for every feature that shows counts of people (the
scorecard's breakdowns, the reports' figures): a group of fewer than MIN_GROUP people is never
shown, and when groups add up to a total shown elsewhere, so many more of the smallest are
hidden that the hidden ones together are none or at least MIN_GROUP (otherwise one could be
worked out by subtracting the shown ones from the total). docs/results.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

MIN_GROUP = 5

Group = TypeVar("Group", str, int)


def hidden_groups(counts: Mapping[Group, int], *, minimum: int = MIN_GROUP,
                  already: Iterable[Group] = (), complementary: bool = True) -> set[Group]:
    """Groups not to show: those of 1 to minimum-1 people, those `already` hidden, and then
    (`complementary`: the groups partition a shown total) the smallest others until the hidden
    ones add up to 0 or at least `minimum`. Ties go to the smaller key, so the choice is the
    same on every page."""
    hidden = set(already) | {group for group, n in counts.items() if 0 < n < minimum}
    while complementary and 0 < sum(counts.get(group, 0) for group in hidden) < minimum:
        shown = sorted((n, group) for group, n in counts.items() if group not in hidden and n)
        if not shown:
            break
        hidden.add(shown[0][1])
    return hidden
