"""`isafbot rounds open|close|list`, `isafbot results` and `isafbot facilities`: the admin's and
CAF's tools for scoring rounds (cheap to import: heavy modules load inside the commands)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.printing import add_poster_parser, add_printable_options, write_printables
from bot.cli.support import cli_actor, fail, opened

if TYPE_CHECKING:
    from dialogues.scorecard.results import RoundResults


# ------------------------------------------------------------------ rounds

def cmd_rounds_open(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from dialogues.scorecard.rounds import RoundError, open_round

    with opened(args) as (database, content, _):
        try:
            with database.session() as session:
                row = open_round(session, content, args.facility, by=cli_actor(args),
                                 label=args.label)
                round_id = row.id
        except RoundError as error:
            return fail(str(error))
        except IntegrityError:
            return fail(f"a round was opened for {args.facility} at the same time")
    print(f"round {round_id} is open for {args.facility}")
    return 0


def cmd_rounds_close(args: argparse.Namespace) -> int:
    from dialogues.scorecard.rounds import RoundError, close_round
    from dialogues.scorecard.store import open_round_of

    with opened(args) as (database, content, settings):
        try:
            with database.session() as session:
                round_id = args.round
                if round_id is None:
                    found = open_round_of(session, args.facility)
                    if found is None:
                        raise RoundError(f"no round is open for {args.facility}")
                    round_id = found.id
                row = close_round(session, content, round_id, by=cli_actor(args),
                                  tz=settings.timezone)
                summaries = row.summaries
        except RoundError as error:
            return fail(str(error))
    print(f"round {round_id} is closed; {summaries} summary message(s) queued for the "
          "respondents who asked for one")
    return 0


def cmd_rounds_list(args: argparse.Namespace) -> int:
    from content.surveys.section import surveys_of
    from dialogues.scorecard.rounds import list_rounds

    with opened(args) as (database, content, _), database.session() as session:
        rows = list_rounds(session, facility_id=args.facility, open_only=args.open)
        surveys = surveys_of(content)
        if not rows:
            print("no rounds")
        for row in rows:
            facility = surveys.facilities.get(row.facility_id)
            name = facility.name.en if facility else "(not in the content any more)"
            state = "open" if row.closed_at is None else \
                f"closed {row.closed_at:%Y-%m-%d %H:%M} UTC by {row.closed_by}"
            label = f" \"{row.label}\"" if row.label else ""
            print(f"{row.id:>5}  {row.facility_id:<14} {name}{label}: opened "
                  f"{row.opened_at:%Y-%m-%d %H:%M} UTC by {row.opened_by}; {state}")
    return 0


def cmd_facilities(args: argparse.Namespace) -> int:
    from content.places import gazetteer
    from content.surveys.section import surveys_of

    with opened(args) as (database, content, _), database.session() as session:
        from dialogues.scorecard.store import open_rounds

        surveys = surveys_of(content)
        codes = sorted(surveys.communes())
        if args.commune:
            wanted = {p.code for p in gazetteer().find(args.commune)} | {args.commune}
            codes = [code for code in codes if code in wanted]
            if not codes:
                return fail(f"no facilities in the content for {args.commune!r}")
        for code in codes:
            place = gazetteer().get(code)
            print(f"{code} {place.label('en') if place else ''}")
            facilities = surveys.in_commune(code, args.type)
            rounds = open_rounds(session, [f.id for f in facilities])
            for facility in facilities:
                sample = " (sample)" if facility.sample else ""
                state = f"round {rounds[facility.id].id} open" if facility.id in rounds else \
                    "no open round"
                print(f"  {facility.id:<14} {facility.name.en}{sample}: {state}")
    return 0


# ------------------------------------------------------------------ results

def cmd_results(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from content.surveys.section import surveys_of
    from dialogues.scorecard.models import ScoringRound, SurveyResponse
    from dialogues.scorecard.results import round_results

    with opened(args) as (database, content, settings), database.read_session() as session:
        surveys = surveys_of(content)
        round_id = args.round
        if round_id is None:
            round_id = session.execute(select(ScoringRound.id).where(
                ScoringRound.facility_id == args.facility).order_by(
                ScoringRound.id.desc()).limit(1)).scalar_one_or_none()
            if round_id is None:
                return fail(f"no round for {args.facility}")
        row = session.get(ScoringRound, round_id)
        if row is None:
            return fail(f"there is no round {round_id}")
        if row.facility_id != args.facility:
            return fail(f"round {round_id} is for {row.facility_id}, not {args.facility}")
        if row.closed_at is None:
            # Figures of an open round, compared before and after someone answers, would
            # show that person's answers: its count only, like the dashboard.
            if args.csv or args.comments or args.xlsx or args.jaap_pdf:
                return fail(f"round {round_id} is still open: its answers, comments and "
                            "workbook can be exported once it is closed (isafbot rounds close)")
            responses = session.execute(select(func.count()).select_from(SurveyResponse).where(
                SurveyResponse.round_id == round_id)).scalar_one()
            label = f" \"{row.label}\"" if row.label else ""
            print(f"{row.facility_id}: round {round_id}{label} opened "
                  f"{row.opened_at:%Y-%m-%d %H:%M} UTC, still open: {responses} response(s) so "
                  "far; the results are shown once it is closed (isafbot rounds close)")
        else:
            print(format_results(round_results(session, surveys, round_id), args.lang))
        return _write_exports(args, session, surveys, row) or \
            write_printables(args, session, content, row, tz=settings.timezone)


def _write_exports(args: argparse.Namespace, session: Any, surveys: Any, row: Any) -> int:
    """The files asked for beside the results: answers and comments (CSV), the XLSForm."""
    from dialogues.scorecard.export import write_comments_csv, write_responses_csv

    if args.csv:
        count = write_responses_csv(session, surveys, row.id, Path(args.csv))
        print(f"\nwrote {count} response(s) to {args.csv}")
    if args.comments:
        count = write_comments_csv(session, surveys, row.id, Path(args.comments))
        print(f"wrote {count} comment(s) to {args.comments}")
    if args.xlsform:
        from dialogues.scorecard.jaap.store import round_survey
        from dialogues.scorecard.xlsform import write_xlsform

        survey = round_survey(session, surveys, row)  # with the round's custom indicators
        if survey is None:
            return fail(f"survey {row.survey_id} is not in the content any more")
        write_xlsform(surveys, survey, Path(args.xlsform))
        print(f"wrote the KoboToolbox form (XLSForm) of {row.survey_id} to {args.xlsform}")
    return 0


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_results(results: RoundResults, lang: str = "en") -> str:
    """The results as terminal text (what `isafbot results` prints)."""
    from dialogues.scorecard.results import MIN_GROUP, NO_ANSWER

    info, survey, facility = results.round, results.survey, results.facility
    names = {i.id: i.text(lang) for i in survey.indicators} if survey else {}
    width = max([len(n) for n in names.values()] + [20])
    label = f" \"{info.label}\"" if info.label else ""
    state = f"closed {info.closed_at:%Y-%m-%d %H:%M} UTC" if info.closed_at else "still open"
    lines = [
        f"{facility.name(lang) if facility else info.facility_id} ({info.facility_id})"
        + (f", {survey.title(lang)}" if survey else "")
        + (" [sample facility list]" if facility and facility.sample else ""),
        f"Round {info.id}{label}: opened {info.opened_at:%Y-%m-%d %H:%M} UTC, {state}",
        f"Responses: {results.responses} ({results.complete} complete, "
        f"{results.responses - results.complete} incomplete); comments: {results.comments}",
        "Scale: 1 very bad, 2 bad, 3 acceptable, 4 good, 5 very good "
        "(the median is ISAF's score per indicator)",
        "",
        f"{'indicator':<{width}}  {'n':>4}  {'mean':>5}  {'median':>6}  "
        f"{'1':>4} {'2':>4} {'3':>4} {'4':>4} {'5':>4}  {'skipped':>7}",
    ]
    for stats in results.indicators:
        counts = " ".join(f"{n:>4}" for n in stats.distribution)
        lines.append(f"{names.get(stats.indicator, stats.indicator):<{width}}  "
                     f"{stats.count:>4}  {_number(stats.mean):>5}  "
                     f"{_number(stats.median, 1):>6}  {counts}  {stats.skipped:>7}")
    for item in results.breakdowns:
        lines += ["", f"By {item.question} (median and number of ratings; groups of fewer than "
                      f"{MIN_GROUP} are hidden, with enough others that none can be worked out):"]
        headers = [f"{g.option if g.option != NO_ANSWER else 'no answer'} "
                   f"({g.respondents if g.respondents is not None else 'hidden'})"
                   for g in item.groups]
        column = max([len(h) for h in headers] + [12])
        lines.append(f"  {'':<{width}}" + "".join(f"  {h:>{column}}" for h in headers))
        for stats in results.indicators:
            cells = []
            for group in item.groups:
                cell = group.indicators.get(stats.indicator)
                cells.append("hidden" if cell is None else
                             f"{_number(cell.median, 1)} (n={cell.count})" if cell.count else "-")
            lines.append(f"  {names.get(stats.indicator, stats.indicator):<{width}}"
                         + "".join(f"  {c:>{column}}" for c in cells))
    return "\n".join(lines)


# ------------------------------------------------------------------ registration

def register_cli(sub: Any) -> None:
    rounds = sub.add_parser("rounds", help="open, close and list scoring rounds")
    rounds_sub = rounds.add_subparsers(dest="rounds_command", required=True)

    opening = rounds_sub.add_parser("open", help="open a scoring round for a facility")
    opening.add_argument("--facility", required=True, help="facility id (isafbot facilities)")
    opening.add_argument("--label", help="a name for the round, e.g. \"2026 first half\"")
    opening.set_defaults(func=cmd_rounds_open)

    closing = rounds_sub.add_parser(
        "close", help="close a round (it accepts nothing more) and queue the summaries")
    which = closing.add_mutually_exclusive_group(required=True)
    which.add_argument("--round", type=int, help="round id")
    which.add_argument("--facility", help="close the facility's open round")
    closing.set_defaults(func=cmd_rounds_close)

    listing = rounds_sub.add_parser("list", help="list rounds")
    listing.add_argument("--facility", help="only this facility's rounds")
    listing.add_argument("--open", action="store_true", help="only open rounds")
    listing.set_defaults(func=cmd_rounds_list)

    for parser in (opening, closing):
        parser.add_argument("--by", help="who does it (default: cli:<your login>)")
    poster = add_poster_parser(rounds_sub)

    results = sub.add_parser("results", help="results of a scoring round")
    results.add_argument("--facility", required=True, help="facility id")
    results.add_argument("--round", type=int, help="round id (default: the latest)")
    results.add_argument("--csv", help="write one row per response to this CSV file")
    results.add_argument("--comments", help="write the comments to this CSV file")
    results.add_argument("--xlsform", help="write the survey's KoboToolbox form (.xlsx) that "
                         "takes the --csv rows")
    results.add_argument("--lang", choices=("en", "km"), default="en",
                         help="language of indicator names (and of the --xlsx workbook)")
    add_printable_options(results)
    results.set_defaults(func=cmd_results)

    facilities = sub.add_parser("facilities", help="facilities that can be rated, by commune")
    facilities.add_argument("--commune", help="a commune name or gazetteer code")
    facilities.add_argument("--type", choices=("health_centre", "school", "commune_office"))
    facilities.set_defaults(func=cmd_facilities)

    for parser in (opening, closing, listing, poster, results, facilities):
        parser.add_argument("--db", help="database URL (default: ISAFBOT_DATABASE_URL or var/)")
