"""``borderwatch users add/disable/enable/unlock/list`` and ``borderwatch tokens create/revoke``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from borderwatch.access import login as logins
from borderwatch.access import service as access
from borderwatch.access.policy import Action, Resource, Role
from borderwatch.cli.common import audit_cli, console, fail, open_database
from borderwatch.core.errors import NotFoundError
from borderwatch.db.session import session_scope

users_app = typer.Typer(help="Users of the workspace and the API.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens for other systems (only their hashes are stored).", no_args_is_help=True
)


@users_app.command("add")
def add(
    username: str,
    role: Annotated[Role, typer.Option(help="analyst, inspector, supervisor, admin, instructor or trainee")],
    agency: Annotated[str, typer.Option(help="agency the user belongs to")],
    password: Annotated[
        str | None, typer.Option(help="omit to be prompted; --system for an account without one")
    ] = None,
    system: Annotated[bool, typer.Option("--system", help="a system account: API tokens only")] = False,
) -> None:
    """Add a user (their password is stored as an argon2 hash)."""
    if password is None and not system:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _engine, factory = open_database()
    try:
        with session_scope(factory) as session:
            access.add_user(
                db_session=session,
                username=username,
                role=role,
                agency=agency,
                password=None if system else password,
            )
    except access.AccessError as error:
        fail(str(error))
    console.print(f"added {role} [bold]{username}[/] to agency {agency}")


def _set_active(username: str, active: bool) -> None:
    _engine, factory = open_database()
    try:
        with session_scope(factory) as session:
            access.set_active(db_session=session, username=username, active=active)
    except (NotFoundError, access.AccessError) as error:
        fail(str(error))
    console.print(f"{'enabled' if active else 'disabled'} [bold]{username}[/]")


@users_app.command("disable")
def disable(username: str) -> None:
    """Disable a user: they can no longer log in, their sessions and tokens stop working."""
    _set_active(username, False)


@users_app.command("enable")
def enable(username: str) -> None:
    """Re-enable a disabled user."""
    _set_active(username, True)


@users_app.command("unlock")
def unlock(username: str) -> None:
    """Unlock a user locked after repeated failed logins (and restart their count of failures)."""
    _engine, factory = open_database()
    try:
        with session_scope(factory) as session:
            logins.unlock(db_session=session, username=username)
            audit_cli(
                session,
                agency=access.get_user(db_session=session, username=username).agency,
                action=Action.UPDATE,
                resource=Resource.USER,
                resource_id=username,
                detail={"unlocked": True},
            )
    except (NotFoundError, access.AccessError) as error:
        fail(str(error))
    console.print(f"unlocked [bold]{username}[/]")


@users_app.command("list")
def list_(agency: Annotated[str | None, typer.Option(help="only this agency")] = None) -> None:
    """List users."""
    _engine, factory = open_database()
    with session_scope(factory) as session:
        rows = access.list_users(db_session=session, agency=agency)
        table = Table("username", "role", "agency", "active", "kind", "locked")
        for row in rows:
            kind = "person" if row.password_hash else "system"
            locked = "" if row.locked_at is None else f"[red]since {row.locked_at:%Y-%m-%d %H:%M}[/]"
            table.add_row(row.username, row.role, row.agency, "yes" if row.active else "no", kind, locked)
    console.print(table)


@tokens_app.command("create")
def create(
    username: Annotated[str, typer.Option("--user", help="the account the token acts as")],
    name: Annotated[str, typer.Option(help="what the token is for, e.g. 'port community system'")],
    days: Annotated[int | None, typer.Option(min=1, help="expire after this many days")] = None,
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    _engine, factory = open_database()
    try:
        with session_scope(factory) as session:
            _row, secret = access.create_token(db_session=session, username=username, name=name, days=days)
    except NotFoundError as error:
        fail(str(error))
    console.print("[bold]Store this token now; it cannot be shown again:[/]")
    console.print(secret, soft_wrap=True, highlight=False)


@tokens_app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="the token's first 8 characters")]) -> None:
    """Revoke the tokens starting with PREFIX."""
    _engine, factory = open_database()
    with session_scope(factory) as session:
        count = access.revoke_token(db_session=session, prefix=prefix)
    if count == 0:
        fail(f"no token starts with {prefix!r}")
    console.print(f"revoked {count} token(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
