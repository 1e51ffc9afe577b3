"""``borderwatch entities resolve`` and ``borderwatch network ego``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from borderwatch.cli.common import console, fail, open_database
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.entities.network import build_graph, ego_network
from borderwatch.entities.records import ROLES, records_from_db, records_from_kcs
from borderwatch.entities.resolve import resolve_entities
from borderwatch.entities.service import save_resolution

entities_app = typer.Typer(help="Resolve party ids into entities.", no_args_is_help=True)
network_app = typer.Typer(help="The trader network.", no_args_is_help=True)

FileOption = Annotated[
    Path | None, typer.Option("--file", help="A KCS-layout CSV with party names (default: the database)")
]


def _records(file: Path | None) -> pl.DataFrame:
    if file is not None:
        if not file.exists():
            fail(f"{file} does not exist.")
        try:
            frame = pl.read_csv(file, infer_schema=False)
        except pl.exceptions.PolarsError as error:
            fail(f"{file} cannot be read as CSV: {error}")
        if "Declaration ID" not in frame.columns or "Date" not in frame.columns:
            fail(f"{file} is not in the KCS layout (needs Declaration ID and Date columns).")
        return records_from_kcs(frame)
    settings = get_settings()
    engine, _ = open_database(settings)
    return records_from_db(engine, agency=settings.agency)


@entities_app.command("resolve")
def resolve(
    file: FileOption = None,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")] = "importer",
    threshold: Annotated[float, typer.Option(min=0.5, max=1.0, help="Match probability for a link")] = 0.9,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the entities as JSON here")] = None,
    save: Annotated[bool, typer.Option("--save", help="Store the entities in the database")] = False,
) -> None:
    """Cluster party ids of one role into resolved entities, with a confidence for each."""
    if role not in ROLES:
        fail(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    records = _records(file)
    if records.is_empty():
        fail("no party records to resolve.")
    resolution = resolve_entities(records, role=role, threshold=threshold)
    groups = resolution.clusters.filter(pl.col("cluster_size") > 1)
    table = Table(title=f"Resolved {role} entities with more than one id")
    for column in ("entity", "name", "ids", "confidence"):
        table.add_column(column)
    for (key,), group in groups.group_by("entity_key", maintain_order=True):
        table.add_row(
            str(key),
            str(group["name"][0]),
            " ".join(group["party_id"].to_list()),
            f"{group['confidence'][0]:.3f}",
        )
    console.print(table)
    console.print(
        f"{resolution.clusters.height:,} {role} ids resolved into "
        f"{resolution.clusters['entity_key'].n_unique():,} entities."
    )
    if json_out is not None:
        json_out.write_text(json.dumps({"entities": groups.to_dicts()}, indent=1) + "\n", encoding="utf-8")
    if save:
        _, factory = open_database()
        run_id = uuid.uuid4().hex[:12]
        with session_scope(factory) as session:
            stored = save_resolution(session=session, resolution=resolution, run_id=run_id)
        console.print(f"stored {stored} entities as run {run_id}.")


@network_app.command("ego")
def ego(
    party: Annotated[str, typer.Argument(help="role:id (importer:ABC1234) or a bare party id")],
    file: FileOption = None,
    radius: Annotated[int, typer.Option(min=1, max=3)] = 1,
    max_nodes: Annotated[int, typer.Option(min=2)] = 200,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write Cytoscape.js elements here")] = None,
) -> None:
    """The neighbourhood of one party: its declarants, sellers, couriers, addresses and their links."""
    graph = build_graph(_records(file))
    try:
        elements = ego_network(graph, party, radius=radius, max_nodes=max_nodes)
    except KeyError as error:
        fail(str(error.args[0]))
    if json_out is not None:
        json_out.write_text(json.dumps(elements, indent=1) + "\n", encoding="utf-8")
    table = Table(title=f"Ego network of {party} (radius {radius})")
    for column in ("node", "type", "label", "distance"):
        table.add_column(column)
    for node in sorted(elements["nodes"], key=lambda n: (n["data"]["distance"], n["data"]["id"])):
        data = node["data"]
        table.add_row(data["id"], data["type"], data["label"], str(data["distance"]))
    console.print(table)
    console.print(f"{len(elements['nodes'])} nodes, {len(elements['edges'])} edges.")


def register(app: typer.Typer) -> None:
    app.add_typer(entities_app, name="entities")
    app.add_typer(network_app, name="network")
