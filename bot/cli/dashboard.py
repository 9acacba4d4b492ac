"""`isafbot dashboard add-user | list-users | disable-user | enable-user | reset-password |
revoke-sessions`: dashboard accounts (admins and CAFs). Every change that takes access away
ends the account's sessions at once (the dashboard reads them from the database)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.db import Database


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[Database]:
    from bot.db import Database
    from bot.settings import Settings

    settings = Settings.from_env()
    if args.db:
        settings = settings.with_database(args.db)
    database = Database.from_settings(settings)
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()


def _read_password(args: argparse.Namespace) -> str | None:
    """From the first line of stdin (--password-stdin), or asked twice; None if they differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        print("isafbot: the passwords differ", file=sys.stderr)
        return None
    return password


def _account_change(args: argparse.Namespace, change: Callable[[Session], str]) -> int:
    """Run one change in a transaction; print what it did, or why it was refused."""
    from bot.dashboard.auth import AccountError

    try:
        with _database(args) as database, database.session() as session:
            print(change(session))
    except AccountError as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_add_user(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import add_account

    password = _read_password(args)
    if password is None:
        return 1

    def add(session: Session) -> str:
        account = add_account(session, args.username, password, args.role, args.commune or [])
        return (f"added {account.role} {account.username}"
                + (f" for commune(s) {', '.join(sorted(set(args.commune)))}"
                   if args.commune else ""))

    return _account_change(args, add)


def cmd_list_users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.dashboard.models import DashboardAccount, DashboardAccountCommune

    with _database(args) as database, database.read_session() as session:
        for account in session.execute(select(DashboardAccount).order_by(
                DashboardAccount.username)).scalars():
            communes = session.execute(select(DashboardAccountCommune.commune_code).where(
                DashboardAccountCommune.account_id == account.id)).scalars().all()
            state = "active" if account.disabled_at is None else \
                f"disabled since {account.disabled_at:%Y-%m-%d %H:%M} UTC"
            print(f"{account.username}\t{account.role}\t{','.join(communes) or '-'}\t{state}")
    return 0


def _sessions(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'} ended"


def cmd_disable_user(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import disable_account

    return _account_change(args, lambda session: (
        f"disabled {args.username} ({_sessions(disable_account(session, args.username))})"))


def cmd_enable_user(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import enable_account

    def enable(session: Session) -> str:
        enable_account(session, args.username)
        return f"enabled {args.username}"

    return _account_change(args, enable)


def cmd_revoke_sessions(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import revoke_sessions

    return _account_change(args, lambda session: (
        f"{args.username}: {_sessions(revoke_sessions(session, args.username))}"))


def cmd_reset_password(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import AccountError, check_password, hash_password, replace_password

    password = _read_password(args)
    if password is None:
        return 1
    try:
        check_password(password)
    except AccountError as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return 1
    password_hash = hash_password(password)  # slow: before the transaction
    return _account_change(args, lambda session: (
        f"new password for {args.username} "
        f"({_sessions(replace_password(session, args.username, password_hash))})"))


def register_cli(sub: Any) -> None:
    dashboard = sub.add_parser("dashboard", help="dashboard accounts")
    dash_sub = dashboard.add_subparsers(dest="dashboard_command", required=True)
    add = dash_sub.add_parser("add-user", help="add an admin or CAF account")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "caf"), required=True)
    add.add_argument("--commune", action="append",
                     help="a commune's gazetteer code the CAF may see (repeat for several)")
    add.set_defaults(func=cmd_add_user)
    users = dash_sub.add_parser("list-users",
                                help="list accounts, roles, communes and whether disabled")
    users.set_defaults(func=cmd_list_users)
    disable = dash_sub.add_parser(
        "disable-user", help="refuse the account's logins and end its sessions now")
    disable.set_defaults(func=cmd_disable_user)
    enable = dash_sub.add_parser("enable-user", help="let a disabled account log in again")
    enable.set_defaults(func=cmd_enable_user)
    reset = dash_sub.add_parser(
        "reset-password", help="set a new password; the account's sessions end")
    reset.set_defaults(func=cmd_reset_password)
    revoke = dash_sub.add_parser(
        "revoke-sessions", help="log the account out everywhere (a lost phone, a shared PC)")
    revoke.set_defaults(func=cmd_revoke_sessions)
    for parser in (disable, enable, reset, revoke):
        parser.add_argument("username")
    for parser in (add, reset):
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of stdin (scripts)")
    for parser in (add, users, disable, enable, reset, revoke):
        parser.add_argument("--db", help="database URL")
