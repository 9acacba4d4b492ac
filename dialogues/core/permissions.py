"""Who may act on which commune: the one check for CAF and admin actions, whatever the door.

A CAF acts on the communes granted to them (a chat invite, `isafbot caf invite`; a dashboard
account's `--commune`), an admin on every commune. Nothing a person can change by chatting
widens that: `users.commune_code` is where someone lives (they change it by naming a place),
never what they may manage, and a button payload can name any commune, facility, round or
meeting.

Each door builds an `Actor` once per request: the chat `chat_actor(session, user)`, the CLI
`operator(name)` (whoever runs it has the server, so an admin), the dashboard
`Principal.actor`. The dialogues and pages ask it before they show a CAF something; the store
functions that change rounds, meetings and broadcasts take it as `by` and ask again when they
act, so no door can forget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from dialogues.core.models import CafCommune

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from content.surveys.section import Surveys
    from dialogues.core.models import User

ROLES = ("caf", "admin")


class NotAllowed(PermissionError):
    """The actor may not act on that commune (or at all)."""


@dataclass(frozen=True)
class Actor:
    """Someone acting: their name for the audit trail, their role and granted communes."""

    name: str  # "user:12" (chat), "cli:sophea" (CLI), "dashboard:sophea" (dashboard)
    role: str  # "admin", "caf"; anything else may do nothing
    communes: frozenset[str] = frozenset()  # granted communes (an admin's do not matter)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        """A CAF or an admin: may use the CAF tools at all (each action still checks)."""
        return self.role in ROLES

    def may_act_on(self, commune: str | None) -> bool:
        if not commune:
            return False
        return self.is_admin or (self.role == "caf" and commune in self.communes)

    def may_act_on_facility(self, surveys: Surveys, facility_id: str | None) -> bool:
        """A facility of a granted commune (an admin: any, even one gone from the content)."""
        if self.is_admin:
            return True
        facility = surveys.facilities.get(facility_id or "")
        return facility is not None and self.may_act_on(facility.commune)

    def require(self, commune: str | None) -> None:
        if not self.may_act_on(commune):
            raise NotAllowed(f"{self.name} may not act on commune {commune!r}")

    def commune_scope(self) -> list[str] | None:
        """The communes to filter a query on; None means every commune (an admin)."""
        if self.is_admin:
            return None
        return sorted(self.communes) if self.role == "caf" else []

    def facility_scope(self, surveys: Surveys) -> list[str] | None:
        """The facility ids to filter a query on; None means every facility (an admin)."""
        scope = self.commune_scope()
        if scope is None:
            return None
        return sorted(f.id for f in surveys.facilities.values() if f.commune in scope)


def granted_communes(session: Session, user: User) -> list[str]:
    """The communes a chat user was granted as a CAF (by invites), sorted."""
    return list(session.execute(
        select(CafCommune.commune_code).where(CafCommune.user_id == user.id)
        .order_by(CafCommune.commune_code)).scalars())


def chat_actor(session: Session, user: User) -> Actor:
    """A chat user as an actor: their role now and the communes granted to them, read from the
    database on every turn (a role revoked between two messages is revoked)."""
    communes = frozenset(granted_communes(session, user)) if user.role in ROLES else frozenset()
    return Actor(f"user:{user.id}", str(user.role), communes)


def operator(name: str) -> Actor:
    """Whoever runs the CLI on the server (or a test, a benchmark): acts on every commune."""
    return Actor(name, "admin")
