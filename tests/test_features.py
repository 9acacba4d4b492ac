"""The feature records build everything: the dialogues, the content sections, every CLI
command, the web routes and the scheduler's jobs; a feature added to the list shows up in all
of them, with nothing else to register."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

from bot.bootstrap import bootstrap
from bot.cli.main import build_parser, main
from bot.features import FEATURES, Feature
from bot.scheduling import scheduler_service
from bot.server import build_runtime, build_web_app
from common.db.base import Base
from common.messages import Incoming, Kind, Understanding
from dialogues.core.router import Router, Turn
from tests.conftest import make_settings

# `isafbot`'s commands, as they were before the records built them
COMMANDS = {"chat", "train", "parse", "content", "run", "db", "rounds", "results",
            "facilities", "caf", "meetings", "dashboard", "messenger", "telegram", "nlu",
            "reports"}


class SilentNlu:
    """The throwaway feature is reached by buttons and commands: nothing to understand."""

    async def parse(self, text: str) -> Understanding:
        return Understanding(text=text, intent=None, confidence=0.0)


def _throwaway() -> Feature:
    """A "report a broken link" stub: a router, a command and a page, nothing registered."""
    router = Router("broken_link")

    @router.payload("broken_link")
    def report(turn: Turn) -> None:
        turn.say("Thank you: the link is reported.")

    def commands(sub: Any) -> None:
        parser = sub.add_parser("broken-link", help="list reported links")
        parser.set_defaults(func=lambda args: print("no broken links") or 0)

    async def page(_: Any) -> PlainTextResponse:
        return PlainTextResponse("broken links: none")

    def pages(runtime: Any) -> list[BaseRoute]:
        return [Route("/broken-links", page)]

    return Feature("broken_link", routers=(router,), commands=(commands,), pages=(pages,))


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_help_lists_every_command_of_the_records() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    assert all(name in out.getvalue() for name in COMMANDS)
    commands = _choices(build_parser())
    assert set(commands) == COMMANDS
    assert set(_choices(commands["content"])) == {"check", "review", "import-budget"}


def test_every_feature_section_is_loaded_and_typed() -> None:
    content = FEATURES.load_content()
    assert sorted(content.sections) == ["budgets", "exchange_rate", "forms", "quizzes",
                                       "reports", "situations", "surveys"]
    for section in FEATURES.sections:
        assert isinstance(content.sections[section.kind], section.kind)


def test_the_records_name_every_table() -> None:
    """Alembic sees the tables of the records' model modules, and nothing else has one."""
    declared = {table for module in FEATURES.models for table in vars(module).values()
                if isinstance(table, type) and issubclass(table, Base) and table is not Base}
    assert {model.__table__.name for model in declared} == set(Base.metadata.tables)


def test_every_job_of_the_records_is_scheduled(tmp_path: Path, sqlite_url: str) -> None:
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=SilentNlu())  # type: ignore[arg-type]

    async def scheduled() -> set[str]:
        service = scheduler_service(app, jobs=FEATURES.jobs, every={"purge": 3600.0})
        await service.start()
        try:
            deadline = time.monotonic() + 20
            while service.scheduler is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert service.scheduler is not None
            return {job.id for job in service.scheduler.get_jobs(jobstore="memory")}
        finally:
            await service.stop()

    try:
        assert asyncio.run(scheduled()) == {job.id for job in FEATURES.jobs} \
            == {"purge", "housekeeping", "jaap"}
    finally:
        app.close()


def test_a_feature_added_to_the_list_shows_up_everywhere(tmp_path: Path,
                                                         sqlite_url: str) -> None:
    features = FEATURES.adding(_throwaway())
    app = bootstrap(make_settings(tmp_path, sqlite_url), nlu=SilentNlu(),  # type: ignore[arg-type]
                    features=features)
    try:
        replies = asyncio.run(app.handle(Incoming("console", "u1", Kind.BUTTON,
                                                  payload="broken_link")))
        assert "Thank you: the link is reported." in [reply.text for reply in replies]

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["broken-link"], features=features) == 0
        assert out.getvalue() == "no broken links\n"

        web = build_web_app(build_runtime(app))
        assert "/broken-links" in [getattr(route, "path", "") for route in web.routes]
        response = TestClient(web).get("/broken-links")  # no lifespan: nothing starts
        assert response.text == "broken links: none"
    finally:
        app.close()
    # the list itself is untouched: the stub was only added to this app
    assert "broken-link" not in _choices(build_parser())
    with pytest.raises(ValueError, match="listed twice"):
        FEATURES.adding(Feature("core"))
