"""Developer tool: autogenerate a migration from the ORM models.

    python -m borderwatch.db.revision "add cases" --rev-id 0004_cases [--branch-from 0001_foundation]

It upgrades a scratch SQLite database to every head, compares it with the models and writes the difference.
Check the generated file holds only your own tables before committing it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from borderwatch.db.session import alembic_config, make_engine, migrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("message")
    parser.add_argument("--rev-id", required=True)
    parser.add_argument(
        "--branch-from", default=None, help="revision to branch from (default: the single head)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        migrate(engine)
        config = alembic_config(engine)
        command.revision(
            config,
            message=args.message,
            autogenerate=True,
            rev_id=args.rev_id,
            head=args.branch_from or "head",
            splice=args.branch_from is not None,
        )


if __name__ == "__main__":
    main()
