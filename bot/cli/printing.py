"""`isafbot rounds poster` and the printable exports of `isafbot results` (`--xlsx`,
`--jaap-pdf`): what a CAF prints or hands on. Cheap to import: heavy modules load inside the
commands. Registered by bot/cli/scorecard.py under its `rounds` and `results` commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.support import fail, opened


def cmd_rounds_poster(args: argparse.Namespace) -> int:
    from dialogues.scorecard.poster import ChatLinks, PosterError, poster_for, write_poster

    with opened(args) as (database, content, settings):
        links = ChatLinks(args.telegram or settings.telegram_username,
                          args.messenger or settings.messenger_page)
        try:
            with database.read_session() as session:
                poster = poster_for(session, content, args.facility, links,
                                    forget_after_days=settings.retention.inactive_users_days,
                                    tz=settings.timezone)
            png, pdf = write_poster(content, poster, Path(args.out), args.lang)
        except PosterError as error:
            return fail(str(error))
    print(f"wrote the poster of {args.facility} to {pdf} (print it on A4) and {png}")
    for platform, link in poster.links:
        print(f"  {platform}: {link}")
    return 0


def add_poster_parser(rounds_sub: Any) -> argparse.ArgumentParser:
    poster = rounds_sub.add_parser(
        "poster", help="an A4 poster (PDF and PNG) with QR codes that open a facility's "
                       "survey; the facility needs an open round")
    poster.add_argument("--facility", required=True, help="facility id (isafbot facilities)")
    poster.add_argument("--lang", choices=("both", "km", "en"), default="both",
                        help="Khmer and English (default), or one of them")
    poster.add_argument("--out", default=".", help="folder for poster-<facility>-<lang>.pdf "
                        "and .png (default: here)")
    poster.add_argument("--telegram", help="the bot's @username (default: "
                        "TELEGRAM_BOT_USERNAME)")
    poster.add_argument("--messenger", help="the Facebook page's m.me name (default: "
                        "MESSENGER_PAGE_NAME)")
    poster.set_defaults(func=cmd_rounds_poster)
    return poster


def add_printable_options(results: argparse.ArgumentParser) -> None:
    results.add_argument("--xlsx", help="write the round's workbook (indicators, medians, the "
                         "five faces, results by group, suggested actions, JAAP) to this .xlsx")
    results.add_argument("--jaap-pdf", help="write the round's JAAP (agreed actions) as an A4 "
                         "PDF for the meeting's wall to this file")
    results.add_argument("--pdf-lang", choices=("both", "km", "en"), default="both",
                         help="languages of the --jaap-pdf (default: Khmer and English)")


def write_printables(args: argparse.Namespace, session: Any, content: Any, row: Any, *,
                     tz: str) -> int:
    """The workbook and the JAAP's PDF of a closed round, as asked."""
    if args.xlsx:
        from dialogues.scorecard.workbook import round_workbook, write_workbook

        sheets = round_workbook(session, content, row.id, args.lang)
        write_workbook(sheets, Path(args.xlsx))
        print(f"wrote the workbook of round {row.id} ({len(sheets)} sheets) to {args.xlsx}")
    if args.jaap_pdf:
        from dialogues.scorecard.jaap_print import plan_of, write_plan_pdf

        plan = plan_of(session, content, row.id, tz=tz)
        count = write_plan_pdf(content, plan, Path(args.jaap_pdf), args.pdf_lang)
        print(f"wrote the JAAP of round {row.id} ({len(plan.actions)} action(s), {count} "
              f"page(s)) to {args.jaap_pdf}")
    return 0
