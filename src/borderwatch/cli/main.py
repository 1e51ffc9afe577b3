"""The ``borderwatch`` command. Each stage's module registers its own commands here."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="borderwatch",
    help="Customs risk targeting: ingest, score, select, inspect, share, prove.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _acting_as(
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar="BORDERWATCH_USER",
            help="the borderwatch user this command acts as (audit log, case assignment, overrides); "
            "default: $BORDERWATCH_USER, else the operating-system login name",
        ),
    ] = None,
) -> None:
    from borderwatch.cli.common import set_acting_user

    set_acting_user(as_user)


def _register() -> None:
    # One line per stage, in data-flow order.
    from borderwatch.cli import (
        audit,
        db,
        entities,
        feedback,
        generate,
        ingest,
        inspections,
        intel,
        lanes,
        ledger,
        manifests,
        pipeline,
        scoring,
        screening,
        serve,
        training,
        travellers,
        users,
        vehicles,
    )

    users.register(app)
    generate.register(app)
    ingest.register(app)
    manifests.register(app)
    scoring.register(app)
    screening.register(app)
    entities.register(app)
    audit.register(app)
    serve.register(app)
    lanes.register(app)
    inspections.register(app)
    intel.register(app)
    feedback.register(app)
    ledger.register(app)
    vehicles.register(app)
    travellers.register(app)
    training.register(app)
    pipeline.register(app)
    db.register(app)


_register()

if __name__ == "__main__":
    app()
