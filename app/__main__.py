"""Command-line tools: `python -m app create-admin EMAIL` (asks for the password)."""

import argparse
import asyncio
import getpass
import sys

from pydantic import ValidationError

from app.core.config import get_settings
from app.core.db import Database
from app.core.migrations import upgrade_to_head
from app.core.security import PasswordHasher
from app.services import users as users_service
from generated.models import UserRegister


def _problems(email: str, password: str) -> list[str]:
    """What the contract finds wrong with these credentials (the rules of `register`)."""
    try:
        UserRegister(email=email, password=password)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


async def _create_admin(email: str, password: str) -> bool:
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        created = await users_service.ensure_admin(
            database, PasswordHasher(settings), email=email, password=password
        )
    finally:
        await database.dispose()
    return created is not None


def create_admin(email: str) -> int:
    password = getpass.getpass("Password: ")
    if problems := _problems(email, password):
        print("Invalid input:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    if getpass.getpass("Repeat password: ") != password:
        print("The passwords differ.", file=sys.stderr)
        return 2
    upgrade_to_head(get_settings())
    if not asyncio.run(_create_admin(email, password)):
        print(f"{email} is already registered; nothing changed.", file=sys.stderr)
        return 1
    print(f"Created admin {email}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an admin user")
    admin.add_argument("email")
    args = parser.parse_args(argv)
    return create_admin(args.email)


if __name__ == "__main__":
    sys.exit(main())
