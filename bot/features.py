"""The bot's features, one record each, and the one list the whole application is built from.

A record says what a feature plugs in, layer by layer: its dialogue routers, its content
sections, its database models, its CLI sub-commands, its web pages (dashboard routes), its
periodic jobs, and for a channel its factory. `bot.bootstrap` builds the App from the list,
`bot.server.build_runtime` the web runtime (channels, pages, jobs), `bot.cli.main` every
sub-command. Nothing registers itself at import and no module is named by a string: adding a
feature is a sub-package per layer and one line in `FEATURES` below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.channels.messenger import channel as messenger
from bot.channels.messenger import setup as messenger_setup
from bot.channels.telegram import channel as telegram
from bot.channels.telegram import setup as telegram_setup
from bot.cli import budgets as budgets_cli
from bot.cli import core as core_cli
from bot.cli import dashboard as dashboard_cli
from bot.cli import meetings as meetings_cli
from bot.cli import nlu as nlu_cli
from bot.cli import reports as reports_cli
from bot.cli import scorecard as scorecard_cli
from bot.dashboard import models as dashboard_models
from bot.dashboard import review_models
from bot.dashboard import routes as dashboard_routes
from bot.inbox import models as inbox_models
from content.budgets.exchange import SECTION as EXCHANGE_RATE
from content.budgets.section import SECTION as BUDGETS
from content.forms.section import QUIZ_SECTION as QUIZZES
from content.forms.section import SECTION as FORMS
from content.loader import CONTENT_DIR, ContentError, Problem, Section, check_content
from content.model import Content
from content.reports.section import SECTION as REPORTS
from content.services.situations import SECTION as SITUATIONS
from content.surveys.section import SECTION as SURVEYS
from dialogues.budgets import handlers as budget_chat
from dialogues.core import basics, outbox, places
from dialogues.core import models as core_models
from dialogues.core.router import Router
from dialogues.core.steps import form as forms
from dialogues.meetings import caf_help as meetings_caf_help
from dialogues.meetings import handlers as meetings_chat
from dialogues.meetings import models as meetings_models
from dialogues.meetings import optout as meetings_optout
from dialogues.reports import caf_chat as reports_caf
from dialogues.reports import handlers as reports_chat
from dialogues.reports import models as reports_models
from dialogues.scorecard import models as scorecard_models
from dialogues.scorecard import results_when, rounds_chat, survey
from dialogues.scorecard.jaap import chat_plan, chat_propose
from dialogues.scorecard.jaap import models as jaap_models
from dialogues.services import handlers as services_chat
from dialogues.services import situations as situations_chat
from dialogues.talk import about as talk_about
from dialogues.talk import handover as talk_handover
from dialogues.talk import models as talk_models
from dialogues.talk import staff as talk_staff
from scheduler import jaap as jaap_job
from scheduler.jobs import Periodic, purge
from scheduler.reminders import housekeeping

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.bootstrap import App
    from bot.channels.base import Channel
    from bot.server import Runtime

Commands = Callable[[Any], None]  # adds sub-commands to `isafbot`'s argparse sub-parsers
Pages = Callable[["Runtime"], "list[BaseRoute]"]  # web routes of one runtime
ChannelFactory = Callable[["App"], "Channel | None"]  # None: the channel's settings are absent


@dataclass(frozen=True)
class Feature:
    """What one feature plugs in (every field optional: a feature uses the layers it needs)."""

    name: str
    routers: tuple[Router, ...] = ()
    sections: tuple[Section[Any], ...] = ()
    models: tuple[ModuleType, ...] = ()  # imported for Base.metadata (Alembic, create_all)
    commands: tuple[Commands, ...] = ()
    pages: tuple[Pages, ...] = ()
    jobs: tuple[Periodic, ...] = ()
    channels: tuple[ChannelFactory, ...] = ()


@dataclass(frozen=True)
class Features:
    """The records, and what the builders read from them, in the records' order."""

    records: tuple[Feature, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [record.name for record in self.records]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"feature(s) listed twice: {', '.join(twice)}")

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.records)

    def adding(self, *more: Feature) -> Features:
        """These features and `more` (tests add a throwaway feature this way)."""
        return Features((*self.records, *more))

    def _all(self, pick: Callable[[Feature], Iterable[Any]]) -> list[Any]:
        return [item for record in self.records for item in pick(record)]

    @property
    def routers(self) -> list[Router]:
        return self._all(lambda record: record.routers)

    @property
    def sections(self) -> list[Section[Any]]:
        return self._all(lambda record: record.sections)

    @property
    def models(self) -> list[ModuleType]:
        return self._all(lambda record: record.models)

    @property
    def commands(self) -> list[Commands]:
        return self._all(lambda record: record.commands)

    @property
    def pages(self) -> list[Pages]:
        return self._all(lambda record: record.pages)

    @property
    def jobs(self) -> list[Periodic]:
        return self._all(lambda record: record.jobs)

    @property
    def channels(self) -> list[ChannelFactory]:
        return self._all(lambda record: record.channels)

    def required_messages(self) -> set[str]:
        """Message keys the dialogues use: `isafbot content check` reports missing ones."""
        return set().union(*(router.messages for router in self.routers))

    def check_content(self, root: Path = CONTENT_DIR, *, extra_messages: Iterable[str] = ()
                      ) -> tuple[Content | None, list[Problem]]:
        """The content with every feature's section, checked against the messages the
        dialogues use (and `extra_messages`, e.g. Messenger's greeting)."""
        return check_content(root, sections=self.sections,
                             required_messages=self.required_messages() | set(extra_messages))

    def load_content(self, root: Path = CONTENT_DIR, *, extra_messages: Iterable[str] = ()
                     ) -> Content:
        content, problems = self.check_content(root, extra_messages=extra_messages)
        if content is None:
            raise ContentError(problems)
        return content


FEATURES = Features((
    Feature("core", routers=(basics.router, places.router, forms.router), sections=(FORMS,),
            models=(core_models, outbox, inbox_models), commands=(core_cli.register_cli,),
            jobs=(Periodic("purge", purge, every=3600.0),)),
    Feature("services", routers=(services_chat.router, situations_chat.router),
            sections=(SITUATIONS,)),
    Feature("budgets", routers=(budget_chat.router,), sections=(BUDGETS, QUIZZES, EXCHANGE_RATE),
            commands=(budgets_cli.register_cli,)),
    Feature("scorecard", routers=(survey.router, rounds_chat.router, chat_propose.router,
                                  chat_plan.router, results_when.router), sections=(SURVEYS,),
            models=(scorecard_models, jaap_models), commands=(scorecard_cli.register_cli,),
            jobs=(Periodic("jaap", jaap_job.announce, every=30.0, quiet=True),)),
    Feature("meetings", routers=(meetings_chat.router, meetings_optout.router,
                                 meetings_caf_help.router),
            models=(meetings_models,),
            commands=(meetings_cli.register_cli,),
            jobs=(Periodic("housekeeping", housekeeping, every=10.0, quiet=True),)),
    Feature("talk", routers=(talk_about.router, talk_handover.router, talk_staff.router),
            models=(talk_models,)),
    Feature("reports", routers=(reports_chat.router, reports_caf.router),
            sections=(REPORTS,), models=(reports_models,),
            commands=(reports_cli.register_cli,)),
    Feature("dashboard", models=(dashboard_models,), commands=(dashboard_cli.register_cli,),
            pages=(dashboard_routes,)),
    Feature("nlu_review", models=(review_models,), commands=(nlu_cli.register_cli,)),
    Feature("messenger", commands=(messenger_setup.register_cli,),
            channels=(messenger.channel_from_settings,)),
    Feature("telegram", commands=(telegram_setup.register_cli,),
            channels=(telegram.channel_from_settings,)),
))


__all__ = ["FEATURES", "ChannelFactory", "Commands", "Feature", "Features", "Pages"]
