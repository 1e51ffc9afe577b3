"""Prometheus metrics: counted per route template, read from the database at each scrape, the pipeline's lag
from JetStream, served on a port of their own and not on the workspace's."""

from __future__ import annotations

import urllib.request
import uuid
from datetime import date
from pathlib import Path

from prometheus_client import generate_latest, start_http_server

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory
from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.service import ingest_file
from borderwatch.web.metrics import Metrics
from tests.integration.api_support import client_for


def test_metrics_count_routes_and_read_the_days_declarations(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings.database_url)
    parties = "ZZR1LT6,QLRUBN9,0VKY2BR,"
    line = f"M1,{date.today()},30,B,11,21,11,10,{parties},440890,BE,BE,0.0,FEU1,G,108.0,1000.0,0,0"
    path = tmp_path / "today.csv"
    path.write_text(",".join(KCS_COLUMNS) + "\n" + line + "\n")
    ingest_file(engine=engine, path=path, agency="a")
    with client_for(settings) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/declarations/SECRET-LRN").status_code == 401
        assert client.get("/metrics").status_code == 404  # not on the workspace's port
        registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
        text = generate_latest(registry).decode()
    assert 'borderwatch_http_requests_total{method="GET",route="/api/health",status="200"} 2.0' in text
    assert 'route="/api/declarations/{lrn}",status="401"' in text
    assert "SECRET-LRN" not in text
    assert 'borderwatch_http_errors_total{kind="client"}' in text
    assert 'borderwatch_declarations_today{agency="a"} 1.0' in text

    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as answer:
            served = answer.read().decode()
        assert "borderwatch_declarations_today" in served
    finally:
        server.shutdown()
        thread.join(timeout=5)

    if engine.dialect.name == "sqlite":  # the pipeline's figures do not depend on the database
        nats = settings.model_copy(
            update={"pipeline": "nats", "pipeline_prefix": f"bwm{uuid.uuid4().hex[:8]}"}
        )
        lag = generate_latest(Metrics(settings=nats, engine=engine, factory=session_factory(engine)).registry)
        assert 'borderwatch_pipeline_pending{agency="default",kind="in",stage="ingest"} 0.0' in lag.decode()
    engine.dispose()
