"""What every command needs: settings, a migrated database, a console, and one way to fail."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import Settings, get_settings
from borderwatch.db.session import engine_from_settings, migrate_for, session_factory, session_scope

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def open_database(settings: Settings | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """The configured database, migrated to the current schema."""
    settings = settings or get_settings()
    engine = engine_from_settings(settings)
    migrate_for(settings, engine)
    return engine, session_factory(engine)


if TYPE_CHECKING:
    from borderwatch.scoring.profiles import RiskProfile

AGENCY_PROFILES_HELP = "risk profile YAML file or folder (default: the agency's, data_dir/profiles/AGENCY)"


def load_profiles_option(path: Path | None, *, agency_default: bool) -> list[RiskProfile]:
    """The risk profiles of a ``--profiles`` option: that file or folder; without it, the agency's own
    profiles (those the workspace edits) when ``agency_default``, else none."""
    from borderwatch.scoring.profile_store import load_agency_profiles
    from borderwatch.scoring.profiles import load_profiles

    try:
        if path is not None:
            if not path.exists():
                fail(f"risk profile path {path} does not exist")
            return load_profiles(path)
        if agency_default:
            settings = get_settings()
            return load_agency_profiles(settings.data_dir, settings.agency)
        return []
    except ConfigError as error:
        fail(str(error))


ACTING_USER_ENV = "BORDERWATCH_USER"
_acting: dict[str, str] = {}


def set_acting_user(name: str | None) -> None:
    """The user a command acts as (``borderwatch --as NAME``); None: the environment or the OS login."""
    if name:
        _acting["name"] = name
    else:
        _acting.pop("name", None)


def acting_user() -> str:
    """Who runs this command, as the audit log names them: ``--as NAME``, else ``$BORDERWATCH_USER``, else
    the operating-system login name. Commands that act as an officer or supervisor (assign a case, override
    a lane, record an outcome, promote a model) require it to be an active borderwatch user of the agency
    (:func:`require_user`)."""
    named = _acting.get("name") or os.environ.get(ACTING_USER_ENV)
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def require_user(session: Session, *, agency: str) -> str:
    """The acting user, when they are an active borderwatch user of ``agency``; otherwise exit 2 naming
    them (officers are users, not free text)."""
    from borderwatch.access.service import active_user_of

    name = acting_user()
    if active_user_of(db_session=session, username=name, agency=agency) is None:
        fail(
            f"{name!r} is not an active borderwatch user of agency {agency!r}: run the command as one "
            f"with --as USER or {ACTING_USER_ENV}=USER (borderwatch users add creates one)"
        )
    return name


def audit_cli(
    session: Session,
    *,
    action: str,
    resource: str,
    agency: str,
    resource_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit entry for a command's action, under the acting user, marked as coming from the CLI; it is
    written with ``session``'s next flush, in the same transaction as the change it records."""
    from borderwatch.access import audit

    audit.record(
        db_session=session,
        actor=acting_user(),
        agency=agency,
        action=action,
        resource=resource,
        resource_id=resource_id,
        detail={"via": "cli", **(detail or {})},
    )


def audit_cli_apart(
    *, action: str, resource: str, resource_id: str | None = None, detail: dict[str, Any] | None = None
) -> None:
    """:func:`audit_cli` in a transaction of its own, for the configured agency: for commands whose
    change is not in the database (a key written to a file, a check against a log)."""
    with agency_session() as command:
        command.audit(action, resource, resource_id, detail)


@dataclass(frozen=True)
class AgencySession:
    """A command's session for one agency; :meth:`audit` records what the command did in it."""

    session: Session
    agency: str
    engine: Engine

    def audit(
        self,
        action: str,
        resource: str,
        resource_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """:func:`audit_cli` for this session and agency (written with the change, in its transaction)."""
        audit_cli(
            self.session,
            action=action,
            resource=resource,
            agency=self.agency,
            resource_id=resource_id,
            detail=detail,
        )


@contextmanager
def agency_session(*failures: type[Exception], agency: str | None = None) -> Iterator[AgencySession]:
    """A session on the configured database (migrated) for ``agency`` (default: the configured one),
    committed when the block ends. An error of one of ``failures`` rolls it back and ends the command
    with the error's sentence (exit 2)."""
    settings = get_settings()
    engine, factory = open_database(settings)
    try:
        with session_scope(factory) as session:
            yield AgencySession(session=session, agency=agency or settings.agency, engine=engine)
    except failures as error:
        fail(str(error))


def each_file(
    files: Sequence[Path], store: Callable[[AgencySession, Path], T], *, failures: tuple[type[Exception], ...]
) -> list[T]:
    """``store`` each file in a session of its own (committed file by file), with a progress bar; an
    error of one of ``failures`` ends the command there, naming it (exit 2)."""
    done: list[T] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for path in files:
            with agency_session(*failures) as command:
                done.append(store(command, path))
            progress.advance(task)
    return done


def load_file(
    path: Path,
    load: Callable[[AgencySession], int],
    *,
    resource: str,
    counted: str,
    action: str = "update",
    failures: tuple[type[Exception], ...],
) -> int:
    """``load`` one file (a list replaced or records added, in one transaction) and audit how many
    ``counted`` it held; an error of one of ``failures`` ends the command (exit 2)."""
    with agency_session(*failures) as command:
        count = load(command)
        command.audit(action, resource, path.name, {counted: count})
    return count


def show_quarantine(
    records: Callable[[AgencySession, str | None], Sequence[T]],
    *,
    all_records: bool,
    resource: str,
    title: str,
    columns: Sequence[str],
    cells: Callable[[T], Sequence[str]],
) -> None:
    """The quarantined records of a stage (open ones unless ``all_records``) as a table, audited."""
    with agency_session() as command:
        rows = records(command, None if all_records else "open")
        command.audit("read", resource, detail={"records": len(rows)})
        print_table(f"{len(rows)} {title}", columns, [cells(row) for row in rows])


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Iterator[Sequence[str]] | Sequence[Sequence[str]],
    *,
    right: Sequence[str] = (),
) -> None:
    """A table with these columns (those in ``right`` aligned right) and rows, on the console."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear sentence and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def parse_date_option(value: str | None, option: str) -> date | None:
    """The date an option such as ``--since`` names (YYYY-MM-DD); None when not given, else exit 2."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date as YYYY-MM-DD, not {value!r}")
