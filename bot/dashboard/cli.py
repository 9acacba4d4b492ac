"""`isafbot dashboard add-user|list-users`: dashboard accounts (admins and CAFs)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any


def cmd_add_user(args: argparse.Namespace) -> int:
    from bot.dashboard.auth import AccountError, add_account
    from bot.db import Database
    from bot.settings import Settings

    settings = Settings.from_env()
    if args.db:
        settings = settings.with_database(args.db)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("isafbot: the passwords differ", file=sys.stderr)
            return 1
    database = Database.from_settings(settings)
    try:
        database.migrate()
        with database.session() as session:
            account = add_account(session, args.username, password, args.role,
                                  args.commune or [])
            print(f"added {account.role} {account.username}"
                  + (f" for commune(s) {', '.join(sorted(set(args.commune)))}"
                     if args.commune else ""))
    except AccountError as error:
        print(f"isafbot: {error}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def cmd_list_users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.db import Database
    from bot.db.models_dashboard import DashboardAccount, DashboardAccountCommune
    from bot.settings import Settings

    settings = Settings.from_env()
    if args.db:
        settings = settings.with_database(args.db)
    database = Database.from_settings(settings)
    try:
        database.migrate()
        with database.session() as session:
            for account in session.execute(select(DashboardAccount).order_by(
                    DashboardAccount.username)).scalars():
                communes = session.execute(select(DashboardAccountCommune.commune_code).where(
                    DashboardAccountCommune.account_id == account.id)).scalars().all()
                print(f"{account.username}\t{account.role}\t{','.join(communes) or '-'}")
    finally:
        database.dispose()
    return 0


def register_cli(sub: Any) -> None:
    dashboard = sub.add_parser("dashboard", help="dashboard accounts")
    dash_sub = dashboard.add_subparsers(dest="dashboard_command", required=True)
    add = dash_sub.add_parser("add-user", help="add an admin or CAF account")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "caf"), required=True)
    add.add_argument("--commune", action="append",
                     help="a commune's gazetteer code the CAF may see (repeat for several)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin (scripts)")
    add.add_argument("--db", help="database URL")
    add.set_defaults(func=cmd_add_user)
    users = dash_sub.add_parser("list-users", help="list accounts, roles and communes")
    users.add_argument("--db", help="database URL")
    users.set_defaults(func=cmd_list_users)
