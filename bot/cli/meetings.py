"""`isafbot caf invite|list|revoke` and `isafbot meetings create|list|edit|cancel` (cheap to
import: the database and content load inside the commands). Every action is audited as
`cli:<login>` unless --by names someone."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.support import actor, cli_actor, fail, opened


def cmd_caf_invite(args: argparse.Namespace) -> int:
    from dialogues.meetings.store import MeetingError, create_invite

    with opened(args) as (database, _, _settings):
        try:
            with database.session() as session:
                invite = create_invite(session, args.commune, by=actor(args))
                code, communes = invite.code, list(invite.communes)
        except MeetingError as error:
            return fail(str(error))
    print(f"invite code: {code} (communes: {', '.join(communes)}; works once)")
    print(f"in the chat: /caf {code}")
    print(f"Telegram deep link: https://t.me/<bot username>?start=caf-{code} "
          f"(the bot receives /start caf-{code})")
    return 0


def cmd_caf_list(args: argparse.Namespace) -> int:
    from dialogues.meetings.store import list_cafs

    with opened(args) as (database, _, _settings), database.session() as session:
        cafs, invites = list_cafs(session)
        for caf in cafs:
            print(f"user {caf.user_id}\t{caf.role}\t{caf.channel}:{caf.channel_user_id}\t"
                  f"{', '.join(caf.communes) or '-'}")
        for invite in invites:
            print(f"invite {invite.code}\tunused\t{', '.join(invite.communes)}\t"
                  f"created {invite.created_at:%Y-%m-%d %H:%M} UTC by {invite.created_by}")
        if not cafs and not invites:
            print("no CAFs and no unused invites")
    return 0


def cmd_caf_revoke(args: argparse.Namespace) -> int:
    from dialogues.meetings.store import MeetingError, revoke

    if bool(args.code) == bool(args.user):
        return fail("give --code CODE (an unused invite) or --user ID (a CAF)")
    with opened(args) as (database, _, _settings):
        try:
            with database.session() as session:
                print(revoke(session, by=actor(args), now=datetime.now(timezone.utc),
                             code=args.code, user_id=args.user))
        except MeetingError as error:
            return fail(str(error))
    return 0


def cmd_caf_admin(args: argparse.Namespace) -> int:
    from dialogues.meetings.store import MeetingError, set_admin

    with opened(args) as (database, _, _settings):
        try:
            with database.session() as session:
                print(set_admin(session, by=actor(args), user_id=args.user,
                                admin=not args.revoke))
        except MeetingError as error:
            return fail(str(error))
    return 0


def cmd_meetings_create(args: argparse.Namespace) -> int:
    from common.when import parse_when
    from dialogues.meetings.store import MeetingError, create_meeting

    with opened(args) as (database, _, settings):
        zone = ZoneInfo(settings.timezone)
        now = datetime.now(timezone.utc)
        when = parse_when(args.when, now.astimezone(zone))
        if when.at is None or when.problem:
            return fail(f"--when {args.when!r}: {when.problem} (e.g. \"15/12/2026 14:00\", "
                         f"local time {settings.timezone})")
        try:
            with database.session() as session:
                meeting = create_meeting(session, kind=args.kind, commune=args.commune,
                                         place=args.place, starts_at=when.at,
                                         agenda=args.agenda, by=cli_actor(args), now=now)
                meeting_id = meeting.id
        except MeetingError as error:
            return fail(str(error))
    print(f"meeting {meeting_id}: {args.kind} in {args.commune} at "
          f"{when.at:%Y-%m-%d %H:%M} ({settings.timezone}), {args.place}")
    return 0


def cmd_meetings_list(args: argparse.Namespace) -> int:
    from common.clock import local_time
    from dialogues.meetings.store import list_meetings

    with opened(args) as (database, _, settings), database.session() as session:
        rows = list_meetings(session, communes=args.commune or None,
                             now=None if args.all else datetime.now(timezone.utc),
                             include_cancelled=args.all)
        for m in rows:
            print(f"{m.id}\t{local_time(m.starts_at, settings.timezone):%Y-%m-%d %H:%M}\t"
                  f"{m.commune_code}\t{m.kind}\t{m.status}\t{m.place}")
        if not rows:
            print("no meetings")
    return 0


def cmd_meetings_cancel(args: argparse.Namespace) -> int:
    from dialogues.meetings.store import MeetingError, cancel_meeting
    from dialogues.meetings.texts import MeetingTexts

    with opened(args) as (database, content, settings):
        try:
            with database.session() as session:
                told = cancel_meeting(session, MeetingTexts(content, settings.timezone),
                                      args.meeting, by=cli_actor(args),
                                      now=datetime.now(timezone.utc))
        except MeetingError as error:
            return fail(str(error))
    print(f"meeting {args.meeting} cancelled; {told} people who had been reminded are told")
    return 0


def cmd_meetings_edit(args: argparse.Namespace) -> int:
    from common.when import parse_when
    from dialogues.meetings.store import MeetingError, update_meeting
    from dialogues.meetings.texts import MeetingTexts

    if not args.when and not args.place:
        return fail("give --when and/or --place")
    with opened(args) as (database, content, settings):
        now = datetime.now(timezone.utc)
        starts = None
        if args.when:
            when = parse_when(args.when, now.astimezone(ZoneInfo(settings.timezone)))
            if when.at is None or when.problem:
                return fail(f"--when {args.when!r}: {when.problem}")
            starts = when.at
        try:
            with database.session() as session:
                update_meeting(session, MeetingTexts(content, settings.timezone), args.meeting,
                               by=cli_actor(args), now=now, starts_at=starts,
                               place=args.place)
        except MeetingError as error:
            return fail(str(error))
    print(f"meeting {args.meeting} changed; reminders follow, those reminded are told")
    return 0


def register_cli(sub: Any) -> None:
    caf = sub.add_parser("caf", help="CAF invites and roles")
    caf_sub = caf.add_subparsers(dest="caf_command", required=True)
    invite = caf_sub.add_parser("invite", help="a one-time invite code for given communes")
    invite.add_argument("--commune", action="append", required=True,
                        help="commune code (gazetteer); repeat for several")
    invite.set_defaults(func=cmd_caf_invite)
    listing = caf_sub.add_parser("list", help="CAFs, admins and unused invites")
    listing.set_defaults(func=cmd_caf_list)
    revoke = caf_sub.add_parser("revoke", help="revoke an unused invite or a CAF's role")
    revoke.add_argument("--code")
    revoke.add_argument("--user", type=int)
    revoke.set_defaults(func=cmd_caf_revoke)
    admin = caf_sub.add_parser("admin", help="make a chat user an admin (all communes), or not")
    admin.add_argument("--user", type=int, required=True, help="user id (see `caf list`)")
    admin.add_argument("--revoke", action="store_true", help="take the admin role back")
    admin.set_defaults(func=cmd_caf_admin)

    meetings = sub.add_parser("meetings", help="create, list and cancel meetings")
    meetings_sub = meetings.add_subparsers(dest="meetings_command", required=True)
    create = meetings_sub.add_parser("create", help="a meeting (reminders follow)")
    create.add_argument("--kind", required=True,
                        choices=("interface", "scorecard", "jaap", "other"))
    create.add_argument("--commune", required=True, help="commune code (gazetteer)")
    create.add_argument("--place", required=True)
    create.add_argument("--when", required=True, help='local time, e.g. "15/12/2026 14:00"')
    create.add_argument("--agenda")
    create.set_defaults(func=cmd_meetings_create)
    mlist = meetings_sub.add_parser("list", help="upcoming meetings")
    mlist.add_argument("--commune", action="append")
    mlist.add_argument("--all", action="store_true", help="past and cancelled ones too")
    mlist.set_defaults(func=cmd_meetings_list)
    mcancel = meetings_sub.add_parser("cancel", help="cancel; those reminded are told")
    mcancel.add_argument("meeting", type=int)
    mcancel.set_defaults(func=cmd_meetings_cancel)
    medit = meetings_sub.add_parser("edit", help="move or relocate a meeting")
    medit.add_argument("meeting", type=int)
    medit.add_argument("--when", help='new local time, e.g. "16/12/2026 9:00"')
    medit.add_argument("--place")
    medit.set_defaults(func=cmd_meetings_edit)
    for parser in (invite, listing, revoke, admin, create, mlist, mcancel, medit):
        parser.add_argument("--db", help="database URL (default: ISAFBOT_DATABASE_URL)")
        if parser in (invite, revoke, admin, create, mcancel, medit):
            parser.add_argument("--by", help="who is acting, for the audit (default: cli:login)")
