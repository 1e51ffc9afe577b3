from __future__ import annotations

from sqlalchemy import Engine, inspect

from borderwatch.db.registry import metadata
from borderwatch.db.session import migrate


def test_migrations_create_every_table_of_the_models(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrating_twice_is_a_no_op(engine: Engine) -> None:
    before = set(inspect(engine).get_table_names())
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == before
