"""Every dialogue module's router, in one list: the engine is built from it.

A new capability adds its router here (and its messages to content/messages.yml).
"""

from __future__ import annotations

from dialogues import budget, core, meetings, places, rounds, services, survey
from dialogues.router import Router
from dialogues.steps import form as forms


def all_routers() -> list[Router]:
    return [core.router, services.router, places.router, budget.router, survey.router,
            rounds.router, forms.router, meetings.router]


def required_messages() -> set[str]:
    """Message keys the dialogues use: `isafbot content check` reports missing ones."""
    return set().union(*(router.messages for router in all_routers()))
