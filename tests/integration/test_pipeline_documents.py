"""The pipeline's score stage records the documents a declaration states as presented in the agency's ledger,
as the API's submissions do: a later declaration stating the same document is then found re-using it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from borderwatch.cli.pipeline import processors_for
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory
from borderwatch.ingest.store import load_documents
from borderwatch.ledger import service
from borderwatch.ledger.documents import check_documents
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.pipeline.topology import Kind, Stage
from tests.conftest import migrated
from tests.integration.api_support import declaration_json


def test_the_score_stage_presents_the_declarations_documents(tmp_path: Path) -> None:
    settings = Settings(database_url=migrated(f"sqlite:///{tmp_path / 'bw.db'}"), data_dir=tmp_path / "data")
    engine = make_engine(settings.database_url)
    keys = KeyStore(settings.data_dir)
    keys.generate_log_key("borderwatch.test/pipeline")
    keys.issuer_key("EXP1", create=True)
    service.ensure_log(engine, agency="a", origin="borderwatch.test/pipeline")
    writers = WriterPool(engine, signer=keys.log_signer)
    try:
        processors = processors_for(
            [Stage.INGEST, Stage.SCORE],
            settings=settings,
            engine=engine,
            factory=session_factory(engine),
            agency="a",
            writers=writers,
        )
        declaration = declaration_json("DOC-1") | {
            "documents": [
                {"type": "commercial_invoice", "number": "INV-77", "issuer": "EXP1", "sha256": "ab" * 32}
            ]
        }
        stored = processors[Stage.INGEST]([json.dumps(declaration).encode()])
        [forward] = stored.forward
        assert forward.kind is Kind.STORED
        scored = processors[Stage.SCORE]([forward.body])
        assert not scored.poison
        # delivered again (a worker died before acknowledging): nothing recorded twice
        processors[Stage.SCORE]([forward.body])
    finally:
        writers.close()
    stated = load_documents(engine, agency="a", lrns=["DOC-1"])
    assert stated.height == 1
    assert check_documents(engine, keys, agency="a", documents=stated).height == 0  # its own: no re-use
    copy = stated.with_columns(pl.lit("DOC-2").alias("lrn"))
    [finding] = check_documents(engine, keys, agency="a", documents=copy).iter_rows(named=True)
    assert (finding["finding"], finding["other_lrn"]) == ("reused", "DOC-1")
    engine.dispose()
