"""`isafbot reports list|show|export`: citizens' reports for NGO staff (cheap to import: the
database and content load inside the commands). Whoever runs the CLI has the server, so sees
every commune; nothing printed or exported names a reporter (there is nothing to name: reports
hold a keyed pseudonym only, and it is never printed)."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from bot.cli.support import cli_actor, fail, opened

EXPORT_COLUMNS = ("reference", "created_month", "commune_code", "kind", "facility_type",
                  "facility_id", "service", "happened_on", "amount", "currency",
                  "official_fee_riel", "official_fee_source", "official_fee_checked", "status",
                  "forwarded_to", "answer", "text_state", "text")


def _filters(args: argparse.Namespace) -> Any:
    from dialogues.reports.store import Filters

    return Filters(status=args.status, kind=args.kind, commune=args.commune)


def cmd_list(args: argparse.Namespace) -> int:
    from dialogues.reports import store

    with opened(args) as (database, _, _settings), database.read_session() as session:
        rows = store.list_reports(session, cli_actor(args), _filters(args))
        for report in rows:
            print(f"{report.reference}\t{report.created_month}\t{report.commune_code}\t"
                  f"{report.kind}\t{report.service or report.facility_type or '-'}\t"
                  f"{report.status}")
        if not rows:
            print("no reports")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from dialogues.reports import store

    with opened(args) as (database, _, _settings), database.read_session() as session:
        actor = cli_actor(args)
        try:
            report = store.get_report(session, actor, args.reference)
        except store.UnknownReport:
            return fail(f"no report {args.reference}")
        for column in EXPORT_COLUMNS:
            print(f"{column}: {_value(report, column)}")
        for media in store.media_of(session, actor, report):
            print(f"media: {media.kind} {media.file_name} ({media.bytes} bytes)")
        for change in store.history(session, actor, report):
            print(f"history: {change.at:%Y-%m-%d %H:%M} UTC {change.status} by {change.actor}"
                  + (f": {change.note}" if change.note else ""))
    return 0


def _value(report: Any, column: str) -> Any:
    if column == "amount":
        if report.amount_minor is None:
            return ""
        return report.amount_minor / 100 if report.currency == "usd" else report.amount_minor
    value = getattr(report, column)
    return "" if value is None else value


def cmd_export(args: argparse.Namespace) -> int:
    """CSV of the reports, without any identity; `--approved-text-only` blanks the texts
    no CAF has approved (for sharing beyond the CAFs)."""
    from dialogues.reports import store

    out = open(args.output, "w", newline="", encoding="utf-8") if args.output \
        else sys.stdout  # noqa: SIM115
    try:
        with opened(args) as (database, _, _settings), database.read_session() as session:
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
            for report in store.list_reports(session, cli_actor(args), _filters(args)):
                row = [_value(report, column) for column in EXPORT_COLUMNS]
                if args.approved_text_only and report.text_state != "approved":
                    row[-1] = ""
                writer.writerow(row)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def register_cli(sub: Any) -> None:
    reports = sub.add_parser("reports", help="citizens' reports of overcharging and problems")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True)
    listing = reports_sub.add_parser("list", help="reports, newest month first")
    listing.set_defaults(func=cmd_list)
    show = reports_sub.add_parser("show", help="one report, its media and its history")
    show.add_argument("reference", help="e.g. R-7K3Q")
    show.set_defaults(func=cmd_show)
    export = reports_sub.add_parser("export", help="CSV without any identity")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument("--approved-text-only", action="store_true",
                        help="blank the texts no CAF has approved")
    export.set_defaults(func=cmd_export)
    for parser in (listing, export):
        parser.add_argument("--status")
        parser.add_argument("--kind")
        parser.add_argument("--commune", help="commune code (gazetteer)")
    for parser in (listing, show, export):
        parser.add_argument("--db", help="database URL (default: ISAFBOT_DATABASE_URL)")
        parser.set_defaults(by=None)
