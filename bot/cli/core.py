"""The core commands of `isafbot` (chat, train, parse, content, run, db), registered by the core
feature record. Each builds what it needs through `bootstrap` or the feature records."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.features import Features

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "db", None):
        settings = settings.with_database(args.db)
    return settings


def _features(args: argparse.Namespace) -> Features:
    """The records the parser was built from (bot.cli.main puts them in every namespace)."""
    features: Features = args.features
    return features


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.bootstrap import bootstrap
    from bot.channels.console import Interactive, run_script

    app = bootstrap(_settings(args), features=_features(args))
    try:
        if args.script:
            source = sys.stdin.buffer if args.script == "-" else open(args.script, "rb")  # noqa: SIM115
            with source:
                errors = asyncio.run(run_script(app, source, sys.stdout))
            if errors:
                print(f"{errors} script line(s) could not be used (see \"error\" lines)",
                      file=sys.stderr)
            return 1 if errors else 0
        asyncio.run(Interactive(app, args.user).run())
        return 0
    finally:
        app.close()


def cmd_train(args: argparse.Namespace) -> int:
    from nlu.engine import train

    settings = _settings(args)
    started = time.perf_counter()
    path, trained = train(settings.model_dir, force=args.force)
    if trained:
        print(f"trained {path} in {time.perf_counter() - started:.0f} s")
    else:
        print(f"NLU model up to date: {path}")
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    """One JSON object per input line, the shape of Rasa's parse output."""
    from nlu.engine import LocalNlu, load_local

    settings = _settings(args)
    nlu = LocalNlu.load(Path(args.model)) if args.model else load_local(settings.model_dir)

    async def parse_all() -> None:
        for number, raw in enumerate(sys.stdin.buffer, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                print(json.dumps({"error": f"line {number}: not valid UTF-8 "
                                           f"(byte {error.start})"}), flush=True)
                continue
            parsed = await nlu.parse(text)
            print(json.dumps(parsed.to_json(), ensure_ascii=False), flush=True)

    asyncio.run(parse_all())
    return 0


def cmd_content_check(args: argparse.Namespace) -> int:
    """Structure first (the bot refuses to start on these), then the review rules that depend
    on today's date: facts checked more than a year ago, answers that would show a stale fact
    without its warning or a fee without the rights block."""
    from content.review import recheck_problems
    from dialogues.services import handlers as services

    settings = _settings(args)
    content, problems = _features(args).check_content(settings.content_dir)
    for problem in problems:
        print(problem)
    if content is None:
        print(f"{len(problems)} problem(s): the bot will not start until they are fixed.",
              file=sys.stderr)
        return 1
    today = _today(args)
    review = recheck_problems(content, today) + services.audit(
        content, today, settings.stale_after_years)
    for problem in review:
        print(problem)
    if review:
        print(f"{len(review)} review problem(s) on {today.isoformat()}: the bot runs, but "
              "these answers are not as honest as they must be.", file=sys.stderr)
        return 1
    sections = ", ".join(sorted(content.sections)) or "-"
    print(f"content OK: {len(content.services)} services, {len(content.sources)} sources, "
          f"{len(content.messages)} messages, sections: {sections}")
    return 0


def cmd_content_review(args: argparse.Namespace) -> int:
    """Write the review record (docs/content-review.md) from the content."""
    from dialogues.services.review_record import review_record

    settings = _settings(args)
    content = _features(args).load_content(settings.content_dir)
    text = review_record(content, _today(args), settings.stale_after_years)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _today(args: argparse.Namespace) -> date:
    if getattr(args, "today", None):
        try:
            return date.fromisoformat(args.today)
        except ValueError:
            raise SettingsError(f"--today {args.today!r} is not a date (YYYY-MM-DD)") from None
    return date.today()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import Database

    settings = _settings(args)
    Database.from_settings(settings).migrate()
    print("database schema is up to date")
    return 0


def cmd_db_purge(args: argparse.Namespace) -> int:
    """Apply the retention settings now (the scheduler does it every hour)."""
    from datetime import datetime, timezone

    from bot.db import Database
    from bot.retention import purge

    settings = _settings(args)
    database = Database.from_settings(settings)
    try:
        database.migrate()
        purged = purge(database, settings.retention, datetime.now(timezone.utc),
                       settings.data_dir)
    finally:
        database.dispose()
    retention = settings.retention
    print(f"retention (days): message log {retention.message_log_days}, deliveries "
          f"{retention.deliveries_days}, inbox {retention.inbox_days}, conversations "
          f"{retention.conversation_days}, inactive users {retention.inactive_users_days}")
    print(f"purged: {purged}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The production server: webhooks, dashboard, /healthz, workers, dispatcher."""
    from bot.bootstrap import bootstrap
    from bot.logs import configure_logging
    from bot.serving import serve, serve_processes

    settings = _settings(args)
    configure_logging(settings)
    if args.workers < 1 or args.handlers < 1:
        raise SettingsError("--workers and --handlers must be at least 1")
    if args.workers > 1:
        _features(args).load_content(settings.content_dir)  # fail early
        serve_processes(settings, processes=args.workers, handlers=args.handlers)
        return 0
    # the server migrates once the database answers
    app = bootstrap(settings, migrate=False, features=_features(args))
    try:
        serve(app, host=settings.http_host, port=settings.http_port, workers=args.handlers)
    finally:
        app.close()
    return 0


def register_cli(sub: Any) -> None:
    """The core record's commands: chat, train, parse, content check|review, run, db."""

    chat = sub.add_parser("chat", help="talk to the bot on the console")
    chat.add_argument("--script", help="JSON lines to answer (- for stdin), one reply line each")
    chat.add_argument("--db", help="database URL (default: ISAFBOT_DATABASE_URL or var/)")
    chat.add_argument("--user", default="console-user", help="user id for interactive chat")
    chat.set_defaults(func=cmd_chat)

    train = sub.add_parser("train", help="train the NLU model when its data or config changed")
    train.add_argument("--force", action="store_true")
    train.set_defaults(func=cmd_train)

    parse = sub.add_parser("parse", help="understand UTF-8 lines from stdin, print JSON lines")
    parse.add_argument("--model", help="a model archive (default: the current one)")
    parse.set_defaults(func=cmd_parse)

    content = sub.add_parser("content", help="content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    check = content_sub.add_parser("check", help="validate everything under content/")
    check.add_argument("--today", help="judge freshness as on this day (YYYY-MM-DD)")
    check.set_defaults(func=cmd_content_check)
    review = content_sub.add_parser("review", help="write the content review record")
    review.add_argument("--today", help="judge freshness as on this day (YYYY-MM-DD)")
    review.add_argument("--output", default="docs/content-review.md", help="file, or - for stdout")
    review.set_defaults(func=cmd_content_review)

    run = sub.add_parser("run", help="run the server (webhooks, dashboard, workers)")
    run.add_argument("--workers", type=int, default=1,
                     help="server processes sharing the port and the database (PostgreSQL "
                          "for more than one); one of them leads (dispatcher, scheduler)")
    run.add_argument("--handlers", type=int, default=4,
                     help="updates handled concurrently in each process")
    run.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("--db", help="database URL")
    upgrade.set_defaults(func=cmd_db_upgrade)
    purge = db_sub.add_parser("purge", help="delete what the retention settings no longer "
                                            "keep (ISAFBOT_RETAIN_*; the server does it hourly)")
    purge.add_argument("--db", help="database URL")
    purge.set_defaults(func=cmd_db_purge)
