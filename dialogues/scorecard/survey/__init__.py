"""The community scorecard in chat: the survey definitions (content/surveys/) walked by the one
step engine (dialogues/core/steps).

Start (the rate_service intent, the menu, or a deep link `/start svy_<facility>` from a poster)
-> choose the facility (of the user's commune) -> a short consent and anonymity notice -> one
question per message with progress, back, skip and stop -> an optional comment -> optional
questions about the respondent -> "send me the results?" -> thanks.

walk.py: the router, the steps as data and the storage hooks; entry.py: starting and resuming;
show.py: a step's question and buttons; act.py: moving through the walk; typed.py: typed
answers.
"""

from __future__ import annotations

from dialogues.scorecard.survey import act, entry, show, typed
from dialogues.scorecard.survey.walk import FLOW, Walk, router, walk_steps

__all__ = ["FLOW", "Walk", "act", "entry", "router", "show", "typed", "walk_steps"]
