"""``borderwatch intel``: TAXII collections, sharing groups, shares, partners, pull, push and sightings."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from borderwatch.cli.common import agency_session, console, fail, open_database
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import get_settings

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Intelligence sharing: STIX 2.1 over TAXII 2.1, TLP 2.0, sharing groups, sightings.")
collections_app = typer.Typer(help="TAXII collections and which partner agencies may read or write them.")
groups_app = typer.Typer(help="Sharing groups: partner agencies and their agreement.")
partners_app = typer.Typer(help="Partners' TAXII collections to pull from and push to.")
app.add_typer(collections_app, name="collections")
app.add_typer(groups_app, name="groups")
app.add_typer(partners_app, name="partners")

Agency = Annotated[str | None, typer.Option("--agency", help="the owning agency (default: settings)")]
SECRET_ENV = "BORDERWATCH_PARTNER_SECRET"


@collections_app.command("add")
def collections_add(
    title: str,
    agency: Agency = None,
    read: Annotated[list[str] | None, typer.Option("--read", help="a partner agency that may read")] = None,
    write: Annotated[
        list[str] | None, typer.Option("--write", help="a partner agency that may write")
    ] = None,
    tlp: Annotated[str, typer.Option(help="TLP of objects sent without a marking")] = "amber",
) -> None:
    """Add a collection owned by AGENCY; partners listed with --read / --write get those rights."""
    from borderwatch.intel import store
    from borderwatch.intel.tlp import parse_level

    with agency_session(BorderwatchError, ValueError, agency=agency) as command:
        collection = store.add_collection(
            session=command.session,
            agency=command.agency,
            title=title,
            readers=read or [],
            writers=write or [],
            default_tlp=parse_level(tlp),
        )
        command.audit(
            "create", "intel", collection.id, {"title": title, "read": read or [], "write": write or []}
        )
    console.print(f"collection [bold]{collection.id}[/] {title!r} (owner {command.agency})")


@collections_app.command("list")
def collections_list(agency: Agency = None) -> None:
    """The collections AGENCY owns, with partners' rights and object counts by TLP."""
    from borderwatch.intel import store

    table = Table("id", "title", "read", "write", "objects by TLP")
    with agency_session(agency=agency) as command:
        for c in store.owned_collections(session=command.session, agency=command.agency):
            counts = store.object_counts(session=command.session, collection_id=c.id)
            table.add_row(
                c.id,
                c.title,
                ", ".join(sorted(c.access.readers)) or "-",
                ", ".join(sorted(c.access.writers)) or "-",
                ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "-",
            )
    console.print(table)


@collections_app.command("remove")
def collections_remove(collection_id: str, agency: Agency = None) -> None:
    """Remove a collection AGENCY owns, with every object in it."""
    from borderwatch.intel import store

    with agency_session(BorderwatchError, agency=agency) as command:
        removed = store.remove_collection(
            session=command.session, agency=command.agency, collection_id=collection_id
        )
        command.audit("delete", "intel", collection_id, {"objects": removed})
    console.print(f"removed collection {collection_id} and {removed} objects")


@groups_app.command("add")
def groups_add(
    name: str,
    agency: Agency = None,
    member: Annotated[list[str] | None, typer.Option("--member", help="a partner agency")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="seizure or indicator")] = None,
    personal_data: Annotated[bool, typer.Option(help="natural persons' names may leave in clear")] = False,
) -> None:
    """A sharing group of partner agencies and its agreement."""
    from borderwatch.intel import sharing

    with agency_session(BorderwatchError, agency=agency) as command:
        group = sharing.add_group(
            session=command.session,
            agency=command.agency,
            name=name,
            members=member or [],
            kinds=kind or list(sharing.KINDS),
            personal_data=personal_data,
        )
        command.audit(
            "create", "intel", f"group:{name}", {"members": list(group.members), "kinds": list(group.kinds)}
        )
    console.print(
        f"group {name}: {', '.join(group.members) or 'no members'}; covers {', '.join(group.kinds)}"
    )


@groups_app.command("remove-member")
def groups_remove_member(name: str, member: str, agency: Agency = None) -> None:
    """Take a partner out of a group: it loses the group's AMBER shares at once."""
    from borderwatch.intel import sharing

    with agency_session(BorderwatchError, agency=agency) as command:
        sharing.remove_member(session=command.session, agency=command.agency, name=name, member=member)
        command.audit("update", "intel", f"group:{name}", {"removed": member})
    console.print(f"{member} removed from {name}")


@app.command("share")
def share(  # noqa: PLR0917 - a command's options
    kind: Annotated[str, typer.Argument(help="seizure (RECORD: a case id) or indicator (a risk profile id)")],
    record: str,
    collection: Annotated[str, typer.Option(help="the collection the objects go to")],
    by: Annotated[str, typer.Option("--as", help="the person deciding (supervisor or admin)")],
    tlp: Annotated[str, typer.Option(help="clear, green, amber, amber+strict or red")] = "amber",
    group: Annotated[str | None, typer.Option(help="the sharing group (AMBER)")] = None,
    recipient: Annotated[list[str] | None, typer.Option(help="a named recipient agency (RED)")] = None,
    preview: Annotated[bool, typer.Option(help="show the objects that would leave; share nothing")] = False,
) -> None:
    """Decide that a record leaves: the person signs in with their password (env BORDERWATCH_PASSWORD or a
    prompt); the decision, the objects and the audit entry are recorded together."""
    import json

    from borderwatch.access.service import authenticate_password
    from borderwatch.db.session import session_scope
    from borderwatch.intel import sharing
    from borderwatch.intel.tlp import parse_level

    settings = get_settings()
    engine, factory = open_database(settings)
    try:
        request = sharing.ShareRequest(
            kind=kind,
            record_id=record,
            collection_id=collection,
            tlp=parse_level(tlp),
            group=group,
            recipients=tuple(recipient or ()),
        )
        password = os.environ.get("BORDERWATCH_PASSWORD") or typer.prompt(
            f"password of {by}", hide_input=True
        )
        with session_scope(factory) as session:
            principal = authenticate_password(db_session=session, username=by, password=password)
            if principal is None:
                fail(f"wrong user name or password for {by!r}")
            if preview:
                objects = sharing.preview(
                    session=session,
                    engine=engine,
                    data_dir=settings.data_dir,
                    agency=principal.agency,
                    request=request,
                )
                console.print_json(json.dumps(objects))
                return
            decision = sharing.share(
                session=session,
                engine=engine,
                data_dir=settings.data_dir,
                principal=principal,
                request=request,
            )
            console.print(
                f"share {decision.id}: {len(decision.object_ids)} objects under TLP:{decision.tlp.upper()} "
                f"into {collection}, decided by {by}"
            )
    except (BorderwatchError, ValueError) as error:
        fail(str(error))


@partners_app.command("add")
def partners_add(
    name: Annotated[str, typer.Argument(help="the partner agency's code")],
    collection_url: Annotated[str, typer.Argument(help="the partner's TAXII collection URL")],
    agency: Agency = None,
) -> None:
    from borderwatch.intel import exchange

    with agency_session(agency=agency) as command:
        exchange.add_partner(
            session=command.session, agency=command.agency, name=name, collection_url=collection_url
        )
    console.print(f"partner {name}: {collection_url}")


User = Annotated[str, typer.Option("--user", help="this agency's account on the partner's server")]


def _secret() -> str:
    return os.environ.get(SECRET_ENV) or typer.prompt(
        "password or API token on the partner's server", hide_input=True
    )


@app.command("pull")
def pull(
    partner: str,
    user: User,
    agency: Agency = None,
    every: Annotated[int | None, typer.Option(help="pull again every N seconds (a background job)")] = None,
    full: Annotated[
        bool, typer.Option(help="everything again, not only what was added since the last pull")
    ] = False,
) -> None:
    """Pull what PARTNER lets this agency read (idempotent), then use it: indicators become risk profiles,
    parties a screening list. The secret comes from BORDERWATCH_PARTNER_SECRET or a prompt."""
    from borderwatch.intel import exchange

    settings = get_settings()
    secret = _secret()
    while True:
        with agency_session(BorderwatchError, OSError, agency=agency) as command:
            row = exchange.get_partner(session=command.session, agency=command.agency, name=partner)
            remote = exchange.client(row, user=user, secret=secret)
            report = exchange.pull(
                session=command.session, agency=command.agency, partner=row, remote=remote, full=full
            )
            used = exchange.use_received(
                session=command.session, agency=command.agency, data_dir=settings.data_dir
            )
            received = {
                "received": report.received,
                "stored": report.stored,
                "failures": report.failures[:20],
            }
            command.audit("create", "intel", f"pull:{partner}", received)
        since = f" added after {report.added_after}" if report.added_after else ""
        console.print(
            f"pulled {report.received} objects{since} from {partner}: {report.stored} new, "
            f"{report.already} already held, {len(report.failures)} refused; "
            f"{len(used.profiles)} risk profiles, {len(used.expired)} expired, "
            f"{used.parties} parties listed"
        )
        for failure in report.failures[:10]:
            console.print(f"  refused {failure['id']}: {failure['message']}")
        if every is None:
            return
        time.sleep(every)


@app.command("push")
def push(
    partner: str,
    user: User,
    agency: Agency = None,
    decision: Annotated[int | None, typer.Option(help="send the objects of this share decision")] = None,
    sightings: Annotated[
        bool, typer.Option(help="send counts of local matches of PARTNER's indicators")
    ] = False,
) -> None:
    """Push a recorded share, or sightings (counts only), to PARTNER's collection."""
    from borderwatch.intel import exchange

    if decision is None and not sightings:
        fail("say what to push: --decision ID or --sightings")
    settings = get_settings()
    secret = _secret()
    with agency_session(BorderwatchError, OSError, agency=agency) as command:
        session, owner = command.session, command.agency
        row = exchange.get_partner(session=session, agency=owner, name=partner)
        remote = exchange.client(row, user=user, secret=secret)
        if decision is not None:
            sent = exchange.push_decision(session=session, agency=owner, decision_id=decision, remote=remote)
            console.print(f"sent {sent} objects of share {decision} to {partner}")
        if sightings:
            exchange.record_sightings(
                session=session, engine=command.engine, agency=owner, data_dir=settings.data_dir
            )
            sent = exchange.push_sightings(session=session, agency=owner, partner=row, remote=remote)
            console.print(f"sent {sent} sightings to {partner}")
        command.audit("create", "intel", f"push:{partner}", {"decision": decision, "sightings": sightings})


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="intel")
